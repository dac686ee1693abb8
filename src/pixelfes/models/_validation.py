"""Input checks shared by every model: image stacks, intensity scale, hyper-parameters.

Images are stacks of shape (N, H, W) (grayscale) or (N, H, W, C) (colour).
Intensities are on the [0, 1] scale: uint8 arrays are divided by 255, float arrays are
taken as they are (a float outside [0, 1] triggers a ``UserWarning``; NaN/inf raise).
"""

from __future__ import annotations

import warnings

import numpy as np

from pixelfes.exceptions import InvalidInputError

#: dtypes accepted as images; anything else (int16, bool, object, complex...) is refused.
FLOAT_DTYPES = (np.float16, np.float32, np.float64)

INTENSITY_SCALE = "[0, 1]: uint8 images are divided by 255, float images are used as given"


def check_images(X: object, name: str = "X", stacklevel: int = 4) -> np.ndarray:
    """Validate an image stack and return it as a 4-D view (N, H, W, C) of the same dtype.

    Parameters
    ----------
    X : array-like of shape (N, H, W) or (N, H, W, C)
        uint8 (0..255) or float (0..1) images.
    name : str
        Name used in error messages.
    stacklevel : int
        Passed to ``warnings.warn`` so the warning points at the user's call.

    Returns
    -------
    ndarray of shape (N, H, W, C)
        A view of ``X`` (never a modified copy), uint8 or float.
    """
    if hasattr(X, "toarray"):
        raise InvalidInputError(f"{name} is a sparse matrix; sparse input is not supported")
    arr = np.asarray(X)
    if arr.dtype.kind == "c":
        raise InvalidInputError(f"{name} has dtype {arr.dtype}: Complex data not supported")
    if arr.dtype != np.uint8 and arr.dtype.type not in FLOAT_DTYPES:
        raise InvalidInputError(
            f"{name} has unsupported dtype {arr.dtype}; use uint8 (0..255) or float (0..1)"
        )
    if arr.ndim not in (3, 4):
        raise InvalidInputError(
            f"{name} must have shape (N, H, W) or (N, H, W, C); got shape {arr.shape}"
        )
    if arr.size == 0:
        raise InvalidInputError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype != np.uint8:
        _check_float_range(arr, name, stacklevel)
    return arr if arr.ndim == 4 else arr[..., np.newaxis]


def _check_float_range(arr: np.ndarray, name: str, stacklevel: int) -> None:
    low, high = float(np.min(arr)), float(np.max(arr))
    if not (np.isfinite(low) and np.isfinite(high)):
        raise InvalidInputError(f"{name} contains NaN or infinite values")
    if low < 0.0 or high > 1.0:
        warnings.warn(
            f"{name} has float values in [{low:.3g}, {high:.3g}], outside [0, 1]; pixelfes "
            "expects intensities on the [0, 1] scale (uint8 images are divided by 255)",
            UserWarning,
            stacklevel=stacklevel,
        )


def check_pair(X: object, T: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate training inputs and targets; both become (N, H, W, C) views of equal shape."""
    X4 = check_images(X, "X", stacklevel=5)
    T4 = check_images(T, "T", stacklevel=5)
    if X4.shape != T4.shape:
        raise InvalidInputError(
            f"X and T must have the same shape; got {np.shape(X)} and {np.shape(T)}"
        )
    return X4, T4


def check_image_shape(X4: np.ndarray, image_shape: tuple[int, int, int]) -> None:
    """Refuse images whose H x W or channel count differ from what the model was fitted on."""
    height, width, channels = image_shape
    if X4.shape[1:3] != (height, width):
        raise InvalidInputError(
            f"X has images of {X4.shape[1]}x{X4.shape[2]} pixels; "
            f"the model was fitted on {height}x{width}"
        )
    if X4.shape[3] != channels:
        raise InvalidInputError(
            f"X has {X4.shape[3]} channel(s); the model was fitted on {channels}"
        )


def compute_dtype(X4: np.ndarray) -> type:
    """Precision a model computes in for ``X4``: float64 for float64 input, else float32."""
    return np.float64 if X4.dtype == np.float64 else np.float32


def check_positive(value: object, name: str) -> float:
    """Return ``value`` as a float, refusing anything that is not finite and > 0."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a positive number; got {value!r}") from None
    if not (np.isfinite(number) and number > 0.0):
        raise InvalidInputError(f"{name} must be a finite number > 0; got {value!r}")
    return number


def check_between(value: object, name: str, low: float, high: float) -> float:
    """Return ``value`` as a float, refusing anything outside ``[low, high]`` (or NaN)."""
    number = check_positive(value, name)
    if not low <= number <= high:
        raise InvalidInputError(f"{name} must be between {low:g} and {high:g}; got {value!r}")
    return number


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ValueError listing them."""
    if value not in choices:
        raise InvalidInputError(f"{name} must be one of {choices}; got {value!r}")
    return str(value)
