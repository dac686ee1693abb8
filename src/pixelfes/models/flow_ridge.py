"""Flow Pixel-RR: each output pixel a ridge regression on the input pixel at a learned offset.

Pixel-RR (Eq. 3-6) reads the input pixel at the output pixel's own location, so it can
brighten or darken a lip but never move it. Here every output pixel p reads the input at
``p + d(p)``, with the integer offset ``d(p)`` chosen from a disc of candidates by the
training objective. Every candidate's ridge fit and objective follow exactly from additive
per-location sums (``sum x``, ``sum x^2``, ``sum t``, ``sum t^2`` and, per candidate,
``sum x(p + d) t(p)``), so the fit streams over pairs like Pixel-RR's.
"""

from __future__ import annotations

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.exceptions import InvalidInputError
from pixelfes.models._additive import AdditiveFit, Statistics
from pixelfes.models._registry import register
from pixelfes.models._validation import (
    check_choice,
    check_image_shape,
    check_images,
    check_positive,
    compute_dtype,
)
from pixelfes.models.base import BaseImageModel, expect_shape
from pixelfes.models.pixel_ridge import CHANNEL_MODES, PixelRidge

__all__ = ["FlowPixelRidge", "box_mean", "candidate_offsets", "source_index"]

_BLOCK = 16  # images summed at a time: uint8 products of a block stay exact in float32


def candidate_offsets(radius: int) -> np.ndarray:
    """Integer offsets (dy, dx) with ``dy^2 + dx^2 <= radius^2``, shortest first: (m, 2).

    Ties in the fit go to the earlier candidate, so to the shorter offset; (0, 0) is first.
    """
    span = range(-radius, radius + 1)
    disc = [(dy, dx) for dy in span for dx in span if dy * dy + dx * dx <= radius * radius]
    return np.array(sorted(disc, key=lambda d: (d[0] ** 2 + d[1] ** 2, d)), dtype=np.int64)


def source_index(offsets: np.ndarray) -> np.ndarray:
    """Flat index ``clamp(p + d(p))`` into an H x W image of each location p: (H * W,)."""
    height, width = offsets.shape[:2]
    rows = np.clip(np.arange(height)[:, None] + offsets[..., 0], 0, height - 1)
    cols = np.clip(np.arange(width)[None, :] + offsets[..., 1], 0, width - 1)
    return (rows * width + cols).reshape(-1)


def box_mean(maps: np.ndarray, radius: int) -> np.ndarray:
    """Mean of (..., H, W) maps over the (2 radius + 1)^2 window, truncated at the border."""
    if radius == 0:
        return maps
    height, width = maps.shape[-2:]
    table = np.zeros((*maps.shape[:-2], height + 1, width + 1))
    table[..., 1:, 1:] = maps.cumsum(-2).cumsum(-1)
    y0 = np.clip(np.arange(height) - radius, 0, height)
    y1 = np.clip(np.arange(height) + radius + 1, 0, height)
    x0 = np.clip(np.arange(width) - radius, 0, width)
    x1 = np.clip(np.arange(width) + radius + 1, 0, width)
    total = (
        table[..., y1[:, None], x1[None, :]]
        - table[..., y0[:, None], x1[None, :]]
        - table[..., y1[:, None], x0[None, :]]
        + table[..., y0[:, None], x0[None, :]]
    )
    return total / ((y1 - y0)[:, None] * (x1 - x0)[None, :])


def _shifted(maps: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(k, H, W, C) maps read at ``clamp(p + d)`` for every offset: (m, k, H, W, C)."""
    r = int(np.abs(offsets).max(initial=0))
    height, width = maps.shape[1:3]
    padded = np.pad(maps, ((0, 0), (r, r), (r, r), (0, 0)), mode="edge")
    return np.stack(
        [padded[:, r + dy : r + dy + height, r + dx : r + dx + width] for dy, dx in offsets]
    )


@register("flow-rr")
class FlowPixelRidge(AdditiveFit, BaseImageModel):
    """Pixel-RR on the input pixel at a learned offset: ``y_p = w_p x_{p + d(p)} + b_p``.

    For every output location p and every candidate offset d (integers, ``|d| <= radius``,
    reads clamped to the image), ``(w, b)`` minimise Eq. 3 with ``x_p`` replaced by
    ``x_{p+d}``, in closed form by Eq. 6. The minimum of Eq. 3 is
    ``E_p(d) = 1/2 (sum t^2 - w sum x t - b sum t)``. The offset chosen is

    ``d(p) = argmin_d  box_mean_smooth[E(d) / n](p) + penalty |d|^2``

    with n the number of values per location (pairs, times channels when shared) and the
    box mean over the ``(2 smooth + 1)^2`` window around p. Two regularisers keep the field
    plausible: the window makes neighbouring pixels agree on a displacement (the residual
    of a patch, as in block matching, rather than of one pixel, which a lucky noise match
    can win), and the penalty is a zero-mean Gaussian prior on the displacement (in units
    of the per-value objective per squared pixel): an offset must earn its length, and
    where the data cannot tell candidates apart the model stays Pixel-RR.

    Parameters
    ----------
    alpha : float, default=0.4
        Ridge penalty (the paper's lambda), > 0.
    radius : int, default=6
        Largest offset length in pixels (a disc of candidates); 0 is Pixel-RR exactly.
    smooth : int, default=8
        Radius of the box window the objective maps are averaged over before the argmin.
    penalty : float, default=3e-5
        Cost of a squared pixel of offset, >= 0.
    channels : {"shared", "independent"}, default="shared"
        As for :class:`~pixelfes.models.pixel_ridge.PixelRidge`; the offset field is one
        for all channels either way (its objective summed over them).

    Attributes
    ----------
    coef_, intercept_ : ndarray of shape (H, W, 1) or (H, W, C)
        Per-pixel weight and bias at the chosen offset; float64 when fitted on float64
        images, else float32.
    offsets_ : ndarray of shape (H, W, 2), int8
        The chosen (dy, dx) per output location (saved as int8 in model files).
    image_shape_ : tuple (H, W, C)
    statistics_ : dict
        ``n_pairs``, ``moments`` (sum x, sum x^2, sum t, sum t^2 per location) and
        ``cross`` (sum x(p + d) t(p) per candidate, shape (m, H, W, Cw)), float64. Not saved.

    Notes
    -----
    ``partial_fit`` and ``merge`` add the sums, so they equal one fit on all pairs.
    :meth:`warp` samples an input at ``p + intensity d(p)`` (bilinear), so that an edit at
    intensity t moves pixels a fraction t of the way (see :func:`pixelfes.editing.synthesize`);
    at intensity 1 it is the integer gather that :meth:`predict` uses.

    References
    ----------
    .. [1] Khan, Akram, Mahmood, Ashraf, Murtaza. "Pixel-based Facial Expression
       Synthesis", Section III, Eq. 3-6.
    """

    _param_names = ("alpha", "radius", "smooth", "penalty", "channels")
    _array_names = ("coef_", "intercept_", "offsets_")
    _integer_arrays = ("offsets_",)
    #: Each chunk is summed against every candidate offset: keep it moderate.
    _chunk_pairs = 64

    def __init__(
        self,
        alpha: float = 0.4,
        radius: int = 6,
        smooth: int = 8,
        penalty: float = 3e-5,
        channels: str = "shared",
    ) -> None:
        self.alpha = alpha
        self.radius = radius
        self.smooth = smooth
        self.penalty = penalty
        self.channels = channels

    def _check_hyper_parameters(self) -> None:
        check_positive(self.alpha, "alpha")
        for name, top in (("radius", 127), ("smooth", 64)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InvalidInputError(f"{name} must be an integer in [0, {top}]; got {value!r}")
            if not 0 <= value <= top:
                raise InvalidInputError(f"{name} must be an integer in [0, {top}]; got {value!r}")
        if self.penalty != 0:
            check_positive(self.penalty, "penalty")
        check_choice(self.channels, "channels", CHANNEL_MODES)

    # -- the additive fit ---------------------------------------------------------------
    def _empty_statistics(self, image_shape: tuple[int, ...]) -> Statistics:
        height, width, channels = image_shape
        width_c = 1 if self.channels == "shared" else channels
        m = len(candidate_offsets(int(self.radius)))
        return {
            "n_pairs": 0.0,
            "moments": np.zeros((4, height, width, width_c)),
            "cross": np.zeros((m, height, width, width_c)),
        }

    def _accumulate(self, statistics: Statistics, X4: np.ndarray, T4: np.ndarray) -> None:
        exact = X4.dtype == np.uint8 and T4.dtype == np.uint8
        offsets = candidate_offsets(int(self.radius))
        r, (height, width) = int(self.radius), X4.shape[1:3]
        shared = self.channels == "shared"
        moments = np.zeros(statistics["moments"].shape)
        cross = np.zeros(statistics["cross"].shape)
        for start in range(0, X4.shape[0], _BLOCK):
            x_block, t_block = X4[start : start + _BLOCK], T4[start : start + _BLOCK]
            x = x_block.astype(np.float32) if exact else to_unit(x_block, np.float64)
            t = t_block.astype(np.float32) if exact else to_unit(t_block, np.float64)
            for i, value in enumerate((x, x * x, t, t * t)):
                moments[i] += _channel_sum(value.sum(axis=0, dtype=np.float64), shared)
            padded = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode="edge")
            for k, (dy, dx) in enumerate(offsets):
                view = padded[:, r + dy : r + dy + height, r + dx : r + dx + width]
                cross[k] += _channel_sum((view * t).sum(axis=0, dtype=np.float64), shared)
        if exact:
            moments *= np.array([1 / 255, 1 / 255**2, 1 / 255, 1 / 255**2])[:, None, None, None]
            cross *= 1 / 255**2
        statistics["moments"] += moments
        statistics["cross"] += cross
        statistics["n_pairs"] += X4.shape[0]

    def candidate_fits(self, statistics: Statistics) -> tuple[np.ndarray, ...]:
        """Every candidate's closed-form fit: ``w, b, E`` each of shape (m, H, W, Cw).

        ``E`` is the minimum of Eq. 3 (half the squared error plus half the penalty) at
        each location, for the input read at each candidate offset.
        """
        lam = float(self.alpha)
        offsets = candidate_offsets(int(self.radius))
        sx_map, sxx_map, st, stt = statistics["moments"]
        sx, sxx = _shifted(np.stack([sx_map, sxx_map]), offsets).transpose(1, 0, 2, 3, 4)
        stx = statistics["cross"]
        n = statistics["n_pairs"] * (self.image_shape_[2] if self.channels == "shared" else 1)
        a, d = sxx + lam, n + lam  # Eq. 6 by Cramer's rule, as PixelRidge
        det = a * d - sx * sx
        w = (d * stx - sx * st) / det
        b = (a * st - sx * stx) / det
        return w, b, 0.5 * (stt - w * stx - b * st)

    def selection_cost(self, objective: np.ndarray, n_pairs: float) -> np.ndarray:
        """The cost the offset minimises, per candidate and location: (m, H, W).

        ``objective`` is :meth:`candidate_fits`' ``E`` for ``n_pairs`` training pairs.
        """
        n_values = n_pairs * self.image_shape_[2]
        per_value = objective.sum(axis=-1) / max(n_values, 1.0)
        offsets = candidate_offsets(int(self.radius))
        prior = float(self.penalty) * (offsets**2).sum(axis=1)
        return box_mean(per_value, int(self.smooth)) + prior[:, None, None]

    def _solve(self, statistics: Statistics) -> None:
        w, b, objective = self.candidate_fits(statistics)
        best = np.argmin(self.selection_cost(objective, statistics["n_pairs"]), axis=0)
        rows, cols = np.indices(best.shape)
        dtype = self._fitted_dtype(statistics)
        self.coef_ = w[best, rows, cols].astype(dtype)
        self.intercept_ = b[best, rows, cols].astype(dtype)
        self.offsets_ = candidate_offsets(int(self.radius))[best].astype(np.int8)

    # -- prediction ---------------------------------------------------------------------
    def _predict(self, X4: np.ndarray) -> np.ndarray:
        n, height, width, channels = X4.shape
        gathered = X4.reshape(n, height * width, channels)[:, source_index(self.offsets_)]
        return self.texture()._predict(gathered.reshape(X4.shape))

    def warp(self, X: np.ndarray, intensity: float | np.ndarray = 1.0) -> np.ndarray:
        """Sample images at ``p + intensity * d(p)`` (bilinear, reads clamped to the image).

        Parameters
        ----------
        X : ndarray of shape (N, H, W) or (N, H, W, C)
            uint8 or float images of the training height and width (any channel count:
            a model fitted on luma moves colour crops).
        intensity : float or ndarray of shape (H, W)
            Fraction of each offset to apply; 1 reads exactly the pixels :meth:`predict`
            reads, 0 returns the input.

        Returns
        -------
        ndarray of the shape of X, float on the [0, 1] scale
            float64 for float64 X, else float32.
        """
        self._check_fitted()
        X4 = check_images(X, "X")
        check_image_shape(X4, (*self.image_shape_[:2], X4.shape[3]))  # any channel count
        dtype = compute_dtype(X4)
        height, width = self.image_shape_[:2]
        scale = np.broadcast_to(np.asarray(intensity, np.float64), (height, width))
        rows = np.clip(np.arange(height)[:, None] + scale * self.offsets_[..., 0], 0, height - 1)
        cols = np.clip(np.arange(width)[None, :] + scale * self.offsets_[..., 1], 0, width - 1)
        r0, c0 = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
        r1, c1 = np.minimum(r0 + 1, height - 1), np.minimum(c0 + 1, width - 1)
        fy, fx = (rows - r0).astype(dtype)[..., None], (cols - c0).astype(dtype)[..., None]
        flat = to_unit(X4, dtype).reshape(X4.shape[0], height * width, -1)

        def at(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            return flat[:, (r * width + c).reshape(-1)].reshape(X4.shape)

        if not (fy.any() or fx.any()):  # whole-pixel moves (intensity 1): one gather
            return at(r0, c0).reshape(np.shape(X))
        top = at(r0, c0) * (1 - fx) + at(r0, c1) * fx
        bottom = at(r1, c0) * (1 - fx) + at(r1, c1) * fx
        return (top * (1 - fy) + bottom * fy).reshape(np.shape(X))

    def texture(self) -> PixelRidge:
        """The per-pixel part alone: a fitted PixelRidge with ``coef_`` and ``intercept_``.

        ``model.texture().predict(model.warp(X))`` equals ``model.predict(X)``.
        """
        self._check_fitted()
        ridge = PixelRidge(alpha=self.alpha, channels=self.channels)
        ridge.coef_, ridge.intercept_ = self.coef_, self.intercept_
        ridge.image_shape_ = self.image_shape_
        ridge.metadata_ = getattr(self, "metadata_", {})
        return ridge

    def _count_parameters(self) -> int:
        return int(self.coef_.size + self.intercept_.size + self.offsets_.size)

    def _check_arrays(self) -> None:
        height, width, channels = self.image_shape_
        shape = (height, width, 1 if self.channels == "shared" else channels)
        expect_shape(self.coef_, shape, "coef_")
        expect_shape(self.intercept_, shape, "intercept_")
        expect_shape(self.offsets_, (height, width, 2), "offsets_")
        lengths = (np.asarray(self.offsets_, np.int64) ** 2).sum(axis=-1)
        if lengths.max(initial=0) > int(self.radius) ** 2:
            raise InvalidInputError(f"offsets_ holds offsets longer than radius={self.radius}")


def _channel_sum(sums: np.ndarray, shared: bool) -> np.ndarray:
    return sums.sum(axis=-1, keepdims=True) if shared else sums
