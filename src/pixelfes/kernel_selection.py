"""Choose Pixel-KR's sigma and lambda by subject-disjoint cross-validation, from statistics.

For 8-bit inputs Pixel-KR is fitted from per-level counts and target sums
(:mod:`pixelfes.models.kernel_levels`), which are additive: the statistics of a fold's
training part are those of all pairs minus those of its held-out part. One pass over the
data therefore serves every fold, one Gram build per fold and sigma serves every lambda,
and each candidate's held-out prediction is a table lookup. The whole search costs
about as much as a few fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.data.splits import subject_kfold
from pixelfes.exceptions import InvalidInputError
from pixelfes.models.kernel_levels import (
    N_LEVELS,
    LevelIndex,
    level_statistics,
    level_values,
    location_index,
)

#: sigma (on the [0, 1] scale) and lambda searched by default.
KERNEL_GRID: dict[str, tuple[float, ...]] = {
    "alpha": (0.001, 0.003, 0.01, 0.04, 0.4, 4.0),
    "sigma": (0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 10.0),
}
_VALUES_PER_CHUNK = 1 << 20  # looked-up values per chunk (8 MiB of index and of errors)


def cross_validate_kernel(
    X: np.ndarray,
    T: np.ndarray,
    subjects: Sequence[str],
    *,
    alphas: Sequence[float] = KERNEL_GRID["alpha"],
    sigmas: Sequence[float] = KERNEL_GRID["sigma"],
    channels: str = "shared",
    k: int = 5,
    seed: int = 0,
    on_step: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Mean held-out PSNR of Pixel-KR for every (lambda, sigma) on subject-disjoint folds.

    Equal to fitting ``PixelKernelRidge(alpha, sigma, channels)`` on each fold's training
    pairs and scoring its (unclipped) predictions on the held-out pairs, as
    :func:`pixelfes.training.cross_validate` does, but from fold statistics.

    Parameters
    ----------
    X : ndarray of uint8, shape (N, H, W, C)
        Inputs (8-bit: the statistics are per level).
    T : ndarray, same shape
        Targets, uint8 or float in [0, 1].
    subjects : sequence of str
        Subject of each pair; no subject is in two folds.
    alphas, sigmas : sequence of float
        The grid.
    channels : {"shared", "independent"}
        As in :class:`~pixelfes.models.PixelKernelRidge`.
    k, seed : int
        Folds and the seed of :func:`pixelfes.data.splits.subject_kfold`.
    on_step : callable, optional
        Called once per fold and sigma (``k * len(sigmas)`` times).

    Returns
    -------
    dict
        ``"alpha=A,sigma=S"`` -> mean PSNR (dB) over all held-out images.
    """
    X, T = np.asarray(X), np.asarray(T)
    if X.dtype != np.uint8 or X.ndim != 4 or X.shape != T.shape:
        raise InvalidInputError(
            "cross_validate_kernel needs equal (N, H, W, C) stacks with uint8 X"
        )
    shared = channels == "shared"
    folds = subject_kfold(subjects, k=k, seed=seed)
    held_out = [level_statistics(X[test], T[test], shared) for _, test in folds]
    all_counts = sum(counts for counts, _ in held_out)
    all_sums = sum(sums for _, sums in held_out)
    alphas = tuple(float(a) for a in alphas)
    psnrs: dict[tuple[float, float], list[np.ndarray]] = {}
    for (_, test), (counts, sums) in zip(folds, held_out, strict=True):
        train_counts, train_sums = all_counts - counts, all_sums - sums
        for sigma in sigmas:
            values = level_values(train_counts, train_sums, float(sigma), alphas)
            for alpha, table in zip(alphas, values, strict=True):
                scores = held_out_psnr(table, X[test], T[test], shared)
                psnrs.setdefault((alpha, float(sigma)), []).append(scores)
            if on_step is not None:
                on_step()
    return {
        f"alpha={alpha:g},sigma={sigma:g}": float(np.mean(np.concatenate(scores)))
        for (alpha, sigma), scores in psnrs.items()
    }


def held_out_psnr(table: np.ndarray, X: np.ndarray, T: np.ndarray, shared: bool) -> np.ndarray:
    """PSNR (dB) of each pair of ``X -> T`` predicted by the level table of a grouped fit.

    Equal to :func:`pixelfes.metrics.batch_psnr` of the model's (unclipped) prediction
    against ``T``, without materialising the predictions: the squared errors are summed
    per image over chunks of about ``_VALUES_PER_CHUNK`` looked-up values.

    Parameters
    ----------
    table : ndarray of float64, shape (P, 256)
        Fitted values at the 256 levels (:func:`level_values`).
    X, T : ndarray, shape (N, H, W, C)
        uint8 inputs; uint8 or float [0, 1] targets.
    shared : bool
        ``channels == "shared"`` (row of ``table`` per location) or not (per channel).
    """
    flat_x = X.reshape(len(X), -1)
    flat_t = T.reshape(len(T), -1)
    offsets = location_index(X.shape[1:], shared) * N_LEVELS
    rows = max(1, _VALUES_PER_CHUNK // flat_x.shape[1])
    index = LevelIndex(offsets, min(rows, len(X)))
    flat_table = table.reshape(-1)
    squared = np.empty(len(X))
    for first in range(0, len(X), rows):
        error = np.take(flat_table, index.fill(flat_x[first : first + rows]), mode="clip")
        error -= to_unit(flat_t[first : first + rows], np.float64)
        squared[first : first + rows] = np.einsum("ij,ij->i", error, error)
    mse = squared / flat_x.shape[1]
    with np.errstate(divide="ignore"):
        return -10.0 * np.log10(mse)
