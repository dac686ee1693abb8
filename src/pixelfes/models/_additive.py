"""Fits that are a solve on sums over pairs: ``fit``, ``partial_fit`` and ``merge``.

Pixel-RR needs only per-pixel moments (Eq. 6) and MR only per-pixel Gram matrices; both
are sums over training pairs, so a fit can stream through chunks of pairs, and two
models fitted on disjoint pairs combine by adding their statistics. Memory is bounded by
one chunk plus the statistics, whatever the number of pairs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from pixelfes.exceptions import InvalidInputError
from pixelfes.models._validation import check_pair, compute_dtype

#: Summed statistics of a model: named float64 arrays (and a float count).
Statistics = dict[str, Any]


class AdditiveFit:
    """Mixin for models whose fit is ``solve(sum over pairs of statistics)``.

    A subclass (also a :class:`~pixelfes.models.base.BaseImageModel`) implements
    ``_empty_statistics(image_shape)``, ``_accumulate(statistics, X4, T4)`` (add one chunk
    of pairs, in place) and ``_solve(statistics)`` (set the fitted arrays). The sums are
    kept as ``statistics_`` so that more pairs can be added later; they are not saved in
    model files, so a loaded model predicts but cannot be updated. The fitted arrays
    follow the caller's precision as ``fit`` does: float64 when any pair given was float64
    (``statistics_["n_float64"]`` counts them), else float32.
    """

    #: Pairs converted to float at a time: bounds the working memory of a fit (256 pairs
    #: of 128x128x3 are 50 MB a float32 array; smaller chunks cost fit time, 64 gave 2.5x
    #: two numpy passes for Pixel-RR at N = 400 against 1.6x with 256).
    _chunk_pairs: ClassVar[int] = 256

    statistics_: Statistics
    image_shape_: tuple[int, int, int]
    metadata_: dict[str, Any]

    def fit(self, X: np.ndarray, T: np.ndarray) -> Any:
        """Fit the model on paired images, in chunks of pairs (memory bounded by a chunk).

        Parameters and return value as :meth:`pixelfes.models.base.BaseImageModel.fit`;
        the result equals one :meth:`partial_fit` on all the pairs.
        """
        for name in ("statistics_", "image_shape_"):
            self.__dict__.pop(name, None)
        return self.partial_fit(X, T)

    def partial_fit(self, X: np.ndarray, T: np.ndarray) -> Any:
        """Add pairs to the fit: the result equals one ``fit`` on all pairs seen so far.

        Parameters
        ----------
        X, T : ndarray of shape (N, H, W) or (N, H, W, C)
            As for :meth:`fit`; H, W and C must match earlier calls.

        Returns
        -------
        self
            The model, refitted on every pair given so far.
        """
        self._check_hyper_parameters()  # type: ignore[attr-defined]
        X4, T4 = check_pair(X, T)
        shape = tuple(int(d) for d in X4.shape[1:])
        statistics = self._statistics_for(shape)
        if compute_dtype(X4) is np.float64:
            statistics["n_float64"] += X4.shape[0]
        for start in range(0, X4.shape[0], self._chunk_pairs):
            stop = start + self._chunk_pairs
            self._accumulate(statistics, X4[start:stop], T4[start:stop])
        return self._refit(statistics, shape)

    def merge(self, other: Any) -> Any:
        """A new model fitted on the pairs of both ``self`` and ``other``.

        The statistics are summed, so ``a.merge(b)`` equals one fit on the pairs of ``a``
        and ``b``; neither operand is changed (safe in a reduction that may be retried).

        Parameters
        ----------
        other : model of the same class, hyper-parameters and image shape
            Fitted with ``fit`` or ``partial_fit`` in this process (not loaded from a file).

        Returns
        -------
        model
            A new fitted model of the same class and hyper-parameters.
        """
        if type(other) is not type(self):
            raise TypeError(f"cannot merge a {type(self).__name__} with a {type(other).__name__}")
        params, other_params = self.get_params(), other.get_params()  # type: ignore[attr-defined]
        if params != other_params:
            raise InvalidInputError(
                f"cannot merge models with different hyper-parameters: {params} and {other_params}"
            )
        mine, theirs = self._own_statistics(), other._own_statistics()
        if self.image_shape_ != other.image_shape_:
            raise InvalidInputError(
                f"cannot merge models fitted on images of shape {self.image_shape_} and "
                f"{other.image_shape_}"
            )
        total = {name: mine[name] + theirs[name] for name in mine}
        return type(self)(**params)._refit(total, self.image_shape_)

    @property
    def n_pairs_seen_(self) -> int:
        """Number of training pairs in the statistics."""
        return int(self._own_statistics()["n_pairs"])

    # -- internals ----------------------------------------------------------------------
    def _statistics_for(self, shape: tuple[int, ...]) -> Statistics:
        if not hasattr(self, "image_shape_"):
            return {**self._empty_statistics(shape), "n_float64": 0}
        statistics = self._own_statistics()
        if shape != self.image_shape_:
            raise InvalidInputError(
                f"partial_fit got images of shape {shape}; the model was fitted on "
                f"{self.image_shape_}"
            )
        return statistics

    def _own_statistics(self) -> Statistics:
        self._check_fitted()  # type: ignore[attr-defined]
        statistics = getattr(self, "statistics_", None)
        if statistics is None:
            raise InvalidInputError(
                f"this {type(self).__name__} has no training statistics (it was loaded from "
                "a file); partial_fit and merge need a model fitted in this process"
            )
        return statistics

    def _refit(self, statistics: Statistics, shape: tuple[int, ...]) -> Any:
        self.image_shape_ = shape  # type: ignore[assignment]
        self._solve(statistics)
        self.statistics_ = statistics
        self.metadata_ = {}
        return self

    def _fitted_dtype(self, statistics: Statistics) -> type:
        """float64 when any pair in the statistics was float64, else float32."""
        return np.float64 if statistics["n_float64"] else np.float32

    def _empty_statistics(self, image_shape: tuple[int, ...]) -> Statistics:
        raise NotImplementedError

    def _accumulate(self, statistics: Statistics, X4: np.ndarray, T4: np.ndarray) -> None:
        raise NotImplementedError

    def _solve(self, statistics: Statistics) -> None:
        raise NotImplementedError
