"""Similarity fitting and the canonical five-point template of an aligned crop."""

from __future__ import annotations

import numpy as np

# Five template points as fractions of the crop side (x, y), derived from the mean shape
# of the 102 manual London Set templates (see docs/faces.md): inter-ocular distance 0.35,
# eye line at 0.40 of the height, which puts the hairline at the top edge and the chin at
# about 0.93. The shape is made left-right symmetric.
TEMPLATE_FRACTIONS = np.array(
    [
        [0.3250, 0.4000],  # left eye centre (image left)
        [0.6750, 0.4000],  # right eye centre
        [0.5000, 0.5950],  # nose tip
        [0.3600, 0.7860],  # left mouth corner
        [0.6400, 0.7860],  # right mouth corner
    ],
    dtype=np.float64,
)
TEMPLATE_FRACTIONS.setflags(write=False)


def template_points(size: int) -> np.ndarray:
    """The five template points in pixel coordinates of a ``size`` x ``size`` crop.

    Pixel centres are at integer coordinates, so fraction ``f`` maps to ``f * size - 0.5``.
    """
    return TEMPLATE_FRACTIONS * float(size) - 0.5


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) taking src to dst.

    Umeyama's closed form; no reflection. Returns a 2x3 float64 matrix ``M`` with
    ``dst ~= src @ M[:, :2].T + M[:, 2]``. Needs at least two distinct points.
    """
    src = np.asarray(src, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(dst, dtype=np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 2:
        raise ValueError("fit_similarity needs two arrays of the same shape with >= 2 points")
    mu_s = src.mean(axis=0)
    mu_d = dst.mean(axis=0)
    s0 = src - mu_s
    d0 = dst - mu_d
    var_s = float((s0**2).sum()) / len(src)
    if var_s <= 1e-12:
        raise ValueError("fit_similarity: source points are all the same")
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    rot = u @ np.diag(d) @ vt
    scale = float((sig * d).sum()) / var_s
    m = np.empty((2, 3), dtype=np.float64)
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 2x3 affine matrix."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ np.asarray(matrix)[:, :2].T + np.asarray(matrix)[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix."""
    m = np.asarray(matrix, dtype=np.float64)
    a_inv = np.linalg.inv(m[:, :2])
    out = np.empty((2, 3), dtype=np.float64)
    out[:, :2] = a_inv
    out[:, 2] = -a_inv @ m[:, 2]
    return out


def similarity_scale(matrix: np.ndarray) -> float:
    """Uniform scale factor of a similarity matrix."""
    return float(np.sqrt(abs(np.linalg.det(np.asarray(matrix)[:, :2]))))
