"""paste_change and paste_box on a synthetic photo with known landmarks (no detector)."""

import numpy as np
import pytest

from pixelfes.faces import align_face, paste_box, paste_change, template_points
from pixelfes.faces.geometry import apply_affine


@pytest.fixture()
def photo_and_face():
    rng = np.random.default_rng(0)
    photo = rng.integers(30, 220, (300, 400, 3), dtype=np.uint8)
    # Landmarks: the 128 template, rotated by 10 degrees, scaled 1.5x, placed at (140, 60).
    angle = np.deg2rad(10)
    rotation = 1.5 * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = template_points(128) @ rotation.T + np.array([140.0, 60.0])
    return photo, align_face(photo, points, size=128)


def test_zero_change_is_bit_identical(photo_and_face):
    photo, face = photo_and_face
    out = paste_change(photo, face, np.zeros((128, 128, 3), np.float32))
    assert np.array_equal(out, photo) and out is not photo


def test_change_is_added_inside_the_mask_only(photo_and_face):
    photo, face = photo_and_face
    before = photo.copy()
    out = paste_change(photo, face, np.full((128, 128), 0.1, np.float32))
    assert np.array_equal(photo, before), "input modified"
    centre = np.round(apply_affine(face.inverse, np.array([[64.0, 64.0]]))[0]).astype(int)
    x, y = centre
    diff = out.astype(int) - photo.astype(int)
    assert np.all(np.abs(diff[y, x] - 25.5) <= 1)
    x0, y0, x1, y1 = paste_box(photo, face)
    changed = np.argwhere(np.any(diff != 0, axis=-1))
    assert changed[:, 0].min() >= y0 and changed[:, 0].max() < y1
    assert changed[:, 1].min() >= x0 and changed[:, 1].max() < x1
    assert changed.shape[0] > 10_000  # the feathered ellipse covers ~20,000 pixels here


def test_paste_box_is_none_off_image_and_shapes_are_checked(photo_and_face):
    photo, face = photo_and_face
    off = align_face(photo, template_points(128) + 1000.0, size=128)
    assert paste_box(photo, off) is None
    with pytest.raises(ValueError, match="change has shape"):
        paste_change(photo, face, np.zeros((64, 64, 3), np.float32))
