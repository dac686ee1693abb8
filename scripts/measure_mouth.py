"""The geometry model's mouth step on every leave-one-dataset-out split (docs/geometry.md).

    python scripts/measure_mouth.py [EXPR,EXPR,...]

For each split the geometry model is fitted on the training sets and applied to the
held-out faces with and without the mouth step (``geometric.synthesize(mouth=...)``).
Printed per split: PSNR inside the real target's inner-lip polygon (the target moved onto
its input's pose, :func:`pixelfes.faces.pose.in_input_pose`; targets whose opening is at
least ``MIN_OPENING`` px²) and the two judges' rates on the whole face. About a
minute for all six expressions on 2 cores. Needs the shared data, the geometry and eval
extras.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from pixelfes import geometric
from pixelfes.colour import to_rgb, to_unit
from pixelfes.evaluation import lodo
from pixelfes.evaluation.judges import Judges
from pixelfes.evaluation.lodo_geometry import GeometryMethod, LandmarkCache
from pixelfes.evaluation.pairs import load_sets
from pixelfes.exceptions import GeometryError
from pixelfes.faces.landmarks import INNER_LIPS
from pixelfes.faces.mouth import polygon_area, polygon_mask
from pixelfes.faces.pose import in_input_pose, without_pose

MIN_OPENING = 20.0
EXPRESSIONS = ("happy", "surprise", "fear", "sad", "anger", "disgust")


def edited(model, crops: np.ndarray, shapes: np.ndarray, mouth: bool) -> np.ndarray:
    """Each crop through the model (the input itself where the mesh would fold)."""
    out = to_unit(crops)
    for i in range(len(crops)):
        try:
            out[i] = geometric.synthesize(model, crops[i : i + 1], 1.0, shapes[i : i + 1],
                                          mouth=mouth)[0]  # fmt: skip
        except GeometryError:
            pass
    return out


def mouth_psnr(outputs: np.ndarray, targets: np.ndarray, target_shapes: np.ndarray) -> float:
    scores = []
    for out, target, shape in zip(outputs, targets, target_shapes, strict=True):
        lips = shape[list(INNER_LIPS)]
        if polygon_area(lips) < MIN_OPENING:
            continue
        inside = polygon_mask(lips, target.shape[0], feather=0) > 0
        scores.append(10 * np.log10(1 / np.mean((out[inside] - target[inside]) ** 2)))
    return float(np.mean(scores))


def main() -> None:
    expressions = sys.argv[1].split(",") if len(sys.argv) > 1 else EXPRESSIONS
    judges = Judges(identity=False, lpips=False)
    landmarks = LandmarkCache()
    warnings.simplefilter("ignore")
    for expression in expressions:
        sets = load_sets(lodo.DATASETS, expression)
        for split in lodo.splits(expression, sets, 2):
            method = GeometryMethod(fallback=None, landmarks=landmarks)
            method.fit(split.train.X, split.train.T, split.train.subjects)
            X, T = to_rgb(split.test.X), to_rgb(split.test.T)
            shapes, raw_shapes = landmarks(X), landmarks(T)
            # The targets in their inputs' pose, as the headline table scores them.
            T = in_input_pose(T, shapes, raw_shapes)
            target_shapes = without_pose(shapes, raw_shapes)
            cells = []
            for mouth in (True, False):
                out = edited(method.model_, X, shapes, mouth)
                hits = judges.expressions(out, expression)
                cells.append((mouth_psnr(out, to_unit(T), target_shapes),
                              100 * np.nanmean(hits["fer_hit"]),
                              100 * np.nanmean(hits["facex_hit"])))  # fmt: skip
            (p1, f1, x1), (p0, f0, x0) = cells
            print(f"| {expression}, {split.held_out} | {p1:.2f} / {p0:.2f} | {f1:.0f} / {f0:.0f} "
                  f"| {x1:.0f} / {x0:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
