"""Geometry-aware models against plain Pixel-RR on held-out subjects and held-out data sets.

For happy and surprise (or the expressions given), over the shared data sets:

* ``kfold``: subject-disjoint 5-fold over all data sets pooled;
* ``lodo``: leave one data set out (fit on the others, test on it).

Methods: the unchanged input (floor), plain Pixel-RR (alpha 0.4, luma, as ``pixelfes.edit``
applies it), the geometry model at intensity 1 (its calibrated default), without its
inner-mouth step, with gain 1 (before the intensity calibration), its warp alone (no
texture change), with the real target's landmarks in
place of the shape model's prediction (what a perfect shape model would give) and the real
target photo (ceiling).
Scores per method: PSNR and SSIM to the real target, sharpness (gradient energy of output /
target), PSNR inside the real target's inner-mouth polygon, the two judges' accuracy
(FER2013 and facex), identity kept (dlib distance to the input below 0.6, on 40 evenly
spaced faces per protocol for plain, geometry and the real target), and two contour
measures (Canny edges inside the face mask): *old contours kept*, the share of the input's
contours that the target no longer has which are still drawn, and *new contours drawn*,
the share of the target's new contours that are drawn. A double outline is both at once.
Intensity calibration (per protocol): the mean length of the real landmark displacements of
the test pairs against the shape model's prediction at gain 1 and with the model's gain.

Usage: ``python scripts/evaluate_geometry.py [--out docs/geometry_results.json]
[--kfold-only | --lodo-only] [EXPR ...]``
(needs the shared data, the eval and geometry extras; a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

import cv2
import numpy as np

from pixelfes import geometric
from pixelfes.colour import to_gray, to_unit
from pixelfes.data import find_pairs, load_pairs, subject_kfold
from pixelfes.editing import synthesize as plain_synthesize
from pixelfes.evaluation.classifier import ExpressionClassifier
from pixelfes.evaluation.facex import FacexClassifier
from pixelfes.evaluation.ghosting import contour_scores
from pixelfes.evaluation.identity import SAME_PERSON_THRESHOLD, IdentityEmbedder
from pixelfes.evaluation.metrics import batch_sharpness, batch_ssim
from pixelfes.faces import pose
from pixelfes.faces.landmarks import INNER_LIPS, dense_landmarks
from pixelfes.faces.warp import warp_crop, with_ring
from pixelfes.metrics import batch_psnr
from pixelfes.models import PixelRidge

RESEARCH = ("ckplus", "taiwanese")
DATASETS = {
    "happy": ("london", *RESEARCH),
    **{e: RESEARCH for e in ("surprise", "sad", "anger", "disgust", "fear")},
}
METHODS = (
    "input",
    "plain",
    "warp only",
    "geometry, no mouth step",
    "geometry, gain 1",
    "geometry",
    "geometry, true shape",
    "target",
)
#: Identity is scored on this many faces per protocol (evenly spaced; dlib is slow here).
IDENTITY_FACES = 40
IDENTITY_METHODS = ("plain", "geometry", "target")


def load(expression: str):
    """Aligned pairs of every data set with the expression, their landmarks and sources."""
    X, T, subjects, sources = [], [], [], []
    for name in DATASETS[expression]:
        aligned = load_pairs(find_pairs(name, "neutral", expression), 128)
        X.append(aligned.X)
        T.append(aligned.T)
        subjects += [f"{name}:{s}" for s in aligned.subjects]
        sources += [name] * len(aligned)
    X, T = np.concatenate(X), np.concatenate(T)
    shapes_x = np.stack([dense_landmarks(x) for x in X])
    shapes_t = np.stack([dense_landmarks(t) for t in T])
    return X, T, shapes_x, shapes_t, subjects, np.array(sources)


def in_input_pose(T, shapes_x, shapes_t):
    """The real targets and their shapes moved onto their inputs' pose (``faces.pose``): what
    the scores compare with, so that an edit is not rewarded for copying a crop alignment."""
    return pose.in_input_pose(T, shapes_x, shapes_t), pose.without_pose(shapes_x, shapes_t)


def warp_only(model, crops, shapes) -> np.ndarray:
    """The geometry model's warp without its texture change."""
    out = to_unit(crops)
    size = crops.shape[1]
    for i, shape in enumerate(shapes):
        target = model.target_shape(shape, 1.0)[0]
        out[i] = warp_crop(out[i], with_ring(shape, size), with_ring(target, size), model.triangles)
    return out


def with_gain(model, gain: float):
    """A copy of the geometry model with another intensity gain."""
    other = copy.copy(model)
    other.gain_ = gain
    return other


def displacement_lengths(model, shapes_x, shapes_t) -> dict[str, float]:
    """Summed landmark displacement lengths: real, predicted at gain 1, with the gain."""
    predicted = np.linalg.norm(model.displacement(shapes_x), axis=-1).mean(axis=1)
    real = np.linalg.norm(shapes_t - shapes_x, axis=-1).mean(axis=1)
    return {"real": float(real.sum()), "gain 1": float(predicted.sum()),
            "calibrated": float(model.gain_ * predicted.sum()), "gains": [model.gain_]}  # fmt: skip


def outputs(X, T, shapes_x, shapes_t, seen, subjects, train, test, gains=()):
    """Every method's (N, S, S, 3) float output on the test pairs, fitted on the train pairs,
    and the displacement lengths of the test pairs (:func:`displacement_lengths`).
    ``seen``: the targets and their shapes in their inputs' pose (:func:`in_input_pose`).
    ``gains``: extra rows "geometry, gain G" with the gain forced to G."""
    model = geometric.fit(X[train], T[train], shapes_x[train], shapes_t[train],
                          subjects=[subjects[i] for i in train])  # fmt: skip
    # One luma model (Eq. 3-6) for all channels, as results.md's Pixel-RR row and the
    # bundled plain models: fitted per RGB channel it reads quite differently.
    plain = PixelRidge(alpha=0.4).fit(to_gray(X[train]), to_gray(T[train]))
    seen_T, seen_shapes = seen
    lengths = displacement_lengths(model, shapes_x[test], seen_shapes[test])
    return lengths, {
        "input": to_unit(X[test]),
        "plain": plain_synthesize(plain, X[test], 1.0),
        "warp only": warp_only(model, X[test], shapes_x[test]),
        "geometry, no mouth step": geometric.synthesize(
            model, X[test], 1.0, shapes=shapes_x[test], mouth=False
        ),
        "geometry, gain 1": geometric.synthesize(
            with_gain(model, 1.0), X[test], 1.0, shapes=shapes_x[test]
        ),
        "geometry": geometric.synthesize(model, X[test], 1.0, shapes=shapes_x[test]),
        **{
            f"geometry, gain {g:g}": geometric.synthesize(
                with_gain(model, g), X[test], 1.0, shapes=shapes_x[test]
            )
            for g in gains
        },
        "geometry, true shape": geometric.synthesize(
            model, X[test], 1.0, shapes=shapes_x[test], targets=seen_shapes[test]
        ),
        "target": to_unit(seen_T[test]),
    }


def mouth_masks(shapes_t: np.ndarray, size: int) -> np.ndarray:
    """Inside the real target's inner-lip polygon, dilated by 1 px: (N, S, S) bool."""
    masks = np.zeros((len(shapes_t), size, size), np.uint8)
    for mask, shape in zip(masks, shapes_t, strict=True):
        polygon = np.rint(shape[list(INNER_LIPS)] * 4).astype(np.int32)
        cv2.fillPoly(mask, [polygon], 1, shift=2)
        cv2.dilate(mask, np.ones((3, 3), np.uint8), dst=mask)
    return masks > 0


def masked_psnr(a: np.ndarray, b: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """PSNR inside each mask (NaN where a mask is empty, e.g. a closed mouth)."""
    err = ((a - b) ** 2).mean(-1)
    n = masks.sum((1, 2))
    mse = (err * masks).sum((1, 2)) / np.maximum(n, 1)
    return np.where(n >= 10, 10 * np.log10(1.0 / np.maximum(mse, 1e-12)), np.nan)


def score(results, expression, T, shapes_t, judges, embedder) -> dict[str, dict[str, float]]:
    inputs, targets = results["input"], to_unit(T)
    mouths = mouth_masks(shapes_t, T.shape[1])
    few = np.unique(np.linspace(0, len(T) - 1, IDENTITY_FACES).astype(int))
    emb_in = embedder.embed(inputs[few])
    table = {}
    for name, images in results.items():
        kept, drawn = contour_scores(images, inputs, targets)
        row = {
            "psnr": float(batch_psnr(images, targets).mean()),
            "ssim": float(batch_ssim(images, targets).mean()),
            "sharpness": float(batch_sharpness(images, targets).mean()),
            "mouth_psnr": float(np.nanmean(masked_psnr(images, targets, mouths))),
            "judge": float(np.mean([p == expression for p in judges[0].predict(images)])),
            "judge_facex": float(np.mean([p == expression for p in judges[1].predict(images)])),
            "identity_kept": float("nan"),
            "old_contours_kept": float(kept.mean()),
            "new_contours_drawn": float(drawn.mean()),
            "n": len(images),
        }
        if name in IDENTITY_METHODS:
            distance = np.linalg.norm(embedder.embed(images[few]) - emb_in, axis=1)
            row["identity_kept"] = float(np.mean(distance < SAME_PERSON_THRESHOLD))
        table[name] = row
    return table


def markdown(report: dict) -> str:
    """The report as Markdown tables, one per expression and protocol."""
    lines = []
    heads = "| method | PSNR | SSIM | sharpness | mouth PSNR | FER judge | facex judge | " \
        "identity kept | old contours kept | new contours drawn |"  # fmt: skip
    for expression, protocols in report.items():
        for protocol, table in protocols.items():
            n = table["input"]["n"]
            lines += ["", f"**{expression}, {protocol}** ({n} test pairs)", "", heads,
                      "|---|" + "---:|" * 9]  # fmt: skip
            for method in (
                *(m for m in METHODS if m in table),
                *(m for m in table if m not in METHODS),
            ):
                row = table[method]
                ident = "–" if np.isnan(row["identity_kept"]) else f"{row['identity_kept']:.0%}"
                psnr, mouth = (
                    "–" if method == "target" else f"{row[k]:.2f}" for k in ("psnr", "mouth_psnr")
                )
                lines.append(
                    f"| {method} | {psnr} | {row['ssim']:.3f} | {row['sharpness']:.2f} "
                    f"| {mouth} | {row['judge']:.0%} | {_facex(row)} | {ident} "
                    f"| {row['old_contours_kept']:.2f} | {row['new_contours_drawn']:.2f} |"
                )
    return "\n".join(lines) + "\n"


def _facex(row: dict) -> str:
    return f"{row['judge_facex']:.0%}" if "judge_facex" in row else "–"


def summary(report: dict) -> str:
    """One line per expression and protocol: plain Pixel-RR against the geometry model."""
    lines = [
        "| expression, protocol | pairs | PSNR input / plain / geometry | FER judge plain / "
        "geometry / real | facex judge plain / geometry / real | identity kept plain / "
        "geometry | old contours kept plain / geometry |",
        "|---|---:|---|---|---|---|---|",
    ]
    for expression, protocols in report.items():
        for protocol, t in protocols.items():
            p, g = t["plain"], t["geometry"]
            lines.append(
                f"| {expression}, {protocol} | {t['input']['n']} | {t['input']['psnr']:.2f} / "
                f"{p['psnr']:.2f} / {g['psnr']:.2f} | {p['judge']:.0%} / {g['judge']:.0%}"
                f" / {t['target']['judge']:.0%} | {_facex(p)} / {_facex(g)} / "
                f"{_facex(t['target'])} | {p['identity_kept']:.0%} / "
                f"{g['identity_kept']:.0%} | {p['old_contours_kept']:.2f} / "
                f"{g['old_contours_kept']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def calibration_table(calibration: dict) -> str:
    """Mean landmark displacement (px at 128) of the test pairs: real, predicted, calibrated."""
    lines = [
        "| expression, protocol | gain (per fold) | real displacement, px | predicted at gain 1 "
        "| predicted with the gain | predicted / real at gain 1 | with the gain |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for expression, protocols in calibration.items():
        for protocol, c in protocols.items():
            gains = ", ".join(f"{g:.2f}" for g in c["gains"])
            lines.append(
                f"| {expression}, {protocol} | {gains} | {c['real']:.2f} | {c['gain 1']:.2f} "
                f"| {c['calibrated']:.2f} | {c['gain 1'] / c['real']:.2f} "
                f"| {c['calibrated'] / c['real']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expressions", nargs="*", default=["happy", "surprise"])
    parser.add_argument("--out", default="docs/geometry_results.json")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--kfold-only", action="store_true", help="skip leave-one-dataset-out")
    only.add_argument("--lodo-only", action="store_true", help="skip the pooled 5-fold")
    parser.add_argument(
        "--gains", type=float, nargs="*", default=[], help="extra rows with the gain forced"
    )
    parser.add_argument(
        "--update", action="store_true", help="keep the protocols of --out that are not re-run"
    )
    args = parser.parse_args()
    judges, embedder = (ExpressionClassifier(), FacexClassifier()), IdentityEmbedder()
    report: dict = {}
    if args.update and os.path.isfile(args.out):
        with open(args.out, encoding="utf-8") as handle:
            report = json.load(handle)
    calibration: dict = report.pop("calibration", {})
    for expression in args.expressions:
        start = time.perf_counter()
        X, T, shapes_x, shapes_t, subjects, sources = load(expression)
        seen = in_input_pose(T, shapes_x, shapes_t)
        folds = {} if args.lodo_only else {"kfold": subject_kfold(subjects, k=5, seed=0)}
        for name in () if args.kfold_only else DATASETS[expression]:
            folds[f"lodo:{name}"] = [
                (np.flatnonzero(sources != name), np.flatnonzero(sources == name))
            ]
        for protocol, splits in folds.items():
            pooled: dict[str, list] = {}
            test_idx, lengths = [], {}
            for train, test in splits:
                fold_lengths, images = outputs(
                    X, T, shapes_x, shapes_t, seen, subjects, train, test, args.gains
                )
                for method, edited in images.items():
                    pooled.setdefault(method, []).append(edited)
                for key, value in fold_lengths.items():
                    lengths[key] = lengths.get(key, 0 * value) + value
                test_idx.append(test)
            test = np.concatenate(test_idx)
            results = {m: np.concatenate(v) for m, v in pooled.items()}
            report.setdefault(expression, {})[protocol] = score(
                results, expression, seen[0][test], seen[1][test], judges, embedder
            )
            calibration.setdefault(expression, {})[protocol] = {
                **{k: v / len(test) for k, v in lengths.items() if k != "gains"},
                "gains": lengths["gains"],
            }
            print(
                f"{expression} {protocol} done ({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
            )
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({**report, "calibration": calibration}, handle, indent=1, sort_keys=True)
    with open(args.out.replace(".json", ".md"), "w", encoding="utf-8") as handle:
        handle.write(summary(report) + "\n" + calibration_table(calibration) + markdown(report))
    for expression, protocols in report.items():
        for protocol, table in protocols.items():
            print(f"\n{expression} / {protocol} (n={table['input']['n']})")
            heads = ("PSNR", "SSIM", "sharp", "mouth", "judge", "ident", "old", "new")
            print(f"{'method':24s} " + " ".join(f"{h:>6s}" for h in heads))
            keys = ("psnr", "ssim", "sharpness", "mouth_psnr", "judge", "identity_kept")
            for method, row in table.items():
                values = [row[k] for k in (*keys, "old_contours_kept", "new_contours_drawn")]
                print(f"{method:24s} " + " ".join(f"{v:6.2f}" for v in values))


if __name__ == "__main__":
    main()
