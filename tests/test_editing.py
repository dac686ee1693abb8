"""The editing API on the bundled portrait with the bundled models (no dataset needed)."""

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import pixelfes
from pixelfes.editing import available_expressions, edit_image, load_model, synthesize
from pixelfes.exceptions import NoFaceError
from pixelfes.imageio import read_image
from pixelfes.models import PixelRidge

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return read_image(PORTRAIT)


def test_every_basic_expression_is_bundled():
    assert set(available_expressions()) >= {
        "happy",
        "sad",
        "surprise",
        "anger",
        "disgust",
        "fear",
        "neutral",
    }


def test_edit_changes_the_face_only(portrait):
    result = edit_image(portrait, to="happy")
    assert result.image.shape == portrait.shape and result.image.dtype == np.uint8
    ((x0, y0, x1, y1),) = result.faces
    changed = np.any(result.image != portrait, axis=-1)
    assert changed[y0:y1, x0:x1].mean() > 0.2
    outside = np.ones_like(changed)
    pad = (x1 - x0) // 2
    outside[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad] = False
    assert not changed[outside].any()
    assert np.array_equal(pixelfes.edit(portrait, to="happy"), result.image)


def test_zero_intensity_is_the_input_bit_for_bit(portrait):
    assert np.array_equal(pixelfes.edit(portrait, to="sad", intensity=0.0), portrait)


def test_intensity_scales_the_change(portrait):
    half = pixelfes.edit(portrait, to="surprise", intensity=0.5).astype(float)
    full = pixelfes.edit(portrait, to="surprise", intensity=1.0).astype(float)
    base = portrait.astype(float)
    assert 0.3 < np.abs(half - base).sum() / np.abs(full - base).sum() < 0.7


def test_input_is_not_modified(portrait):
    before = portrait.copy()
    pixelfes.edit(portrait, to="anger")
    assert np.array_equal(before, portrait)


def test_bad_arguments_name_the_problem(portrait):
    with pytest.raises(ValueError, match="intensity"):
        edit_image(portrait, to="happy", intensity=2.0)
    with pytest.raises(ValueError, match="unknown model 'bored'"):
        edit_image(portrait, to="bored")
    with pytest.raises(ValueError, match="shape"):
        edit_image(portrait[..., :2], to="happy")
    with pytest.raises(NoFaceError, match=r"flat\.png"):
        edit_image(np.full((200, 300, 3), 90, np.uint8), to="happy", source="flat.png")


def test_load_model_by_expression_name_and_path(tmp_path):
    assert load_model("happy").metadata_["target_expression"] == "happy"
    assert load_model("neutral").metadata_["source_expression"] == "happy"
    assert load_model("neutral-to-fear").metadata_["target_expression"] == "fear"
    rng = np.random.default_rng(0)
    X = rng.random((4, 128, 128, 3))
    PixelRidge().fit(X, X).save(tmp_path / "mine.npz")
    assert load_model(tmp_path / "mine.npz").image_shape_ == (128, 128, 3)


def test_synthesize_with_an_identity_model_returns_the_crops():
    rng = np.random.default_rng(1)
    crops = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    identity = PixelRidge(alpha=1e-9).fit(crops, crops)
    out = synthesize(identity, crops, luma=False)
    np.testing.assert_allclose(out, crops / 255.0, atol=1e-4)
    out = synthesize(identity, crops)
    np.testing.assert_allclose(out, crops / 255.0, atol=1e-4)


def test_grayscale_model_edits_colour_faces(portrait):
    rng = np.random.default_rng(2)
    X = rng.random((6, 128, 128))
    gray = PixelRidge().fit(X, np.clip(X + 0.1, 0, 1))
    out = edit_image(portrait, model=gray)
    assert out.image.shape == portrait.shape
    assert not np.array_equal(out.image, portrait)
