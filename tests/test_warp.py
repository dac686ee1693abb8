"""Piecewise-affine mesh warps: identity round trip, known affine maps, folds, bad landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from pixelfes.exceptions import GeometryError
from pixelfes.faces.warp import (
    check_landmarks,
    check_mesh,
    displacement_field,
    triangulate,
    warp_crop,
    with_ring,
)

SIZE = 64


def _shape(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.linspace(8, 55, 6), np.linspace(8, 55, 6)), -1).reshape(-1, 2)
    return grid + rng.uniform(-2, 2, grid.shape)


def _crop(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def test_identity_shape_returns_the_crop_bit_for_bit():
    points = with_ring(_shape(), SIZE)
    triangles = triangulate(points)
    crop = _crop()
    assert np.array_equal(warp_crop(crop, points, points, triangles), crop)


def test_triangulation_covers_the_crop():
    points = with_ring(_shape(), SIZE)
    triangles = triangulate(points)
    field = displacement_field(points, points, triangles, (SIZE, SIZE))
    assert len(triangles) > 2 * len(_shape())
    assert np.abs(field).max() < 1e-3


def test_a_global_translation_moves_every_pixel_inside_the_mesh():
    inner = _shape()
    points = with_ring(inner, SIZE)
    moved = points.copy()
    moved[: len(inner)] += [3.0, -2.0]
    triangles = triangulate(points)
    field = displacement_field(points, moved, triangles, (SIZE, SIZE))
    # Output pixels well inside the moved landmarks sample the source 3 px left, 2 px down.
    np.testing.assert_allclose(field[20:40, 20:40], np.broadcast_to([-3.0, 2.0], (20, 20, 2)),
                               atol=1e-4)  # fmt: skip


def test_forward_then_backward_warp_nearly_recovers_the_crop():
    inner = _shape()
    points = with_ring(inner, SIZE)
    moved = points.copy()
    moved[: len(inner), 1] += 1.5 * np.sin(inner[:, 0] / 9.0)
    triangles = triangulate(points)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    smooth = (127 + 60 * np.sin(xx / 7.0) * np.cos(yy / 5.0)).astype(np.uint8)
    there = warp_crop(smooth, points, moved, triangles)
    back = warp_crop(there, moved, points, triangles)
    assert np.abs(there.astype(float) - smooth).mean() > 2.0
    assert np.abs(back.astype(float) - smooth)[8:56, 8:56].mean() < 2.0


def test_a_flipped_triangle_is_refused():
    inner = _shape()
    points = with_ring(inner, SIZE)
    triangles = triangulate(points)
    folded = points.copy()
    folded[14] += [0.0, 30.0]  # drag one point across its neighbours
    with pytest.raises(GeometryError, match="folded"):
        check_mesh(folded, triangles, points)
    check_mesh(points, triangles, points)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.__setitem__((3, 0), np.nan), "NaN"),
        (lambda p: p.__setitem__((3, 1), 500.0), "outside"),
    ],
)
def test_bad_landmarks_raise_a_clear_error(change, message):
    points = _shape()
    change(points)
    with pytest.raises(GeometryError, match=message):
        check_landmarks(points, SIZE)


def test_landmarks_of_the_wrong_shape_are_refused():
    with pytest.raises(GeometryError, match="shape"):
        check_landmarks(np.zeros((5, 3)), SIZE)


def test_a_collapsed_destination_triangle_samples_nothing_far_away():
    inner = _shape()
    points = with_ring(inner, SIZE)
    triangles = triangulate(points)
    squashed = points.copy()
    # Put a point almost on the line through two of its neighbours: its triangles collapse.
    a, b, c = triangles[len(triangles) // 2]
    squashed[c] = squashed[a] + (squashed[b] - squashed[a]) * 0.5 + 1e-3
    field = displacement_field(points, squashed, triangles, (SIZE, SIZE))
    assert np.isfinite(field).all()
    assert np.abs(field).max() < SIZE / 2
