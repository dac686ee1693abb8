"""Pixel-KR: Gaussian-kernel ridge regression on the single input pixel (Eq. 8-16)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.exceptions import InvalidInputError
from pixelfes.models._linalg import cholesky_solve
from pixelfes.models._registry import register
from pixelfes.models._validation import check_between, check_choice, check_positive, compute_dtype
from pixelfes.models.base import BaseImageModel, expect_shape
from pixelfes.models.pixel_ridge import CHANNEL_MODES

if TYPE_CHECKING:
    from pixelfes.models.lookup_table import PixelLookupTable

#: kernel values per chunk of locations (5 MiB of float64): small enough that each
#: chunk's matrices stay in cache between the factorisation and the substitutions,
#: large enough to amortise numpy's per-call overhead. Bounds peak memory too.
_KERNEL_BUDGET = 640_000
#: sigma range on the [0, 1] scale: below a quarter of one uint8 step the kernel is an
#: indicator (and 1 / sigma^2 leaves float32's range near 1e-19), above it is constant.
MIN_SIGMA, MAX_SIGMA = 1e-3, 1e6


def per_location(X4: np.ndarray, shared: bool) -> np.ndarray:
    """Rearrange (N, H, W, C) into one row of samples per fitted function.

    "shared": (H*W, N*C), each channel value is one more sample of the location's
    function; "independent": (H*W*C, N).
    """
    n, height, width, channels = X4.shape
    if shared:
        return X4.reshape(n, height * width, channels).transpose(1, 0, 2).reshape(-1, n * channels)
    return X4.reshape(n, -1).T


def gaussian_kernel(
    a: np.ndarray, b: np.ndarray, sigma: float, out: np.ndarray | None = None
) -> np.ndarray:
    """Eq. 12 for stacks: ``exp(-(a_i - b_j)^2 / (2 sigma^2))``, (P, I) x (P, J) -> (P, I, J).

    Computed in the inputs' precision (float32 exp is several times faster than
    float64); pass a float64 ``out`` to receive the values in float64.
    """
    diff = a[:, :, None] - b[:, None, :]
    diff *= diff
    diff *= diff.dtype.type(-0.5 / sigma**2)
    return np.exp(diff, out=diff if out is None else out)


def chunk_size(n_samples: int, n_rows: int, budget: int = _KERNEL_BUDGET) -> int:
    """How many locations fit in one chunk of ``n_samples x n_rows`` kernel values."""
    return max(1, min(budget // max(1, n_samples * n_rows), 4096))


@register("pixel-kr")
class PixelKernelRidge(BaseImageModel):
    """Pixel-based kernel ridge regression (Pixel-KR) with a Gaussian kernel.

    At every location p the output is ``y = c_p kappa(x)`` (Eq. 15-16) with dual
    coefficients ``c_p = t_p (K_p + alpha I)^-1`` (Eq. 14), ``K_p`` the N x N Gaussian
    kernel (Eq. 12) of the training values at p. Solved by batched Cholesky over chunks
    of locations, so peak memory stays bounded (about 5 MiB of kernel matrices plus
    the model).

    Parameters
    ----------
    alpha : float, default=0.4
        Ridge penalty (the paper's lambda), > 0.
    sigma : float, default=1.0
        Gaussian kernel width on the [0, 1] intensity scale, in [1e-3, 1e6]. The paper
        uses 3 for neutral->happy and 10 for the other expressions.
    channels : {"shared", "independent"}, default="shared"
        "shared": one function per location for all channels; each channel value of a
        training pair is one more sample, so the kernel matrices are (N C) x (N C).
        "independent": one function per channel and location, N x N kernels.

    Attributes
    ----------
    dual_coef_ : ndarray of shape (P, M), float64 when fitted on float64 images, else float32
        ``c_p`` for each of the P functions (P = H W shared, H W C independent) and
        M training samples (M = N C shared, N independent).
    train_inputs_ : ndarray of shape (P, M), same dtype as dual_coef_
        Training input values at each location, needed by Eq. 16 at inference.
    image_shape_ : tuple (H, W, C)

    Notes
    -----
    ``n_parameters`` counts the dual coefficients (Table I: N H W = 6,553,600 for
    N = 400 at 128x128); ``n_training_values`` counts the stored training inputs that
    inference needs in addition. Intensities are on the [0, 1] scale. N = 1 is allowed.

    References
    ----------
    .. [1] Khan et al. "Pixel-based Facial Expression Synthesis", Section III,
       Eq. 8-16.
    """

    _param_names = ("alpha", "sigma", "channels")
    _array_names = ("dual_coef_", "train_inputs_")

    def __init__(self, alpha: float = 0.4, sigma: float = 1.0, channels: str = "shared") -> None:
        self.alpha = alpha
        self.sigma = sigma
        self.channels = channels

    def _check_hyper_parameters(self) -> None:
        check_positive(self.alpha, "alpha")
        check_between(self.sigma, "sigma", MIN_SIGMA, MAX_SIGMA)
        check_choice(self.channels, "channels", CHANNEL_MODES)

    def _fit(self, X4: np.ndarray, T4: np.ndarray) -> None:
        shared = self.channels == "shared"
        dtype = compute_dtype(X4)
        xs = per_location(to_unit(X4, dtype), shared)
        ts = per_location(to_unit(T4, dtype), shared)
        n_functions, n_samples = xs.shape
        dual = np.empty((n_functions, n_samples), dtype=dtype)
        step = chunk_size(n_samples, n_samples)
        diagonal = np.arange(n_samples)
        for start in range(0, n_functions, step):
            x = xs[start : start + step]
            gram = np.empty((x.shape[0], n_samples, n_samples))
            gaussian_kernel(x, x, float(self.sigma), out=gram)
            gram[:, diagonal, diagonal] += float(self.alpha)
            rhs = ts[start : start + step, :, None].astype(np.float64)
            dual[start : start + step] = cholesky_solve(gram, rhs)[:, :, 0]
        self.dual_coef_ = dual
        self.train_inputs_ = np.ascontiguousarray(xs)

    def _evaluate(self, xs: np.ndarray) -> np.ndarray:
        """Eq. 15 for query rows ``xs`` (P, Q) at each function -> (P, Q) of xs's dtype."""
        out = np.empty(xs.shape, dtype=xs.dtype)
        step = chunk_size(self.dual_coef_.shape[1], xs.shape[1])
        for start in range(0, xs.shape[0], step):
            stop = start + step
            kappa = gaussian_kernel(xs[start:stop], self.train_inputs_[start:stop], self.sigma)
            out[start:stop] = np.matmul(kappa, self.dual_coef_[start:stop, :, None])[:, :, 0]
        return out

    def _predict(self, X4: np.ndarray) -> np.ndarray:
        shared = self.channels == "shared"
        xs = per_location(to_unit(X4, compute_dtype(X4)), shared)
        ys = self._evaluate(xs)
        n, height, width, channels = X4.shape
        if shared:
            return ys.reshape(height * width, n, channels).transpose(1, 0, 2).reshape(X4.shape)
        return ys.T.reshape(X4.shape)

    def _evaluate_levels(self, levels: np.ndarray) -> np.ndarray:
        """Each function at ``levels`` (L,) -> (H, W, Cw, L)."""
        n_functions = self.dual_coef_.shape[0]
        grid = np.broadcast_to(levels.astype(self.dual_coef_.dtype), (n_functions, levels.size))
        values = self._evaluate(grid)
        height, width, channels = self.image_shape_
        table_channels = 1 if self.channels == "shared" else channels
        return values.reshape(height, width, table_channels, levels.size)

    def to_lookup_table(self, dtype: str = "float32") -> PixelLookupTable:
        """Tabulate each location's function at the 256 uint8 levels.

        Parameters
        ----------
        dtype : {"float32", "float16"}
            Table precision.

        Returns
        -------
        PixelLookupTable
            Reproduces ``predict`` on uint8 images to within 0.5/255.
        """
        from pixelfes.models.lookup_table import tabulate

        self._check_fitted()
        return tabulate(self, dtype=dtype)

    @property
    def n_training_values(self) -> int:
        """Training input values stored for inference (besides the dual coefficients)."""
        self._check_fitted()
        return int(self.train_inputs_.size)

    def _count_parameters(self) -> int:
        return int(self.dual_coef_.size)

    def _check_arrays(self) -> None:
        height, width, channels = self.image_shape_
        shared = self.channels == "shared"
        n_functions = height * width * (1 if shared else channels)
        n_samples = self.dual_coef_.shape[1] if self.dual_coef_.ndim == 2 else -1
        expect_shape(self.dual_coef_, (n_functions, n_samples), "dual_coef_")
        expect_shape(self.train_inputs_, (n_functions, n_samples), "train_inputs_")
        if shared and n_samples % channels:
            raise InvalidInputError("dual_coef_ sample count is not a multiple of the channels")
