"""Compiled form of a per-pixel model for 8-bit inputs: one 256-entry table per pixel."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from pixelfes.exceptions import InvalidInputError
from pixelfes.models._registry import MODEL_FAMILIES, register
from pixelfes.models._validation import check_choice, check_images
from pixelfes.models.base import BaseImageModel, expect_shape
from pixelfes.models.kernel_levels import LevelIndex

TABLE_DTYPES = ("float32", "float16")
_ROWS_PER_BLOCK = 256  # table rows gathered at a time (256 KiB of float32, cache-sized)
_IMAGES_PER_TILE = 200  # images per tile: index + result buffers of ~600 KiB stay in L2


@register()
class PixelLookupTable(BaseImageModel):
    """Per-pixel lookup table: ``y[n, h, w, c] = table_[h, w, c', x[n, h, w, c]]``.

    Built by ``PixelRidge.to_lookup_table()`` or ``PixelKernelRidge.to_lookup_table()``,
    which evaluate each location's fitted function at the 256 levels ``k / 255`` of an
    8-bit input. Prediction is then a gather (no arithmetic), so it is exact for uint8
    inputs up to the table's storage precision (float16: below 0.5/255 on [0, 1]).

    ``fit(X, T)`` fits ``estimator`` (a fresh copy; default ``PixelRidge()``) and
    tabulates it, so a table is an ordinary scikit-learn style estimator too.

    Parameters
    ----------
    dtype : {"float32", "float16"}, default="float32"
        Storage precision of the table.
    estimator : per-pixel model, optional
        Unfitted model that ``fit`` trains and tabulates (``PixelRidge`` or
        ``PixelKernelRidge``); None means ``PixelRidge()``. Not saved in model files.

    Attributes
    ----------
    table_ : ndarray of shape (H, W, Cw, 256)
        Output value for every location and input level (location-major, so a block of
        locations is contiguous for the gather); Cw is 1 when the source model shares
        its function across channels (c' = 0), else C (c' = c).
    image_shape_ : tuple (H, W, C)
    source_ : str
        Class name of the tabulated model.

    Notes
    -----
    ``predict`` rounds float images to the nearest 8-bit level; predictions are float32.
    """

    _param_names = ("dtype",)
    _array_names = ("table_",)
    _extra_names = ("source_",)

    def __init__(self, dtype: str = "float32", estimator: Any = None) -> None:
        self.dtype = dtype
        self.estimator = estimator

    def _check_hyper_parameters(self) -> None:
        check_choice(self.dtype, "dtype", TABLE_DTYPES)

    def fit(self, X: np.ndarray, T: np.ndarray) -> PixelLookupTable:
        """Fit a copy of ``estimator`` on paired images and tabulate it.

        Parameters
        ----------
        X, T : ndarray of shape (N, H, W) or (N, H, W, C)
            Inputs and targets, as for ``PixelRidge.fit``.

        Returns
        -------
        self
        """
        self._check_hyper_parameters()
        template = MODEL_FAMILIES["pixel-rr"]() if self.estimator is None else self.estimator
        if not hasattr(template, "_evaluate_levels"):
            raise InvalidInputError(
                f"estimator must be a per-pixel model (PixelRidge, PixelKernelRidge); "
                f"got {type(template).__name__}"
            )
        fitted = type(template)(**template.get_params(deep=False)).fit(X, T)
        table = tabulate(fitted, dtype=self.dtype)
        for name in ("table_", "image_shape_", "source_", "metadata_"):
            setattr(self, name, getattr(table, name))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Look up every pixel; see ``BaseImageModel.predict``.

        uint8 images index the table directly. Float images on [0, 1] are first rounded
        to the nearest of the 256 levels (an input change of at most 0.5/255; values
        outside [0, 1] are clipped to it, after the usual warning).
        """
        X4 = check_images(X, "X")
        if X4.dtype != np.uint8:
            X = np.rint(np.clip(X4, 0.0, 1.0) * 255.0).astype(np.uint8).reshape(np.shape(X))
        return super().predict(X)

    def _predict(self, X4: np.ndarray) -> np.ndarray:
        # Tiled gather: a block of _ROWS_PER_BLOCK table rows (cache-sized) against a tile
        # of images at a time, through np.take on that block with mode="clip" (every index
        # is valid by construction, so no bounds errors to check) into reused buffers.
        # The index of pixel j of a block is local_row(j) * 256 + x, the same row part for
        # every block (a block covers _ROWS_PER_BLOCK whole rows, i.e. that many positions
        # times C / Cw), so LevelIndex writes it once and each tile only copies the levels.
        per_row = self.image_shape_[2] // self.table_.shape[2]  # positions per table row
        rows = self.table_.reshape(-1)
        flat_x = X4.reshape(X4.shape[0], -1)
        n_images, n_positions = flat_x.shape
        block = _ROWS_PER_BLOCK * per_row
        tile = min(_IMAGES_PER_TILE, n_images)
        index = LevelIndex((np.arange(block, dtype=np.intp) // per_row) * 256, tile)
        gathered = np.empty((tile, block), dtype=rows.dtype)
        out = np.empty(flat_x.shape, dtype=np.float32)
        for start in range(0, n_positions, block):
            stop = min(start + block, n_positions)
            first_row = start // per_row
            block_rows = rows[first_row * 256 : (first_row + _ROWS_PER_BLOCK) * 256]
            for first in range(0, n_images, tile):
                last = min(first + tile, n_images)
                tile_index = index.fill(flat_x[first:last, start:stop])
                result = gathered[: last - first, : stop - start]
                np.take(block_rows, tile_index, out=result, mode="clip")
                out[first:last, start:stop] = result
        return out

    @property
    def channels(self) -> str:
        """ "shared" when one table serves every channel of a location, else "independent"."""
        self._check_fitted()
        return "shared" if self.table_.shape[2] == 1 else "independent"

    def _offsets(self) -> np.ndarray:
        """Table location (row of ``table_``) used by every (h, w, c) of an image."""
        height, width, channels = self.image_shape_
        table_channels = self.table_.shape[2]
        locations = np.arange(height * width * table_channels, dtype=np.int32)
        locations = locations.reshape(height, width, table_channels)
        return np.broadcast_to(locations, (height, width, channels)).reshape(-1)

    def _count_parameters(self) -> int:
        return int(self.table_.size)

    def _check_arrays(self) -> None:
        height, width, channels = self.image_shape_
        table_channels = self.table_.shape[2] if self.table_.ndim == 4 else -1
        if table_channels not in (1, channels):
            raise InvalidInputError(f"array table_ has shape {self.table_.shape}")
        expect_shape(self.table_, (height, width, table_channels, 256), "table_")
        self.table_ = self.table_.astype(self.dtype, copy=False)


class _Tabulable(Protocol):
    image_shape_: tuple[int, int, int]

    def _evaluate_levels(self, levels: np.ndarray) -> np.ndarray: ...


def tabulate(model: _Tabulable, dtype: str = "float32") -> PixelLookupTable:
    """Evaluate a fitted per-pixel model at the 256 uint8 levels and wrap the table."""
    table = PixelLookupTable(dtype=dtype)
    table._check_hyper_parameters()
    levels = np.arange(256, dtype=np.float64) / 255.0
    table.table_ = np.ascontiguousarray(model._evaluate_levels(levels), dtype=dtype)
    table.image_shape_ = model.image_shape_
    table.source_ = type(model).__name__
    table.metadata_ = {}
    return table
