"""Image-quality primitives below training and evaluation: input checks and PSNR.

Training scores held-out folds with :func:`batch_psnr`; the evaluation builds SSIM,
sharpness and the learned judges on the same checks. Images are uint8 (divided by 255)
or float in [0, 1]; one image is (H, W) or (H, W, C), a batch (N, H, W, C), C in {1, 3}.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.exceptions import InvalidInputError

__all__ = ["as_float_batch", "as_image", "batch_psnr", "pairwise", "psnr", "same_shape", "to_float"]


def to_float(image: np.ndarray, name: str) -> np.ndarray:
    """Return ``image`` as float64 in [0, 1]: uint8 is divided by 255, floats are kept."""
    array = np.asarray(image)
    if array.dtype == np.uint8:
        return to_unit(array, np.float64)
    if not np.issubdtype(array.dtype, np.floating):
        raise InvalidInputError(f"{name} must be uint8 or float in [0, 1], got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{name} contains NaN or infinite values")
    return array.astype(np.float64)


def as_image(image: np.ndarray, name: str) -> np.ndarray:
    """Return one image as (H, W, C) float64; accepts (H, W) or (H, W, C) with C in {1, 3}."""
    array = to_float(image, name)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise InvalidInputError(
            f"{name} must be an (H, W) or (H, W, C) image with C 1 or 3, got {array.shape}"
        )
    if min(array.shape[:2]) < 2:
        raise InvalidInputError(f"{name} is too small: {array.shape}")
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
        raise InvalidInputError(
            f"{name} must be (H, W), (H, W, C) or (N, H, W, C) with C 1 or 3 and N > 0, "
            f"got {np.shape(images)}"
        )
    if rgb and array.shape[3] == 1:
        array = np.repeat(array, 3, axis=3)
    return array, single


def same_shape(a: np.ndarray, b: np.ndarray) -> None:
    """Raise ValueError unless two arrays have the same shape."""
    if a.shape != b.shape:
        raise InvalidInputError(f"images differ in shape: {a.shape} vs {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio of one image pair, in dB.

    ``10 * log10(data_range**2 / MSE)`` with the MSE over all pixels and channels.

    Parameters
    ----------
    a, b : ndarray
        (H, W) or (H, W, C) images of the same shape, uint8 or float in [0, 1].
    data_range : float
        Peak value of the (float) images; 1.0 for images in [0, 1].

    Returns
    -------
    float
        PSNR in dB; ``inf`` for identical images.
    """
    x, y = as_image(a, "a"), as_image(b, "b")
    same_shape(x, y)
    if data_range <= 0:
        raise InvalidInputError(f"data_range must be positive, got {data_range}")
    mse = float(np.mean((x - y) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def pairwise(
    func: Callable[..., float], a: np.ndarray, b: np.ndarray, **kwargs: float
) -> np.ndarray:
    """``func`` of every image pair of two (N, H, W, C) batches; returns shape (N,)."""
    x, _ = as_float_batch(a, "a")
    y, _ = as_float_batch(b, "b")
    same_shape(x, y)
    return np.array([func(p, q, **kwargs) for p, q in zip(x, y, strict=True)], dtype=np.float64)


def batch_psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Per-image :func:`psnr` of two (N, H, W, C) batches; returns shape (N,)."""
    return pairwise(psnr, a, b, data_range=data_range)
