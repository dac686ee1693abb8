"""Each model against an independent per-pixel reference implementation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge

from pixelfes.models import GlobalRidge, MaskedRidge, PixelKernelRidge, PixelRidge


@pytest.fixture
def pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.random((12, 5, 4, 3))
    T = np.clip(0.7 * X + 0.2 + 0.05 * rng.standard_normal(X.shape), 0, 1)
    return X, T


def solve_eq6(x: np.ndarray, t: np.ndarray, lam: float) -> tuple[float, float]:
    """Eq. 6 for one pixel: x, t are the samples (any shape, flattened)."""
    x, t = x.ravel(), t.ravel()
    A = np.array([[x @ x + lam, x.sum()], [x.sum(), x.size + lam]])
    return tuple(np.linalg.solve(A, [t @ x, t.sum()]))


@pytest.mark.parametrize("channels", ["shared", "independent"])
def test_pixel_ridge_matches_eq6(pairs, channels):
    X, T = pairs
    model = PixelRidge(alpha=0.4, channels=channels).fit(X, T)
    for h in range(5):
        for w in range(4):
            for c in range(3 if channels == "independent" else 1):
                sel = slice(c, c + 1) if channels == "independent" else slice(None)
                weight, bias = solve_eq6(X[:, h, w, sel], T[:, h, w, sel], 0.4)
                np.testing.assert_allclose(model.coef_[h, w, c], weight, rtol=1e-5, atol=1e-6)
                np.testing.assert_allclose(model.intercept_[h, w, c], bias, rtol=1e-5, atol=1e-6)
    expected = X * model.coef_ + model.intercept_
    np.testing.assert_allclose(model.predict(X), expected, atol=1e-5)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 3.0])
def test_pixel_kernel_ridge_matches_sklearn_independent(pairs, sigma):
    X, T = pairs
    model = PixelKernelRidge(alpha=0.4, sigma=sigma, channels="independent").fit(X, T)
    Xq = np.random.default_rng(1).random((4, 5, 4, 3))
    Y = model.predict(Xq)
    for h, w, c in [(0, 0, 0), (2, 3, 1), (4, 1, 2)]:
        ref = KernelRidge(kernel="rbf", gamma=1 / (2 * sigma**2), alpha=0.4)
        ref.fit(X[:, h, w, c, None], T[:, h, w, c])
        np.testing.assert_allclose(Y[:, h, w, c], ref.predict(Xq[:, h, w, c, None]), atol=1e-5)


def test_pixel_kernel_ridge_shared_pools_channels(pairs):
    X, T = pairs
    model = PixelKernelRidge(sigma=0.5).fit(X, T)
    Xq = np.random.default_rng(2).random((3, 5, 4, 3))
    ref = KernelRidge(kernel="rbf", gamma=1 / (2 * 0.25), alpha=0.4)
    ref.fit(X[:, 1, 2].reshape(-1, 1), T[:, 1, 2].ravel())
    expected = ref.predict(Xq[:, 1, 2].reshape(-1, 1)).reshape(3, 3)
    np.testing.assert_allclose(model.predict(Xq)[:, 1, 2], expected, atol=1e-5)


def test_pixel_kernel_ridge_large_n_uses_blocked_solve():
    rng = np.random.default_rng(3)
    X, T = rng.random((150, 2, 2)), rng.random((150, 2, 2))
    model = PixelKernelRidge(sigma=0.2).fit(X, T)
    ref = KernelRidge(kernel="rbf", gamma=1 / (2 * 0.04), alpha=0.4).fit(
        X[:, 1, 0, None], T[:, 1, 0]
    )
    np.testing.assert_allclose(model.dual_coef_[2], ref.dual_coef_, rtol=1e-4, atol=1e-5)


def neighbourhood_design(x: np.ndarray, h: int, w: int, radius: int) -> np.ndarray:
    """Explicitly gathered in-image neighbourhood values plus a ones column."""
    cols = []
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if 0 <= h + dy < x.shape[1] and 0 <= w + dx < x.shape[2]:
                cols.append(x[:, h + dy, w + dx])
    return np.column_stack([*cols, np.ones(x.shape[0])])


@pytest.mark.parametrize("radius", [0, 1, 2])
def test_masked_ridge_matches_explicit_solve(pairs, radius):
    X, T = pairs
    model = MaskedRidge(alpha=0.4, radius=radius).fit(X, T)
    Xq = np.random.default_rng(4).random((3, 5, 4, 3))
    Y = model.predict(Xq)
    for h in range(5):
        for w in range(4):
            for c in range(3):
                A = neighbourhood_design(X[..., c], h, w, radius)
                beta = np.linalg.solve(A.T @ A + 0.4 * np.eye(A.shape[1]), A.T @ T[:, h, w, c])
                Aq = neighbourhood_design(Xq[..., c], h, w, radius)
                np.testing.assert_allclose(Y[:, h, w, c], Aq @ beta, atol=1e-5)


def test_masked_ridge_matches_sklearn_ridge(pairs):
    from sklearn.linear_model import Ridge

    X, T = pairs
    model = MaskedRidge().fit(X, T)
    A = neighbourhood_design(X[..., 1], 0, 3, 1)
    ref = Ridge(alpha=0.4, fit_intercept=False).fit(A, T[:, 0, 3, 1])
    inside = model.coef_[0, 3, 1][model.coef_[0, 3, 1] != 0]
    np.testing.assert_allclose(inside, ref.coef_[:-1], atol=1e-6)
    np.testing.assert_allclose(model.intercept_[0, 3, 1], ref.coef_[-1], atol=1e-6)


def test_global_ridge_matches_primal_eq2():
    rng = np.random.default_rng(5)
    X, T = rng.random((6, 3, 4)), rng.random((6, 3, 4))
    model = GlobalRidge(alpha=0.4).fit(X, T)
    Xm, Tm = X.reshape(6, -1), T.reshape(6, -1)
    W_t = np.linalg.solve(Xm.T @ Xm + 0.4 * np.eye(12), Xm.T @ Tm)  # Eq. 2
    Xq = rng.random((2, 3, 4))
    np.testing.assert_allclose(
        model.predict(Xq), (Xq.reshape(2, -1) @ W_t).reshape(2, 3, 4), atol=1e-5
    )


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("factory", [PixelRidge, lambda: PixelKernelRidge(sigma=0.3)])
def test_lookup_table_reproduces_predictions(pairs, factory, dtype):
    X, T = pairs
    model = factory().fit(X, T)
    lut = model.to_lookup_table(dtype=dtype)
    Xu = np.random.default_rng(6).integers(0, 256, (7, 5, 4, 3), dtype=np.uint8)
    assert np.abs(lut.predict(Xu) - model.predict(Xu)).max() < 0.5 / 255
    assert lut.predict(Xu).dtype == np.float32


def test_lookup_table_independent_channels(pairs):
    X, T = pairs
    model = PixelKernelRidge(channels="independent").fit(X, T)
    lut = model.to_lookup_table()
    assert lut.table_.shape == (5, 4, 3, 256)
    Xu = (X * 255).astype(np.uint8)
    assert np.abs(lut.predict(Xu) - model.predict(Xu)).max() < 0.5 / 255
    # float inputs are rounded to the nearest level
    np.testing.assert_array_equal(lut.predict(Xu / np.float32(255)), lut.predict(Xu))
    np.testing.assert_array_equal(lut.predict(X), lut.predict(np.rint(X * 255).astype(np.uint8)))


@pytest.mark.parametrize("little_endian", [True, False])
@pytest.mark.parametrize(
    ("shape", "table_channels"), [((37, 29, 1), 1), ((23, 17, 3), 1), ((23, 17, 3), 3)]
)
def test_lookup_table_gather_is_exact(monkeypatch, shape, table_channels, little_endian):
    """The tiled gather equals table_[h, w, c', x[n, h, w, c]] bit for bit, with partial
    blocks and tiles (small block and tile sizes) and with the portable index path."""
    from pixelfes.models import kernel_levels, lookup_table

    monkeypatch.setattr(lookup_table, "_ROWS_PER_BLOCK", 64)
    monkeypatch.setattr(lookup_table, "_IMAGES_PER_TILE", 3)
    monkeypatch.setattr(
        kernel_levels, "_LITTLE_ENDIAN", little_endian and kernel_levels._LITTLE_ENDIAN
    )
    rng = np.random.default_rng(7)
    height, width, channels = shape
    for dtype in ("float32", "float16"):
        lut = lookup_table.PixelLookupTable(dtype=dtype)
        lut.table_ = rng.standard_normal((height, width, table_channels, 256)).astype(dtype)
        lut.image_shape_ = shape
        lut.source_, lut.metadata_ = "test", {}
        X = rng.integers(0, 256, (8, *shape), dtype=np.uint8)
        h, w, c = np.indices(shape)
        c = c if table_channels == channels else np.zeros_like(c)
        expected = lut.table_[h, w, c, X].astype(np.float32)
        got = lut.predict(X if channels > 1 else X[..., 0])
        np.testing.assert_array_equal(got.reshape(expected.shape), expected)
