"""Held-out landmark measures of the geometry models' shape model and intensity gain.

    python scripts/geometry_landmarks.py [EXPR ...]

Landmarks only (no synthesis, no judges; a minute on 2 cores). For each expression, over
the shared data sets with it, and each protocol (``kfold``: subject-disjoint 5-fold over
all data sets pooled; ``lodo:X``: fitted on the other data sets, tested on X):

* the shape model's held-out landmark error (mean over the 468 points, pixels at 128) for
  ridge penalties ``ALPHAS``, the mean displacement alone, and no change;
* the intensity calibration: the mean length of the test pairs' real displacements over
  that of the predictions at gain 1 (the *matching* gain for the test faces), the gain the
  model fits on its training pairs (:func:`pixelfes.geometric.fit`, before the cap), and the
  least-squares gain ``sum <real, predicted> / sum |predicted|^2`` (the one that minimises
  the landmark error).

``--pose-free``: every target shape moved onto its input by
:func:`pixelfes.faces.pose.without_pose` first (what the geometry models are fitted on):
the errors of the expression's own movement, without the pose change between the crops.
"""

from __future__ import annotations

import argparse

import numpy as np
from evaluate_geometry import DATASETS, load

from pixelfes.data import subject_kfold
from pixelfes.faces.pose import without_pose
from pixelfes.models import ShapeRidge

ALPHAS = (1e4, 3e4, 1e5, 1e6)
RANK = 16


def _length(d: np.ndarray) -> float:
    return float(np.linalg.norm(d, axis=-1).mean())


def pooled_predictions(sx, st, subjects, alpha: float) -> np.ndarray:
    """Displacements predicted for each pair by subject-disjoint 5-fold models."""
    predicted = np.empty_like(sx)
    for train, test in subject_kfold(list(subjects), k=min(5, len(set(subjects))), seed=0):
        fold = ShapeRidge(alpha=alpha, rank=RANK).fit(sx[train], st[train])
        predicted[test] = fold.displacement(sx[test])
    return predicted


def _mean_displacement(sx, st, train, n: int) -> np.ndarray:
    return np.broadcast_to((st[train] - sx[train]).mean(0), (n, *sx.shape[1:]))


def _fold_prediction(sx, st, train, test, alpha: float) -> np.ndarray:
    return ShapeRidge(alpha=alpha, rank=RANK).fit(sx[train], st[train]).displacement(sx[test])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expressions", nargs="*", default=list(DATASETS))
    parser.add_argument("--pose-free", action="store_true", help="targets without the pose")
    args = parser.parse_args()
    alphas = " | ".join(f"alpha {a:.0e}" for a in ALPHAS)
    errors = [f"| expression, protocol | no change | mean displacement | {alphas} |",
              "|---|" + "---:|" * (len(ALPHAS) + 2)]  # fmt: skip
    gains = ["| expression, protocol | real / predicted length (matching gain) | fitted gain "
             "(training folds) | least-squares gain |", "|---|---:|---:|---:|"]  # fmt: skip
    for expression in args.expressions:
        _, _, sx, st, subjects, sources = load(expression)
        if args.pose_free:
            st = without_pose(sx, st)
        subjects = np.array(subjects)
        splits = {"kfold": list(subject_kfold(list(subjects), k=5, seed=0))}
        for name in DATASETS[expression]:
            splits[f"lodo:{name}"] = [
                (np.flatnonzero(sources != name), np.flatnonzero(sources == name))
            ]
        for protocol, folds in splits.items():
            test = np.concatenate([te for _, te in folds])
            real = st[test] - sx[test]
            cells = [_length(real)]
            mean = np.concatenate([_mean_displacement(sx, st, tr, len(te)) for tr, te in folds])
            cells.append(_length(real - mean))
            for alpha in ALPHAS:
                predicted = np.concatenate(
                    [_fold_prediction(sx, st, tr, te, alpha) for tr, te in folds]
                )
                cells.append(_length(real - predicted))
                if alpha == ALPHAS[0]:
                    at_gain_1 = predicted
            errors.append(
                f"| {expression}, {protocol} | " + " | ".join(f"{c:.2f}" for c in cells) + " |"
            )
            fitted = []
            for train, _ in folds:
                inner = pooled_predictions(sx[train], st[train], subjects[train], ALPHAS[0])
                fitted.append(_length(st[train] - sx[train]) / _length(inner))
            least_squares = float((real * at_gain_1).sum() / (at_gain_1**2).sum())
            gains.append(
                f"| {expression}, {protocol} | {_length(real) / _length(at_gain_1):.2f} | "
                + ", ".join(f"{g:.2f}" for g in fitted)
                + f" | {least_squares:.2f} |"
            )
    print("Held-out landmark error (px at 128), shape model rank 16:\n")
    print("\n".join(errors))
    print("\nIntensity gains (alpha 1e4):\n")
    print("\n".join(gains))


if __name__ == "__main__":
    main()
