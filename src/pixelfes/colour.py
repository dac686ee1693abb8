"""Colour conversion, the one definition: the [0, 1] intensity scale and BT.601 luma.

Images are uint8 (0..255) or float on the [0, 1] scale; ``to_unit`` maps either to
floats on [0, 1], and ``luma``/``to_gray`` reduce RGB to grey with the ITU-R BT.601
weights (OpenCV's RGB -> gray), which the editing pipeline, ``train --gray`` and the
evaluation all use.
"""

from __future__ import annotations

import numpy as np

from pixelfes.exceptions import InvalidInputError

__all__ = ["BT601_LUMA", "luma", "to_gray", "to_unit"]

#: ITU-R BT.601 luma weights of R, G and B (also OpenCV's RGB -> gray).
BT601_LUMA = (0.299, 0.587, 0.114)


def to_unit(images: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """Return ``images`` as floats on the [0, 1] scale, always a new array.

    Parameters
    ----------
    images : array-like, uint8 or float
        uint8 values are divided by 255; float values are taken as they are.
    dtype : float dtype, default=float32
        Precision of the result.

    Returns
    -------
    ndarray of ``dtype``, same shape as ``images``
    """
    array = np.asarray(images)
    out = array.astype(dtype, copy=True)
    if array.dtype == np.uint8:
        out /= out.dtype.type(255.0)
    return out


def luma(images: np.ndarray) -> np.ndarray:
    """BT.601 luma of RGB images: (..., 3) -> (...).

    Float input is weighted in its own precision; uint8 input is weighted in float32 and
    rounded back to uint8.
    """
    array = np.asarray(images)
    if array.shape[-1:] != (3,):
        raise InvalidInputError(f"luma needs RGB images (..., 3); got shape {array.shape}")
    if array.dtype == np.uint8:
        y = array.astype(np.float32) @ np.asarray(BT601_LUMA, np.float32)
        return np.clip(np.rint(y), 0, 255).astype(np.uint8)
    weights = np.asarray(BT601_LUMA, array.dtype if array.dtype.kind == "f" else np.float64)
    return array @ weights


def to_gray(images: np.ndarray) -> np.ndarray:
    """(..., 3) RGB -> (..., 1) BT.601 luma of the same kind (see :func:`luma`).

    Single-channel (..., 1) images are returned unchanged.
    """
    array = np.asarray(images)
    if array.shape[-1:] == (1,):
        return array
    return luma(array)[..., None]


def to_rgb(images: np.ndarray) -> np.ndarray:
    """(..., 1) grey images as three equal channels (..., 3); others returned as they are."""
    images = np.asarray(images)
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
