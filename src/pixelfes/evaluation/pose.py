"""Real targets shown in their inputs' pose, for the measures that compare pixels.

The two crops of a pair are aligned separately by five points the expression itself moves,
so a target's face is shifted and scaled in its crop (CK+ surprise: 7% smaller, 2 px
higher). PSNR, SSIM, LPIPS and the contour measures against such a target reward an edit
that slides the face by the same amount. :func:`targets_in_input_pose` moves each target
crop by the similarity that maps its face mesh's stable points onto its input's
(:func:`pixelfes.faces.pose.pose_change`), so that only the expression differs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pixelfes.colour import to_rgb
from pixelfes.faces.pose import in_input_pose

__all__ = ["targets_in_input_pose"]


def targets_in_input_pose(
    X: np.ndarray, T: np.ndarray, landmarks: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """(N, S, S, C) uint8 targets moved onto the pose of their (N, S, S, C) inputs.

    ``landmarks(crops)`` gives (N, 468, 2) face-mesh points of (N, S, S, 3) crops (e.g. a
    :class:`~pixelfes.evaluation.lodo_geometry.LandmarkCache`); the move itself is
    :func:`pixelfes.faces.pose.in_input_pose`.
    """
    X, T = np.asarray(X), np.asarray(T)
    if X.shape != T.shape or X.ndim != 4:
        raise ValueError(f"X and T must be (N, S, S, C) of one shape, got {X.shape} {T.shape}")
    return in_input_pose(T, landmarks(to_rgb(X)), landmarks(to_rgb(T)))
