"""Flow Pixel-RR beside plain Pixel-RR and the geometry model, by evaluate_geometry's protocol.

Same pairs, folds, judges, identity and contour measures as ``scripts/evaluate_geometry.py``
(subject-disjoint 5-fold over the shared data sets pooled, and leave one data set out); the
methods are the unchanged input (floor), plain Pixel-RR, flow Pixel-RR (``FlowPixelRidge``
with its defaults, applied as ``pixelfes.edit`` applies it: luma, intensity 1), the geometry
model and the real target (ceiling). Identity is scored for plain, flow, geometry and target.

Face grids (input, plain, flow, geometry, target; 8 evenly spaced test faces per protocol)
go to ``--faces`` (default /tmp/flow_faces: CK+ and Taiwanese faces may not be
redistributed); ``--london-figure`` also writes the London held-out grid (CC BY 4.0).

Usage: ``python scripts/evaluate_flow.py [--out docs/flow_results.json] [EXPR ...]``
(needs the shared data, the eval and geometry extras; about 15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import evaluate_geometry as geo
import numpy as np

from pixelfes.data import subject_kfold
from pixelfes.editing import synthesize
from pixelfes.evaluation.classifier import ExpressionClassifier
from pixelfes.evaluation.facex import FacexClassifier
from pixelfes.evaluation.identity import IdentityEmbedder
from pixelfes.figures import labelled_grid
from pixelfes.imageio import write_image
from pixelfes.models import FlowPixelRidge

METHODS = ("input", "plain", "flow", "geometry", "target")
GRID_FACES = 8


def outputs(X, T, shapes_x, shapes_t, subjects, train, test) -> dict[str, np.ndarray]:
    """evaluate_geometry's outputs for the methods compared here, and flow Pixel-RR's."""
    results = geo.outputs(X, T, shapes_x, shapes_t, subjects, train, test)
    flow = FlowPixelRidge().fit(X[train], T[train])
    results["flow"] = synthesize(flow, X[test], 1.0)
    return {method: results[method] for method in METHODS}


def face_grid(results: dict[str, np.ndarray]) -> np.ndarray:
    n = len(results["input"])
    pick = np.unique(np.linspace(0, n - 1, GRID_FACES).astype(int))
    rows = [[results[m][i] for m in METHODS] for i in pick]
    return labelled_grid(rows, col_labels=METHODS, cell=160)


#: Summary columns: heading, score key, format and the methods shown (slash-separated).
COLUMNS = (
    ("PSNR", "psnr", ".2f", ("input", "plain", "flow", "geometry")),
    ("FER judge", "judge", ".0%", ("plain", "flow", "geometry", "target")),
    ("facex judge", "judge_facex", ".0%", ("plain", "flow", "geometry", "target")),
    ("identity kept", "identity_kept", ".0%", ("plain", "flow", "geometry")),
    ("old contours kept", "old_contours_kept", ".2f", ("plain", "flow", "geometry")),
)


def summary(report: dict) -> str:
    """One line per expression and protocol: plain, flow and geometry side by side."""
    heads = [f"{title} {' / '.join(methods)}" for title, _, _, methods in COLUMNS]
    lines = [
        "| expression, protocol | pairs | " + " | ".join(heads) + " |",
        "|---|---:|" + "---|" * len(COLUMNS),
    ]
    for expression, protocols in report.items():
        for protocol, table in protocols.items():
            cells = [
                " / ".join(format(table[m][key], fmt) for m in methods)
                for _, key, fmt, methods in COLUMNS
            ]
            n = table["input"]["n"]
            lines.append(f"| {expression}, {protocol} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expressions", nargs="*", default=["happy", "surprise"])
    parser.add_argument("--out", default="docs/flow_results.json")
    parser.add_argument("--faces", type=Path, default=Path("/tmp/flow_faces"))
    parser.add_argument("--london-figure", type=Path, help="also write the London grid here")
    args = parser.parse_args()
    args.faces.mkdir(parents=True, exist_ok=True)
    # geo.score and geo.markdown read these module constants: score flow's identity, list it
    geo.IDENTITY_METHODS = ("plain", "flow", "geometry", "target")
    geo.METHODS = METHODS
    judges, embedder = (ExpressionClassifier(), FacexClassifier()), IdentityEmbedder()
    report: dict = {}
    for expression in args.expressions:
        start = time.perf_counter()
        X, T, shapes_x, shapes_t, subjects, sources = geo.load(expression)
        folds = {
            "kfold": subject_kfold(subjects, k=5, seed=0),
            **{
                f"lodo:{name}": [(np.flatnonzero(sources != name), np.flatnonzero(sources == name))]
                for name in geo.DATASETS[expression]
            },
        }
        for protocol, splits in folds.items():
            parts = [outputs(X, T, shapes_x, shapes_t, subjects, *split) for split in splits]
            results = {m: np.concatenate([part[m] for part in parts]) for m in METHODS}
            test = np.concatenate([test for _, test in splits])
            grid = face_grid(results)
            write_image(args.faces / f"{expression}_{protocol.replace(':', '_')}.png", grid)
            if protocol == "lodo:london" and args.london_figure is not None:
                write_image(args.london_figure, grid, quality=85)
            report.setdefault(expression, {})[protocol] = geo.score(
                results, expression, T[test], shapes_t[test], judges, embedder
            )
            print(f"{expression} {protocol} done ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr)  # fmt: skip
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)
    with open(args.out.replace(".json", ".md"), "w", encoding="utf-8") as handle:
        handle.write(summary(report) + geo.markdown(report))
    print(summary(report))


if __name__ == "__main__":
    main()
