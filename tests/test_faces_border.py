"""The skin border mask and the seam measure, on a generated 3/4-like view (no dataset needed)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest

from pixelfes.editing import edit_image
from pixelfes.evaluation.hard_cases import turned_face
from pixelfes.faces import align
from pixelfes.faces.border import border_mask, seam_energy, seam_ring
from pixelfes.imageio import read_image

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return read_image(PORTRAIT)


@pytest.fixture(scope="module")
def turned(portrait) -> np.ndarray:
    """The portrait squeezed right of the nose, like a head turned away (a 3/4-like view)."""
    return turned_face(portrait, align(portrait)[0])


def test_seam_is_zero_without_change_and_grows_with_hard_edges(portrait):
    face = align(portrait)[0]
    assert seam_energy(portrait, portrait, face) == 0.0
    ring = seam_ring(portrait.shape, face)
    assert 0.005 < ring.mean() < 0.5
    _, xs = np.nonzero(ring)
    x0, x1 = xs.min(), xs.max()
    step = np.zeros(portrait.shape[:2], np.float32)
    step[:, (x0 + x1) // 2 :] = 30.0  # a hard vertical edge through the ring
    soft = cv2.GaussianBlur(step, (0, 0), 12)
    hard_edit = np.clip(portrait + step[..., None], 0, 255).astype(np.uint8)
    soft_edit = np.clip(portrait + soft[..., None], 0, 255).astype(np.uint8)
    hard, gentle = seam_energy(portrait, hard_edit, face), seam_energy(portrait, soft_edit, face)
    assert hard > 3 * gentle > 0
    with pytest.raises(ValueError, match="differ in shape"):
        seam_energy(portrait, portrait[:10], face)


def test_border_mask_keeps_the_inner_face_and_drops_the_backdrop(portrait):
    crop = align(portrait)[0].crop
    mask = border_mask(crop)
    assert mask.shape == crop.shape[:2] and mask.dtype == np.float32
    assert mask[48:92, 46:82].min() == 1.0  # eyes to mouth
    assert mask[:15, :15].max() < 0.5  # hair at the top left
    assert np.abs(np.diff(mask, axis=0)).max() < 0.4  # feathered
    assert 0.0 <= mask.min() and mask.max() <= 1.0 + 1e-6
    grey = border_mask(crop.mean(axis=-1).astype(np.uint8))
    assert grey[48:92, 46:82].min() == 1.0


def test_clean_border_lowers_the_seam_on_a_turned_face(turned):
    face = align(turned)[0]
    # The clean border is a per-pixel model's step: name the plain model.
    plain = edit_image(turned, model="neutral-to-happy", clean_border=False).image
    clean = edit_image(turned, model="neutral-to-happy").image
    before, after = seam_energy(turned, plain, face), seam_energy(turned, clean, face)
    assert after < 0.9 * before
    inner = ~seam_ring(turned.shape, face)
    x0, y0, x1, y1 = edit_image(turned, model="neutral-to-happy").faces[0]
    inner[:y0], inner[y1:], inner[:, :x0], inner[:, x1:] = False, False, False, False
    kept = np.abs(clean.astype(np.float32) - turned)[inner].sum()
    assert kept > 0.9 * np.abs(plain.astype(np.float32) - turned)[inner].sum()
