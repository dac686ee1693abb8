"""Pixel-KR's grouped fit for 8-bit inputs against the dense dual and scikit-learn.

The grouped solve (Eq. 14-16 through per-level counts and sums, kernel_levels) must equal
the dense N x N dual solve of Eq. 14 and sklearn's KernelRidge per pixel, in float64 to
1e-8, on random 8-bit data with repeated levels and with pixels whose inputs are all
equal. Streaming (partial_fit, merge) must equal one fit.
"""

from __future__ import annotations

import numpy as np
import pytest

from pixelfes.models import PixelKernelRidge, load
from pixelfes.models.kernel_levels import (
    LEVELS,
    dual_from_values,
    level_statistics,
    level_values,
)
from pixelfes.models.pixel_kernel_ridge import dense_dual, per_location


def repeated_levels(n: int = 120, shape=(3, 4, 1), seed: int = 0):
    """8-bit pairs whose inputs repeat a few levels; pixel (0, 0) is constant."""
    rng = np.random.default_rng(seed)
    X = (rng.integers(0, 30, (n, *shape)) * 8).astype(np.uint8)
    X[:, 0, 0] = 77
    X[:, 1, 1] = rng.choice([0, 255], size=(n, shape[2]))  # the two extreme levels
    T = rng.random((n, *shape))
    return X, T


GRID = [(0.05, 0.04), (0.3, 0.4), (1.0, 0.04), (10.0, 4.0)]


@pytest.mark.parametrize(("sigma", "alpha"), GRID)
def test_grouped_equals_dense_dual_and_sklearn(sigma, alpha):
    from sklearn.kernel_ridge import KernelRidge

    X, T = repeated_levels()
    counts, sums = level_statistics(X, T, shared=True)
    values = level_values(counts, sums, sigma, (alpha,))[0]  # K_m beta at the 256 levels
    beta = dual_from_values(counts, sums, values, alpha)
    xs, ts = per_location(X / 255.0, True), per_location(T, True)
    dense = dense_dual(xs, ts, sigma, alpha)  # Eq. 14, float64
    for p in range(xs.shape[0]):
        kappa = np.exp(-((LEVELS[:, None] - xs[p][None]) ** 2) / (2 * sigma**2))  # Eq. 12
        reference = KernelRidge(alpha=alpha, kernel="rbf", gamma=0.5 / sigma**2)
        reference.fit(xs[p][:, None], ts[p])
        sk = reference.predict(LEVELS[:, None])
        np.testing.assert_allclose(values[p], sk, rtol=0, atol=1e-8)
        np.testing.assert_allclose(kappa @ dense[p], sk, rtol=0, atol=1e-8)  # Eq. 15-16
        # the grouped dual coefficients: c_p summed per level (push-through identity)
        level_of = np.rint(xs[p] * 255).astype(int)
        np.testing.assert_allclose(
            beta[p], np.bincount(level_of, weights=dense[p], minlength=256), atol=1e-8 * 400
        )
    assert np.count_nonzero(beta[0]) == 1  # constant pixel: one level, one coefficient


def test_symmetric_cholesky_form_of_the_issue():
    """beta = D^1/2 (D^1/2 K_m D^1/2 + lambda I)^-1 D^-1/2 s on the present levels."""
    X, T = repeated_levels(n=60, shape=(2, 2, 1), seed=3)
    sigma, alpha = 0.2, 0.1
    counts, sums = level_statistics(X, T, shared=True)
    beta = dual_from_values(counts, sums, level_values(counts, sums, sigma, (alpha,))[0], alpha)
    for p in range(counts.shape[0]):
        seen = counts[p] > 0
        d = np.sqrt(counts[p, seen])
        km = np.exp(-((LEVELS[seen, None] - LEVELS[None, seen]) ** 2) / (2 * sigma**2))
        inner = np.linalg.cholesky(d[:, None] * km * d[None, :] + alpha * np.eye(seen.sum()))
        u = np.linalg.solve(inner.T, np.linalg.solve(inner, sums[p, seen] / d))
        np.testing.assert_allclose(beta[p, seen], d * u, atol=1e-8)
        assert not beta[p, ~seen].any()


@pytest.mark.parametrize("channels", ["shared", "independent"])
def test_model_grouped_fit_matches_dense_fit(channels):
    X, T = repeated_levels(n=40, shape=(3, 4, 3), seed=1)
    grouped = PixelKernelRidge(alpha=0.2, sigma=0.3, channels=channels).fit(X, T)
    dense = PixelKernelRidge(alpha=0.2, sigma=0.3, channels=channels).fit(X / 255.0, T)
    assert (grouped.solver_, dense.solver_) == ("levels", "dense")
    Xq = np.random.default_rng(2).integers(0, 256, (5, 3, 4, 3), dtype=np.uint8)
    np.testing.assert_allclose(grouped.predict(Xq), dense.predict(Xq), atol=2e-5)
    Fq = np.random.default_rng(3).random((5, 3, 4, 3))  # float queries: Eq. 16 directly
    np.testing.assert_allclose(grouped.predict(Fq), dense.predict(Fq), atol=2e-5)
    table = grouped.to_lookup_table()
    np.testing.assert_allclose(table.predict(Xq), grouped.predict(Xq), atol=1e-6)


@pytest.mark.parametrize("little_endian", [True, False])
@pytest.mark.parametrize("shared", [True, False])
def test_statistics_in_small_blocks_equal_a_direct_count(monkeypatch, shared, little_endian):
    """Blocks of values, calls of samples and unpacks of the packed totals, all smaller
    than the data (and the portable index path), give the counts and sums of np.add.at."""
    from pixelfes.models import kernel_levels

    monkeypatch.setattr(kernel_levels, "_VALUES_PER_BLOCK", 7)
    monkeypatch.setattr(kernel_levels, "_SAMPLES_PER_CALL", 20)
    monkeypatch.setattr(kernel_levels, "_MAX_PACKED_COUNT", 5)
    monkeypatch.setattr(
        kernel_levels, "_LITTLE_ENDIAN", little_endian and kernel_levels._LITTLE_ENDIAN
    )
    X, T = repeated_levels(n=23, shape=(3, 4, 3), seed=6)
    n_locations = 12 if shared else 36
    location = np.broadcast_to(kernel_levels.location_index((3, 4, 3), shared), (23, 36)).ravel()
    for targets in (T, (T * 255).astype(np.uint8)):
        counts, sums = level_statistics(X, targets, shared)
        expected_counts = np.zeros((n_locations, 256))
        expected_sums = np.zeros((n_locations, 256))
        levels = X.reshape(-1)
        np.add.at(expected_counts, (location, levels), 1)
        np.add.at(
            expected_sums,
            (location, levels),
            targets.reshape(-1) / (255.0 if targets.dtype == np.uint8 else 1.0),
        )
        np.testing.assert_array_equal(counts, expected_counts)
        np.testing.assert_allclose(sums, expected_sums, rtol=1e-12, atol=1e-12)


def test_partial_fit_and_merge_equal_one_fit():
    X, T = repeated_levels(n=90, shape=(4, 3, 3), seed=4)
    Tu = (T * 255).astype(np.uint8)
    one = PixelKernelRidge(sigma=0.2, alpha=0.1).fit(X, Tu)
    streamed = PixelKernelRidge(sigma=0.2, alpha=0.1)
    for start in range(0, 90, 25):
        streamed.partial_fit(X[start : start + 25], Tu[start : start + 25])
    left = PixelKernelRidge(sigma=0.2, alpha=0.1).fit(X[:37], Tu[:37])
    right = PixelKernelRidge(sigma=0.2, alpha=0.1).partial_fit(X[37:], Tu[37:])
    merged = left.merge(right)
    for model in (streamed, merged):
        np.testing.assert_array_equal(model.level_counts_, one.level_counts_)
        np.testing.assert_allclose(model.predict(X), one.predict(X), rtol=0, atol=1e-6)
    assert left.predict(X).shape == X.shape  # merge did not change its inputs
    np.testing.assert_array_equal(left.level_counts_.sum(), 37 * 4 * 3 * 3)


def test_streaming_errors(tmp_path):
    X, T = repeated_levels(n=10, shape=(3, 4, 1))
    with pytest.raises(ValueError, match="uint8"):
        PixelKernelRidge().partial_fit(X / 255.0, T)
    model = PixelKernelRidge().partial_fit(X, T)
    with pytest.raises(ValueError, match="shape"):
        model.partial_fit(X[:, :2], T[:, :2])
    with pytest.raises(ValueError, match="dense solver"):
        PixelKernelRidge().fit(X / 255.0, T).partial_fit(X, T)
    refitted = PixelKernelRidge().fit(X, T).fit(X / 255.0, T)  # a refit forgets the statistics
    with pytest.raises(ValueError, match="dense solver"):
        refitted.partial_fit(X, T)
    with pytest.raises(ValueError, match="channels"):
        model.merge(PixelKernelRidge(channels="independent").fit(X, T))
    model.save(tmp_path / "m.npz")  # solves the pending statistics first
    loaded = load(tmp_path / "m.npz")
    assert loaded.solver_ == "levels"
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), atol=1e-5)
    with pytest.raises(ValueError, match="per-level statistics"):
        model.merge(loaded)


def test_n_parameters_counts_the_levels_present():
    X, T = repeated_levels(n=50, shape=(3, 4, 1))
    model = PixelKernelRidge().fit(X, T)
    counts = model.level_counts_
    assert model.n_parameters == np.count_nonzero(counts) < 50 * 3 * 4
