from pathlib import Path

import pytest

from pixelfes.batch import Job, plan_jobs, run_jobs


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_single_file_goes_beside_input_with_tag(tmp_path):
    photo = _touch(tmp_path / "me.jpg")
    assert plan_jobs([photo], None, "happy") == [Job(photo, tmp_path / "me_happy.jpg")]


def test_single_file_to_named_output_and_to_folder(tmp_path):
    photo = _touch(tmp_path / "me.png")
    assert plan_jobs([photo], tmp_path / "out.png", "sad")[0].target == tmp_path / "out.png"
    (tmp_path / "outdir").mkdir()
    target = plan_jobs([photo], tmp_path / "outdir", "sad")[0].target
    assert target == tmp_path / "outdir" / "me_sad.png"


def test_folder_is_mirrored_and_non_media_ignored(tmp_path):
    folder = tmp_path / "album"
    a = _touch(folder / "a.jpg")
    b = _touch(folder / "sub" / "b.PNG")
    _touch(folder / "notes.txt")
    jobs = plan_jobs([folder], None, "happy")
    assert jobs == [
        Job(a, tmp_path / "album_happy" / "a.jpg"),
        Job(b, tmp_path / "album_happy" / "sub" / "b.PNG"),
    ]
    two = plan_jobs([folder, _touch(tmp_path / "c.jpg")], tmp_path / "out", "happy")
    assert two[0].target == tmp_path / "out" / "album" / "a.jpg"
    assert two[-1].target == tmp_path / "out" / "c_happy.jpg"


def test_refuses_to_overwrite_inputs_unless_in_place(tmp_path):
    photo = _touch(tmp_path / "me.jpg")
    with pytest.raises(ValueError, match="overwrite an input"):
        plan_jobs([photo], photo, "happy")
    assert plan_jobs([photo], None, "happy", in_place=True) == [Job(photo, photo)]


def test_missing_input_and_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.jpg"):
        plan_jobs([tmp_path / "nothing.jpg"], None, "happy")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image or video"):
        plan_jobs([tmp_path / "empty"], None, "happy")


def _fail_on_b(job: Job) -> None:
    if job.source.name.startswith("b"):
        raise ValueError(f"no face found in {job.source.name}")


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_run_jobs_keeps_going_and_summarises(tmp_path, n_jobs):
    jobs = [Job(tmp_path / f"{n}.jpg", tmp_path / f"{n}_out.jpg") for n in ("a", "b", "c")]
    summary = run_jobs(jobs, _fail_on_b, n_jobs=n_jobs)
    assert summary.written == [tmp_path / "a_out.jpg", tmp_path / "c_out.jpg"]
    assert summary.failed == [(tmp_path / "b.jpg", "no face found in b.jpg")]
    assert summary.exit_code == 1
