"""Pixel-KR: Gaussian-kernel ridge regression on the single input pixel (Eq. 8-16)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.exceptions import InvalidInputError
from pixelfes.models._linalg import cholesky_solve
from pixelfes.models._registry import register
from pixelfes.models._validation import (
    check_between,
    check_choice,
    check_pair,
    check_positive,
    compute_dtype,
)
from pixelfes.models.base import BaseImageModel, expect_shape
from pixelfes.models.kernel_levels import (
    LEVELS,
    N_LEVELS,
    dual_from_values,
    level_kernel,
    level_statistics,
    level_values,
)
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


def from_locations(ys: np.ndarray, shape: tuple[int, ...], shared: bool) -> np.ndarray:
    """Inverse of :func:`per_location`: rows of values back to an (N, H, W, C) stack."""
    n, height, width, channels = shape
    if shared:
        return ys.reshape(height * width, n, channels).transpose(1, 0, 2).reshape(shape)
    return ys.T.reshape(shape)


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


def dense_dual(xs: np.ndarray, ts: np.ndarray, sigma: float, alpha: float) -> np.ndarray:
    """Eq. 14 for every row: ``c_p = (K_p + alpha I)^-1 t_p``, (P, M) x (P, M) -> (P, M).

    The kernel is computed in the inputs' precision and solved in float64 by batched
    Cholesky over chunks of rows (about 5 MiB of kernel matrices at a time).
    """
    n_functions, n_samples = xs.shape
    dual = np.empty((n_functions, n_samples), dtype=np.result_type(xs, np.float32))
    step = chunk_size(n_samples, n_samples)
    diagonal = np.arange(n_samples)
    for start in range(0, n_functions, step):
        x = xs[start : start + step]
        gram = np.empty((x.shape[0], n_samples, n_samples))
        gaussian_kernel(x, x, float(sigma), out=gram)
        gram[:, diagonal, diagonal] += float(alpha)
        rhs = ts[start : start + step, :, None].astype(np.float64)
        dual[start : start + step] = cholesky_solve(gram, rhs)[:, :, 0]
    return dual


def _level_inputs(n_functions: int) -> np.ndarray:
    """``train_inputs_`` of a grouped fit: the 256 levels at every function (a read-only
    broadcast view, not n_functions copies)."""
    return np.broadcast_to(LEVELS.astype(np.float32), (n_functions, N_LEVELS))


def chunk_size(n_samples: int, n_rows: int, budget: int = _KERNEL_BUDGET) -> int:
    """How many locations fit in one chunk of ``n_samples x n_rows`` kernel values."""
    return max(1, min(budget // max(1, n_samples * n_rows), 4096))


@register("pixel-kr")
class PixelKernelRidge(BaseImageModel):
    """Pixel-based kernel ridge regression (Pixel-KR) with a Gaussian kernel.

    At every location p the output is ``y = c_p kappa(x)`` (Eq. 15-16) with dual
    coefficients ``c_p = t_p (K_p + alpha I)^-1`` (Eq. 14), ``K_p`` the Gaussian kernel
    (Eq. 12) of the training values at p. Two exact solvers:

    - 8-bit inputs (uint8 ``X``): the grouped solve of
      :mod:`pixelfes.models.kernel_levels`. The N training values at a location take at
      most 256 levels, so the fit needs only per-level counts and target sums (one pass
      over the data) and a small solve per location whose size does not depend on N.
      The dual coefficients are then one per level (``train_inputs_`` holds the 256
      levels), prediction on uint8 images is a 256-entry table per location, and
      :meth:`partial_fit` / :meth:`merge` accumulate the statistics over chunks.
    - float inputs: the dense dual solve, an N x N (N C x N C shared) batched
      Cholesky per location, cubic in N.

    Parameters
    ----------
    alpha : float, default=0.4
        Ridge penalty (the paper's lambda), > 0.
    sigma : float, default=1.0
        Gaussian kernel width on the [0, 1] intensity scale, in [1e-3, 1e6]. The paper
        uses 3 for neutral->happy and 10 for the other expressions.
    channels : {"shared", "independent"}, default="shared"
        "shared": one function per location for all channels; each channel value of a
        training pair is one more sample. "independent": one function per channel and
        location.

    Attributes
    ----------
    dual_coef_ : ndarray of shape (P, M), float64 for a dense fit on float64 images, else float32
        ``c_p`` for each of the P functions (P = H W shared, H W C independent) and M
        samples (dense: M = N C shared, N independent; grouped: M = 256 levels, 0 for
        levels never seen).
    train_inputs_ : ndarray of shape (P, M), same dtype as dual_coef_
        Training input values at each location (grouped: the 256 levels ``k / 255``),
        needed by Eq. 16 at inference.
    solver_ : {"levels", "dense"}
        Which solver fitted the model.
    level_counts_, level_sums_ : ndarray of float64, shape (P, 256)
        Grouped fits only: samples and target sum per location and level (not saved,
        so a loaded model cannot continue :meth:`partial_fit`).
    image_shape_ : tuple (H, W, C)

    Notes
    -----
    ``n_parameters`` counts the nonzero dual coefficients: Table I's N H W for a dense
    fit (N = 400 at 128x128: 6,553,600), at most ``min(N, 256) H W`` for a grouped one.
    ``n_training_values`` counts the stored training inputs that inference needs in
    addition. Intensities are on the [0, 1] scale. N = 1 is allowed.

    References
    ----------
    .. [1] Khan et al. "Pixel-based Facial Expression Synthesis", Section III,
       Eq. 8-16.
    """

    _param_names = ("alpha", "sigma", "channels")
    _array_names = ("dual_coef_", "train_inputs_")
    _extra_names = ("solver_",)

    def __init__(self, alpha: float = 0.4, sigma: float = 1.0, channels: str = "shared") -> None:
        self.alpha = alpha
        self.sigma = sigma
        self.channels = channels

    def _check_hyper_parameters(self) -> None:
        check_positive(self.alpha, "alpha")
        check_between(self.sigma, "sigma", MIN_SIGMA, MAX_SIGMA)
        check_choice(self.channels, "channels", CHANNEL_MODES)

    def _fit(self, X4: np.ndarray, T4: np.ndarray) -> None:
        self._drop_fitted()
        for name in ("level_counts_", "level_sums_"):  # a refit starts from nothing
            self.__dict__.pop(name, None)
        shared = self.channels == "shared"
        if X4.dtype == np.uint8:
            self.level_counts_, self.level_sums_ = level_statistics(X4, T4, shared)
            self.image_shape_ = tuple(int(d) for d in X4.shape[1:])  # type: ignore[assignment]
            self._solve()
            return
        dtype = compute_dtype(X4)
        xs = per_location(to_unit(X4, dtype), shared)
        ts = per_location(to_unit(T4, dtype), shared)
        self.dual_coef_ = dense_dual(xs, ts, float(self.sigma), float(self.alpha))
        self.train_inputs_ = np.ascontiguousarray(xs)
        self.solver_ = "dense"

    def partial_fit(self, X: np.ndarray, T: np.ndarray) -> PixelKernelRidge:
        """Add a chunk of 8-bit pairs to the per-level statistics.

        Chunked calls give the same model as one :meth:`fit` on all pairs (the
        statistics are sums). The solve runs lazily, at the next prediction, tabulation,
        save or parameter count.

        Parameters
        ----------
        X : ndarray of uint8, shape (N, H, W) or (N, H, W, C)
            Inputs; 8-bit only (float inputs need the dense solver, ``fit``).
        T : ndarray of the same shape
            Targets, uint8 or float in [0, 1].

        Returns
        -------
        self
        """
        self._check_hyper_parameters()
        X4, T4 = check_pair(X, T)
        if X4.dtype != np.uint8:
            raise InvalidInputError(
                f"partial_fit needs uint8 inputs (per-level statistics); got {X4.dtype}. "
                "Use fit for float inputs."
            )
        shape = tuple(int(d) for d in X4.shape[1:])
        counts, sums = level_statistics(X4, T4, self.channels == "shared")
        if hasattr(self, "level_counts_"):
            self._check_compatible(shape, "partial_fit")
            counts += self.level_counts_
            sums += self.level_sums_
        elif hasattr(self, "image_shape_"):
            raise InvalidInputError("this model was fitted by the dense solver; refit it with fit")
        self._drop_fitted()
        self.level_counts_, self.level_sums_ = counts, sums
        self.image_shape_ = shape  # type: ignore[assignment]
        self.metadata_ = {}
        return self

    def merge(self, other: PixelKernelRidge) -> PixelKernelRidge:
        """A new model fitted on the pairs of both (statistics summed), with self's parameters.

        Both must hold per-level statistics (fitted on uint8 inputs, not loaded from a
        file) of the same image shape and channel mode.
        """
        for model in (self, other):
            if not hasattr(model, "level_counts_"):
                raise InvalidInputError(
                    "merge needs models fitted on uint8 inputs in this session "
                    "(per-level statistics are not saved)"
                )
        if other.channels != self.channels:
            raise InvalidInputError(
                f"cannot merge channels={other.channels!r} into {self.channels!r}"
            )
        self._check_compatible(other.image_shape_, "merge")
        merged = type(self)(**self.get_params())
        merged.level_counts_ = self.level_counts_ + other.level_counts_
        merged.level_sums_ = self.level_sums_ + other.level_sums_
        merged.image_shape_ = self.image_shape_
        merged.metadata_ = {}
        return merged

    def _check_compatible(self, shape: tuple[int, ...], what: str) -> None:
        if tuple(shape) != tuple(self.image_shape_):
            raise InvalidInputError(
                f"{what}: images of shape {tuple(shape)} do not match the model's "
                f"{tuple(self.image_shape_)}"
            )

    def _drop_fitted(self) -> None:
        for name in ("dual_coef_", "train_inputs_", "solver_", "_values", "_lookup"):
            self.__dict__.pop(name, None)

    def _solve(self) -> None:
        """Grouped solve from the per-level statistics (module kernel_levels)."""
        self._check_hyper_parameters()
        alpha = float(self.alpha)
        values = level_values(self.level_counts_, self.level_sums_, float(self.sigma), (alpha,))[0]
        self._values = values.astype(np.float32)  # exact table, before beta's rounding
        beta = dual_from_values(self.level_counts_, self.level_sums_, values, alpha, out=values)
        self.dual_coef_ = beta.astype(np.float32)
        self.train_inputs_ = _level_inputs(self.dual_coef_.shape[0])
        self.solver_ = "levels"
        self._compile()

    def _compile(self) -> None:
        """The 256-entry table per location that uint8 queries of a grouped fit read."""
        from pixelfes.models.lookup_table import tabulate

        self._lookup = tabulate(self)

    def _ensure_solved(self) -> None:
        self._check_fitted()
        if "dual_coef_" not in self.__dict__:
            self._solve()

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
        self._ensure_solved()
        shared = self.channels == "shared"
        if X4.dtype == np.uint8 and self.solver_ == "levels":
            return self._lookup._predict(X4)
        ys = self._evaluate(per_location(to_unit(X4, compute_dtype(X4)), shared))
        return from_locations(ys, X4.shape, shared)

    def _level_table(self) -> np.ndarray:
        """(P, 256) float32 values at the 8-bit levels of a grouped fit."""
        if "_values" not in self.__dict__:
            kernel = level_kernel(float(self.sigma), LEVELS, self.train_inputs_[0])
            self._values = (self.dual_coef_.astype(np.float64) @ kernel.T).astype(np.float32)
        return self._values

    def _evaluate_levels(self, levels: np.ndarray) -> np.ndarray:
        """Each function at ``levels`` (L,) -> (H, W, Cw, L)."""
        self._ensure_solved()
        if self.solver_ == "levels" and np.array_equal(levels, LEVELS):
            values = self._level_table()
        else:
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

    def save(
        self, path: Any, metadata: dict[str, Any] | None = None, dtype: str = "float32"
    ) -> None:
        """Solve if statistics are pending, then save (see ``BaseImageModel.save``)."""
        self._ensure_solved()
        super().save(path, metadata=metadata, dtype=dtype)

    @property
    def n_training_values(self) -> int:
        """Training input values stored for inference (besides the dual coefficients)."""
        self._ensure_solved()
        return int(self.train_inputs_.size)

    def _count_parameters(self) -> int:
        self._ensure_solved()
        if self.solver_ == "levels":
            return int(np.count_nonzero(self.dual_coef_))
        return int(self.dual_coef_.size)

    def _check_arrays(self) -> None:
        height, width, channels = self.image_shape_
        shared = self.channels == "shared"
        n_functions = height * width * (1 if shared else channels)
        n_samples = self.dual_coef_.shape[1] if self.dual_coef_.ndim == 2 else -1
        expect_shape(self.dual_coef_, (n_functions, n_samples), "dual_coef_")
        expect_shape(self.train_inputs_, (n_functions, n_samples), "train_inputs_")
        if "solver_" not in self.__dict__:
            return  # the loader's first pass: shapes only, on stand-ins of the arrays
        if self.solver_ is None:
            self.solver_ = "dense"  # files written before the grouped solver
        if self.solver_ not in ("levels", "dense"):
            raise InvalidInputError(f"unknown solver_ {self.solver_!r}")
        if self.solver_ == "levels":
            levels = _level_inputs(n_functions)
            if n_samples != N_LEVELS or not np.allclose(self.train_inputs_, levels, atol=1e-3):
                raise InvalidInputError("train_inputs_ of a grouped fit must be the 256 levels")
            self.train_inputs_ = levels  # exact again after float16 storage
            self._compile()
        elif shared and n_samples % channels:
            raise InvalidInputError("dual_coef_ sample count is not a multiple of the channels")
