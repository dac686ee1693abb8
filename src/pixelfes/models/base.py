"""Behaviour every model shares: fit/predict plumbing, fitted checks, counts, saving."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from pixelfes.exceptions import InvalidInputError, InvalidModelError, NotFittedError
from pixelfes.models._params import ParamsMixin
from pixelfes.models._validation import check_image_shape, check_images, check_pair
from pixelfes.models.serialization import save_model


class BaseImageModel(ParamsMixin):
    """Base class of the pixelfes regression models (scikit-learn conventions).

    Subclasses store hyper-parameters in ``__init__`` (those saved in model files named
    in ``_param_names``), fill the fitted arrays named in ``_array_names`` in ``_fit``
    and map (N, H, W, C) stacks to predictions in ``_predict``. Computation follows the
    caller's precision: float64 inputs are fitted and predicted in float64, anything
    else (uint8, float32, float16) in float32.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    _array_names: ClassVar[tuple[str, ...]] = ()
    _extra_names: ClassVar[tuple[str, ...]] = ()  # fitted JSON values saved in the header
    _integer_arrays: ClassVar[tuple[str, ...]] = ()  # fitted arrays saved as int8, exactly

    image_shape_: tuple[int, int, int]
    metadata_: dict[str, Any]

    def fit(self, X: np.ndarray, T: np.ndarray) -> BaseImageModel:
        """Fit the model on paired images.

        Parameters
        ----------
        X : ndarray of shape (N, H, W) or (N, H, W, C)
            Input (e.g. neutral) faces, uint8 or float in [0, 1].
        T : ndarray of the same shape as X
            Target (e.g. happy) faces.

        Returns
        -------
        self
            The fitted model.
        """
        self._check_hyper_parameters()
        X4, T4 = check_pair(X, T)
        self._fit(X4, T4)
        self.image_shape_ = tuple(int(d) for d in X4.shape[1:])  # type: ignore[assignment]
        self.metadata_ = {}
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Synthesise target images.

        Parameters
        ----------
        X : ndarray of shape (N, H, W) or (N, H, W, C)
            uint8 or float in [0, 1]; H, W and C must match the training images.

        Returns
        -------
        ndarray of float64 for float64 X, else float32; same shape as X
            Predicted intensities on the [0, 1] scale, not clipped.
        """
        self._check_fitted()
        X4 = check_images(X, "X")
        check_image_shape(X4, self.image_shape_)
        Y = self._predict(X4)
        if not np.isfinite(Y).all():  # never hand NaN pixels on
            raise InvalidModelError(
                f"{type(self).__name__} produced non-finite values; its fitted arrays or "
                "hyper-parameters are unusable"
            )
        return Y.reshape(np.shape(X))

    def _check_fitted(self) -> None:
        if not hasattr(self, "image_shape_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(X, T) first"
            )

    @property
    def n_parameters(self) -> int:
        """Number of learned parameters (the count of the paper's Table I)."""
        self._check_fitted()
        return self._count_parameters()

    @property
    def n_stored_values(self) -> int:
        """Number of values the fitted model stores (all fitted arrays together)."""
        self._check_fitted()
        return int(sum(getattr(self, name).size for name in self._array_names))

    def save(
        self,
        path: str | os.PathLike[str],
        metadata: dict[str, Any] | None = None,
        dtype: str = "float32",
    ) -> None:
        """Write the fitted model to ``path`` (see docs/models.md for the format).

        Parameters
        ----------
        path : str or path-like
            Destination file; written atomically (temporary file + rename).
        metadata : dict, optional
            Free-form JSON-serialisable data, exposed as ``metadata_`` after loading.
        dtype : {"float32", "float16"}
            Storage precision of the fitted arrays.
        """
        self._check_fitted()
        save_model(self, path, metadata=metadata, dtype=dtype)

    # Hooks for subclasses -------------------------------------------------------------
    def _check_hyper_parameters(self) -> None:
        raise NotImplementedError

    def _fit(self, X4: np.ndarray, T4: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, X4: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _count_parameters(self) -> int:
        raise NotImplementedError

    def _check_arrays(self) -> None:
        """Raise ValueError if loaded fitted arrays are inconsistent (shapes, values)."""
        raise NotImplementedError


def expect_shape(array: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    """Raise ValueError if ``array`` does not have ``shape`` (used when loading)."""
    if array.shape != shape:
        raise InvalidInputError(f"array {name} has shape {array.shape}, expected {shape}")
