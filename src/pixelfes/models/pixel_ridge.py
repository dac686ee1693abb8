"""Pixel-RR: one ridge regression (weight and bias) per pixel location (Eq. 3-6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.models._additive import AdditiveFit, Statistics
from pixelfes.models._registry import register
from pixelfes.models._validation import check_choice, check_positive, compute_dtype
from pixelfes.models.base import BaseImageModel, expect_shape

if TYPE_CHECKING:
    from pixelfes.models.lookup_table import PixelLookupTable

CHANNEL_MODES = ("shared", "independent")
_BLOCK = 16  # images converted at a time while accumulating the sums (cache-sized)


def pixel_moments(X4: np.ndarray, T4: np.ndarray, shared: bool) -> np.ndarray:
    """Per-location sums (sum x, sum x^2, sum t, sum t x) in float64, on [0, 1].

    uint8 data are summed as integer-valued float32 blocks (exact: a block's sums stay
    below 2^24) and scaled by 1/255 at the end; float data are summed in float64.

    Parameters
    ----------
    X4, T4 : ndarray of shape (N, H, W, C)
        Inputs and targets (uint8 or float).
    shared : bool
        Also sum over the channel axis (one model per location for all channels).

    Returns
    -------
    ndarray of shape (4, H, W, C) or (4, H, W, 1)
        ``sx, sxx, st, stx`` stacked.
    """
    exact = X4.dtype == np.uint8 and T4.dtype == np.uint8

    def convert(block: np.ndarray) -> np.ndarray:
        return block.astype(np.float32) if exact else to_unit(block, np.float64)

    n_images = X4.shape[0]
    flat_x, flat_t = X4.reshape(n_images, -1), T4.reshape(n_images, -1)
    sums = np.zeros((4, flat_x.shape[1]))  # sx, sxx, st, stx
    for start in range(0, n_images, _BLOCK):
        x = convert(flat_x[start : start + _BLOCK])
        t = convert(flat_t[start : start + _BLOCK])
        sums[0] += x.sum(axis=0)
        sums[2] += t.sum(axis=0)
        t *= x
        sums[3] += t.sum(axis=0)
        x *= x
        sums[1] += x.sum(axis=0)
    if exact:
        sums *= np.array([1 / 255, 1 / 255**2, 1 / 255, 1 / 255**2])[:, None]
    sums = sums.reshape(4, *X4.shape[1:])
    return sums.sum(axis=-1, keepdims=True) if shared else sums


@register("pixel-rr")
class PixelRidge(AdditiveFit, BaseImageModel):
    """Pixel-based ridge regression (Pixel-RR): ``y_p = w_p x_p + b_p`` at every pixel.

    Each output pixel is predicted from the single input pixel at the same location.
    ``(w_p, b_p)`` minimise Eq. 3, ``1/2 ||w_p x_p + b_p 1 - t_p||^2 + alpha/2 (w_p^2 +
    b_p^2)`` (the bias is regularised), solved in closed form by the 2x2 system of Eq. 6
    for all pixels at once.

    Parameters
    ----------
    alpha : float, default=0.4
        Ridge penalty (the paper's lambda), > 0.
    channels : {"shared", "independent"}, default="shared"
        "shared": one (w, b) per location for all colour channels (normal equations
        summed over channels; 2 H W parameters, the paper's count). "independent": one
        (w, b) per channel and location (2 H W C parameters).

    Attributes
    ----------
    coef_ : ndarray of shape (H, W, 1) or (H, W, C)
        Per-pixel weights w_p; float64 when fitted on float64 images, else float32.
    intercept_ : ndarray, same shape and dtype as coef_
        Per-pixel biases b_p.
    image_shape_ : tuple (H, W, C)
        Shape of one training image (C = 1 for grayscale).
    statistics_ : dict
        The sums the fit solves: ``n_pairs`` and ``moments`` (sum x, sum x^2, sum t,
        sum t x per location, float64, shape (4,) + coef_.shape). Not saved in files.

    Notes
    -----
    The fit needs only these sums, so ``partial_fit`` adds chunks of pairs and
    ``merge`` adds two models' sums; either equals one fit on all the pairs.
    Intensities are on the [0, 1] scale (uint8 divided by 255). N = 1 is allowed:
    the penalty makes every system solvable, and the fit shrinks towards zero.

    References
    ----------
    .. [1] Khan, Akram, Mahmood, Ashraf, Murtaza. "Pixel-based Facial Expression
       Synthesis", Section III, Eq. 3-6.
    """

    _param_names = ("alpha", "channels")
    _array_names = ("coef_", "intercept_")

    def __init__(self, alpha: float = 0.4, channels: str = "shared") -> None:
        self.alpha = alpha
        self.channels = channels

    def _check_hyper_parameters(self) -> None:
        check_positive(self.alpha, "alpha")
        check_choice(self.channels, "channels", CHANNEL_MODES)

    def _empty_statistics(self, image_shape: tuple[int, ...]) -> Statistics:
        height, width, channels = image_shape
        width_c = 1 if self.channels == "shared" else channels
        return {"n_pairs": 0.0, "moments": np.zeros((4, height, width, width_c))}

    def _accumulate(self, statistics: Statistics, X4: np.ndarray, T4: np.ndarray) -> None:
        statistics["n_pairs"] += X4.shape[0]
        statistics["moments"] += pixel_moments(X4, T4, self.channels == "shared")

    def _solve(self, statistics: Statistics) -> None:
        lam = float(self.alpha)
        sx, sxx, st, stx = statistics["moments"]
        n = statistics["n_pairs"] * (self.image_shape_[2] if self.channels == "shared" else 1)
        # Eq. 6: [[sxx + lam, sx], [sx, n + lam]] [w, b]^T = [stx, st]^T, by Cramer's rule.
        a, d = sxx + lam, n + lam
        det = a * d - sx * sx
        dtype = self._fitted_dtype(statistics)
        self.coef_ = ((d * stx - sx * st) / det).astype(dtype)
        self.intercept_ = ((a * st - sx * stx) / det).astype(dtype)

    def _predict(self, X4: np.ndarray) -> np.ndarray:
        # Full (H, W, C) weights: broadcasting a size-1 channel axis makes numpy's
        # inner loop 3 elements long, several times slower than a flat pass.
        shape = X4.shape[1:]
        dtype = compute_dtype(X4)
        scale = dtype(1.0 / 255.0 if X4.dtype == np.uint8 else 1.0)
        w = np.broadcast_to((self.coef_ * scale).astype(dtype, copy=False), shape).reshape(1, -1)
        b = np.broadcast_to(self.intercept_.astype(dtype, copy=False), shape).reshape(1, -1)
        out = np.multiply(X4.reshape(X4.shape[0], -1), w, dtype=dtype)
        out += b
        return out.reshape(X4.shape)

    def _count_parameters(self) -> int:
        return int(self.coef_.size + self.intercept_.size)

    def _check_arrays(self) -> None:
        height, width, channels = self.image_shape_
        shape = (height, width, 1 if self.channels == "shared" else channels)
        expect_shape(self.coef_, shape, "coef_")
        expect_shape(self.intercept_, shape, "intercept_")

    def to_lookup_table(self, dtype: str = "float32") -> PixelLookupTable:
        """Tabulate every pixel's function at the 256 uint8 levels (see PixelLookupTable)."""
        from pixelfes.models.lookup_table import tabulate

        self._check_fitted()
        return tabulate(self, dtype=dtype)

    def _evaluate_levels(self, levels: np.ndarray) -> np.ndarray:
        """Values of each location's function at ``levels`` (L,) -> (H, W, Cw, L)."""
        return self.coef_[..., None] * levels + self.intercept_[..., None]
