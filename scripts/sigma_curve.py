"""Pixel-KR's sigma curve (the paper's Fig. 5) from all pairs, sigma and lambda by CV.

For every expression, all neutral -> expression pairs of the shared sets that have it
(London for happy, CK+, Taiwanese), as BT.601 luma crops (CK+ is grayscale), are scored
by subject-disjoint 5-fold cross-validation (seed 0) over
:data:`pixelfes.kernel_selection.KERNEL_GRID`, from per-level fold statistics. For each
sigma the curve shows the best lambda's mean held-out PSNR, beside Pixel-RR with its own
cross-validated lambda and the identity (output = input). A face strip shows one London
subject's held-out happy face at each sigma (model fitted on every other pair).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python scripts/sigma_curve.py

writes docs/results/sigma_cv.csv and docs/figures/results_sigma_cv.png and prints the
markdown table of docs/results-sigma-cv.md.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from pixelfes.data import find_pairs, load_pairs
from pixelfes.evaluation.methods import luma
from pixelfes.evaluation.report import line_plot, stack, write_figure
from pixelfes.figures import labelled_grid
from pixelfes.kernel_selection import KERNEL_GRID, cross_validate_kernel
from pixelfes.metrics import batch_psnr
from pixelfes.models import PixelKernelRidge
from pixelfes.training import cross_validate

ROOT = Path(__file__).resolve().parents[1]
EXPRESSIONS = ("happy", "sad", "surprise", "anger", "disgust", "fear")


def datasets_for(expression: str) -> list[str]:
    return ["london", "ckplus", "taiwanese"] if expression == "happy" else ["ckplus", "taiwanese"]


def curve(expression: str) -> dict:
    aligned = load_pairs(find_pairs(datasets_for(expression), target=expression), size=128)
    X, T, subjects = luma(aligned.X), luma(aligned.T), list(aligned.subjects)
    start = time.perf_counter()
    scores = cross_validate_kernel(X, T, subjects, k=5, seed=0)
    seconds = time.perf_counter() - start
    best_per_sigma = []
    for sigma in KERNEL_GRID["sigma"]:
        candidates = {a: scores[f"alpha={a:g},sigma={sigma:g}"] for a in KERNEL_GRID["alpha"]}
        alpha = max(candidates, key=candidates.get)
        best_per_sigma.append((sigma, alpha, candidates[alpha]))
    ridge_best, ridge_scores = cross_validate("pixel-rr", X, T, subjects, k=5, seed=0)
    ridge = ridge_scores[f"alpha={ridge_best['alpha']:g}"]
    return {
        "expression": expression,
        "n_pairs": len(X),
        "n_subjects": len(set(subjects)),
        "seconds": seconds,
        "curve": best_per_sigma,
        "ridge": (ridge_best["alpha"], ridge),
        "identity": float(np.mean(batch_psnr(X, T))),
        "data": (X, T, subjects),
    }


def face_strip(result: dict) -> np.ndarray:
    """One held-out London subject's happy face at each sigma (its curve's lambda)."""
    X, T, subjects = result["data"]
    london = [i for i, s in enumerate(subjects) if str(s).startswith("london")]
    held = london[0] if london else 0
    train = np.array([i for i, s in enumerate(subjects) if s != subjects[held]])
    row = [X[held, ..., 0]]
    for sigma, alpha, _ in result["curve"]:
        model = PixelKernelRidge(alpha=alpha, sigma=sigma).fit(X[train], T[train])
        row.append(np.clip(model.predict(X[held : held + 1])[0, ..., 0], 0, 1))
    row.append(T[held, ..., 0])
    labels = ["input", *[f"s={s:g}" for s, _, _ in result["curve"]], "target"]
    return labelled_grid([row], col_labels=labels, cell=112)


def main() -> None:
    results = [curve(expression) for expression in EXPRESSIONS]
    csv_path = ROOT / "docs" / "results" / "sigma_cv.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["expression", "n_pairs", "method", "sigma", "alpha", "cv_psnr"])
        for r in results:
            for sigma, alpha, psnr in r["curve"]:
                writer.writerow(
                    [r["expression"], r["n_pairs"], "Pixel-KR", sigma, alpha, f"{psnr:.3f}"]
                )
            alpha, psnr = r["ridge"]
            writer.writerow([r["expression"], r["n_pairs"], "Pixel-RR", "", alpha, f"{psnr:.3f}"])
            writer.writerow(
                [r["expression"], r["n_pairs"], "identity", "", "", f"{r['identity']:.3f}"]
            )
    plots = [
        line_plot(
            KERNEL_GRID["sigma"],
            [("Pixel-KR (best lambda)", [p for _, _, p in r["curve"]], (200, 40, 40))],
            hlines=[
                ("Pixel-RR (CV)", r["ridge"][1], (40, 90, 200)),
                ("identity", r["identity"], (120, 120, 120)),
            ],
            title=f"neutral->{r['expression']}: CV PSNR (dB), {r['n_pairs']} luma pairs",
            xlabel="sigma (log scale)",
            size=(520, 280),
        )
        for r in results
    ]
    grid = stack([stack(plots[i : i + 2], vertical=False) for i in range(0, len(plots), 2)])
    figure = stack([grid, face_strip(results[0])])
    write_figure(ROOT / "docs" / "figures" / "results_sigma_cv.png", figure)
    print_section(results)


def print_section(results: list[dict]) -> None:
    sigmas = KERNEL_GRID["sigma"]
    print(
        "| expression | pairs (subjects) | "
        + " | ".join(f"sigma={s:g}" for s in sigmas)
        + " | Pixel-RR (CV) | identity | CV chosen | CV time |"
    )
    print("|---|---|" + "---|" * (len(sigmas) + 4))
    for r in results:
        chosen_sigma, chosen_alpha, _ = max(r["curve"], key=lambda c: c[2])
        cells = [f"{p:.2f}" for _, _, p in r["curve"]]
        print(
            f"| {r['expression']} | {r['n_pairs']} ({r['n_subjects']}) | "
            + " | ".join(cells)
            + f" | {r['ridge'][1]:.2f} | {r['identity']:.2f} | sigma {chosen_sigma:g}, "
            f"lambda {chosen_alpha:g} | {r['seconds']:.0f} s |"
        )


if __name__ == "__main__":
    main()
