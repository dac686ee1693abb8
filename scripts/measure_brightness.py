"""Measure whether the geometry model keeps a face's own brightness on held-out faces.

    python scripts/measure_brightness.py [EXPR ...]

The shared data come from ``PIXELFES_DATA`` (default ``../shared/data``).

On every leave-one-dataset-out split (:func:`pixelfes.evaluation.lodo.splits`, the same
training pairs as results.md), the geometry model (``pixelfes.geometric.fit``) is fitted
on the other sets and applied to the held-out inputs at intensity 1. For each face, the
change of its mean luma inside the face oval (:func:`pixelfes.faces.mouth.face_mean`, on
the input's landmarks, 0-255 scale) is compared with the real target's. Printed
(markdown): the mean change over all faces and over the darkest quarter of the inputs,
output and real target side by side. A model that pulls faces towards its training faces'
brightness lightens the darkest quarter where the real targets do not.
"""

from __future__ import annotations

import argparse

import numpy as np

from pixelfes.colour import luma, to_rgb, to_unit
from pixelfes.evaluation import lodo
from pixelfes.evaluation.lodo_geometry import GeometryMethod, LandmarkCache
from pixelfes.evaluation.lodo_report import EXPRESSION_ORDER
from pixelfes.evaluation.pairs import load_sets
from pixelfes.evaluation.report import markdown_table
from pixelfes.faces.mouth import face_mean


def face_lumas(crops: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """Mean luma (0-255) inside each face's oval, for (N, S, S, C) crops on any scale."""
    grey = luma(to_rgb(to_unit(crops)))
    return 255.0 * np.array([face_mean(g, s) for g, s in zip(grey, shapes, strict=True)])


def table(expressions) -> list[list[str]]:
    """One row per leave-one-dataset-out split: faces, then the edits' and the real targets'
    mean change over all faces and over the darkest quarter."""
    landmarks = LandmarkCache()
    rows = []
    for expression in expressions:
        sets = load_sets(lodo.DATASETS, expression)
        for split in lodo.splits(expression, sets, max_test_per_subject=2):
            method = GeometryMethod(fallback=None, landmarks=landmarks)
            method.fit(split.train.X, split.train.T, split.train.subjects)
            shapes = landmarks(to_rgb(split.test.X))
            before = face_lumas(split.test.X, shapes)
            edited = face_lumas(method.predict(split.test.X), shapes) - before
            real = face_lumas(split.test.T, shapes) - before
            dark = before <= np.quantile(before, 0.25)
            changes = (edited.mean(), real.mean(), edited[dark].mean(), real[dark].mean())
            rows.append([expression, split.held_out, str(len(before)),
                         *(f"{c:+.1f}" for c in changes)])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expressions", nargs="*", default=list(EXPRESSION_ORDER))
    args = parser.parse_args()
    header = ["expression", "held out", "faces", "edit, all", "real, all",
              "edit, darkest quarter", "real, darkest quarter"]  # fmt: skip
    print("Change of the face's mean luma (0-255), geometry model at intensity 1:\n")
    print(markdown_table(header, table(args.expressions)))


if __name__ == "__main__":
    main()
