"""Input validation, fitted-state checks, shapes, dtypes and Table I parameter counts."""

from __future__ import annotations

import numpy as np
import pytest

from pixelfes.exceptions import NotFittedError
from pixelfes.models import GlobalRidge, MaskedRidge, PixelKernelRidge, PixelRidge

FACTORIES = [PixelRidge, PixelKernelRidge, MaskedRidge, GlobalRidge]
RNG = np.random.default_rng(0)
X = RNG.random((5, 4, 3))
T = RNG.random((5, 4, 3))


@pytest.fixture(params=FACTORIES, ids=lambda f: f.__name__)
def factory(request):
    return request.param


def test_predict_before_fit(factory):
    with pytest.raises(NotFittedError, match="not fitted"):
        factory().predict(X)
    with pytest.raises(NotFittedError):
        _ = factory().n_parameters


@pytest.mark.parametrize(
    ("X_bad", "T_bad", "match"),
    [
        (X, T[:4], "same shape"),
        (X, T[..., None].repeat(3, -1), "same shape"),
        (X[0], T[0], r"\(N, H, W\)"),
        (X[:0], T[:0], "empty"),
        (np.where(X > 0.5, np.nan, X), T, "NaN"),
        (X, np.where(T > 0.5, np.inf, T), "NaN or infinite"),
        (X.astype(np.int16), T, "dtype int16"),
        (X > 0.5, T, "dtype bool"),
        (X.astype(object), T, "dtype object"),
        (X.astype(complex), T, "dtype complex"),
    ],
)
def test_bad_training_data(factory, X_bad, T_bad, match):
    with pytest.raises(ValueError, match=match):
        factory().fit(X_bad, T_bad)


@pytest.mark.parametrize("params", [{"alpha": 0}, {"alpha": -1}, {"alpha": float("nan")}])
def test_bad_alpha(factory, params):
    with pytest.raises(ValueError, match="alpha"):
        factory(**params).fit(X, T)


def test_bad_other_hyper_parameters():
    with pytest.raises(ValueError, match="channels"):
        PixelRidge(channels="mixed").fit(X, T)
    with pytest.raises(ValueError, match="sigma"):
        PixelKernelRidge(sigma=0).fit(X, T)
    with pytest.raises(ValueError, match="radius"):
        MaskedRidge(radius=1.5).fit(X, T)


def test_predict_on_other_shape(factory):
    model = factory().fit(X, T)
    with pytest.raises(ValueError, match="5x3 pixels; the model was fitted on 4x3"):
        model.predict(RNG.random((2, 5, 3)))
    with pytest.raises(ValueError, match="3 channel"):
        model.predict(RNG.random((2, 4, 3, 3)))


def test_out_of_range_floats_warn(factory):
    with pytest.warns(UserWarning, match=r"outside \[0, 1\]"):
        factory().fit(X * 255, T)


def test_inputs_never_modified(factory):
    Xc, Tc = X.copy(), T.copy()
    Xu = (X * 255).astype(np.uint8)
    Xuc = Xu.copy()
    model = factory().fit(X, T)
    model.predict(X)
    model.predict(Xu)
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(T, Tc)
    np.testing.assert_array_equal(Xu, Xuc)


@pytest.mark.parametrize("shape", [(3, 4, 3), (3, 4, 3, 1), (3, 4, 3, 3)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64, np.float16])
def test_shapes_and_dtypes(factory, shape, dtype):
    data = (RNG.random(shape) * (255 if dtype == np.uint8 else 1)).astype(dtype)
    model = factory().fit(data, data)
    Y = model.predict(data)
    assert Y.shape == shape
    assert Y.dtype == (np.float64 if dtype == np.float64 else np.float32)  # the caller's precision


def test_uint8_means_divided_by_255(factory):
    Xu = (X * 255).round().astype(np.uint8)
    Tu = (T * 255).round().astype(np.uint8)
    a = factory().fit(Xu, Tu).predict(Xu)
    b = factory().fit(Xu / 255.0, Tu / 255.0).predict(Xu / 255.0)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_single_pair_is_allowed(factory):
    model = factory().fit(X[:1], T[:1])
    assert np.isfinite(model.predict(X)).all()


def test_table_one_counts_pixel_ridge_and_masked_ridge():
    Xs = np.zeros((2, 128, 128), dtype=np.uint8)
    assert PixelRidge().fit(Xs, Xs).n_parameters == 32_768
    assert MaskedRidge(radius=1).fit(Xs, Xs).n_parameters == 162_308
    colour = np.zeros((2, 128, 128, 3), dtype=np.uint8)
    assert PixelRidge().fit(colour, colour).n_parameters == 32_768
    assert PixelRidge(channels="independent").fit(colour, colour).n_parameters == 98_304


def test_kernel_ridge_counts():
    Xs = RNG.random((7, 6, 5))
    model = PixelKernelRidge().fit(Xs, Xs)
    assert model.n_parameters == 7 * 6 * 5  # N x H x W dual coefficients
    assert model.n_training_values == 7 * 6 * 5
    colour = RNG.random((7, 6, 5, 3))
    assert PixelKernelRidge(channels="independent").fit(colour, colour).n_parameters == 7 * 90
    assert PixelKernelRidge().fit(colour, colour).n_parameters == 7 * 3 * 30


def test_kernel_ridge_table_one_count_formula():
    """Table I counts N H W dual coefficients; checked at N = 400 on a small image.

    The dense solver (float inputs) has them all; a full 128x128 dense fit takes about
    35 s (benchmarks/bench_models.py), so the test checks that the count scales as
    N x H x W. (A grouped fit of 8-bit inputs keeps one per level seen, fewer.)
    """
    Xs = RNG.random((400, 2, 3))
    model = PixelKernelRidge().fit(Xs, Xs)
    assert model.n_parameters == 400 * 2 * 3
    assert model.n_parameters * (128 * 128) // (2 * 3) == 6_553_600


def test_mixed_uint8_and_float_pairs(factory):
    Xu = (X * 255).round().astype(np.uint8)
    mixed = factory().fit(Xu, T).predict(Xu)
    floats = factory().fit(Xu / 255.0, T).predict(Xu / 255.0)
    np.testing.assert_allclose(mixed, floats, atol=1e-5)


def test_get_params_and_repr():
    model = PixelKernelRidge(alpha=0.1, sigma=3.0, channels="independent")
    assert model.get_params() == {"alpha": 0.1, "sigma": 3.0, "channels": "independent"}
    assert repr(model) == "PixelKernelRidge(alpha=0.1, sigma=3.0, channels='independent')"
    assert not hasattr(model, "image_shape_")  # the constructor only stores parameters
