"""A face's pose between two crops of it, apart from its expression.

Two crops of one face (a neutral input and its expression target) are aligned separately,
by points the expression itself moves, so the whole face shifts and scales between them.
A similarity fitted on the face mesh's :data:`~pixelfes.faces.landmarks.STABLE_POINTS`
(nose ridge and tip, inner eye corners, temples) measures that change of pose; taking it
out leaves what the expression moved.

Shapes: (N, 468, 2) landmarks in crop pixels; crops (N, S, S, C).
"""

from __future__ import annotations

import cv2
import numpy as np

from pixelfes.faces.geometry import apply_affine, fit_similarity
from pixelfes.faces.landmarks import STABLE_POINTS

__all__ = ["in_input_pose", "pose_change", "without_pose"]


def pose_change(shape: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The similarity (2 x 3) taking ``shape``'s pose onto ``reference``'s: least squares on
    their ``STABLE_POINTS`` (two (468, 2) shapes of one face, e.g. a target's and its input's).

    Applied to ``shape`` (:func:`~pixelfes.faces.geometry.apply_affine`) it leaves only what the
    expression moved; applied to the target's crop (``cv2.warpAffine``) it shows the target
    in the input's pose.
    """
    stable = list(STABLE_POINTS)
    return fit_similarity(np.asarray(shape)[stable], np.asarray(reference)[stable])


def without_pose(shapes_x: np.ndarray, shapes_t: np.ndarray) -> np.ndarray:
    """(N, 468, 2) target shapes moved onto their inputs' pose (:func:`pose_change`): what
    the expression moved, without the change of pose between the two crops.

    The crops of a pair are aligned separately by five points the expression itself moves
    (eyes, mouth corners), so a target's whole face shifts and scales in its crop: the
    real surprise targets of CK+ are 7% smaller and 2 px higher than their neutral
    inputs, the happy ones of CK+ and the Taiwanese set 2 px lower. A shape model fitted
    on raw targets learns that as part of the expression and slides and shrinks the face
    it edits; fitted on these it learns what the face itself does.
    """
    shapes_t = np.asarray(shapes_t, np.float64)
    out = np.empty_like(shapes_t)
    for i, (x, t) in enumerate(zip(shapes_x, shapes_t, strict=True)):
        out[i] = apply_affine(pose_change(t, x), t)
    return out


def in_input_pose(T: np.ndarray, shapes_x: np.ndarray, shapes_t: np.ndarray) -> np.ndarray:
    """(N, S, S, C) target crops moved onto their inputs' pose, given both crops' (N, 468, 2)
    landmarks (border replicated): the real targets as the pixel measures should see them
    (:func:`without_pose`)."""
    T = np.asarray(T)
    out = np.empty_like(T)
    for i, (x, t) in enumerate(zip(shapes_x, shapes_t, strict=True)):
        moved = cv2.warpAffine(T[i], pose_change(t, x), (T.shape[2], T.shape[1]),
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        out[i] = moved.reshape(T.shape[1:])
    return out
