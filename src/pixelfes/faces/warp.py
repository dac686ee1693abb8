"""Piecewise-affine warps of a face between two landmark shapes, on crops and on photos.

A shape is an (P, 2) array of points in crop pixel coordinates. Fixed *ring points* well
outside the crop are added to every shape, so the mesh covers the whole crop and a margin
around it (the chin sits near the crop's lower edge and must be free to move below it), and
the displacement falls smoothly to zero at the ring. The mesh is a Delaunay triangulation of
a reference shape; a warp maps each output pixel through the affine map of the triangle it
falls in (destination shape) to the source shape, then samples the source bilinearly.

>>> tri = triangulate(with_ring(mean_shape, 128))
>>> warped = warp_crop(crop, with_ring(src, 128), with_ring(dst, 128), tri)

References
----------
.. [1] Cootes, Edwards, Taylor. "Active Appearance Models", ECCV 1998 (shape-free texture
   by piecewise-affine warping).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from pixelfes.exceptions import GeometryError

__all__ = [
    "RING_EXTENT",
    "check_landmarks",
    "check_mesh",
    "displacement_field",
    "mesh_maps",
    "ring_points",
    "triangulate",
    "warp_crop",
    "with_ring",
]

#: The ring's square spans [-RING_EXTENT, 1 + RING_EXTENT] of the crop side.
RING_EXTENT = 0.5
#: Landmarks may lie this far outside the crop (fraction of its side) and no further.
LANDMARK_MARGIN = 0.3
_MIN_AREA = 1e-3  # square pixels: a destination triangle smaller than this is degenerate
_MIN_DRAWN_AREA = 0.5  # square pixels: smaller destination triangles borrow a neighbour's map


def ring_points(size: int) -> np.ndarray:
    """Sixteen fixed points on a square ``RING_EXTENT`` crop sides outside an S x S crop."""
    lo, hi = -RING_EXTENT * size - 0.5, (1 + RING_EXTENT) * size - 0.5
    t = np.linspace(lo, hi, 5)
    top = np.stack([t, np.full(5, lo)], axis=1)
    bottom = np.stack([t, np.full(5, hi)], axis=1)
    left = np.stack([np.full(3, lo), t[1:-1]], axis=1)
    right = np.stack([np.full(3, hi), t[1:-1]], axis=1)
    return np.concatenate([top, bottom, left, right])


def with_ring(points: np.ndarray, size: int) -> np.ndarray:
    """``points`` (P, 2) followed by the ring points of an S x S crop: (P + 16, 2)."""
    return np.concatenate([np.asarray(points, np.float64).reshape(-1, 2), ring_points(size)])


def check_landmarks(points: np.ndarray, size: int, name: str = "landmarks") -> np.ndarray:
    """Return ``points`` as (P, 2) float64, or raise :class:`GeometryError` naming the problem.

    Points must be finite and within ``LANDMARK_MARGIN`` crop sides of an S x S crop.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise GeometryError(f"{name} must have shape (P, 2) with P >= 3, got {pts.shape}")
    if not np.isfinite(pts).all():
        raise GeometryError(f"{name} contain NaN or infinite values")
    lo, hi = -LANDMARK_MARGIN * size, (1 + LANDMARK_MARGIN) * size
    if pts.min() < lo or pts.max() > hi:
        raise GeometryError(
            f"{name} lie outside the crop: coordinates span [{pts.min():.1f}, {pts.max():.1f}], "
            f"allowed [{lo:.1f}, {hi:.1f}] for a {size} px crop"
        )
    return pts


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangulation of (P, 2) distinct points: (T, 3) int32 vertex indices."""
    pts = np.asarray(points, dtype=np.float64)
    lo = pts.min(axis=0) - 1.0
    hi = pts.max(axis=0) + 1.0
    x0, y0 = (int(v) for v in np.floor(lo))
    width, height = (int(v) + 1 for v in np.ceil(hi - lo))
    subdiv = cv2.Subdiv2D((x0, y0, width, height))
    subdiv.insert([(float(x), float(y)) for x, y in pts])
    lookup = {(round(float(x), 3), round(float(y), 3)): i for i, (x, y) in enumerate(pts)}
    triangles = []
    for tri in subdiv.getTriangleList().reshape(-1, 3, 2):
        ids = [lookup.get((round(float(x), 3), round(float(y), 3))) for x, y in tri]
        if None not in ids and len(set(ids)) == 3:
            triangles.append(ids)
    return np.asarray(triangles, dtype=np.int32)


def sparse_triangulation(
    points: np.ndarray, min_distance: float, priority=None, always: int = 0
) -> np.ndarray:
    """Delaunay triangulation of a subset of ``points`` no two closer than ``min_distance``.

    Points are taken in ``priority`` order (default: as given) and kept when far enough from
    every point kept so far; the last ``always`` points (the ring) are always kept. Dense
    landmark sets have near-coincident points whose sliver triangles flip with landmark
    noise; a sparser mesh does not. Returns (T, 3) indices into ``points``.
    """
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts) - always
    order = list(range(n)) if priority is None else [int(i) for i in priority]
    kept: list[int] = []
    for i in order:
        if not kept or np.hypot(*(pts[kept] - pts[i]).T).min() >= min_distance:
            kept.append(i)
    kept += list(range(n, len(pts)))
    index = np.asarray(kept)
    return index[triangulate(pts[index])].astype(np.int32)


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Signed area of each triangle (positive: counter-clockwise with y up)."""
    a, b, c = (points[triangles[:, k]] for k in range(3))
    return 0.5 * (
        (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    )


def check_mesh(
    points: np.ndarray, triangles: np.ndarray, reference: np.ndarray, tolerance: float = 0.0
) -> None:
    """Raise :class:`GeometryError` if a triangle of ``points`` is folded or flipped compared
    with the same triangle of ``reference`` (the shape it was built on).

    A flipped triangle whose area is at most ``tolerance`` square pixels (landmark noise
    on a thin triangle) is let through; collapsed ones are always refused.
    """
    areas = signed_areas(np.asarray(points, np.float64), triangles)
    ref = signed_areas(np.asarray(reference, np.float64), triangles)
    flipped = (np.sign(areas) != np.sign(ref)) & (np.abs(areas) > tolerance)
    bad = flipped | (np.abs(areas) < _MIN_AREA)
    if bad.any():
        raise GeometryError(
            f"{int(bad.sum())} of {len(triangles)} mesh triangles are folded or collapsed "
            "(bad landmarks or an extreme intensity)"
        )


def _affines(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Per-triangle 2x3 affine maps taking destination points to source points: (T, 2, 3)."""
    d = np.concatenate([dst[triangles], np.ones((len(triangles), 3, 1))], axis=2)  # (T, 3, 3)
    s = src[triangles]  # (T, 3, 2)
    det = np.linalg.det(d)
    safe = np.where(np.abs(det) < 1e-9, 1.0, 0.0)[:, None, None] * np.eye(3)
    return np.linalg.solve(d + safe, s).transpose(0, 2, 1)


def mesh_maps(
    src: np.ndarray,
    dst: np.ndarray,
    triangles: np.ndarray,
    shape: tuple[int, int],
    origin: tuple[float, float] = (0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Sampling maps of the warp taking shape ``src`` to shape ``dst``.

    Parameters
    ----------
    src, dst : ndarray of shape (P, 2)
        Corresponding points (ring included), in crop pixel coordinates.
    triangles : ndarray of shape (T, 3)
        The mesh.
    shape : (H, W)
        Size of the output grid; grid pixel (u, v) is crop point ``(u, v) + origin``.
    origin : (x, y)
        Crop coordinates of the grid's first pixel.

    Returns
    -------
    map_x, map_y : ndarray of shape (H, W), float32
        The source crop coordinates of each grid pixel. Pixels the rasteriser leaves
        uncovered inside the mesh take a neighbouring triangle's map; pixels outside the
        mesh map to themselves.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    h, w = shape
    ox, oy = origin
    index = np.full((h, w), -1, dtype=np.int32)
    shift = 4  # sub-pixel vertex precision of the rasteriser (1/16 px)
    corners = np.rint((dst[triangles] - np.array([ox, oy])) * (1 << shift)).astype(np.int32)
    # A nearly collapsed destination triangle has a nearly singular map (its pixels would
    # sample far away): it is not drawn, and its pixels take a neighbour's map.
    drawn = np.abs(signed_areas(dst, triangles)) >= _MIN_DRAWN_AREA
    for t in np.flatnonzero(drawn):
        cv2.fillConvexPoly(index, corners[t], int(t), lineType=cv2.LINE_8, shift=shift)
    index = _fill_gaps(index)
    # One row of six coefficients per triangle, and the identity for uncovered pixels
    # (index -1 picks the last row).
    coef = np.concatenate([_affines(src, dst, triangles).reshape(-1, 6), _IDENTITY])
    c = coef.astype(np.float32)[index]
    xs, ys = _grid(h, w, float(ox), float(oy))
    map_x = c[..., 0] * xs + c[..., 1] * ys + c[..., 2]
    map_y = c[..., 3] * xs + c[..., 4] * ys + c[..., 5]
    return map_x, map_y


_IDENTITY = np.array([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]])


@functools.lru_cache(maxsize=8)
def _grid(h: int, w: int, ox: float, oy: float) -> tuple[np.ndarray, np.ndarray]:
    """Crop coordinates of an (h, w) grid starting at (ox, oy), float32, read-only."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs += np.float32(ox)
    ys += np.float32(oy)
    xs.setflags(write=False)
    ys.setflags(write=False)
    return xs, ys


def _fill_gaps(index: np.ndarray, reach: int = 16) -> np.ndarray:
    """Give pixels the rasteriser left uncovered (slivers, tolerated small flips) the
    triangle of a neighbour, growing up to ``reach`` pixels; the rest stay -1."""
    if (index >= 0).all():
        return index
    filled = index.astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(reach):
        holes = filled < 0
        if not holes.any():
            break
        filled[holes] = cv2.dilate(filled, kernel)[holes]
    return filled.astype(np.int32)


def displacement_field(
    src: np.ndarray,
    dst: np.ndarray,
    triangles: np.ndarray,
    shape: tuple[int, int],
    origin: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """``mesh_maps`` minus the grid: (H, W, 2) float32 offsets from output to source."""
    map_x, map_y = mesh_maps(src, dst, triangles, shape, origin)
    xs, ys = _grid(shape[0], shape[1], float(origin[0]), float(origin[1]))
    return np.stack([map_x - xs, map_y - ys], -1)


def warp_crop(
    image: np.ndarray, src: np.ndarray, dst: np.ndarray, triangles: np.ndarray
) -> np.ndarray:
    """Warp an (S, S[, C]) crop from shape ``src`` to shape ``dst`` (same dtype and shape).

    Identical shapes return the crop unchanged (every affine map is the identity).
    """
    img = np.asarray(image)
    map_x, map_y = mesh_maps(src, dst, triangles, img.shape[:2])
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
