"""Choose Pixel-KR's sigma and lambda by subject-disjoint cross-validation, from statistics.

For 8-bit inputs Pixel-KR is fitted from per-level counts and target sums
(:mod:`pixelfes.models.kernel_levels`), which are additive: the statistics of a fold's
training part are those of all pairs minus those of its held-out part. One pass over the
data therefore serves every fold, one Gram build per fold and sigma serves every lambda,
and each candidate's held-out prediction is a table lookup. The whole search costs
about as much as a few fits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.data.splits import subject_kfold
from pixelfes.exceptions import InvalidInputError
from pixelfes.models.kernel_levels import (
    N_LEVELS,
    LevelIndex,
    level_statistics,
    level_value_chunks,
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
        scorer = HeldOut(X[test], T[test], shared)
        for sigma in sigmas:
            chunks = level_value_chunks(train_counts, train_sums, float(sigma), alphas)
            for alpha, scores in zip(alphas, scorer.psnr(chunks, len(alphas)), strict=True):
                psnrs.setdefault((alpha, float(sigma)), []).append(scores)
            if on_step is not None:
                on_step()
    return {
        f"alpha={alpha:g},sigma={sigma:g}": float(np.mean(np.concatenate(scores)))
        for (alpha, sigma), scores in psnrs.items()
    }


class HeldOut:
    """Held-out pairs scored against level tables, chunk by chunk of locations.

    The PSNR of each pair ``X -> T`` predicted by a grouped fit's level table equals
    :func:`pixelfes.metrics.batch_psnr` of the model's (unclipped) prediction against
    ``T``, computed without materialising the predictions or the whole table: each
    chunk of locations adds its squared errors to every image's sum.

    Parameters
    ----------
    X, T : ndarray, shape (N, H, W, C)
        uint8 inputs; uint8 or float [0, 1] targets.
    shared : bool
        ``channels == "shared"`` (a table row per location) or not (per channel).
    """

    def __init__(self, X: np.ndarray, T: np.ndarray, shared: bool) -> None:
        self.x = X.reshape(len(X), -1)
        self.t = to_unit(T.reshape(len(T), -1), np.float64)
        locations = location_index(X.shape[1:], shared)
        self.per_location = self.x.shape[1] // (int(locations[-1]) + 1)  # C or 1
        self.locations = locations

    def psnr(self, chunks: Iterable[tuple[int, int, np.ndarray]], n_tables: int) -> np.ndarray:
        """(n_tables, N) PSNR (dB) from ``(start, stop, values)`` chunks of level tables.

        ``values`` is (n_tables, stop - start, 256), the chunks covering every location
        once (:func:`pixelfes.models.kernel_levels.level_value_chunks`).
        """
        n_images, n_values = self.x.shape
        squared = np.zeros((n_tables, n_images))
        index = None
        for start, stop, values in chunks:
            columns = slice(start * self.per_location, stop * self.per_location)
            width = columns.stop - columns.start
            rows = max(1, min(n_images, _VALUES_PER_CHUNK // width))
            if index is None or index.buffer.shape[0] < rows or index.offsets.size < width:
                offsets = (self.locations[columns] - self.locations[columns.start]) * N_LEVELS
                index = LevelIndex(offsets, rows)
            for first in range(0, n_images, rows):
                last = min(first + rows, n_images)
                flat_index = index.fill(self.x[first:last, columns])
                targets = self.t[first:last, columns]
                for i in range(n_tables):
                    error = np.take(values[i].reshape(-1), flat_index, mode="clip")
                    error -= targets
                    squared[i, first:last] += np.einsum("ij,ij->i", error, error)
        with np.errstate(divide="ignore"):
            return -10.0 * np.log10(squared / n_values)
