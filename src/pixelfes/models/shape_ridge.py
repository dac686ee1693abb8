"""Shape model: predict the target expression's landmarks from the input face's landmarks.

A ridge regression from all input coordinates to the displacement of every point,
optionally reduced to rank ``k`` (reduced-rank ridge): ``d = (x - x_mean) W + d_mean`` with
``W = A B``, ``A`` (2P, k), ``B`` (k, 2P). Shapes are (P, 2) arrays in aligned-crop pixels.
"""

from __future__ import annotations

import numpy as np

from pixelfes.exceptions import NotFittedError

__all__ = ["ShapeRidge", "check_shapes"]


def check_shapes(shapes: np.ndarray, name: str) -> np.ndarray:
    """Return (N, P, 2) float64 landmark stacks, or raise ValueError naming the problem."""
    arr = np.asarray(shapes, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[2] != 2 or arr.shape[1] < 3:
        raise ValueError(f"{name} must have shape (N, P, 2) or (P, 2), got {np.shape(shapes)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return arr


class ShapeRidge:
    """Ridge regression of target landmarks on input landmarks, optionally of low rank.

    Parameters
    ----------
    alpha : float, default=1000.0
        Ridge penalty on the coefficients (the intercept, the mean displacement, is not
        penalised), in squared pixels.
    rank : int or None, default=16
        Keep the ``rank`` leading directions of the fitted displacements (reduced-rank
        regression); None keeps the full map.

    Attributes
    ----------
    input_mean_ : ndarray of shape (2P,)
    displacement_mean_ : ndarray of shape (2P,)
    left_ : ndarray of shape (2P, k)
    right_ : ndarray of shape (k, 2P)
        The coefficient matrix is ``left_ @ right_``.

    References
    ----------
    .. [1] Hastie, Tibshirani, Friedman. "The Elements of Statistical Learning", 2nd ed.,
       Sections 3.4.1 (ridge) and 3.7 (reduced-rank regression).
    """

    def __init__(self, alpha: float = 1000.0, rank: int | None = 16) -> None:
        self.alpha = alpha
        self.rank = rank

    def get_params(self) -> dict[str, float | int | None]:
        """The hyper-parameters."""
        return {"alpha": self.alpha, "rank": self.rank}

    def fit(self, inputs: np.ndarray, targets: np.ndarray) -> ShapeRidge:
        """Fit from (N, P, 2) input shapes and the (N, P, 2) target shapes of the same faces."""
        if not float(self.alpha) > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha!r}")
        if self.rank is not None and int(self.rank) < 1:
            raise ValueError(f"rank must be >= 1 or None, got {self.rank!r}")
        x = check_shapes(inputs, "inputs")
        t = check_shapes(targets, "targets")
        if x.shape != t.shape:
            raise ValueError(f"inputs {x.shape} and targets {t.shape} differ in shape")
        n = len(x)
        x2 = x.reshape(n, -1)
        d2 = (t - x).reshape(n, -1)
        self.input_mean_ = x2.mean(axis=0)
        self.displacement_mean_ = d2.mean(axis=0)
        xc = x2 - self.input_mean_
        dc = d2 - self.displacement_mean_
        # Dual form (N <= 2P): W = Xc^T (Xc Xc^T + alpha I)^-1 Dc.
        gram = xc @ xc.T + float(self.alpha) * np.eye(n)
        coef = xc.T @ np.linalg.solve(gram, dc)
        if self.rank is None or int(self.rank) >= min(coef.shape):
            self.left_, self.right_ = coef, np.eye(coef.shape[1])
        else:
            _, _, vt = np.linalg.svd(xc @ coef, full_matrices=False)
            basis = vt[: int(self.rank)]  # (k, 2P): leading directions of fitted displacements
            self.left_, self.right_ = coef @ basis.T, basis
        return self

    def displacement(self, shapes: np.ndarray) -> np.ndarray:
        """Predicted displacement (target minus input) of each point: (N, P, 2)."""
        if not hasattr(self, "left_"):
            raise NotFittedError("this ShapeRidge is not fitted yet; call fit first")
        x = check_shapes(shapes, "shapes")
        if x.shape[1] * 2 != self.input_mean_.size:
            raise ValueError(f"shapes have {x.shape[1]} points, the model {self.n_points}")
        xc = x.reshape(len(x), -1) - self.input_mean_
        d = (xc @ self.left_) @ self.right_ + self.displacement_mean_
        return d.reshape(x.shape)

    def predict(self, shapes: np.ndarray) -> np.ndarray:
        """Predicted target shapes: (N, P, 2)."""
        return check_shapes(shapes, "shapes") + self.displacement(shapes)

    @property
    def n_points(self) -> int:
        """Number of landmarks P."""
        return self.input_mean_.size // 2
