"""How far each data set's expressions move a few key points (what a shape model learns).

    python scripts/expression_movement.py [EXPR ...]

The shared data come from ``PIXELFES_DATA`` (default ``../shared/data``).

For every shared data set with neutral -> EXPR pairs: the mean displacement of the face
mesh's key points from the input to the real target, without the change of pose between
the two crops (:func:`pixelfes.faces.pose.without_pose`), in pixels of the 128 px crop.
Vertical movements are positive downwards; "mouth corners apart" is half the change of
their distance. Printed as markdown. Two data sets that move a point in opposite
directions for one expression cannot teach a shape model that works on both.
"""

from __future__ import annotations

import argparse

import numpy as np

from pixelfes.colour import to_rgb
from pixelfes.evaluation import lodo
from pixelfes.evaluation.lodo_geometry import LandmarkCache
from pixelfes.evaluation.lodo_report import EXPRESSION_ORDER
from pixelfes.evaluation.pairs import load_sets
from pixelfes.evaluation.report import markdown_table
from pixelfes.faces.pose import without_pose

#: Face-mesh indices (left and right of the face) of each point whose y movement is shown.
VERTICAL = {
    "inner brows": (107, 336),
    "outer brows": (70, 300),
    "upper lids": (159, 386),
    "lower lids": (145, 374),
    "mouth corners": (61, 291),
    "upper lip": (0,),
    "lower lip": (17,),
    "chin": (152,),
}
CORNERS = (61, 291)


def movements(displacements: np.ndarray) -> list[float]:
    """Mean y movement of each :data:`VERTICAL` point group, then the corners' spread,
    for (N, 468, 2) displacements."""
    rows = [float(displacements[:, list(points), 1].mean()) for points in VERTICAL.values()]
    left, right = CORNERS
    spread = displacements[:, right, 0] - displacements[:, left, 0]
    return [*rows, float(spread.mean() / 2)]


def table(expressions) -> list[list[str]]:
    """One row of :func:`movements` per expression and data set."""
    landmarks = LandmarkCache()
    rows = []
    for expression in expressions:
        for name, pairs in load_sets(lodo.DATASETS, expression).items():
            shapes_x = landmarks(to_rgb(pairs.X))
            moved = without_pose(shapes_x, landmarks(to_rgb(pairs.T))) - shapes_x
            values = (f"{v:+.2f}" for v in movements(moved))
            rows.append([expression, name, str(len(pairs)), *values])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("expressions", nargs="*", default=list(EXPRESSION_ORDER))
    args = parser.parse_args()
    header = ["expression", "data set", "pairs", *VERTICAL, "mouth corners apart"]
    print("Mean movement, input to real target without the pose change (px at 128, +y down):")
    print()
    print(markdown_table(header, table(args.expressions)))


if __name__ == "__main__":
    main()
