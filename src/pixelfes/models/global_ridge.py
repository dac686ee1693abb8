"""Global ridge regression (Eq. 1-2): every output pixel from every input pixel."""

from __future__ import annotations

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.models._registry import register
from pixelfes.models._validation import check_positive, compute_dtype
from pixelfes.models.base import BaseImageModel, expect_shape


@register("global-rr")
class GlobalRidge(BaseImageModel):
    """Ridge regression from whole vectorised input faces to whole target faces.

    Eq. 1 minimises ``1/2 ||W X^T - T^T||_F^2 + alpha/2 ||W||_F^2`` over W (K x D, no
    bias); Eq. 2 gives ``W^T = (X^T X + alpha I)^-1 X^T T``. With D = H W C in the tens
    of thousands this is solved in the dual instead, ``W^T = X^T (X X^T + alpha I)^-1 T``
    (an N x N system), and W is never formed: ``predict(x) = (x X^T) A`` with
    ``A = (X X^T + alpha I)^-1 T``.

    Parameters
    ----------
    alpha : float, default=0.4
        Ridge penalty (lambda), > 0.

    Attributes
    ----------
    dual_coef_ : ndarray of shape (N, D), float64 when fitted on float64 images, else float32
        ``A``, one row per training pair (D = H W C outputs).
    train_inputs_ : ndarray of shape (N, D), same dtype as dual_coef_
        The vectorised training inputs X.
    image_shape_ : tuple (H, W, C)

    Notes
    -----
    ``n_parameters`` is the size of Eq. 1's W, D x D (what the primal model has);
    ``n_stored_values`` is what is actually stored, 2 N D. N = 1 is allowed (the
    penalty keeps the 1 x 1 system solvable).

    References
    ----------
    .. [1] Khan et al. "Pixel-based Facial Expression Synthesis", Section III, Eq. 1-2.
    """

    _param_names = ("alpha",)
    _array_names = ("dual_coef_", "train_inputs_")

    def __init__(self, alpha: float = 0.4) -> None:
        self.alpha = alpha

    def _check_hyper_parameters(self) -> None:
        check_positive(self.alpha, "alpha")

    def _fit(self, X4: np.ndarray, T4: np.ndarray) -> None:
        n = X4.shape[0]
        x = to_unit(X4, np.float64).reshape(n, -1)
        t = to_unit(T4, np.float64).reshape(n, -1)
        gram = x @ x.T
        gram[np.diag_indices(n)] += float(self.alpha)
        dtype = compute_dtype(X4)
        self.dual_coef_ = np.linalg.solve(gram, t).astype(dtype)
        self.train_inputs_ = x.astype(dtype)

    def _predict(self, X4: np.ndarray) -> np.ndarray:
        dtype = compute_dtype(X4)
        x = to_unit(X4, dtype).reshape(X4.shape[0], -1)
        out = (x @ self.train_inputs_.T) @ self.dual_coef_
        return out.astype(dtype, copy=False).reshape(X4.shape)

    def _count_parameters(self) -> int:
        size = int(np.prod(self.image_shape_))
        return size * size

    def _check_arrays(self) -> None:
        size = int(np.prod(self.image_shape_))
        n = self.dual_coef_.shape[0]
        expect_shape(self.dual_coef_, (n, size), "dual_coef_")
        expect_shape(self.train_inputs_, (n, size), "train_inputs_")
