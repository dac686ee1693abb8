"""Batched Cholesky solves in numpy (numpy has no batched triangular solve)."""

from __future__ import annotations

import numpy as np

_BLOCK = 32


def cholesky_solve(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``A X = B`` for a stack of symmetric positive definite matrices.

    Parameters
    ----------
    A : ndarray of shape (P, M, M)
        SPD matrices (only the lower triangle is read by the factorisation).
    B : ndarray of shape (P, M, R)
        Right-hand sides.

    Returns
    -------
    ndarray of shape (P, M, R)
        The solutions, via ``A = L L^T`` and two blocked triangular substitutions
        whose diagonal blocks are inverted in one batched call.
    """
    L = np.linalg.cholesky(A)
    m = L.shape[-1]
    bounds = [(i, min(i + _BLOCK, m)) for i in range(0, m, _BLOCK)]
    inverses = [np.linalg.inv(L[:, i:j, i:j]) for i, j in bounds]
    Y = np.empty_like(B)
    for (i, j), inverse in zip(bounds, inverses, strict=True):
        rhs = B[:, i:j] - L[:, i:j, :i] @ Y[:, :i] if i else B[:, i:j]
        Y[:, i:j] = inverse @ rhs
    X = np.empty_like(B)
    for (i, j), inverse in reversed(list(zip(bounds, inverses, strict=True))):
        rhs = Y[:, i:j] - np.swapaxes(L[:, j:, i:j], 1, 2) @ X[:, j:] if j < m else Y[:, i:j]
        X[:, i:j] = np.swapaxes(inverse, 1, 2) @ rhs
    return X
