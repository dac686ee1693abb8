"""Batched Cholesky solves in numpy (numpy has no batched triangular solve)."""

from __future__ import annotations

import numpy as np

_BLOCK = 64


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
        The solutions, via ``A = L L^T`` and two blocked triangular substitutions.
    """
    L = np.linalg.cholesky(A)
    Y = _forward(L, B)
    return _backward(L, Y)


def _forward(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L Y = B`` (L lower triangular) block row by block row."""
    Y = np.empty_like(B)
    m = L.shape[-1]
    for i in range(0, m, _BLOCK):
        j = min(i + _BLOCK, m)
        rhs = B[:, i:j] - L[:, i:j, :i] @ Y[:, :i] if i else B[:, i:j]
        Y[:, i:j] = np.linalg.solve(L[:, i:j, i:j], rhs)
    return Y


def _backward(L: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Solve ``L^T X = Y`` block row by block row, from the bottom."""
    X = np.empty_like(Y)
    m = L.shape[-1]
    starts = list(range(0, m, _BLOCK))
    for i in reversed(starts):
        j = min(i + _BLOCK, m)
        upper = np.swapaxes(L[:, i:j, i:j], 1, 2)
        rhs = Y[:, i:j] - np.swapaxes(L[:, j:, i:j], 1, 2) @ X[:, j:] if j < m else Y[:, i:j]
        X[:, i:j] = np.linalg.solve(upper, rhs)
    return X
