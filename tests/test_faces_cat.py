"""Cat faces with OpenCV's cat cascades, and the faces CLI (the CC0 cat is in the shared data)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pixelfes.cli import main
from pixelfes.editing import edit_image
from pixelfes.faces import align, apply_affine, template_points
from pixelfes.faces.cat import CatFaceDetector
from pixelfes.imageio import read_image, write_image

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))
# Eye centres of the CC0 "chelsea" photo, marked by hand.
CHELSEA_EYES = np.array([[172.0, 112.0], [318.0, 137.0]])


@pytest.fixture(scope="module")
def chelsea(shared_data) -> np.ndarray:
    path = shared_data / "wild" / "chelsea_cat.png"
    if not path.is_file():
        pytest.skip("wild/chelsea_cat.png not found in the shared data")
    return read_image(path)


@pytest.fixture
def two_faces(tmp_path) -> tuple[Path, np.ndarray]:
    """A photo file of two faces side by side (the portrait and its mirror), and its pixels."""
    portrait = read_image(PORTRAIT)
    pair = np.ascontiguousarray(np.hstack([portrait, portrait[:, ::-1]]))
    photo = tmp_path / "pair.png"
    write_image(photo, pair)
    return photo, pair


def _eye_error(face, eyes: np.ndarray) -> float:
    """Largest eye error over the inter-ocular distance."""
    iod = np.hypot(*(eyes[1] - eyes[0]))
    return float(np.hypot(*(face.points[:2] - eyes).T).max() / iod)


@pytest.mark.data
def test_cat_face_on_the_close_up(chelsea):
    (face,) = CatFaceDetector().detect(chelsea)
    assert _eye_error(face, CHELSEA_EYES) < 0.1  # measured 0.04 (0.11 from the box alone)
    crop = align(chelsea, landmarks=face)[0]
    eyes_in_crop = apply_affine(crop.matrix, CHELSEA_EYES)
    assert np.abs(eyes_in_crop - template_points(128)[:2]).max() < 0.1 * 128 * 0.35
    from_box = CatFaceDetector(find_pupils=False).detect(chelsea)[0]
    assert _eye_error(from_box, CHELSEA_EYES) > _eye_error(face, CHELSEA_EYES)


@pytest.mark.data
@pytest.mark.parametrize("scale", [0.5, 0.7])
def test_cat_face_in_a_generated_scene(chelsea, scale):
    """The cat, smaller, pasted onto a noisy grey backdrop at a known place."""
    import cv2

    small = cv2.resize(chelsea, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    scene = np.clip(90 + rng.normal(0, 12, (400, 600, 3)), 0, 255).astype(np.uint8)
    scene[100 : 100 + small.shape[0], 150 : 150 + small.shape[1]] = small
    found = CatFaceDetector().detect(scene)
    eyes = CHELSEA_EYES * scale + [150, 100]
    assert min(_eye_error(face, eyes) for face in found) < 0.1
    edited = edit_image(scene, "happy", detector="cat")
    assert not np.array_equal(edited.image, scene)


def test_no_cat_in_a_human_portrait_or_a_blank():
    assert CatFaceDetector().detect(np.full((300, 300, 3), 128, np.uint8)) == []
    assert CatFaceDetector().detect(read_image(PORTRAIT)) == []


def test_faces_command_lists_and_previews(two_faces, tmp_path):
    photo, pair = two_faces
    preview = tmp_path / "preview.png"
    result = CliRunner().invoke(main, ["faces", str(photo), "--preview", str(preview)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert [line.split("\t")[0] for line in lines] == ["0", "1"]
    boxes = [[int(v) for v in line.split("\t")[1].split()[1].split(",")] for line in lines]
    assert boxes[0][0] < pair.shape[1] // 2 < boxes[1][0]
    assert read_image(preview).shape == pair.shape


def test_edit_face_and_region_options(two_faces, tmp_path):
    photo, pair = two_faces
    out = tmp_path / "out.png"
    args = ["edit", str(photo), "-o", str(out), "--face", "1", "--region", "mouth=1.2,eyes=0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    edited = read_image(out)
    half = pair.shape[1] // 2
    assert np.array_equal(edited[:, :half], pair[:, :half])
    assert not np.array_equal(edited[:, half:], pair[:, half:])
    expected = edit_image(pair, "happy", face=1, regions={"mouth": 1.2, "eyes": 0.0}).image
    assert np.array_equal(edited, expected)
    bad = CliRunner().invoke(main, ["edit", str(photo), "-o", str(out), "--region", "nose=1"])
    assert bad.exit_code == 2 and "unknown region 'nose'" in bad.output


def test_face_choice_on_a_video_is_refused_with_the_reason(tmp_path):
    import cv2

    source = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 64))
    writer.write(np.zeros((64, 64, 3), np.uint8))
    writer.release()
    result = CliRunner().invoke(main, ["edit", str(source), "--face", "0", "--region", "eyes=0"])
    assert result.exit_code == 1
    assert "--face, --region work on photos only, not on videos" in result.output
