"""Shape model against a direct least-squares reference; the geometry model file; its pipeline."""

from __future__ import annotations

import copy
import json
import zipfile

import numpy as np
import pytest

from pixelfes import geometric
from pixelfes.exceptions import GeometryError, ModelFileError
from pixelfes.faces.warp import triangulate, with_ring
from pixelfes.models import GeometryModel, PixelRidge, ShapeRidge, load

SIZE = 32
RNG = np.random.default_rng(0)


def _shapes(n: int = 30, points: int = 20) -> tuple[np.ndarray, np.ndarray]:
    grid = np.stack(np.meshgrid(np.linspace(6, SIZE - 7, 5), np.linspace(6, SIZE - 7, 4)), -1)
    base = grid.reshape(-1, 2)[:points]
    inputs = base + RNG.normal(0, 0.4, (n, points, 2))
    mix = RNG.normal(0, 0.05, (2 * points, 2 * points))
    flat = inputs.reshape(n, -1)
    moved = flat + (flat - flat.mean(0)) @ mix + 0.7 + RNG.normal(0, 0.05, flat.shape)
    return inputs, moved.reshape(inputs.shape)


def test_shape_ridge_matches_direct_least_squares():
    inputs, targets = _shapes()
    alpha = 3.0
    model = ShapeRidge(alpha=alpha, rank=None).fit(inputs, targets)
    # Reference: centred coordinates, ridge by stacking sqrt(alpha) I under the design.
    x = inputs.reshape(len(inputs), -1)
    d = (targets - inputs).reshape(len(inputs), -1)
    xc, dc = x - x.mean(0), d - d.mean(0)
    p = x.shape[1]
    design = np.vstack([xc, np.sqrt(alpha) * np.eye(p)])
    response = np.vstack([dc, np.zeros((p, p))])
    coef = np.linalg.lstsq(design, response, rcond=None)[0]
    new = inputs[:5] + RNG.normal(0, 0.5, inputs[:5].shape)
    expected = new + ((new.reshape(5, -1) - x.mean(0)) @ coef + d.mean(0)).reshape(new.shape)
    np.testing.assert_allclose(model.predict(new), expected, atol=1e-8)


def test_reduced_rank_keeps_the_leading_directions():
    inputs, targets = _shapes()
    full = ShapeRidge(alpha=3.0, rank=None).fit(inputs, targets)
    low = ShapeRidge(alpha=3.0, rank=4).fit(inputs, targets)
    assert np.linalg.matrix_rank(low.left_ @ low.right_) == 4
    # Reduced-rank fit = full fit projected onto its fitted values' top right singular vectors.
    xc = inputs.reshape(len(inputs), -1) - full.input_mean_
    _, _, vt = np.linalg.svd(xc @ full.left_, full_matrices=False)
    projected = full.left_ @ vt[:4].T @ vt[:4]
    np.testing.assert_allclose(low.left_ @ low.right_, projected, atol=1e-10)
    # Intercept only (mean displacement) when alpha is huge.
    mean = ShapeRidge(alpha=1e12, rank=2).fit(inputs, targets)
    np.testing.assert_allclose(
        mean.displacement(inputs[:3]), np.broadcast_to((targets - inputs).mean(0), (3, 20, 2)),
        atol=1e-6,
    )  # fmt: skip


def test_shape_ridge_refuses_bad_input():
    inputs, targets = _shapes()
    with pytest.raises(ValueError, match="NaN"):
        ShapeRidge().fit(np.where(inputs == inputs[0, 0, 0], np.nan, inputs), targets)
    with pytest.raises(ValueError, match="shape"):
        ShapeRidge().fit(inputs, targets[:, :5])
    with pytest.raises(ValueError, match="points"):
        ShapeRidge().fit(inputs, targets).predict(inputs[:, :5])


def _model(texture_identity: bool = False, gain: float = 1.2) -> GeometryModel:
    inputs, targets = _shapes()
    images = RNG.random((6, SIZE, SIZE, 1))
    texture = PixelRidge(alpha=0.1).fit(images, np.clip(images * 0.8 + 0.1, 0, 1))
    if texture_identity:
        texture.coef_[:] = 1.0
        texture.intercept_[:] = 0.0
    mean = targets.mean(0)
    triangles = triangulate(with_ring(mean, SIZE))
    frames = RNG.random((5, 24, 48, 1))
    faces = np.broadcast_to(RNG.random((5, 1, 1, 1)), frames.shape)
    mouth = PixelRidge(alpha=0.4).fit(faces, frames)
    polygon = np.array([[2.0, 12.0], [24.0, 2.0], [46.0, 12.0], [24.0, 22.0]])
    return GeometryModel.from_parts(texture, ShapeRidge(10.0, 4).fit(inputs, targets), mean,
                                    triangles, mouth, polygon, gain=gain)  # fmt: skip


def test_model_file_round_trip(tmp_path):
    model = _model()
    path = tmp_path / "geometry.npz"
    model.save(path, metadata={"target_expression": "surprise"})
    loaded = load(path)
    assert isinstance(loaded, GeometryModel)
    assert loaded.get_params() == model.get_params()
    assert loaded.gain_ == model.gain_
    assert loaded.metadata_ == {"target_expression": "surprise"}
    np.testing.assert_array_equal(loaded.triangles, model.triangles)
    shapes = _shapes()[0][:3]
    np.testing.assert_allclose(loaded.target_shape(shapes, 0.7), model.target_shape(shapes, 0.7))
    frames = RNG.random((2, SIZE, SIZE)).astype(np.float32)
    assert loaded.face_luma_ == model.face_luma_
    np.testing.assert_array_equal(
        loaded.texture_change(frames, 0.3), model.texture_change(frames, 0.3)
    )
    np.testing.assert_array_equal(loaded.mouth_interior(0.4), model.mouth_interior(0.4))
    np.testing.assert_array_equal(loaded.mouth_polygon_, model.mouth_polygon_)


def _rewrite(path, tmp_path, **changes):
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays["header"].tobytes())
    for key, value in changes.items():
        if key in arrays and key != "header":
            arrays[key] = value
        else:
            header["attributes"][key] = value
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    return bad


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"triangles_": np.array([[0.0, 1.0, 9999.0]], np.float32)}, "vertex indices"),
        ({"triangles_": np.array([[0.0, 1.0, 2.5]], np.float32)}, "vertex indices"),
        ({"triangles_": np.zeros((4, 2), np.float32)}, "triangles_"),
        ({"shape_left_": np.zeros((40, 3), np.float32)}, "shape_right_"),
        ({"input_mean_": np.zeros(7, np.float32)}, "input_mean_"),
        ({"coef_": np.zeros((SIZE, SIZE + 1, 1), np.float32)}, "coef_"),
        ({"mouth_coef_": np.zeros((24, 48), np.float32)}, "mouth_coef_"),
        ({"mouth_intercept_": np.zeros((24, 47, 1), np.float32)}, "mouth_intercept_"),
        ({"mouth_polygon_": np.zeros((2, 2), np.float32)}, "mouth_polygon_"),
        ({"gain_": -1.0}, "gain_"),
        ({"gain_": "big"}, "gain_"),
        ({"face_luma_": 1.5}, "face_luma_"),
        ({"face_luma_": None}, "retrain"),  # a file saved before the ratio texture
    ],
)
def test_malformed_model_files_are_refused(tmp_path, changes, message):
    path = tmp_path / "geometry.npz"
    _model().save(path)
    with pytest.raises(ModelFileError, match=message):
        load(_rewrite(path, tmp_path, **changes))


def test_truncated_geometry_file_is_refused(tmp_path):
    path = tmp_path / "geometry.npz"
    _model().save(path)
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ModelFileError):
        load(tmp_path / "cut.npz")
    with zipfile.ZipFile(path) as archive:
        assert all(not name.endswith(".pkl") for name in archive.namelist())


def test_texture_change_scales_with_the_faces_brightness():
    model = _model()
    frames = RNG.random((3, SIZE, SIZE)).astype(np.float32)
    lumas = np.array([0.2, 0.45, 0.6])
    change = model.texture_change(frames, lumas)
    np.testing.assert_allclose(model.texture_change(0.5 * frames, 0.5 * lumas), 0.5 * change,
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    # At the training faces' mean brightness it is plain Pixel-RR: w x + b - x.
    w, b = model.coef_[..., 0], model.intercept_[..., 0]
    np.testing.assert_allclose(model.texture_change(frames, model.face_luma_),
                               frames * w + b - frames, rtol=1e-5, atol=1e-6)  # fmt: skip


def test_texture_fit_divides_each_pair_by_its_faces_brightness():
    from pixelfes.faces.landmarks import N_DENSE
    from pixelfes.faces.mouth import face_mean

    size, rng = 64, np.random.default_rng(5)
    shape = np.clip(32.0 + rng.normal(0, 12, (N_DENSE, 2)), 2, size - 3)
    shapes = np.repeat(shape[None], 5, axis=0)
    triangles = triangulate(with_ring(shape, size))
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    neutral = 0.5 + 0.3 * np.sin(xs / 9.0) * np.cos(ys / 7.0)
    smile = np.clip(neutral + 0.2 * np.exp(-((xs - 32) ** 2 + (ys - 44) ** 2) / 40.0), 0, 1)
    light = np.array([0.4, 0.6, 0.8, 1.0, 1.2])[:, None, None]  # one face, five exposures
    inputs, targets = (light * neutral).clip(0, 1), (light * smile).clip(0, 1)
    texture, face_luma = geometric.fit_texture(inputs, targets, shapes, shapes, shape, triangles)
    faces = np.array([face_mean(x, shape) for x in inputs])
    assert face_luma == pytest.approx(faces.mean())
    # Reference: Pixel-RR (Eq. 3-6) on the frames divided by each face's relative brightness.
    ratio = (faces / faces.mean())[:, None, None, None]
    frames = geometric.frame_crops(inputs, shapes, shape, triangles)[..., None] / ratio
    goals = geometric.frame_crops(targets, shapes, shape, triangles)[..., None] / ratio
    reference = PixelRidge(alpha=0.4).fit(frames, goals)
    np.testing.assert_allclose(texture.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(texture.intercept_, reference.intercept_, atol=1e-5)
    # A face darker than every training face gets the change at its own brightness.
    model = GeometryModel()
    model.coef_, model.intercept_, model.face_luma_ = texture.coef_, texture.intercept_, face_luma
    model.image_shape_ = (size, size, 3)
    dark = 0.25 * neutral
    change = model.texture_change(dark[None], face_mean(dark, shape))[0]
    inside = (xs > 8) & (xs < size - 8) & (ys > 8) & (ys < size - 8)
    np.testing.assert_allclose(change[inside], 0.25 * (smile - neutral)[inside], atol=0.02)


def test_fit_and_predict_point_to_the_geometric_module():
    model = _model()
    with pytest.raises(TypeError, match=r"geometric\.fit"):
        model.fit(np.zeros((2, SIZE, SIZE, 3)), np.zeros((2, SIZE, SIZE, 3)))
    with pytest.raises(TypeError, match="landmarks"):
        model.predict(np.zeros((1, SIZE, SIZE, 3), np.uint8))


def test_identity_model_returns_the_crop():
    model = _model(texture_identity=True)
    model.displacement_mean_[:] = 0.0
    model.shape_left_[:] = 0.0
    crops = (RNG.random((2, SIZE, SIZE, 3)) * 255).astype(np.uint8)
    shapes = _shapes()[0][:2]
    out = geometric.synthesize(model, crops, 1.0, shapes=shapes)
    np.testing.assert_array_equal(np.rint(out * 255).astype(np.uint8), crops)
    np.testing.assert_array_equal(geometric.synthesize(model, crops, 0.0), crops / np.float32(255))


def test_synthesize_moves_the_face_and_refuses_bad_landmarks():
    model = _model()
    crops = (RNG.random((1, SIZE, SIZE, 3)) * 255).astype(np.uint8)
    shapes = _shapes()[0][:1]
    out = geometric.synthesize(model, crops, 1.0, shapes=shapes)
    assert out.shape == crops.shape and np.abs(out * 255 - crops).mean() > 1.0
    for bad, message in ((np.nan, "NaN"), (1e4, "outside")):
        broken = shapes.copy()
        broken[0, 3, 0] = bad
        with pytest.raises(GeometryError, match=message):
            geometric.synthesize(model, crops, 1.0, shapes=broken)


def test_a_shape_change_that_folds_the_mesh_is_refused():
    model = _model(gain=1.0)
    model.displacement_mean_[:] = RNG.normal(0, 40.0, model.displacement_mean_.shape)
    crops = np.zeros((1, SIZE, SIZE, 3), np.uint8)
    with pytest.raises(GeometryError, match="folds"):
        geometric.synthesize(model, crops, 1.0, shapes=_shapes()[0][:1])


def test_given_target_shapes_replace_the_prediction():
    model = _model()
    crops = (RNG.random((1, SIZE, SIZE, 3)) * 255).astype(np.uint8)
    shapes = _shapes()[0][:1]
    still = copy.deepcopy(model)
    still.displacement_mean_[:] = 0.0
    still.shape_left_[:] = 0.0
    np.testing.assert_allclose(
        geometric.synthesize(model, crops, 1.0, shapes=shapes, targets=shapes),
        geometric.synthesize(still, crops, 1.0, shapes=shapes),
        atol=1e-6,
    )
    broken = shapes.copy()
    broken[0, 0, 0] = np.nan
    with pytest.raises(GeometryError, match="target landmarks"):
        geometric.synthesize(model, crops, 1.0, shapes=shapes, targets=broken)


def test_the_gain_scales_the_predicted_displacement():
    shapes = _shapes()[0][:3]
    model = _model(gain=1.5)
    moved = model.target_shape(shapes, 1.0) - shapes
    np.testing.assert_allclose(moved, 1.5 * model.displacement(shapes))
    plain = _model(gain=1.0)
    plain.__dict__.update({k: v for k, v in model.__dict__.items() if k != "gain_"})
    np.testing.assert_allclose(model.target_shape(shapes, 0.5), plain.target_shape(shapes, 0.75))


def test_the_fitted_gain_matches_real_to_predicted_lengths_on_held_out_subjects():
    inputs, targets = _shapes(40)
    subjects = [f"s{i // 2}" for i in range(40)]
    gain = geometric._heldout_gain(inputs, targets, subjects, 10.0, 4)
    # Reference: the pooled predictions of subject-disjoint folds, fitted directly.
    from pixelfes.data import subject_kfold

    predicted = np.empty_like(inputs)
    for train, test in subject_kfold(subjects, k=5, seed=0):
        fold = ShapeRidge(10.0, 4).fit(inputs[train], targets[train])
        predicted[test] = fold.predict(inputs[test]) - inputs[test]
    lengths = np.linalg.norm(targets - inputs, axis=-1).mean(), np.linalg.norm(predicted, axis=-1)
    ratio = lengths[0] / lengths[1].mean()
    assert 1.0 < ratio < geometric.MAX_GAIN  # the ridge shrinks held-out predictions
    assert gain == pytest.approx(ratio)
    spread = targets + np.random.default_rng(1).normal(0, 3.0, targets.shape)  # unpredictable
    assert geometric._heldout_gain(inputs, spread, subjects, 10.0, 4) == geometric.MAX_GAIN
    assert geometric._heldout_gain(inputs, targets, None, 10.0, 4) == 1.0


def test_without_pose_keeps_the_expression_and_drops_the_pose():
    from pixelfes.faces.landmarks import N_DENSE, STABLE_POINTS
    from pixelfes.faces.pose import in_input_pose, without_pose

    rng = np.random.default_rng(3)
    inputs = 64.0 + rng.normal(0, 25, (2, N_DENSE, 2))
    expression = np.zeros_like(inputs)
    moving = np.setdiff1d(np.arange(N_DENSE), STABLE_POINTS)
    expression[:, moving] = rng.normal(0, 2, (2, len(moving), 2))
    angle, scale, shift = 0.05, 0.93, np.array([1.5, -2.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    targets = (inputs + expression) @ rotation.T + shift  # the crop's pose changed too
    np.testing.assert_allclose(without_pose(inputs, targets), inputs + expression,
                               atol=1e-9)  # fmt: skip
    # The images follow the same move: a target crop shifted in its crop comes back.
    crop = np.zeros((1, SIZE, SIZE, 1), np.uint8)
    crop[0, 10:18, 12:22] = 200
    moved = np.roll(crop, (3, -2), axis=(1, 2))
    shapes = 32.0 + rng.normal(0, 8, (1, N_DENSE, 2))
    back = in_input_pose(moved, shapes, shapes + np.array([-2.0, 3.0]))
    np.testing.assert_array_equal(back, crop)


@pytest.mark.parametrize("sigma", [0.7, 2.0])
def test_low_band_is_a_gaussian_blur_with_replicated_edges(sigma):
    import cv2

    from pixelfes.models.geometry_model import low_band

    frames = RNG.random((3, 40, 40)).astype(np.float32)
    size = 2 * int(np.ceil(3 * sigma)) + 1  # the same 3-sigma truncation, in OpenCV
    reference = [cv2.GaussianBlur(f, (size, size), sigma, borderType=cv2.BORDER_REPLICATE)
                 for f in frames]  # fmt: skip
    np.testing.assert_allclose(low_band(frames, sigma), np.stack(reference), atol=1e-6)


def test_detail_carries_the_finer_detail_through_the_texture_step():
    from pixelfes.models.geometry_model import low_band

    model = _model()
    w, b = model.coef_[..., 0], model.intercept_[..., 0]
    assert 0.5 < np.median(w) < 0.95  # the fitted step scales each pixel's own value
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    smooth = (0.4 + 0.2 * np.sin(xs / 6.0) * np.cos(ys / 5.0)).astype(np.float32)[None]
    checker = np.float32(0.05) * ((xs + ys) % 2 * 2 - 1).astype(np.float32)[None]
    inner = (slice(None), slice(4, SIZE - 4), slice(4, SIZE - 4))

    def edited(frames, detail):
        return frames + model.set_params(detail=detail).texture_change(frames, 0.3)

    # Without detail the checkerboard, like every pixel, is scaled by w; with detail it stays.
    plain = edited(smooth + checker, 0.0) - edited(smooth, 0.0)
    np.testing.assert_allclose(plain, w * checker, atol=1e-5)
    kept = edited(smooth + checker, 1.5) - edited(smooth, 1.5)
    np.testing.assert_allclose(kept[inner], checker[inner], atol=0.002)
    # The low band gets the fitted step, at the face's brightness ratio.
    ratio = 0.3 / model.face_luma_
    low = low_band(smooth, 1.5)
    np.testing.assert_allclose(model.texture_change(smooth, 0.3), (w - 1) * low + b * ratio,
                               atol=1e-5)  # fmt: skip


def test_detail_is_checked_and_kept_in_the_model_file(tmp_path):
    model = _model().set_params(detail=2.0)
    path = tmp_path / "geometry.npz"
    model.save(path)
    loaded = load(path)
    assert loaded.detail == 2.0
    frames = RNG.random((1, SIZE, SIZE)).astype(np.float32)
    np.testing.assert_array_equal(loaded.texture_change(frames, 0.4),
                                  model.texture_change(frames, 0.4))  # fmt: skip
    for bad in (-1.0, float("nan"), 100.0, True, "2"):
        with pytest.raises(ValueError, match="detail"):
            copy.deepcopy(model).set_params(detail=bad).texture_change(frames, 0.4)


def test_a_file_without_a_hyper_parameter_says_to_retrain(tmp_path):
    path = tmp_path / "geometry.npz"
    _model().save(path)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays["header"].tobytes())
    del header["params"]["detail"]  # a file from before the hyper-parameter existed
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "old.npz", **arrays)
    with pytest.raises(ModelFileError, match="another version of pixelfes: retrain"):
        load(tmp_path / "old.npz")
