"""Faces from points a person gives: two eye centres, optionally the mouth centre.

For faces a detector misses (paintings, cartoons, animals), the two eye centres are
enough to place the aligned crop: the nose and mouth are estimated from the template's
proportions, or the mouth from a given centre. The five points follow
:data:`pixelfes.faces.POINT_NAMES` and go to :func:`pixelfes.faces.align` as landmarks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pixelfes.exceptions import InvalidInputError
from pixelfes.faces.geometry import TEMPLATE_FRACTIONS, apply_affine, fit_similarity
from pixelfes.faces.types import FaceLandmarks

__all__ = ["landmarks_from_eyes", "parse_points"]

_EYES = TEMPLATE_FRACTIONS[:2]
_EYE_MID = _EYES.mean(axis=0)
_MOUTH = TEMPLATE_FRACTIONS[3:].mean(axis=0)
# Nose tip as a fraction of the way from the eye midpoint to the mouth centre.
_NOSE_T = float((TEMPLATE_FRACTIONS[2, 1] - _EYE_MID[1]) / (_MOUTH[1] - _EYE_MID[1]))
# Mouth width as a fraction of the inter-ocular distance.
_MOUTH_W = float(
    (TEMPLATE_FRACTIONS[4, 0] - TEMPLATE_FRACTIONS[3, 0]) / (_EYES[1, 0] - _EYES[0, 0])
)


def landmarks_from_eyes(
    eyes: Sequence[float] | np.ndarray, mouth: Sequence[float] | np.ndarray | None = None
) -> FaceLandmarks:
    """Five landmarks from two eye centres and an optional mouth centre.

    Parameters
    ----------
    eyes : sequence of 4 floats or array of shape (2, 2)
        ``x1, y1, x2, y2``: the eye centres in image pixels, in any order (the one further
        left in the image becomes the left eye).
    mouth : sequence of 2 floats, optional
        The mouth centre. Without it the nose and mouth come from the template: the face is
        assumed to have the template's proportions, turned and scaled like the eyes.

    Returns
    -------
    FaceLandmarks
        With score 1.0 and a box derived from the points.
    """
    pts = np.asarray(eyes, dtype=np.float64).reshape(-1)
    if pts.shape != (4,) or not np.all(np.isfinite(pts)):
        raise InvalidInputError(f"eyes must be four finite numbers x1,y1,x2,y2, got {eyes!r}")
    left, right = sorted([pts[:2], pts[2:]], key=lambda p: (p[0], p[1]))
    if np.hypot(*(right - left)) < 2.0:
        raise InvalidInputError("the two eye centres must be at least 2 pixels apart")
    eye_pair = np.stack([left, right])
    if mouth is None:
        to_image = fit_similarity(_EYES, eye_pair)
        rest = apply_affine(to_image, TEMPLATE_FRACTIONS[2:])
        return FaceLandmarks.from_points(np.vstack([eye_pair, rest]))
    centre = np.asarray(mouth, dtype=np.float64).reshape(-1)
    if centre.shape != (2,) or not np.all(np.isfinite(centre)):
        raise InvalidInputError(f"mouth must be two finite numbers x,y, got {mouth!r}")
    mid = eye_pair.mean(axis=0)
    across = (right - left) * (0.5 * _MOUTH_W)
    nose = mid + _NOSE_T * (centre - mid)
    points = np.vstack([eye_pair, nose, centre - across, centre + across])
    return FaceLandmarks.from_points(points)


def parse_points(text: str, count: int, name: str) -> list[float]:
    """Parse ``"x1,y1,x2,y2"`` into ``count`` floats, naming ``name`` in errors."""
    parts = [part.strip() for part in str(text).split(",")]
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise InvalidInputError(
            f"{name} must be {count} comma-separated numbers, got {text!r}"
        ) from None
    if len(values) != count or not all(np.isfinite(values)):
        raise InvalidInputError(f"{name} must be {count} comma-separated numbers, got {text!r}")
    return values
