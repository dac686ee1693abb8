"""Masked Regression (MR) baseline: each output pixel from a small input neighbourhood."""

from __future__ import annotations

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.exceptions import InvalidInputError
from pixelfes.models._additive import AdditiveFit, Statistics
from pixelfes.models._registry import register
from pixelfes.models._validation import check_positive, compute_dtype
from pixelfes.models.base import BaseImageModel, expect_shape


def neighbour_offsets(radius: int) -> list[tuple[int, int]]:
    """(dy, dx) of the (2 radius + 1)^2 square neighbourhood, row-major."""
    span = range(-radius, radius + 1)
    return [(dy, dx) for dy in span for dx in span]


def shifted_views(padded: np.ndarray, radius: int, height: int, width: int) -> list[np.ndarray]:
    """Views of a zero-padded (N, H + 2r, W + 2r) stack, one per neighbour offset."""
    return [
        padded[:, radius + dy : radius + dy + height, radius + dx : radius + dx + width]
        for dy, dx in neighbour_offsets(radius)
    ]


def valid_mask(height: int, width: int, radius: int) -> np.ndarray:
    """(H, W, m) True where the neighbour lies inside the image (border truncation)."""
    ones = np.pad(np.ones((1, height, width), dtype=bool), ((0, 0), (radius,) * 2, (radius,) * 2))
    return np.stack([v[0] for v in shifted_views(ones, radius, height, width)], axis=-1)


@register("mr")
class MaskedRidge(AdditiveFit, BaseImageModel):
    """Masked ridge regression (MR; Khan et al., IJCV 2020), the paper's baseline.

    Output pixel p of channel c is ``y = sum_j w_pj x_j + b_p`` over the input pixels j
    of the same channel in the (2 radius + 1)^2 square around p, truncated at the
    border. Per pixel, ``(w_p, b_p)`` minimise ``1/2 ||A_p [w; b] - t_p||^2 + alpha/2
    (||w||^2 + b^2)`` with ``A_p = [neighbourhood values, 1]`` (bias regularised),
    i.e. the normal equations ``(A^T A + alpha I) [w; b] = A^T t``. Colour images get an
    independent model per channel.

    Parameters
    ----------
    alpha : float, default=0.4
        Ridge penalty (lambda), > 0.
    radius : int, default=1
        Neighbourhood radius; 1 gives 3x3.

    Attributes
    ----------
    coef_ : ndarray of shape (H, W, C, m), float64 when fitted on float64 images, else float32
        Neighbour weights, m = (2 radius + 1)^2 in row-major offset order; exactly 0
        for neighbours outside the image.
    intercept_ : ndarray of shape (H, W, C), same dtype as coef_
    image_shape_ : tuple (H, W, C)
    statistics_ : dict
        The sums the fit solves: ``n_pairs``, per pixel and channel ``gram`` = A^T A
        (H, W, C, m + 1, m + 1) and ``rhs`` = A^T t (H, W, C, m + 1), float64 (about
        100 H W C values for radius 1). Not saved in files.

    Notes
    -----
    The fit needs only these sums, so ``partial_fit`` adds chunks of pairs and
    ``merge`` adds two models' sums; either equals one fit on all the pairs.
    ``n_parameters`` counts in-image weights plus biases: 145,924 + 16,384 = 162,308
    for radius 1 on one 128x128 channel (Table I's MR entry). N = 1 is allowed.

    References
    ----------
    .. [1] Khan, Akram, Mahmood, Ashraf, Murtaza. "Masked linear regression for
       learning local receptive fields for facial expression synthesis", IJCV 2020.
    """

    _param_names = ("alpha", "radius")
    #: Each pair becomes (2 radius + 1)^2 + 1 features a pixel: keep chunks small.
    _chunk_pairs = 64
    _array_names = ("coef_", "intercept_")

    def __init__(self, alpha: float = 0.4, radius: int = 1) -> None:
        self.alpha = alpha
        self.radius = radius

    def _check_hyper_parameters(self) -> None:
        check_positive(self.alpha, "alpha")
        if isinstance(self.radius, bool) or not isinstance(self.radius, int | np.integer):
            raise InvalidInputError(f"radius must be an integer >= 0; got {self.radius!r}")
        if self.radius < 0:
            raise InvalidInputError(f"radius must be an integer >= 0; got {self.radius!r}")

    def _empty_statistics(self, image_shape: tuple[int, ...]) -> Statistics:
        height, width, channels = image_shape
        size = (2 * int(self.radius) + 1) ** 2 + 1  # neighbours and the bias
        return {
            "n_pairs": 0.0,
            "gram": np.zeros((height, width, channels, size, size)),
            "rhs": np.zeros((height, width, channels, size)),
        }

    def _accumulate(self, statistics: Statistics, X4: np.ndarray, T4: np.ndarray) -> None:
        # Per pixel, A^T A and A^T t with A = [neighbourhood values, 1] (upper triangle
        # computed, mirrored).
        _, height, width, channels = X4.shape
        r = int(self.radius)
        m = (2 * r + 1) ** 2
        gram, rhs = statistics["gram"], statistics["rhs"]
        for c in range(channels):
            x = to_unit(X4[..., c], np.float64)
            t = to_unit(T4[..., c], np.float64)
            views = shifted_views(np.pad(x, ((0, 0), (r, r), (r, r))), r, height, width)
            for i, vi in enumerate(views):
                for j in range(i, m):
                    product = np.einsum("nhw,nhw->hw", vi, views[j])
                    gram[:, :, c, i, j] += product
                    if j != i:
                        gram[:, :, c, j, i] += product
                total = vi.sum(axis=0)
                gram[:, :, c, i, m] += total
                gram[:, :, c, m, i] += total
                rhs[:, :, c, i] += np.einsum("nhw,nhw->hw", vi, t)
            gram[:, :, c, m, m] += x.shape[0]
            rhs[:, :, c, m] += t.sum(axis=0)
        statistics["n_pairs"] += X4.shape[0]

    def _solve(self, statistics: Statistics) -> None:
        height, width, channels = self.image_shape_
        r = int(self.radius)
        m = (2 * r + 1) ** 2
        inside = valid_mask(height, width, r)
        dtype = self._fitted_dtype(statistics)
        coef = np.zeros((height, width, channels, m), dtype=dtype)
        intercept = np.zeros((height, width, channels), dtype=dtype)
        diagonal = np.arange(m + 1)
        for c in range(channels):
            system = statistics["gram"][:, :, c].copy()
            system[:, :, diagonal, diagonal] += float(self.alpha)
            solution = np.linalg.solve(system, statistics["rhs"][:, :, c, :, None])[..., 0]
            coef[:, :, c] = solution[..., :m] * inside
            intercept[:, :, c] = solution[..., m]
        self.coef_ = coef
        self.intercept_ = intercept

    def _predict(self, X4: np.ndarray) -> np.ndarray:
        n, height, width, channels = X4.shape
        r = int(self.radius)
        dtype = compute_dtype(X4)
        out = np.empty(X4.shape, dtype=dtype)
        for c in range(channels):
            x = to_unit(X4[..., c], dtype)
            views = shifted_views(np.pad(x, ((0, 0), (r, r), (r, r))), r, height, width)
            acc = np.broadcast_to(self.intercept_[:, :, c], (n, height, width)).astype(dtype)
            for j, view in enumerate(views):
                acc += view * self.coef_[:, :, c, j]
            out[..., c] = acc
        return out

    def _count_parameters(self) -> int:
        height, width, channels = self.image_shape_
        inside = int(valid_mask(height, width, int(self.radius)).sum())
        return channels * (inside + height * width)

    def _check_arrays(self) -> None:
        height, width, channels = self.image_shape_
        m = (2 * int(self.radius) + 1) ** 2
        expect_shape(self.coef_, (height, width, channels, m), "coef_")
        expect_shape(self.intercept_, (height, width, channels), "intercept_")
