"""FlowPixelRidge: brute-force reference, Pixel-RR at radius 0, a translation recovered, files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from sklearn.base import clone

from pixelfes.editing import load_model, synthesize
from pixelfes.exceptions import InvalidInputError, ModelFileError, NotFittedError
from pixelfes.models import MODEL_FAMILIES, FlowPixelRidge, PixelRidge, load
from pixelfes.models.flow_ridge import candidate_offsets


def brute_force(X, T, alpha, radius, smooth, penalty):
    """Offsets, weights and biases by solving every (pixel, offset) ridge with lstsq.

    Shared channels: each location's rows are all pairs and channels. The objective is
    Eq. 3 evaluated at the lstsq solution of the penalised system [A; sqrt(alpha) I].
    """
    n, height, width, channels = X.shape
    offsets = [
        (dy, dx)
        for dy in range(-radius, radius + 1)
        for dx in range(-radius, radius + 1)
        if dy * dy + dx * dx <= radius * radius
    ]
    # ties (offsets reading the same clamped pixel) go to the shortest, then the first (dy, dx)
    offsets.sort(key=lambda d: (d[0] ** 2 + d[1] ** 2, d))
    cost = np.empty((len(offsets), height, width))
    params = np.empty((len(offsets), height, width, 2))
    for k, (dy, dx) in enumerate(offsets):
        for i in range(height):
            for j in range(width):
                qi, qj = min(max(i + dy, 0), height - 1), min(max(j + dx, 0), width - 1)
                x, t = X[:, qi, qj, :].reshape(-1), T[:, i, j, :].reshape(-1)
                A = np.column_stack([x, np.ones_like(x)])
                lhs = np.vstack([A, np.sqrt(alpha) * np.eye(2)])
                theta = np.linalg.lstsq(lhs, np.concatenate([t, [0, 0]]), rcond=None)[0]
                objective = 0.5 * np.sum((A @ theta - t) ** 2) + 0.5 * alpha * theta @ theta
                cost[k, i, j] = objective / (n * channels)
                params[k, i, j] = theta
    smoothed = np.empty_like(cost)
    for i in range(height):
        for j in range(width):
            window = cost[
                :, max(i - smooth, 0) : i + smooth + 1, max(j - smooth, 0) : j + smooth + 1
            ]
            smoothed[:, i, j] = window.mean(axis=(1, 2))
    lengths = np.array([dy * dy + dx * dx for dy, dx in offsets])
    best = np.argmin(smoothed + penalty * lengths[:, None, None], axis=0)
    rows, cols = np.indices(best.shape)
    chosen = np.array(offsets)[best]
    return chosen, params[best, rows, cols]


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(3)
    X = rng.random((7, 6, 5, 3))
    # targets: a shifted, rescaled copy of the inputs plus noise, so offsets matter
    T = np.clip(0.7 * np.roll(X, 1, axis=2) + 0.1 + 0.05 * rng.standard_normal(X.shape), 0, 1)
    return X, T


@pytest.mark.parametrize(
    ("radius", "smooth", "penalty"), [(1, 0, 0.0), (2, 0, 0.0), (2, 1, 0.0), (2, 1, 1e-3)]
)
def test_matches_brute_force(small, radius, smooth, penalty):
    X, T = small
    model = FlowPixelRidge(alpha=0.3, radius=radius, smooth=smooth, penalty=penalty).fit(X, T)
    offsets, params = brute_force(X, T, 0.3, radius, smooth, penalty)
    np.testing.assert_array_equal(model.offsets_, offsets)
    np.testing.assert_allclose(model.coef_[..., 0], params[..., 0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.intercept_[..., 0], params[..., 1], rtol=0, atol=1e-10)
    assert model.coef_.dtype == np.float64 and model.offsets_.dtype == np.int8


def test_uint8_fit_equals_float_fit(small):
    X, T = small
    XU, TU = (X * 255).round().astype(np.uint8), (T * 255).round().astype(np.uint8)
    a = FlowPixelRidge(radius=2, smooth=1).fit(XU, TU)
    b = FlowPixelRidge(radius=2, smooth=1).fit(XU / 255.0, TU / 255.0)
    np.testing.assert_array_equal(a.offsets_, b.offsets_)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)
    assert a.coef_.dtype == np.float32


@pytest.mark.parametrize("channels", ["shared", "independent"])
def test_radius_zero_is_pixel_rr(small, channels):
    X, T = small
    flow = FlowPixelRidge(alpha=0.3, radius=0, channels=channels).fit(X, T)
    plain = PixelRidge(alpha=0.3, channels=channels).fit(X, T)
    np.testing.assert_array_equal(flow.coef_, plain.coef_)
    np.testing.assert_array_equal(flow.intercept_, plain.intercept_)
    assert not flow.offsets_.any()
    np.testing.assert_array_equal(flow.predict(X), plain.predict(X))


def test_recovers_a_translation():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (40, 24, 28, 1), dtype=np.uint8)
    T = np.empty_like(X)
    T[:, :, :-3] = X[:, :, 3:]  # t(y, x) = x(y, x + 3)
    T[:, :, -3:] = rng.integers(0, 256, T[:, :, -3:].shape)
    model = FlowPixelRidge(alpha=0.01, radius=6).fit(X, T)
    inner = model.offsets_[2:-2, 2:-5]  # away from the unmatched columns and the border
    assert (inner == np.array([0, 3], np.int8)).all()
    assert np.abs(model.coef_[2:-2, 2:-5] - 1).max() < 0.01
    error = np.abs(model.predict(X) - T / 255.0)[:, :, :-3]
    assert error.max() < 0.01
    plain = PixelRidge(alpha=0.01).fit(X, T)
    assert np.abs(plain.predict(X) - T / 255.0)[:, :, :-3].mean() > 0.2  # Pixel-RR cannot


def test_penalty_and_smoothing_keep_noise_out():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (30, 20, 20, 1), dtype=np.uint8)
    T = np.clip(X * 0.5 + rng.normal(60, 40, X.shape), 0, 255).astype(np.uint8)
    loose = FlowPixelRidge(radius=4, smooth=0, penalty=0).fit(X, T)
    assert loose.offsets_.any()  # with no regulariser, a chance match wins somewhere
    for smooth, penalty in ((2, 0.0), (2, 1e-5)):
        firm = FlowPixelRidge(radius=4, smooth=smooth, penalty=penalty).fit(X, T)
        assert not firm.offsets_.any()  # no motion in the data, none in the field


def test_partial_fit_and_merge_equal_one_fit(small):
    X, T = small
    one = FlowPixelRidge(radius=2).fit(X, T)
    chunked = FlowPixelRidge(radius=2).partial_fit(X[:3], T[:3]).partial_fit(X[3:], T[3:])
    merged = (
        FlowPixelRidge(radius=2).fit(X[:4], T[:4]).merge(FlowPixelRidge(radius=2).fit(X[4:], T[4:]))
    )
    for other in (chunked, merged):
        np.testing.assert_array_equal(other.offsets_, one.offsets_)
        np.testing.assert_allclose(other.coef_, one.coef_, atol=1e-12)
        np.testing.assert_allclose(other.intercept_, one.intercept_, atol=1e-12)


def test_warp_scales_the_offsets():
    model = FlowPixelRidge(radius=2)
    model.offsets_ = np.zeros((4, 6, 2), np.int8)
    model.offsets_[..., 1] = 2
    model.coef_ = np.ones((4, 6, 1), np.float32)
    model.intercept_ = np.zeros((4, 6, 1), np.float32)
    model.image_shape_ = (4, 6, 1)
    ramp = np.tile(np.arange(6, dtype=np.float64) / 10, (1, 4, 1))
    np.testing.assert_allclose(model.warp(ramp, 0.0), ramp)
    half = model.warp(ramp, 0.5)[0]  # one pixel to the right, clamped at the last column
    np.testing.assert_allclose(half[:, :5], ramp[0, :, 1:])
    np.testing.assert_allclose(half[:, 5], 0.5)
    np.testing.assert_allclose(model.warp(ramp, 0.25)[0, 0, :4], ramp[0, 0, :4] + 0.05)
    np.testing.assert_allclose(model.warp(ramp, 1.0), model.predict(ramp))
    colour = np.repeat(ramp[..., None], 3, axis=-1)  # a luma model moves colour crops
    np.testing.assert_allclose(model.warp(colour, 0.5)[..., 2], model.warp(ramp, 0.5))


def test_synthesize_scales_movement_and_texture():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 256, (30, 16, 16, 3), dtype=np.uint8)
    T = np.roll(X, -2, axis=1)
    model = FlowPixelRidge(alpha=0.01, radius=3).fit(X, T)
    crops = X[:2]
    np.testing.assert_allclose(synthesize(model, crops, 0.0), crops / 255.0, atol=1e-6)
    full = synthesize(model, crops, 1.0, luma=False)
    np.testing.assert_allclose(full, np.clip(model.predict(crops), 0, 1), atol=1e-6)
    half = synthesize(model, crops, 0.5, luma=False)
    warped = model.warp(crops, 0.5)
    expected = warped + 0.5 * (model.texture().predict(warped) - warped)
    np.testing.assert_allclose(half, np.clip(expected, 0, 1), atol=1e-6)
    dose = np.full((16, 16), 0.5, np.float32)  # a region map (editing's `regions`)
    np.testing.assert_allclose(synthesize(model, crops, dose, luma=False), half, atol=1e-6)
    dose[:8] = 0.0  # the top half keeps the input exactly
    np.testing.assert_allclose(synthesize(model, crops, dose)[:, :8], crops[:, :8] / 255.0)


def test_file_round_trip_is_exact_and_small(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    T = np.roll(X, 1, axis=1)
    model = FlowPixelRidge(radius=3).fit(X, T)
    path = tmp_path / "flow.npz"
    model.save(path, metadata={"target_expression": "happy"}, dtype="float16")
    for loaded in (load(path), load_model(path)):
        assert type(loaded) is FlowPixelRidge
        assert loaded.get_params() == model.get_params()
        assert loaded.offsets_.dtype == np.int8
        np.testing.assert_array_equal(loaded.offsets_, model.offsets_)
        assert np.abs(loaded.predict(X[:3]) - model.predict(X[:3])).max() < 5e-3
        assert loaded.n_parameters == model.n_parameters == 32 * 32 * 4
    # two float16 maps and one int8 offset pair per location, plus the zip and header
    assert path.stat().st_size < 32 * 32 * 6 + 2500
    assert MODEL_FAMILIES["flow-rr"] is FlowPixelRidge


def _rewrite(path, **arrays):
    with zipfile.ZipFile(path) as archive:
        members = {name[:-4]: np.load(archive.open(name)) for name in archive.namelist()}
    members.update(arrays)
    np.savez(path, **members)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"offsets_": np.zeros((8, 8, 2), np.float32)}, "not an int8 array"),
        ({"offsets_": np.full((8, 8, 2), 5, np.int8)}, "longer than radius"),
        ({"offsets_": np.zeros((8, 7, 2), np.int8)}, "offsets_ has shape"),
        ({"coef_": np.zeros((8, 8, 1), np.int8)}, "not a float array"),
        ({"offsets_": np.zeros((8, 8, 2), np.int16)}, "unsupported dtype"),
    ],
)
def test_malformed_files_are_refused(tmp_path, change, message):
    rng = np.random.default_rng(5)
    X = rng.integers(0, 256, (6, 8, 8, 1), dtype=np.uint8)
    path = tmp_path / "flow.npz"
    FlowPixelRidge(radius=2).fit(X, X).save(path)
    _rewrite(path, **change)
    with pytest.raises(ModelFileError, match=message):
        load(path)


def test_bad_header_params_refused(tmp_path):
    X = np.zeros((3, 8, 8, 1), np.uint8)
    path = tmp_path / "flow.npz"
    FlowPixelRidge(radius=2).fit(X, X).save(path)
    with zipfile.ZipFile(path) as archive:
        header = json.loads(np.load(archive.open("header.npy")).tobytes())
    header["params"]["radius"] = -1
    _rewrite(path, header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    with pytest.raises(ModelFileError, match="radius"):
        load(path)


def test_saving_offsets_that_are_not_small_integers_is_refused(tmp_path):
    X = np.zeros((3, 8, 8, 1), np.uint8)
    model = FlowPixelRidge(radius=2).fit(X, X)
    model.offsets_ = model.offsets_.astype(np.float32) + 0.5
    with pytest.raises(InvalidInputError, match="integers"):
        model.save(tmp_path / "flow.npz")


def test_params_clone_and_dtype():
    model = FlowPixelRidge(alpha=0.1, radius=3, smooth=1, penalty=1e-4, channels="independent")
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    assert not hasattr(copy, "offsets_")
    assert model.set_params(radius=2).radius == 2
    X = np.random.default_rng(0).random((4, 6, 6, 3)).astype(np.float32)
    assert model.fit(X, X).predict(X).dtype == np.float32
    assert model.predict(X.astype(np.float64)).dtype == np.float64


@pytest.mark.parametrize(
    "params",
    [
        {"alpha": 0},
        {"radius": -1},
        {"radius": 1.5},
        {"radius": True},
        {"radius": 200},
        {"smooth": -2},
        {"penalty": -1e-3},
        {"penalty": float("nan")},
        {"channels": "rgb"},
    ],
)
def test_bad_hyper_parameters(params):
    X = np.zeros((2, 4, 4, 1), np.uint8)
    with pytest.raises(InvalidInputError):
        FlowPixelRidge(**params).fit(X, X)


def test_wrong_shapes_and_unfitted():
    X = np.zeros((2, 8, 8, 1), np.uint8)
    with pytest.raises(NotFittedError):
        FlowPixelRidge().predict(X)
    with pytest.raises(InvalidInputError, match="same shape"):
        FlowPixelRidge().fit(X, X[:, :, :7])
    model = FlowPixelRidge(radius=2).fit(X, X)
    with pytest.raises(InvalidInputError, match="8x8"):
        model.predict(np.zeros((1, 8, 9, 1), np.uint8))
    with pytest.raises(InvalidInputError, match="8x8"):
        model.warp(np.zeros((1, 9, 8, 3), np.uint8))
    with pytest.raises(InvalidInputError, match="shape"):
        model.predict(np.zeros((8, 8), np.uint8))


def test_candidate_offsets_are_a_disc_shortest_first():
    offsets = candidate_offsets(6)
    assert len(offsets) == 113 and tuple(offsets[0]) == (0, 0)
    lengths = (offsets**2).sum(axis=1)
    assert lengths.max() == 36 and (np.diff(lengths) >= 0).all()


def test_cross_validation_grid_trains_the_family():
    from pixelfes.training import CV_GRIDS, train

    rng = np.random.default_rng(6)
    X = rng.integers(0, 256, (20, 12, 12, 1), dtype=np.uint8)
    subjects = [f"s{i // 2}" for i in range(20)]
    report = train("flow-rr", X, np.roll(X, 1, axis=1), subjects, cv=True)
    assert isinstance(report.model, FlowPixelRidge) and len(report.cv_scores) == 9
    assert report.model.penalty in CV_GRIDS["flow-rr"]["penalty"]
    assert (report.model.offsets_[2:-2, 2:-2] == np.array([-1, 0])).all()  # t(y) = x(y - 1)
