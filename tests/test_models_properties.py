"""Property tests: recovering affine maps, constant pixels, output shapes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pixelfes.models import MaskedRidge, PixelKernelRidge, PixelRidge

unit = st.floats(0.0, 1.0, allow_nan=False, width=32)
shapes = st.tuples(
    st.integers(2, 12), st.integers(1, 5), st.integers(1, 5), st.sampled_from([1, 3])
)


@settings(max_examples=30, deadline=None)
@given(
    data=st.data(),
    shape=shapes,
    a=st.floats(-0.45, 0.45),
    b=st.floats(0.46, 0.54),
)
def test_pixel_ridge_recovers_affine_map(data, shape, a, b):
    X = data.draw(arrays(np.float64, shape, elements=unit))
    X[0] = 0.0  # guarantee spread so that (a, b) is identifiable at every pixel
    X[1] = 1.0
    T = a * X + b
    model = PixelRidge(alpha=1e-9, channels="independent").fit(X, T)
    np.testing.assert_allclose(model.coef_, a, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, b, atol=1e-4)
    np.testing.assert_allclose(model.predict(X), T, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, value=unit, target=unit)
def test_constant_pixels_do_not_crash(shape, value, target):
    X = np.full(shape, value)
    T = np.full(shape, target)
    for model in (PixelRidge(), PixelKernelRidge(), MaskedRidge(), PixelRidge(alpha=1e-9)):
        Y = model.fit(X, T).predict(X)
        assert np.isfinite(Y).all()
    # tiny penalty and constant input: the fit still reproduces the constant target
    np.testing.assert_allclose(PixelRidge(alpha=1e-9).fit(X, T).predict(X), T, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), shape=shapes, n_query=st.integers(1, 4))
def test_output_shape_and_dtype(data, shape, n_query):
    X = data.draw(arrays(np.uint8, shape))
    Xq = data.draw(arrays(np.uint8, (n_query, *shape[1:])))
    for model in (PixelRidge(), PixelKernelRidge(sigma=0.5), MaskedRidge()):
        Y = model.fit(X, X).predict(Xq[..., 0] if shape[3] == 1 else Xq)
        assert Y.dtype == np.float32
        assert Y.shape == (Xq[..., 0] if shape[3] == 1 else Xq).shape
        assert np.isfinite(Y).all()
