"""The mouth frame: an opened mouth's interior on a fixed rectangle.

The inner-lip polygon (:data:`pixelfes.faces.landmarks.INNER_LIPS`, mouth corners at
positions 0 and 10) is mapped piecewise-affinely onto a canonical polygon inside an
``MOUTH_FRAME`` rectangle, over a fan of triangles from the polygon's centroid. In that
frame the teeth sit under the upper lip and the dark of the mouth below them whatever the
opening's size, so the interiors of many opened mouths can be averaged without blurring
one into another (in the face's frame, openings of different sizes overlap).

Shapes: polygons are (K, 2) in pixel coordinates (x, y); frames are (H, W) float32.
"""

from __future__ import annotations

import cv2
import numpy as np

from pixelfes.faces.landmarks import FACE_OVAL, N_DENSE
from pixelfes.faces.warp import mesh_maps

__all__ = [
    "MOUTH_FRAME",
    "canonical_polygon",
    "face_mean",
    "from_mouth_frame",
    "polygon_area",
    "polygon_mask",
    "to_mouth_frame",
]

#: (H, W) of the mouth frame.
MOUTH_FRAME = (24, 48)
#: Positions of the two mouth corners in the inner-lip polygon.
_CORNERS = (0, 10)


def polygon_area(polygon: np.ndarray) -> float:
    """Area (square pixels) of a (K, 2) polygon."""
    x, y = np.asarray(polygon, np.float64).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def polygon_mask(polygon: np.ndarray, size: int, feather: float = 0.8) -> np.ndarray:
    """Feathered (S, S) float32 mask of a (K, 2) polygon (1 inside, 0 outside)."""
    mask = np.zeros((size, size), np.float32)
    points = np.rint(np.asarray(polygon, np.float64) * 4).astype(np.int32)
    cv2.fillPoly(mask, [points], 1.0, lineType=cv2.LINE_AA, shift=2)
    return cv2.GaussianBlur(mask, (0, 0), feather) if feather > 0 else mask


def _fan(polygon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polygon with its centroid appended, and the fan triangles over it."""
    points = np.asarray(polygon, np.float64)
    k = len(points)
    centre = len(points)
    triangles = np.array([[centre, i, (i + 1) % k] for i in range(k)], np.int32)
    return np.vstack([points, points.mean(axis=0)]), triangles


def canonical_polygon(polygons: np.ndarray) -> np.ndarray:
    """The mean of (N, K, 2) inner-lip polygons normalised into the mouth frame: (K, 2).

    Each polygon is rotated and scaled so that its corners lie on the frame's horizontal
    midline, a sixteenth of the width from either side, and stretched vertically so that
    its opening spans the frame's height less a pixel above and below.
    """
    polygons = np.asarray(polygons, np.float64)
    if polygons.ndim != 3 or polygons.shape[2] != 2 or len(polygons) == 0:
        raise ValueError(f"polygons must have shape (N, K, 2) with N >= 1, got {polygons.shape}")
    h, w = MOUTH_FRAME
    left, right = polygons[:, _CORNERS[0]], polygons[:, _CORNERS[1]]
    axis = right - left
    length = np.maximum(np.linalg.norm(axis, axis=1), 1e-6)
    cos, sin = axis[:, 0] / length, axis[:, 1] / length
    rel = polygons - left[:, None]
    u = (rel[..., 0] * cos[:, None] + rel[..., 1] * sin[:, None]) / length[:, None]
    v = -rel[..., 0] * sin[:, None] + rel[..., 1] * cos[:, None]
    span = np.maximum(v.max(axis=1) - v.min(axis=1), 1e-6)
    v = (v - (v.max(axis=1) + v.min(axis=1))[:, None] / 2) / span[:, None]
    x = w / 16 + u * (w * 7 / 8) - 0.5
    y = (h - 1) / 2 + v * (h - 2)
    return np.stack([x, y], axis=-1).mean(axis=0)


def to_mouth_frame(image: np.ndarray, polygon: np.ndarray, canonical: np.ndarray) -> np.ndarray:
    """Sample the inside of ``polygon`` of an (S, S[, C]) image onto the mouth frame."""
    src, triangles = _fan(polygon)
    dst, _ = _fan(canonical)
    map_x, map_y = mesh_maps(src, dst, triangles, MOUTH_FRAME)
    return cv2.remap(np.asarray(image, np.float32), map_x, map_y, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def from_mouth_frame(frame: np.ndarray, canonical: np.ndarray, polygon: np.ndarray,
                     size: int) -> np.ndarray:  # fmt: skip
    """Draw an (H, W) mouth frame into ``polygon`` of an S x S crop: (S, S) float32.

    Only the pixels inside ``polygon`` are meaningful (blend with :func:`polygon_mask`);
    the rest are 0. Only the polygon's bounding box is rasterised.
    """
    points = np.asarray(polygon, np.float64)
    x0, y0 = np.clip(np.floor(points.min(axis=0)).astype(int) - 3, 0, size)
    x1, y1 = np.clip(np.ceil(points.max(axis=0)).astype(int) + 4, 0, size)
    out = np.zeros((size, size), np.float32)
    if x1 <= x0 or y1 <= y0:
        return out
    src, triangles = _fan(canonical)
    dst, _ = _fan(points)
    map_x, map_y = mesh_maps(src, dst, triangles, (y1 - y0, x1 - x0), (float(x0), float(y0)))
    out[y0:y1, x0:x1] = cv2.remap(np.asarray(frame, np.float32), map_x, map_y,
                                  cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out


def face_mean(crop: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Mean of an (S, S[, C]) crop inside the face oval of its (468, 2) landmarks (inside
    the convex hull of other (P, 2) shapes): () or (C,)."""
    points = np.asarray(shape, np.float32)
    outline = points[list(FACE_OVAL)] if len(points) == N_DENSE else cv2.convexHull(points)[:, 0]
    mask = polygon_mask(outline, crop.shape[0], feather=0) > 0
    return crop[mask].mean(axis=0) if mask.any() else crop.reshape(-1, *crop.shape[2:]).mean(0)
