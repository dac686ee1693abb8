"""The mouth frame (pixelfes.faces.mouth) and the geometry model's mouth step."""

from __future__ import annotations

import numpy as np
import pytest

from pixelfes.faces.landmarks import INNER_LIPS, N_DENSE
from pixelfes.faces.mouth import (
    MOUTH_FRAME,
    canonical_polygon,
    from_mouth_frame,
    polygon_area,
    polygon_mask,
    to_mouth_frame,
)

SIZE = 128


def _lips(centre=(64.0, 90.0), half_width=20.0, opening=8.0, tilt=0.0) -> np.ndarray:
    """A 20-point inner-lip polygon: 11 upper points left to right, 9 lower back."""
    t_up = np.linspace(-1.0, 1.0, 11)
    t_low = np.linspace(1.0, -1.0, 11)[1:-1]
    upper = np.stack([t_up * half_width, -opening / 2 * (1 - t_up**2)], axis=1)
    lower = np.stack([t_low * half_width, opening / 2 * (1 - t_low**2)], axis=1)
    points = np.vstack([upper, lower])
    c, s = np.cos(tilt), np.sin(tilt)
    return points @ np.array([[c, s], [-s, c]]) + np.array(centre)


def test_polygon_area_and_mask_agree():
    square = np.array([[10.0, 10.0], [30.0, 10.0], [30.0, 30.0], [10.0, 30.0]])
    assert polygon_area(square) == pytest.approx(400.0)
    assert polygon_mask(square, 64, feather=0).sum() == pytest.approx(400.0, rel=0.12)
    lips = _lips(half_width=40.0, opening=30.0)
    assert polygon_area(lips) == pytest.approx(polygon_mask(lips, SIZE, feather=0).sum(), rel=0.1)


def test_canonical_polygon_is_pose_and_size_free():
    one = canonical_polygon(_lips()[None])
    # The same mouth rotated, moved and scaled normalises to the same polygon.
    other = canonical_polygon(_lips((50.0, 80.0), 30.0, 12.0, tilt=0.2)[None])
    np.testing.assert_allclose(one, other, atol=1e-6)
    h, w = MOUTH_FRAME
    np.testing.assert_allclose(one[0], [w / 16 - 0.5, (h - 1) / 2], atol=1e-9)
    np.testing.assert_allclose(one[10], [w - w / 16 - 0.5, (h - 1) / 2], atol=1e-9)
    assert one[:, 1].max() - one[:, 1].min() == pytest.approx(h - 2)
    with pytest.raises(ValueError, match="polygons"):
        canonical_polygon(np.zeros((0, 20, 2)))


def test_mouth_frame_round_trip_keeps_the_inside():
    lips = _lips(opening=14.0)
    canonical = canonical_polygon(lips[None])
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    image = 0.3 + 0.004 * xs + 0.002 * ys  # smooth, so resampling is nearly exact
    frame = to_mouth_frame(image, lips, canonical)
    assert frame.shape == MOUTH_FRAME
    back = from_mouth_frame(frame, canonical, lips, SIZE)
    inside = polygon_mask(lips, SIZE, feather=0) > 0
    np.testing.assert_allclose(back[inside], image[inside], atol=0.01)


def test_mouth_model_learns_the_widest_openings_interior():
    from pixelfes.faces.mouth import face_mean
    from pixelfes.geometric import fit_mouth
    from pixelfes.models import PixelRidge

    # Faces of different brightness; a bright band (teeth) under the upper lip, dark below.
    shapes, lumas = [], []
    for k, opening in enumerate([2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0]):
        shape = 64.0 + np.random.default_rng(k).normal(0, 30, (N_DENSE, 2))
        lips = _lips(opening=opening)
        shape[list(INNER_LIPS)] = lips
        image = np.full((SIZE, SIZE), 0.3 + 0.05 * k, np.float32)
        image[polygon_mask(lips, SIZE, feather=0) > 0] = 0.1
        image[int(90 - opening / 2) + 1 : int(90 - opening / 2) + 4, 50:79] = 0.9
        shapes.append(shape)
        lumas.append(image)
    shapes, lumas = np.array(shapes), np.array(lumas)
    mouth, canonical = fit_mouth(lumas, shapes)
    assert mouth.coef_.shape == (*MOUTH_FRAME, 1)
    # The most opened quarter (two of eight), sampled onto the frame, regressed (Eq. 3-6)
    # on each face's mean luma.
    widest = [6, 7]
    lips = shapes[:, list(INNER_LIPS)]
    np.testing.assert_allclose(canonical, canonical_polygon(lips[widest]))
    frames = np.stack([to_mouth_frame(lumas[i], lips[i], canonical) for i in widest])
    faces = np.array([face_mean(lumas[i], shapes[i]) for i in widest])
    reference = PixelRidge(alpha=0.4).fit(
        np.broadcast_to(faces[:, None, None, None], (2, *MOUTH_FRAME, 1)), frames[..., None]
    )
    np.testing.assert_allclose(mouth.coef_, reference.coef_, atol=1e-6)
    np.testing.assert_allclose(mouth.intercept_, reference.intercept_, atol=1e-6)
    # Teeth under the upper lip, the dark below them.
    interior = mouth.coef_[..., 0] * faces.mean() + mouth.intercept_[..., 0]
    h, w = MOUTH_FRAME
    middle = slice(w // 3, 2 * w // 3)
    assert interior[3:6, middle].mean() > interior[h // 2 + 3 :, middle].mean() + 0.3
