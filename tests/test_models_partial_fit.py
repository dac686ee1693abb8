"""partial_fit and merge: additive statistics give the one-shot fit (Pixel-RR, MR)."""

from __future__ import annotations

import numpy as np
import pytest

from pixelfes.models import FlowPixelRidge, MaskedRidge, PixelRidge, load

FAMILIES = [
    PixelRidge(alpha=0.4),
    PixelRidge(alpha=0.04, channels="independent"),
    MaskedRidge(alpha=0.4, radius=1),
    MaskedRidge(alpha=0.1, radius=2),
    FlowPixelRidge(alpha=0.4, radius=3),
]
IDS = ["rr-shared", "rr-independent", "mr-r1", "mr-r2", "flow-r3"]


@pytest.fixture(scope="module")
def pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(16)
    X = rng.integers(0, 256, (157, 9, 11, 3), dtype=np.uint8)
    # A target that depends on the input, so the fit is not trivial.
    T = np.clip(0.6 * X + rng.normal(40, 20, X.shape), 0, 255).astype(np.uint8)
    return X, T


def fresh(model):
    return type(model)(**model.get_params())


def assert_same_fit(a, b, tol: float = 1e-6, dtype: type = np.float32) -> None:
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=0, atol=tol)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=0, atol=tol)
    assert a.coef_.dtype == b.coef_.dtype == a.intercept_.dtype == dtype
    assert a.image_shape_ == b.image_shape_


@pytest.mark.parametrize("model", FAMILIES, ids=IDS)
def test_chunked_partial_fit_equals_one_shot(model, pairs) -> None:
    X, T = pairs
    one_shot = fresh(model).fit(X, T)
    streamed = fresh(model)
    for start in range(0, len(X), 40):
        assert streamed.partial_fit(X[start : start + 40], T[start : start + 40]) is streamed
    assert_same_fit(streamed, one_shot)
    assert streamed.n_pairs_seen_ == len(X)


@pytest.mark.parametrize("model", FAMILIES, ids=IDS)
def test_merge_of_two_halves_equals_one_shot(model, pairs) -> None:
    X, T = pairs
    first, second = fresh(model).fit(X[:60], T[:60]), fresh(model).fit(X[60:], T[60:])
    before = first.coef_.copy()
    merged = first.merge(second)
    assert merged is not first and merged is not second
    assert_same_fit(merged, fresh(model).fit(X, T))
    np.testing.assert_array_equal(first.coef_, before)  # operands unchanged
    assert first.n_pairs_seen_ == 60 and merged.n_pairs_seen_ == len(X)


@pytest.mark.parametrize("model", FAMILIES, ids=IDS)
def test_float_chunks_equal_uint8_fit_and_keep_dtype(model, pairs) -> None:
    X, T = pairs
    Xf, Tf = X.astype(np.float32) / 255, T.astype(np.float32) / 255
    streamed = fresh(model).partial_fit(X[:50], T[:50]).partial_fit(Xf[50:], Tf[50:])
    assert_same_fit(streamed, fresh(model).fit(X, T), tol=1e-5)
    assert streamed.predict(Xf[:2]).dtype == np.float32
    assert streamed.predict(X[:2]).shape == X[:2].shape


@pytest.mark.parametrize("model", FAMILIES, ids=IDS)
def test_float64_pairs_give_float64_fits_as_fit_does(model, pairs) -> None:
    X, T = pairs
    X64, T64 = X / 255.0, T / 255.0
    streamed = fresh(model).partial_fit(X64[:70], T64[:70]).partial_fit(X64[70:], T64[70:])
    assert_same_fit(streamed, fresh(model).fit(X64, T64), tol=1e-12, dtype=np.float64)
    assert streamed.predict(X64[:2]).dtype == np.float64
    # One float64 chunk makes the whole fit float64, in partial_fit and in merge alike.
    mixed = fresh(model).partial_fit(X[:70], T[:70]).partial_fit(X64[70:], T64[70:])
    assert mixed.coef_.dtype == np.float64
    merged = fresh(model).fit(X[:70], T[:70]).merge(fresh(model).fit(X64[70:], T64[70:]))
    assert_same_fit(merged, mixed, tol=1e-12, dtype=np.float64)
    assert_same_fit(merged, fresh(model).fit(X64, T64), tol=1e-9, dtype=np.float64)


def test_fit_matches_a_dense_ridge_reference(pairs) -> None:
    """The streamed Pixel-RR equals a per-pixel ridge solved with numpy.linalg."""
    X, T = pairs
    model = PixelRidge(alpha=0.4, channels="independent")
    for start in range(0, len(X), 25):
        model.partial_fit(X[start : start + 25], T[start : start + 25])
    x, t = X[:, 4, 7, 1] / 255.0, T[:, 4, 7, 1] / 255.0
    A = np.stack([x, np.ones_like(x)], axis=1)
    w, b = np.linalg.solve(A.T @ A + 0.4 * np.eye(2), A.T @ t)
    assert model.coef_[4, 7, 1] == pytest.approx(w, abs=1e-6)
    assert model.intercept_[4, 7, 1] == pytest.approx(b, abs=1e-6)


def test_fit_restarts_but_partial_fit_continues(pairs) -> None:
    X, T = pairs
    model = PixelRidge().fit(X[:30], T[:30])
    model.fit(X[30:], T[30:])
    assert_same_fit(model, PixelRidge().fit(X[30:], T[30:]))
    assert model.n_pairs_seen_ == len(X) - 30


def test_partial_fit_refuses_another_image_shape(pairs) -> None:
    X, T = pairs
    model = MaskedRidge().partial_fit(X[:5], T[:5])
    with pytest.raises(ValueError, match="shape"):
        model.partial_fit(X[:5, :8], T[:5, :8])


def test_merge_refuses_mismatched_models(pairs) -> None:
    X, T = pairs
    model = PixelRidge(alpha=0.4).fit(X[:5], T[:5])
    with pytest.raises(ValueError, match="hyper-parameters"):
        model.merge(PixelRidge(alpha=1.0).fit(X[:5], T[:5]))
    with pytest.raises(TypeError, match="MaskedRidge"):
        model.merge(MaskedRidge(alpha=0.4).fit(X[:5], T[:5]))
    with pytest.raises(ValueError, match="shape"):
        model.merge(PixelRidge(alpha=0.4).fit(X[:5, :8], T[:5, :8]))


def test_loaded_model_predicts_but_cannot_be_updated(pairs, tmp_path) -> None:
    X, T = pairs
    path = tmp_path / "rr.npz"
    PixelRidge().fit(X, T).save(path)
    loaded = load(path)
    assert loaded.predict(X[:1]).shape == X[:1].shape
    with pytest.raises(ValueError, match="loaded from a file"):
        loaded.partial_fit(X[:5], T[:5])
    with pytest.raises(ValueError, match="loaded from a file"):
        PixelRidge().fit(X, T).merge(loaded)
