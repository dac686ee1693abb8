"""The one-definition modules: colour conversion, formats, expressions, errors, model registry."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pixelfes import colour, exceptions, expressions, formats


def test_to_unit_divides_uint8_by_255_exactly_and_copies_floats() -> None:
    levels = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(colour.to_unit(levels, np.float64), np.arange(256) / 255.0)
    assert colour.to_unit(levels).dtype == np.float32
    floats = np.linspace(0, 1, 5, dtype=np.float32)
    out = colour.to_unit(floats)
    out[0] = 9.0
    assert floats[0] == 0.0  # a new array, never a view of the caller's


def test_luma_is_opencvs_rgb_to_gray() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    expected = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(int)
    assert np.abs(colour.luma(rgb).astype(int) - expected).max() <= 1
    assert colour.to_gray(rgb).shape == (16, 16, 1)
    floats = rgb.astype(np.float64) / 255
    np.testing.assert_allclose(colour.luma(floats), floats @ np.array(colour.BT601_LUMA))
    with pytest.raises(ValueError, match="RGB"):
        colour.luma(rgb[..., :2])


def test_train_gray_uses_bt601_luma_not_the_channel_mean() -> None:
    red = np.zeros((1, 2, 2, 3), np.uint8)
    red[..., 0] = 200
    assert int(colour.to_gray(red)[0, 0, 0, 0]) == round(0.299 * 200)  # the mean would be 67


def test_formats_are_case_insensitive() -> None:
    assert formats.is_image("a/B.JPG") and formats.is_image("x.webp")
    assert formats.is_video("clip.MP4") and not formats.is_video("x.png")
    assert not set(formats.IMAGE_EXTENSIONS) & set(formats.VIDEO_EXTENSIONS)


def test_expression_vocabulary_is_one_definition() -> None:
    from pixelfes.data import BASIC_EXPRESSIONS
    from pixelfes.evaluation.classifier import EXPRESSIONS

    assert BASIC_EXPRESSIONS is expressions.BASIC_EXPRESSIONS
    assert EXPRESSIONS == expressions.BASIC_EXPRESSIONS
    assert expressions.BASIC_EXPRESSIONS == ("neutral", *expressions.EMOTIONS)


def test_error_hierarchy_keeps_old_names_and_value_error() -> None:
    assert exceptions.ImageError is exceptions.InvalidImageError
    assert exceptions.ModelFileError is exceptions.InvalidModelError
    for name in exceptions.__all__:
        error = getattr(exceptions, name)
        assert issubclass(error, exceptions.PixelfesError)
        if error is not exceptions.PixelfesError:
            assert issubclass(error, ValueError)
    assert issubclass(exceptions.NotFittedError, AttributeError)


def test_models_report_bad_input_as_invalid_input_error() -> None:
    from pixelfes.models import PixelRidge

    with pytest.raises(exceptions.InvalidInputError, match="shape"):
        PixelRidge().fit(np.zeros((2, 4)), np.zeros((2, 4)))


def test_a_registered_model_family_saves_and_loads(tmp_path) -> None:
    from pixelfes.models import MODEL_CLASSES, MODEL_FAMILIES, PixelRidge, load
    from pixelfes.models._registry import register

    assert MODEL_FAMILIES["pixel-rr"] is PixelRidge
    assert set(MODEL_CLASSES) >= {"PixelRidge", "PixelLookupTable"}

    @register()
    class ScaledRidge(PixelRidge):
        pass

    try:
        X = np.random.default_rng(0).integers(0, 256, (3, 4, 4), dtype=np.uint8)
        ScaledRidge().fit(X, X).save(tmp_path / "m.npz")
        assert type(load(tmp_path / "m.npz")) is ScaledRidge
        with pytest.raises(exceptions.InvalidInputError, match="twice"):
            register()(type("ScaledRidge", (PixelRidge,), {}))
    finally:
        MODEL_CLASSES.pop("ScaledRidge")
