"""Input checks shared by the evaluation metrics (private)."""

from __future__ import annotations

import numpy as np

EXTRA = "eval"


def missing(package: str, pin: str, what: str) -> ImportError:
    """Return an ImportError naming the optional package and the ``eval`` extra."""
    return ImportError(
        f"{what} needs the optional package {package!r}: pip install {pin} "
        f"(part of the '{EXTRA}' extra: pip install 'pixelfes[{EXTRA}]')"
    )


def to_float(image: np.ndarray, name: str) -> np.ndarray:
    """Return ``image`` as float64 in [0, 1]: uint8 is divided by 255, floats are kept."""
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return array.astype(np.float64) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{name} must be uint8 or float in [0, 1], got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array.astype(np.float64)


def as_image(image: np.ndarray, name: str) -> np.ndarray:
    """Return one image as (H, W, C) float64; accepts (H, W) or (H, W, C) with C in {1, 3}."""
    array = to_float(image, name)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise ValueError(
            f"{name} must be an (H, W) or (H, W, C) image with C 1 or 3, got {array.shape}"
        )
    if min(array.shape[:2]) < 2:
        raise ValueError(f"{name} is too small: {array.shape}")
    return array


def as_float_batch(images: np.ndarray, name: str, rgb: bool = False) -> tuple[np.ndarray, bool]:
    """Return images as (N, H, W, C) float64 and whether a single image was given.

    Accepts (H, W), (H, W, C) (one image) or (N, H, W, C) with C in {1, 3}. With ``rgb``
    a single channel is repeated to three.
    """
    array = to_float(images, name)
    single = array.ndim in (2, 3)
    if array.ndim == 2:
        array = array[None, :, :, None]
    elif array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[3] not in (1, 3) or array.shape[0] == 0:
        raise ValueError(
            f"{name} must be (H, W), (H, W, C) or (N, H, W, C) with C 1 or 3 and N > 0, "
            f"got {np.shape(images)}"
        )
    if rgb and array.shape[3] == 1:
        array = np.repeat(array, 3, axis=3)
    return array, single


def same_shape(a: np.ndarray, b: np.ndarray) -> None:
    """Raise ValueError unless two arrays have the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
