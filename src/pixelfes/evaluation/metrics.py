"""Image-quality metrics: PSNR, SSIM, sharpness, and a confidence interval for their means.

All functions take images as numpy arrays, uint8 (0..255) or float in [0, 1]; uint8 inputs
are divided by 255 first, so ``data_range`` always refers to the float scale. A single image
is (H, W) or (H, W, C); a batch is (N, H, W, C); C is 1 or 3.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from pixelfes.evaluation._common import as_image, missing, same_shape
from pixelfes.metrics import batch_psnr, pairwise, psnr

__all__ = [
    "ConfidenceInterval",
    "batch_psnr",
    "batch_sharpness",
    "batch_ssim",
    "mean_ci",
    "psnr",
    "sharpness",
    "ssim",
]


def _gaussian_kernel(sigma: float, truncate: float = 3.5) -> np.ndarray:
    radius = int(truncate * sigma + 0.5)
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    return kernel / kernel.sum()


def ssim(
    a: np.ndarray,
    b: np.ndarray,
    data_range: float = 1.0,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Structural similarity of one image pair (Wang et al. 2004, Gaussian window).

    Local means, variances and covariance are taken under an 11x11 Gaussian window
    (``sigma`` 1.5, truncated at 3.5 sigma), population (not sample) statistics. The SSIM map
    ``((2 mu_a mu_b + C1)(2 cov + C2)) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2))`` with
    ``C1 = (k1 L)^2``, ``C2 = (k2 L)^2`` is averaged over the pixels whose window lies fully
    inside the image, then over colour channels. This matches scikit-image's
    ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, channel_axis=-1)``.

    Parameters
    ----------
    a, b : ndarray
        (H, W) or (H, W, C) images of the same shape, uint8 or float in [0, 1], H and W at
        least 11.
    data_range : float
        ``L``, the dynamic range of the (float) images.
    sigma, k1, k2 : float
        Window width and the stabilising constants of the paper.

    Returns
    -------
    float
        SSIM in [-1, 1]; 1 for identical images.
    """
    x, y = as_image(a, "a"), as_image(b, "b")
    same_shape(x, y)
    kernel = _gaussian_kernel(sigma)
    pad = kernel.size // 2
    if min(x.shape[:2]) < kernel.size:
        size = kernel.size
        raise ValueError(f"SSIM needs images of at least {size}x{size}, got {x.shape}")
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2

    def blur(img: np.ndarray) -> np.ndarray:
        out = cv2.sepFilter2D(img, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)
        return out[pad:-pad, pad:-pad]  # borders are cropped, so the border mode is irrelevant

    scores = []
    for c in range(x.shape[2]):
        p, q = np.ascontiguousarray(x[:, :, c]), np.ascontiguousarray(y[:, :, c])
        mu_p, mu_q = blur(p), blur(q)
        var_p = blur(p * p) - mu_p**2
        var_q = blur(q * q) - mu_q**2
        cov = blur(p * q) - mu_p * mu_q
        num = (2 * mu_p * mu_q + c1) * (2 * cov + c2)
        den = (mu_p**2 + mu_q**2 + c1) * (var_p + var_q + c2)
        scores.append(float(np.mean(num / den)))
    return float(np.mean(scores))


def _gradient_energy(image: np.ndarray) -> float:
    dy = np.diff(image, axis=0)
    dx = np.diff(image, axis=1)
    return float(np.mean(dy**2) + np.mean(dx**2))


def sharpness(output: np.ndarray, target: np.ndarray) -> float:
    """Gradient energy of ``output`` relative to ``target``.

    The gradient energy of an image is the mean squared forward difference along rows plus
    that along columns (all channels). The ratio is below 1 when the output is blurrier than
    the target (the typical failure of regression models), about 1 when equally sharp.

    Parameters
    ----------
    output, target : ndarray
        (H, W) or (H, W, C) images of the same shape, uint8 or float in [0, 1].

    Returns
    -------
    float
        ``energy(output) / energy(target)``; 1.0 when both are flat, ``inf`` when only the
        target is flat.
    """
    x, y = as_image(output, "output"), as_image(target, "target")
    same_shape(x, y)
    num, den = _gradient_energy(x), _gradient_energy(y)
    if den == 0.0:
        return 1.0 if num == 0.0 else float("inf")
    return num / den


def batch_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Per-image :func:`ssim` of two (N, H, W, C) batches; returns shape (N,)."""
    return pairwise(ssim, a, b, data_range=data_range)


def batch_sharpness(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-image :func:`sharpness` of two (N, H, W, C) batches; returns shape (N,)."""
    return pairwise(sharpness, outputs, targets)


class ConfidenceInterval(NamedTuple):
    """A mean with the bounds of its confidence interval."""

    mean: float
    low: float
    high: float
    level: float
    n_groups: int


def mean_ci(
    values: np.ndarray,
    level: float = 0.95,
    groups: np.ndarray | None = None,
    method: str = "bootstrap",
    n_boot: int = 10_000,
    seed: int = 0,
) -> ConfidenceInterval:
    """Mean of per-image scores with a confidence interval that respects subjects.

    Images of one subject are not independent, so the resampling unit is the subject
    (``groups``); without ``groups`` every value is its own subject.

    ``method="bootstrap"`` (default): percentile bootstrap over subjects with a fixed seed.
    Each of ``n_boot`` replicates draws subjects with replacement and takes the mean of all
    their images; the point estimate is the mean of all values. Needs only numpy, and is
    deterministic for a given ``seed``.

    ``method="t"``: Student-t interval over the per-subject means (the point estimate is
    then the mean of subject means). Needs scipy.

    Parameters
    ----------
    values : ndarray
        (N,) finite per-image scores.
    level : float
        Coverage, in (0, 1).
    groups : ndarray, optional
        (N,) subject label of each value.
    method : {"bootstrap", "t"}
    n_boot : int
        Bootstrap replicates.
    seed : int
        Seed of the bootstrap's random generator.

    Returns
    -------
    ConfidenceInterval
        ``(mean, low, high, level, n_groups)``; with one subject the bounds equal the mean.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values must be finite (e.g. drop the inf PSNR of identical images)")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if groups is None:
        codes = np.arange(v.size)
    else:
        g = np.asarray(groups)
        if g.shape != v.shape:
            raise ValueError(f"groups must have the shape of values {v.shape}, got {g.shape}")
        codes = np.unique(g, return_inverse=True)[1].reshape(-1)
    n_groups = int(codes.max()) + 1
    sums = np.bincount(codes, weights=v, minlength=n_groups)
    counts = np.bincount(codes, minlength=n_groups).astype(np.float64)
    alpha = (1.0 - level) / 2.0
    if method == "bootstrap":
        mean = float(v.mean())
        if n_groups < 2:
            return ConfidenceInterval(mean, mean, mean, level, n_groups)
        if n_boot < 1:
            raise ValueError(f"n_boot must be positive, got {n_boot}")
        rng = np.random.default_rng(seed)
        stats = np.empty(n_boot)
        step = max(1, 2_000_000 // n_groups)  # bounded memory for large studies
        for start in range(0, n_boot, step):
            draws = rng.integers(0, n_groups, size=(min(step, n_boot - start), n_groups))
            stats[start : start + len(draws)] = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
        low, high = np.quantile(stats, [alpha, 1.0 - alpha])
        return ConfidenceInterval(mean, float(low), float(high), level, n_groups)
    if method == "t":
        means = sums / counts
        mean = float(means.mean())
        if n_groups < 2:
            return ConfidenceInterval(mean, mean, mean, level, n_groups)
        try:
            from scipy import stats as scipy_stats
        except ImportError as exc:
            raise missing("scipy", "scipy", "mean_ci(method='t')") from exc
        half = float(scipy_stats.t.ppf(1.0 - alpha, n_groups - 1)) * float(
            means.std(ddof=1) / np.sqrt(n_groups)
        )
        return ConfidenceInterval(mean, mean - half, mean + half, level, n_groups)
    raise ValueError(f"method must be 'bootstrap' or 't', got {method!r}")
