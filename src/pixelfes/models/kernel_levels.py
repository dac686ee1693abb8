"""Pixel-KR on 8-bit inputs: per-level statistics and the grouped exact solve (Eq. 14-16).

At one location the N training inputs take at most 256 distinct levels ``l_k = k / 255``.
With ``A`` the N x 256 level-indicator matrix, the kernel matrix of Eq. 12 is
``K = A K_m A^T`` (``K_m`` the 256 x 256 kernel between levels) and the push-through
identity ``A^T (A K_m A^T + lambda I)^-1 = (D K_m + lambda I)^-1 A^T`` with
``D = A^T A = diag(counts)`` turns the dual solution of Eq. 14-16 into

    y(x) = k_m(x)^T beta,    beta = (D K_m + lambda I)^-1 s,    s = A^T t,

which needs only the per-level counts and target sums (additive statistics, so the fit
streams and merges). ``K_m`` is the same for every location, so with its eigen-
decomposition ``K_m = Phi Phi^T`` (``Phi = Q Lambda^1/2``) the push-through identity
once more gives the values at the levels as a small ridge problem per location,

    y_levels = Phi w,    (Phi^T D Phi + lambda I) w = Phi^T s,

an r x r symmetric positive definite system, r the numerical rank of
``K_m`` (about 30 at sigma = 0.1, 8 at sigma = 1, 256 at most). Levels with count 0
contribute nothing to ``Phi^T D Phi`` or ``Phi^T s``; their ``beta`` is exactly 0, and
``beta = (s - D y_levels) / lambda`` follows from ``(D K_m + lambda I) beta = s``.
Eigenvalues below ``RANK_RTOL`` of the largest are dropped: they lie at the level of
float64 rounding in ``K_m`` itself (tests check agreement with the dense dual and
scikit-learn to 1e-8).

The solve runs in float64. The r x r systems' condition number grows as N / lambda
(3.9e4 measured on the 389 luma neutral->happy pairs at lambda = 0.01); a float32 solve
of the same pairs differed from float64 by up to 0.1 grey level (sigma 0.1, lambda
0.001), an error that grows with N / lambda, and it was not faster (batched LAPACK on
16,384 31 x 31 systems: 122 ms float32, 95 ms float64).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from pixelfes.exceptions import InvalidInputError

N_LEVELS = 256
#: The input value of every 8-bit level on the [0, 1] scale.
LEVELS = np.arange(N_LEVELS, dtype=np.float64) / 255.0
#: Relative eigenvalue cut-off of the level kernel (see the module docstring).
RANK_RTOL = 1e-13
_VALUES_PER_BLOCK = 256  # pixel values per block of bins (256 x 256 levels: 512 KiB, in L2)
_SAMPLES_PER_CALL = 1 << 17  # values per np.bincount call (1 MiB of index, 1 MiB of weights)
_PACK = float(2**32)
_MAX_PACKED_COUNT = 1 << 20  # samples per bin between unpacks (exact below 2^21)
_GRAM_BUDGET = 1 << 22  # float64 Gram entries per chunk of locations (32 MiB)
_LOCATIONS_PER_CHUNK = 2048  # and at most this many (a 4 MiB table per lambda)
_LITTLE_ENDIAN = sys.byteorder == "little"


class LevelIndex:
    """Reusable intp buffer of flat table indices ``offsets[j] + level`` for uint8 levels.

    The offsets (one per column) are multiples of 256, so on a little-endian machine
    ``offset + level`` is the offset with its low byte set to the level: the offsets are
    written once, and :meth:`fill` only copies the uint8 levels into the low bytes (no
    widening add; elsewhere an add).

    Parameters
    ----------
    offsets : ndarray of int, shape (M,)
        Multiples of 256.
    rows : int
        Most rows :meth:`fill` will be given.
    """

    def __init__(self, offsets: np.ndarray, rows: int) -> None:
        self.offsets = np.asarray(offsets, dtype=np.intp)
        if np.any(self.offsets % N_LEVELS):
            raise ValueError("LevelIndex offsets must be multiples of 256")
        self.buffer = np.empty((rows, self.offsets.size), dtype=np.intp)
        self.buffer[...] = self.offsets
        self._low = None
        if _LITTLE_ENDIAN:
            self._low = self.buffer.view(np.uint8).reshape(rows, self.offsets.size, -1)[:, :, 0]

    def fill(self, levels: np.ndarray) -> np.ndarray:
        """The (n, m) indices ``offsets[:m] + levels`` for uint8 ``levels`` of shape (n, m)."""
        n, m = levels.shape
        view = self.buffer[:n, :m]
        if self._low is not None:
            self._low[:n, :m] = levels
        else:
            np.add(levels, self.offsets[:m], out=view, casting="unsafe")
        return view


def level_kernel(sigma: float, a: np.ndarray = LEVELS, b: np.ndarray = LEVELS) -> np.ndarray:
    """Eq. 12 between two sets of scalar inputs: (len(a), len(b)) float64."""
    diff = np.subtract.outer(np.asarray(a, np.float64), np.asarray(b, np.float64))
    return np.exp(diff * diff * (-0.5 / float(sigma) ** 2))


@lru_cache(maxsize=32)
def level_features(sigma: float) -> np.ndarray:
    """``Phi`` (256, r) with ``Phi Phi^T = K_m`` up to the dropped eigenvalues (read-only)."""
    eigenvalues, vectors = np.linalg.eigh(level_kernel(sigma))
    keep = eigenvalues > RANK_RTOL * eigenvalues[-1]
    features = vectors[:, keep] * np.sqrt(eigenvalues[keep])
    features.setflags(write=False)
    return features


def location_index(image_shape: tuple[int, int, int], shared: bool) -> np.ndarray:
    """The fitted function (row of the statistics) of every flat (h, w, c) pixel value."""
    height, width, channels = image_shape
    if shared:
        return np.repeat(np.arange(height * width, dtype=np.intp), channels)
    return np.arange(height * width * channels, dtype=np.intp)


def level_statistics(X4: np.ndarray, T4: np.ndarray, shared: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-location, per-level sample counts and target sums (``diag D`` and ``s``).

    Parameters
    ----------
    X4 : ndarray of uint8, shape (N, H, W, C)
        8-bit inputs.
    T4 : ndarray of shape (N, H, W, C)
        Targets, uint8 or float on [0, 1].
    shared : bool
        One function per location for all channels (each channel value one more sample).

    Returns
    -------
    counts, sums : ndarray of float64, shape (P, 256)
        P = H W (shared) or H W C; ``sums`` on the [0, 1] scale. Both are additive over
        disjoint sets of pairs.

    Notes
    -----
    The bins of a block of about 256 pixel values (whole locations; 256 x 256 levels,
    512 KiB) stay in cache while every image adds its values of the block, ``np.add.at``
    over ``_SAMPLES_PER_CALL`` values at a time into reused buffers. For uint8 targets a
    single weighted count carries both statistics: each sample adds ``2^32 + t`` to its
    bin, and as long as a bin holds fewer than 2^21 samples, ``count = total // 2^32`` and
    ``sum = total % 2^32`` are exact in float64; the block's totals are split once,
    after at most 2^20 samples per bin. Every block has the same index
    offsets, so one :class:`LevelIndex` builds the index of every value. Cost: one
    scatter-add per pixel value (measured 2-5 ns on the shared development machine, see
    ``benchmarks/bench_models.py``), plus a pass over the (P, 256) outputs.
    """
    if X4.dtype != np.uint8:
        raise InvalidInputError(f"per-level statistics need uint8 inputs; got {X4.dtype}")
    locations = location_index(X4.shape[1:], shared)
    flat_x = X4.reshape(len(X4), -1)
    flat_t = T4.reshape(len(T4), -1)
    packed = T4.dtype == np.uint8
    n_images, n_values = flat_x.shape
    counts = np.zeros((int(locations[-1]) + 1) * N_LEVELS)
    sums = np.zeros_like(counts)
    per_location = n_values // (int(locations[-1]) + 1)  # C (shared) or 1
    # whole locations per block: every block then has the same offsets (a prefix of them)
    width = min(max(per_location, _VALUES_PER_BLOCK - _VALUES_PER_BLOCK % per_location), n_values)
    rows = max(1, min(n_images, _SAMPLES_PER_CALL // width))
    group = max(1, _MAX_PACKED_COUNT // per_location)  # images between unpacks
    index = LevelIndex((locations[:width] - locations[0]) * N_LEVELS, rows)
    weights = np.empty((rows, width))
    block_size = width // per_location * N_LEVELS
    total, sum_total = np.empty(block_size), np.empty(block_size)
    for start in range(0, n_values, width):
        stop = min(start + width, n_values)
        low = int(locations[start]) * N_LEVELS
        size = (stop - start) // per_location * N_LEVELS
        block_total, block_sums = total[:size], sum_total[:size]
        for first_of_group in range(0, n_images, group):
            last_of_group = min(first_of_group + group, n_images)
            block_total[:] = 0.0
            block_sums[:] = 0.0
            for first in range(first_of_group, last_of_group, rows):
                last = min(first + rows, last_of_group)
                flat_index = index.fill(flat_x[first:last, start:stop]).ravel()
                w = weights[: last - first, : stop - start]
                if packed:
                    np.add(flat_t[first:last, start:stop], _PACK, out=w)
                    np.add.at(block_total, flat_index, w.ravel())
                else:
                    np.copyto(w, flat_t[first:last, start:stop])
                    np.add.at(block_total, flat_index, 1.0)
                    np.add.at(block_sums, flat_index, w.ravel())
            if packed:  # count * 2^32 + sum -> count, sum (exact: see Notes)
                np.multiply(block_total, 1.0 / _PACK, out=block_sums)  # a power of 2: exact
                np.floor(block_sums, out=block_sums)
                counts[low : low + size] += block_sums
                block_sums *= _PACK
                np.subtract(block_total, block_sums, out=block_sums)
            else:
                counts[low : low + size] += block_total
            sums[low : low + size] += block_sums
    if packed:
        sums /= 255.0
    return counts.reshape(-1, N_LEVELS), sums.reshape(-1, N_LEVELS)


def level_values(
    counts: np.ndarray, sums: np.ndarray, sigma: float, alphas: tuple[float, ...]
) -> np.ndarray:
    """Fitted values at the 256 levels, ``K_m beta``, for each penalty in ``alphas``.

    Parameters
    ----------
    counts, sums : ndarray of shape (P, 256)
        From :func:`level_statistics` (or sums/differences of them).
    sigma : float
        Kernel width on the [0, 1] scale.
    alphas : tuple of float
        Ridge penalties (lambda), each > 0; one Gram build serves them all.

    Returns
    -------
    ndarray of float64, shape (len(alphas), P, 256)
    """
    out = np.empty((len(alphas), counts.shape[0], N_LEVELS))
    for start, stop, values in level_value_chunks(counts, sums, sigma, alphas):
        out[:, start:stop] = values
    return out


def level_value_chunks(
    counts: np.ndarray, sums: np.ndarray, sigma: float, alphas: tuple[float, ...]
) -> Iterator[tuple[int, int, np.ndarray]]:
    """:func:`level_values` by chunks of locations: ``(start, stop, values)``.

    ``values`` (len(alphas), stop - start, 256) is a buffer that the next chunk
    overwrites; a consumer that scores each chunk as it comes (the cross-validation)
    never holds the whole (len(alphas), P, 256) array.
    """
    features = level_features(float(sigma))
    rank = features.shape[1]
    upper, lower = np.triu_indices(rank)
    products = features[:, upper] * features[:, lower]  # (256, r (r + 1) / 2)
    unpack = np.empty((rank, rank), dtype=np.intp)  # packed column of each (i, j)
    unpack[upper, lower] = unpack[lower, upper] = np.arange(upper.size)
    back = np.ascontiguousarray(features.T)
    n_locations = counts.shape[0]
    step = max(1, min(_GRAM_BUDGET // (rank * rank), _LOCATIONS_PER_CHUNK, n_locations))
    buffer = np.empty((len(alphas), step, N_LEVELS))
    diagonal = np.arange(rank)
    for start in range(0, n_locations, step):
        stop = min(start + step, n_locations)
        packed = counts[start:stop] @ products  # Phi^T D Phi, one triangle
        gram = np.take(packed, unpack.ravel(), axis=1).reshape(-1, rank, rank)
        rhs = (sums[start:stop] @ features)[:, :, None]  # Phi^T s
        gram_diagonal = gram[:, diagonal, diagonal]  # a copy (fancy indexing)
        values = buffer[:, : stop - start]
        for i, alpha in enumerate(alphas):
            gram[:, diagonal, diagonal] = gram_diagonal + float(alpha)
            # symmetric positive definite; LAPACK's batched gesv measured 4x faster here
            # than numpy's Cholesky followed by blocked substitutions (_linalg); solve
            # leaves its input as it was, so the next alpha only rewrites the diagonal
            weights = np.linalg.solve(gram, rhs)[:, :, 0]
            np.matmul(weights, back, out=values[i])
        yield start, stop, values


def dual_from_values(
    counts: np.ndarray,
    sums: np.ndarray,
    values: np.ndarray,
    alpha: float,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``beta = (s - D y_levels) / lambda`` (exactly 0 for levels never seen).

    ``out`` may be ``values`` itself (overwritten; saves a (P, 256) allocation).
    """
    beta = np.multiply(counts, values, out=out)
    np.subtract(sums, beta, out=beta)
    beta /= float(alpha)
    return beta
