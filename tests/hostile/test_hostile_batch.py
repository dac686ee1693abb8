"""Findings of the hostile-input campaign on folders, files, signals and videos."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from pixelfes.atomic import TEMP_PREFIX
from pixelfes.batch import Job, plan_jobs, run_jobs
from pixelfes.cli import main
from pixelfes.exceptions import ImageError

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


def run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


class Odd(Exception):
    pass


def _raise_anything(job: Job) -> None:
    kinds = {"a": KeyError("k"), "b": Odd("odd"), "c": MemoryError(), "d": ZeroDivisionError()}
    if job.source.stem in kinds:
        raise kinds[job.source.stem]
    if job.source.stem == "e":
        os._exit(3)  # a worker killed mid-job (e.g. by the out-of-memory killer)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_any_per_file_failure_is_contained(tmp_path, n_jobs):
    names = ["a", "b", "c", "d", "ok"] + (["e"] if n_jobs > 1 else [])
    jobs = [Job(tmp_path / f"{n}.jpg", tmp_path / f"{n}_out.jpg") for n in names]
    summary = run_jobs(jobs, _raise_anything, n_jobs=n_jobs)
    failed = {path.stem: reason for path, reason in summary.failed}
    assert set(failed) == set(names) - {"ok"}
    assert "Odd: odd" in failed["b"] and "MemoryError" in failed["c"]
    if n_jobs > 1:
        assert "worker process died" in failed["e"]
    assert summary.exit_code == 1


def test_a_dead_worker_fails_only_its_own_file(tmp_path):
    # The crash comes first: every other job is still queued on the pool it breaks.
    names = ["e", "ok1", "b", "ok2", "ok3"]
    jobs = [Job(tmp_path / f"{n}.jpg", tmp_path / f"{n}_out.jpg") for n in names]
    summary = run_jobs(jobs, _raise_anything, n_jobs=2)
    failed = {path.stem: reason for path, reason in summary.failed}
    assert set(failed) == {"e", "b"}
    assert "worker process died" in failed["e"] and "Odd: odd" in failed["b"]
    assert sorted(p.stem for p in summary.written) == ["ok1_out", "ok2_out", "ok3_out"]


def test_same_name_inputs_never_share_an_output(tmp_path):
    a, b = _touch(tmp_path / "a" / "x.jpg"), _touch(tmp_path / "b" / "x.jpg")
    c = _touch(tmp_path / "d1" / "a" / "y.jpg")
    d = _touch(tmp_path / "d2" / "a" / "y.jpg")
    jobs = plan_jobs([a, b, c.parent, d.parent], tmp_path / "out", "happy")
    targets = [job.target for job in jobs]
    assert len(set(targets)) == 4
    assert targets[:2] == [tmp_path / "out" / "x_happy.jpg", tmp_path / "out" / "x_happy_2.jpg"]


def test_existing_output_is_never_replaced_without_overwrite(tmp_path):
    photo = _touch(tmp_path / "me.jpg")
    _touch(tmp_path / "me_happy.jpg")
    with pytest.raises(ValueError, match="--overwrite"):
        plan_jobs([photo], None, "happy")
    assert plan_jobs([photo], None, "happy", overwrite=True)[0].target.name == "me_happy.jpg"


def test_intensity_is_in_the_default_name_and_reruns_never_overwrite(tmp_path):
    photo = Path(shutil.copy(PORTRAIT, tmp_path / "p.jpg"))
    assert run("edit", photo, "--intensity", "0.5")[0] == 0
    assert run("edit", photo)[0] == 0
    assert (tmp_path / "p_happy-0.5.jpg").is_file() and (tmp_path / "p_happy.jpg").is_file()
    before = (tmp_path / "p_happy.jpg").read_bytes()
    code, out = run("edit", photo, "--model", "neutral-to-happy", "-o", tmp_path / "p_happy.jpg")
    assert code == 2 and "--overwrite" in out
    assert (tmp_path / "p_happy.jpg").read_bytes() == before


def _with_metadata(path: Path) -> Path:
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    Image.open(PORTRAIT).save(path, exif=exif.tobytes(), icc_profile=b"icc" * 50, quality=95)
    return path


def test_in_place_keeps_mode_metadata_and_symlink(tmp_path):
    real = _with_metadata(tmp_path / ("r" * 240 + ".jpg"))  # long names work in place too
    os.chmod(real, 0o640)
    link = tmp_path / "link.jpg"
    link.symlink_to(real.name)
    before = real.read_bytes()
    code, out = run("edit", link, real, "--in-place", "--intensity", "0.5")
    assert code == 0, out
    assert "1 of 1 edited" in out  # the link and its target are one file: edited once
    assert link.is_symlink() and os.readlink(link) == real.name
    assert real.read_bytes() != before
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    with Image.open(real) as im:
        assert im.info["icc_profile"] == b"icc" * 50 and im.getexif()[0x010F] == "Maker"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([real.name, "link.jpg"])


def test_output_name_too_long_is_a_usage_error(tmp_path):
    photo = Path(shutil.copy(PORTRAIT, tmp_path / "p.jpg"))
    code, out = run("edit", photo, "-o", tmp_path / ("z" * 300 + ".jpg"))
    assert code == 2 and "file system allows" in out


def test_temporary_files_are_skipped_by_folder_scans(tmp_path):
    _touch(tmp_path / "in" / "a.jpg")
    _touch(tmp_path / "in" / f"{TEMP_PREFIX}1234abcd.tmp.mp4")
    jobs = plan_jobs([tmp_path / "in"], tmp_path / "out", "happy")
    assert [job.source.name for job in jobs] == ["a.jpg"]


_SLOW_BATCH = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pixelfes.atomic import atomic_path
    from pixelfes.batch import Job, interrupt_on_sigterm, run_jobs

    def work(job):
        with atomic_path(job.target) as tmp:
            tmp.write_bytes(b"partial")
            time.sleep(60)

    if __name__ == "__main__":
        out = Path(sys.argv[1])
        jobs = [Job(out / f"{i}.jpg", out / f"{i}_out.jpg") for i in range(4)]
        with interrupt_on_sigterm():
            run_jobs(jobs, work, n_jobs=int(sys.argv[2]))
    """
)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    found = _children(pid)
    return found + [d for child in found for d in _descendants(child)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("sig", "n_jobs"),
    [
        (signal.SIGTERM, 2),
        (signal.SIGKILL, 2),
        (signal.SIGINT, 2),
        (signal.SIGTERM, 1),
        (signal.SIGINT, 1),
    ],
)
def test_signals_remove_temporaries_and_workers_die_with_the_parent(tmp_path, sig, n_jobs):
    script = tmp_path / "slow_batch.py"
    script.write_text(_SLOW_BATCH)
    out = tmp_path / "out"
    out.mkdir()
    # A runner started in the background ignores SIGINT, and children inherit that: restore
    # the default so the script sees Ctrl+C as a user's terminal would send it.
    process = subprocess.Popen(
        [sys.executable, str(script), str(out), str(n_jobs)],
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while len(list(out.iterdir())) < n_jobs:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    workers = _descendants(process.pid)  # the fork server and its workers
    process.send_signal(sig)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) or list(out.iterdir()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not [pid for pid in workers if _alive(pid)], "workers outlived the parent"
    assert list(out.iterdir()) == [], "temporary files left behind"


def _write_video(path: Path, fourcc: str, frames: int = 40) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 5 * i, np.uint8))
    writer.release()
    return path


def test_unsupported_video_output_is_refused_before_processing(tmp_path):
    clip = _write_video(tmp_path / "clip.avi", "MJPG")
    code, out = run("edit", clip, "-o", tmp_path / "out.webm")
    assert code == 2 and "cannot write video" in out
    assert not (tmp_path / "out.webm").exists()


def test_webm_input_gets_a_writable_default_output(tmp_path):
    from pixelfes.cli.edit import _output_suffix

    webm = _touch(tmp_path / "clip.webm")
    jobs = plan_jobs(
        [webm, _touch(tmp_path / "c.MOV")], None, "happy", output_suffix=_output_suffix
    )
    assert [job.target.name for job in jobs] == ["clip_happy.mp4", "c_happy.MOV"]


def test_truncated_video_is_reported(tmp_path):
    from pixelfes.editing import load_model
    from pixelfes.video import edit_video

    whole = _write_video(tmp_path / "whole.avi", "MJPG").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ImageError, match="truncated"):
        edit_video(cut, tmp_path / "out.avi", model=load_model("happy"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.avi", "whole.avi"]


def test_concat_list_and_playlist_are_never_followed(tmp_path):
    from pixelfes.editing import load_model
    from pixelfes.video import edit_video

    secret = _write_video(tmp_path / "secret.avi", "MJPG")
    concat = tmp_path / "x.mp4"
    concat.write_text(f"ffconcat version 1.0\nfile '{secret}'\n")
    playlist = tmp_path / "y.mkv"
    playlist.write_text(f"#EXTM3U\n#EXTINF:1,\n{secret}\n")
    for path in (concat, playlist):
        with pytest.raises(ImageError, match="never followed"):
            edit_video(path, tmp_path / "out.mp4", model=load_model("happy"))
    assert not (tmp_path / "out.mp4").exists()
