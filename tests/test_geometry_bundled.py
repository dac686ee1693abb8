"""The bundled geometry models: small, loadable, honest cards, and an edit on a real photo."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import pixelfes
from bundled_cards import check_card
from pixelfes.data import find_pairs, load_pairs
from pixelfes.editing import edit_image, load_model
from pixelfes.faces.regions import REGIONS
from pixelfes.imageio import read_image
from pixelfes.models import GeometryModel
from pixelfes.pretrained import bundled_models, find_bundled

GEOMETRY = [m for m in bundled_models() if m.variant == "geometry"]
PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


def _mesh_installed() -> bool:
    try:
        from pixelfes.faces.landmarks import require_dense_landmarks

        require_dense_landmarks()
    except ImportError:
        return False
    return True


needs_mesh = pytest.mark.skipif(
    not _mesh_installed(),
    reason="the face mesh is not installed (pip install --no-deps mediapipe==0.10.21)",
)


def test_every_expression_has_a_geometry_variant_by_name():
    expressions = ("happy", "surprise", "sad", "anger", "disgust", "fear")
    assert {(m.source, m.target) for m in GEOMETRY} >= {("neutral", e) for e in expressions}
    for expression in expressions:
        assert find_bundled(f"{expression}-geometry").name == f"neutral-to-{expression}-geometry"
        # The plain Pixel-RR model keeps its name.
        assert find_bundled(expression).name == f"neutral-to-{expression}"


@needs_mesh
@pytest.mark.parametrize("bundled", GEOMETRY, ids=lambda m: m.name)
def test_a_bare_expression_picks_geometry_only_where_preferred(bundled):
    from pixelfes.editing import PREFERRED_VARIANT

    preferred = PREFERRED_VARIANT.get(bundled.target) == "geometry"
    assert isinstance(load_model(bundled.target), GeometryModel) == preferred
    assert not isinstance(load_model(f"neutral-to-{bundled.target}"), GeometryModel)


@pytest.mark.parametrize("bundled", GEOMETRY, ids=lambda m: m.name)
def test_file_round_trip_keeps_the_model_and_its_calibration(bundled, tmp_path):
    from pixelfes.models import load

    model = load(bundled.path)
    assert 1.0 <= model.gain_ <= 4.0  # calibrated from held-out subjects' displacements
    model.save(tmp_path / "copy.npz", metadata=model.metadata_)
    copy = load(tmp_path / "copy.npz")
    assert copy.gain_ == model.gain_ and copy.metadata_ == model.metadata_
    for name in GeometryModel._array_names:
        np.testing.assert_array_equal(getattr(copy, name), getattr(model, name))
    shapes = model.mean_shape_[None].astype(np.float64)
    np.testing.assert_allclose(
        copy.target_shape(shapes) - shapes, model.gain_ * model.displacement(shapes), atol=1e-4
    )


@pytest.mark.parametrize("bundled", GEOMETRY, ids=lambda m: m.name)
def test_intensity_zero_returns_the_input_and_one_moves_it(bundled):
    from pixelfes.geometric import synthesize

    model = pixelfes.load_model(bundled.path)
    crops = np.random.default_rng(1).integers(40, 220, (1, 128, 128, 3), dtype=np.uint8)
    shapes = model.mean_shape_[None].astype(np.float64)
    still = synthesize(model, crops, 0.0, shapes=shapes)
    np.testing.assert_array_equal(still, crops / np.float32(255))
    moved = synthesize(model, crops, 1.0, shapes=shapes)
    assert np.abs(moved - still).mean() > 0.005


@pytest.mark.parametrize("bundled", GEOMETRY, ids=lambda m: m.name)
def test_loads_small_with_an_honest_card(bundled):
    assert bundled.path.stat().st_size <= 300 * 1024
    model = pixelfes.load_model(bundled.path)
    assert isinstance(model, GeometryModel)
    card = check_card(bundled, model)
    assert f"{model.gain_:.3f}" in card


@needs_mesh
def test_geometry_edit_of_the_bundled_portrait_changes_only_the_face_region():
    photo = read_image(PORTRAIT)
    result = edit_image(photo, model="surprise-geometry")
    ((x0, y0, x1, y1),) = result.faces
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(result.image[outside], photo[outside])
    changed = np.abs(result.image.astype(int) - photo).max(axis=-1) > 8
    assert changed[y0:y1, x0:x1].mean() > 0.02
    for bundled in GEOMETRY:
        still = edit_image(photo, model=bundled.name, intensity=0).image
        assert np.array_equal(still, photo), bundled.name


@needs_mesh
@pytest.mark.data
@pytest.mark.slow
def test_card_score_matches_a_re_evaluation(shared_data):
    from pixelfes.geometric import train_geometry

    model = load_model("happy-geometry")
    meta = model.metadata_
    aligned = load_pairs(find_pairs(meta["datasets"], "neutral", "happy", root=shared_data), 128)
    report = train_geometry(aligned.X, aligned.T, aligned.subjects, seed=meta["split_seed"])
    assert report.heldout_psnr == pytest.approx(meta["heldout_psnr"], abs=0.01)
    assert report.model.gain_ == pytest.approx(model.gain_, abs=1e-3)


def test_the_mouth_step_changes_only_the_opened_mouth():
    from pixelfes.faces.landmarks import INNER_LIPS
    from pixelfes.geometric import synthesize

    model = load_model("surprise-geometry")
    rng = np.random.default_rng(0)
    crops = rng.integers(60, 200, (1, 128, 128, 3), dtype=np.uint8)
    shapes = model.mean_shape_[None].astype(np.float64)
    with_step = synthesize(model, crops, 1.0, shapes=shapes)
    without = synthesize(model, crops, 1.0, shapes=shapes, mouth=False)
    target = model.target_shape(shapes, 1.0)[0][list(INNER_LIPS)]
    x0, y0 = np.floor(target.min(0)).astype(int) - 6
    x1, y1 = np.ceil(target.max(0)).astype(int) + 7
    differs = np.abs(with_step - without)[0].max(axis=-1) > 1e-6
    assert differs[y0:y1, x0:x1].any()
    differs[y0:y1, x0:x1] = False
    assert not differs.any()
    # Inside the opening the streaky input is smoothed away.
    inside = slice(int(target[:, 1].mean()) - 1, int(target[:, 1].mean()) + 2)
    middle = slice(int(target[:, 0].mean()) - 3, int(target[:, 0].mean()) + 4)
    assert with_step[0, inside, middle].std() < without[0, inside, middle].std()


def _cli(*args) -> tuple[int, str]:
    from click.testing import CliRunner

    from pixelfes.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


@needs_mesh
def test_edit_command_with_a_geometry_model_edits_a_photo_and_a_video(tmp_path):
    import cv2

    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(PORTRAIT.read_bytes())
    code, out = _cli("edit", photo, "--model", "happy-geometry")
    assert code == 0, out
    assert (tmp_path / "portrait_happy-geometry.jpg").is_file()
    frame = read_image(PORTRAIT)[:, :, ::-1]
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (512, 512))
    for shift in range(4):
        writer.write(np.ascontiguousarray(np.roll(frame, 2 * shift, axis=1)))
    writer.release()
    code, out = _cli("edit", clip, "--model", "surprise-geometry")
    assert code == 0, out


@needs_mesh
def test_keep_detail_keeps_the_photos_fine_detail(tmp_path):
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(PORTRAIT.read_bytes())
    for flags in ([], ["--keep-detail"]):
        code, out = _cli("edit", photo, "--model", "fear-geometry", *flags)
        assert code == 0, out
    import cv2

    from pixelfes.faces import align

    original = read_image(PORTRAIT)
    matrix = np.array(align(original, largest_only=True)[0].matrix)

    def fine_energy(image):
        """Energy of the detail finer than a 1 px Gaussian, in the centre of the face's crop."""
        crop = cv2.warpAffine(image, matrix, (128, 128), flags=cv2.INTER_AREA) / 255.0
        return float(((crop - cv2.GaussianBlur(crop, (0, 0), 1.0)) ** 2)[32:96, 24:104].mean())

    plain = fine_energy(read_image(tmp_path / "portrait_fear-geometry.jpg"))
    detail = fine_energy(read_image(tmp_path / "portrait_fear-geometry-detail.jpg"))
    # The default texture step halves the face's fine detail; --keep-detail keeps most of it.
    assert plain < 0.6 * fine_energy(original)
    assert detail > 1.4 * plain


def test_keep_detail_needs_a_geometry_model(tmp_path):
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(PORTRAIT.read_bytes())
    code, out = _cli("edit", photo, "--model", "neutral-to-fear", "--keep-detail")
    assert code == 2 and "--keep-detail works with geometry models" in out
    assert not list(tmp_path.glob("portrait_*"))


def test_missing_face_mesh_is_a_clear_error(tmp_path, monkeypatch):
    from pixelfes.exceptions import MissingDependencyError
    from pixelfes.faces import landmarks

    def absent():
        raise MissingDependencyError("dense landmarks need: pip install --no-deps mediapipe")

    monkeypatch.setattr(landmarks, "mesh_model_path", absent)
    landmarks._mesh.cache_clear()
    try:
        photo = tmp_path / "portrait.jpg"
        photo.write_bytes(PORTRAIT.read_bytes())
        code, out = _cli("edit", photo, "--model", "surprise-geometry")
        assert code == 1 and "mediapipe" in out and "Traceback" not in out
        assert not (tmp_path / "portrait_surprise-geometry.jpg").exists()
        with pytest.raises(MissingDependencyError, match="mediapipe"):
            edit_image(read_image(PORTRAIT), model="surprise-geometry")
    finally:
        landmarks._mesh.cache_clear()


@needs_mesh
@pytest.mark.data
def test_dense_landmarks_find_london_eyes_and_mouth_corners(shared_data):
    """Mesh points mapped back to the photo lie near the manual points (% of the IOD)."""
    from pixelfes.faces import align, apply_affine
    from pixelfes.faces.landmarks import dense_landmarks, eye_centres

    errors = []
    for tem in sorted((shared_data / "london" / "neutral").glob("*.tem"))[:25]:
        manual = np.loadtxt(tem, skiprows=1, max_rows=189)
        truth = manual[[0, 1, 87, 93]]  # pupils, mouth corners (image left first)
        face = align(read_image(tem.with_suffix(".jpg")), largest_only=True)[0]
        points = dense_landmarks(face.crop)
        found = apply_affine(face.inverse, np.vstack([eye_centres(points), points[[61, 291]]]))
        errors.append(np.hypot(*(found - truth).T) / np.hypot(*(truth[1] - truth[0])))
    errors = 100 * np.array(errors)
    assert errors[:, :2].mean() < 3.0  # 2.1% measured on all 102 faces
    assert errors[:, 2:].mean() < 4.5  # 3.2% measured


@needs_mesh
def test_region_doses_scale_a_geometry_models_movement_and_texture():
    portrait = read_image(PORTRAIT)
    full = edit_image(portrait, model="happy-geometry").image
    none = edit_image(portrait, model="happy-geometry", regions=dict.fromkeys(REGIONS, 0.0))
    assert np.array_equal(none.image, portrait)
    mouth = edit_image(portrait, model="happy-geometry", intensity=0.0, regions={"mouth": 1.0})
    moved, moved_all = (np.abs(x.astype(int) - portrait).sum() for x in (mouth.image, full))
    assert 0 < moved < moved_all


def test_train_geometry_refuses_options_it_cannot_honour(tmp_path):
    code, out = _cli("train", "--data", "london", "--geometry", "--cv", "-o", tmp_path / "m.npz")
    assert code == 2 and "--geometry" in out


@needs_mesh
@pytest.mark.data
@pytest.mark.slow
def test_train_geometry_command_writes_a_loadable_model(shared_data, tmp_path):
    output = tmp_path / "happy-geometry.npz"
    code, out = _cli("train", "--data", "london", "--to", "happy", "--geometry", "-o", output)
    assert code == 0, out
    assert "geometry(" in out and "held-out PSNR" in out
    model = load_model(output)
    assert isinstance(model, GeometryModel)
    assert model.metadata_["target_expression"] == "happy"


@needs_mesh
def test_default_model_falls_back_to_plain_for_a_face_the_mesh_cannot_follow(monkeypatch):
    import pixelfes.geometric
    from pixelfes.exceptions import GeometryError

    assert isinstance(load_model("happy"), GeometryModel)
    portrait = read_image(PORTRAIT)

    def folds(*args, **kwargs):
        raise GeometryError("the predicted face shape folds the mesh")

    monkeypatch.setattr(pixelfes.geometric, "edit_face", folds)
    with pytest.warns(UserWarning, match="plain Pixel-RR"):
        fallen = edit_image(portrait, "happy")
    plain = edit_image(portrait, model="neutral-to-happy")
    assert np.array_equal(fallen.image, plain.image) and fallen.faces == plain.faces
    with pytest.raises(GeometryError):  # a geometry model asked for by name is not replaced
        edit_image(portrait, model="happy-geometry")


@needs_mesh
def test_cat_faces_get_the_plain_model():
    from pixelfes.editing import _default_models

    model, fallback = _default_models("happy", "cat")
    assert not isinstance(model, GeometryModel) and fallback is None
