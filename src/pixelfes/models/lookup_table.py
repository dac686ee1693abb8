"""Compiled form of a per-pixel model for 8-bit inputs: one 256-entry table per pixel."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from pixelfes.models._validation import check_choice
from pixelfes.models.base import BaseImageModel, expect_shape

TABLE_DTYPES = ("float32", "float16")
_CHUNK_VALUES = 1 << 18  # pixel values gathered per step (keeps the index array in cache)


class PixelLookupTable(BaseImageModel):
    """Per-pixel lookup table: ``y[n, h, w, c] = table_[x[n, h, w, c], h, w, c']``.

    Built by ``PixelRidge.to_lookup_table()`` or ``PixelKernelRidge.to_lookup_table()``,
    which evaluate each location's fitted function at the 256 levels ``k / 255`` of an
    8-bit input. Prediction is then a gather (no arithmetic), so it is exact for uint8
    inputs up to the table's storage precision (float16: below 0.5/255 on [0, 1]).

    Parameters
    ----------
    dtype : {"float32", "float16"}, default="float32"
        Storage precision of the table.

    Attributes
    ----------
    table_ : ndarray of shape (256, H, W, Cw)
        Output value for every input level and location; Cw is 1 when the source
        model shares its function across channels, else C.
    image_shape_ : tuple (H, W, C)
    source_ : str
        Class name of the tabulated model.

    Notes
    -----
    Only uint8 images are accepted by ``predict``; ``fit`` is not supported (build the
    table from a fitted model).
    """

    _param_names = ("dtype",)
    _array_names = ("table_",)
    _extra_names = ("source_",)

    def __init__(self, dtype: str = "float32") -> None:
        self.dtype = dtype

    def _check_hyper_parameters(self) -> None:
        check_choice(self.dtype, "dtype", TABLE_DTYPES)

    def fit(self, X: np.ndarray, T: np.ndarray) -> PixelLookupTable:
        """Not supported: build a table with ``model.to_lookup_table()``."""
        raise TypeError("PixelLookupTable is compiled from a fitted model; use to_lookup_table()")

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Look up every pixel of uint8 images; see ``BaseImageModel.predict``."""
        if np.asarray(X).dtype != np.uint8:
            raise ValueError(
                f"PixelLookupTable needs uint8 images; got dtype {np.asarray(X).dtype}"
            )
        return super().predict(X)

    def _predict(self, X4: np.ndarray) -> np.ndarray:
        offsets = self._offsets()
        flat_table = self.table_.reshape(-1)
        stride = offsets.dtype.type(np.prod(self.table_.shape[1:]))
        flat_x = X4.reshape(X4.shape[0], -1)
        out = np.empty(flat_x.shape, dtype=np.float32)
        step = max(1, _CHUNK_VALUES // offsets.size)
        index = np.empty((step, offsets.size), dtype=offsets.dtype)
        gathered = np.empty((step, offsets.size), dtype=flat_table.dtype)
        for start in range(0, flat_x.shape[0], step):
            rows = flat_x[start : start + step]
            idx = index[: rows.shape[0]]
            np.multiply(rows, stride, out=idx)
            idx += offsets
            if flat_table.dtype == np.float32:
                np.take(flat_table, idx, out=out[start : start + step])
            else:
                values = np.take(flat_table, idx, out=gathered[: rows.shape[0]])
                out[start : start + step] = values
        return out

    def _offsets(self) -> np.ndarray:
        """Flat table position of level 0 for every (h, w, c) of an image."""
        height, width, channels = self.image_shape_
        table_channels = self.table_.shape[3]
        locations = np.arange(height * width * table_channels, dtype=np.int32)
        locations = locations.reshape(height, width, table_channels)
        return np.broadcast_to(locations, (height, width, channels)).reshape(-1)

    def _count_parameters(self) -> int:
        return int(self.table_.size)

    def _check_arrays(self) -> None:
        height, width, channels = self.image_shape_
        if self.table_.shape[3:] not in ((1,), (channels,)):
            raise ValueError(f"array table_ has shape {self.table_.shape}")
        expect_shape(self.table_, (256, height, width, self.table_.shape[3]), "table_")
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
