"""The command line through its real entry point: exit codes, messages and outputs."""

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from pixelfes.cli import main
from pixelfes.imageio import read_image, write_image

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture()
def photo(tmp_path) -> Path:
    return Path(shutil.copy(PORTRAIT, tmp_path / "portrait.jpg"))


@pytest.fixture()
def no_face(tmp_path) -> Path:
    ramp = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    return write_image(tmp_path / "gradient.png", np.dstack([ramp] * 3))


def test_photo_is_edited_beside_the_input(photo):
    before = photo.read_bytes()
    code, out = run("edit", photo, "--to", "happy")
    assert code == 0, out
    edited = photo.with_name("portrait_happy.jpg")
    assert read_image(edited).shape == read_image(photo).shape
    assert photo.read_bytes() == before
    assert "1 of 1 edited, 0 failed" in out


def test_folder_with_a_bad_file_keeps_going_and_exits_1(tmp_path, photo, no_face):
    (tmp_path / "broken.jpg").write_bytes(b"this is not a jpeg")
    out_dir = tmp_path / "out"
    code, out = run("edit", tmp_path, "--to", "sad", "-o", out_dir, "--jobs", "2")
    assert code == 1
    assert (out_dir / "portrait.jpg").is_file()
    assert not (out_dir / "broken.jpg").exists() and not (out_dir / "gradient.png").exists()
    assert "broken.jpg" in out and "gradient.png" in out and "no face found" in out
    assert "1 of 3 edited, 2 failed" in out
    assert not [p for p in out_dir.rglob(".*")], "temporary files left behind"


def test_no_face_image_exits_1_naming_the_file(no_face):
    code, out = run("edit", no_face)
    assert code == 1
    assert f"failed {no_face}: no face found in {no_face}" in out


def test_video_frames_are_edited(tmp_path):
    frame = read_image(PORTRAIT)[:, :, ::-1]
    source = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*"mp4v"), 10, (512, 512))
    for shift in range(6):
        moved = np.ascontiguousarray(np.roll(frame, 2 * shift, axis=1))
        writer.write(moved)
    writer.release()
    code, out = run("edit", source, "--to", "surprise")
    assert code == 0, out
    capture = cv2.VideoCapture(str(tmp_path / "clip_surprise.mp4"))
    frames = []
    while (ok_frame := capture.read())[0]:
        frames.append(ok_frame[1])
    assert len(frames) == 6 and frames[0].shape == (512, 512, 3)


def test_unwritable_output_exits_1_with_the_reason(photo, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, out = run("edit", photo, "-o", blocker / "sub" / "out.jpg")
    assert code == 1
    assert "failed" in out and str(photo) in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Missing argument"),
        (("missing.jpg",), "input not found: missing.jpg"),
        (("{photo}", "--intensity", "2"), "not in the range"),
        (("{photo}", "--to", "bored"), "'bored' is not one of 'anger'"),
        (("{photo}", "--model", "bored"), "unknown model 'bored'"),
        (("{photo}", "-o", "{photo}"), "would overwrite an input"),
    ],
)
def test_usage_errors_exit_2(photo, args, message):
    args = [a.format(photo=photo) for a in args]
    code, out = run("edit", *args)
    assert code == 2
    assert message in out


def test_in_place_overwrites_only_when_asked(photo):
    before = photo.read_bytes()
    code, _ = run("edit", photo, "--in-place", "--intensity", "0.5")
    assert code == 0 and photo.read_bytes() != before


def test_models_lists_cards(tmp_path):
    code, out = run("models")
    assert code == 0 and "neutral-to-happy" in out and "neutral-to-fear" in out
    code, out = run("models", "neutral-to-sad")
    assert code == 0 and "Research use only" in out


def test_installed_entry_point_runs_the_demo(tmp_path):
    script = Path(sys.executable).with_name("pixelfes")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pixelfes"]
    sheet = tmp_path / "demo.png"
    done = subprocess.run(
        [*command, "demo", "-o", str(sheet)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"},
    )
    assert done.returncode == 0, done.stderr
    image = read_image(sheet)
    assert image.shape[1] > 7 * 256
