"""The bundled models' recipe: consistency gain and its exact folding into Pixel-RR."""

from __future__ import annotations

import numpy as np
import pytest

from pixelfes.bundled import consistency_gain, fit_bundled, recipe, to_luma
from pixelfes.models import PixelRidge


def pairs(n: int = 40, size: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.integers(60, 180, size=(n, size, size, 1)).astype(np.uint8)
    change = np.zeros((n, size, size, 1))
    change[:, :, : size // 2] = 30  # left half: every pair changes alike
    change[:, :, size // 2 :] = rng.choice([-30, 30], size=(n, size, size - size // 2, 1))
    T = np.clip(X + change, 0, 255).astype(np.uint8)
    return X, T


def test_gain_is_one_where_pairs_agree_and_near_zero_where_they_do_not():
    X, T = pairs()
    gain = consistency_gain(X, T, smooth=0)
    assert gain.shape == (16, 16)
    assert np.all(gain[:, :8] > 0.99)
    assert np.all(gain[:, 8:] < 0.3)


def test_strength_zero_is_plain_pixel_ridge_on_the_luma():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, size=(12, 8, 8, 3)).astype(np.uint8)
    T = rng.integers(0, 256, size=(12, 8, 8, 3)).astype(np.uint8)
    plain = PixelRidge(alpha=0.4, channels="shared").fit(to_luma(X), to_luma(T))
    model = fit_bundled(X, T, alpha=0.4, strength=0.0)
    np.testing.assert_allclose(model.coef_, plain.coef_)
    np.testing.assert_allclose(model.intercept_, plain.intercept_)


@pytest.mark.parametrize("strength", [0.5, 1.0])
def test_the_change_is_scaled_by_the_gain(strength):
    X, T = pairs()
    plain = fit_bundled(X, T, alpha=0.4, strength=0.0)
    model = fit_bundled(X, T, alpha=0.4, strength=strength)
    gain = consistency_gain(X, T) ** strength
    x = X[:3].astype(np.float32) / 255
    expected = gain[None, ..., None] * (plain.predict(X[:3]) - x)
    np.testing.assert_allclose(model.predict(X[:3]) - x, expected, atol=1e-5)


def test_recipes_are_defined_for_every_bundled_expression():
    for expression in ("happy", "neutral", "sad", "surprise", "anger", "disgust", "fear"):
        alpha, strength = recipe(expression)
        assert alpha > 0 and strength >= 0
