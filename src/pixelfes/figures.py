"""Labelled image grids for before/after sheets, galleries and evaluation figures."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def labelled_grid(
    rows: Sequence[Sequence[np.ndarray]],
    *,
    col_labels: Sequence[str] = (),
    row_labels: Sequence[str] = (),
    cell: int = 192,
    gap: int = 4,
) -> np.ndarray:
    """Arrange images in a grid, each scaled to fit a square cell, with text labels.

    Parameters
    ----------
    rows : sequence of sequences of ndarray (H, W, 3) or (H, W), uint8 or float in [0, 1]
        The images, row by row; rows may differ in length.
    col_labels, row_labels : sequence of str
        Labels above the columns and left of the rows (optional).
    cell : int
        Side of each square cell in pixels.
    gap : int
        White space between cells.

    Returns
    -------
    ndarray of shape (H, W, 3), uint8
    """
    if not rows or not any(rows):
        raise ValueError("labelled_grid needs at least one image")
    n_cols = max(len(row) for row in rows)
    top = 28 if col_labels else 0
    left = 110 if row_labels else 0
    height = top + len(rows) * (cell + gap) + gap
    width = left + n_cols * (cell + gap) + gap
    sheet = np.full((height, width, 3), 255, np.uint8)
    for c, label in enumerate(col_labels):
        x = left + gap + c * (cell + gap)
        _put_text(sheet, label, (x + 4, top - 9))
    for r, row in enumerate(rows):
        y = top + gap + r * (cell + gap)
        if r < len(row_labels):
            _put_text(sheet, row_labels[r], (6, y + cell // 2))
        for c, image in enumerate(row):
            x = left + gap + c * (cell + gap)
            tile = _fit(_as_rgb_uint8(image), cell)
            dy, dx = (cell - tile.shape[0]) // 2, (cell - tile.shape[1]) // 2
            sheet[y + dy : y + dy + tile.shape[0], x + dx : x + dx + tile.shape[1]] = tile
    return sheet


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        image = np.clip(np.round(np.asarray(image, np.float32) * 255), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return image


def _fit(image: np.ndarray, cell: int) -> np.ndarray:
    scale = cell / max(image.shape[:2])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interpolation)


def _put_text(sheet: np.ndarray, text: str, origin: tuple[int, int]) -> None:
    cv2.putText(sheet, text, origin, _FONT, 0.55, (20, 20, 20), 1, cv2.LINE_AA)
