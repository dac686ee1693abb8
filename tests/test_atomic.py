import os
import stat

import pytest

from pixelfes.atomic import atomic_open, atomic_path


def test_written_file_has_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_open(tmp_path / "model.npz") as handle:
            handle.write(b"data")
    finally:
        os.umask(old)
    assert (tmp_path / "model.npz").read_bytes() == b"data"
    assert stat.S_IMODE((tmp_path / "model.npz").stat().st_mode) == 0o644


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_temporary_keeps_the_suffix_and_overwrite_guard(tmp_path):
    with atomic_path(tmp_path / "clip.mp4", keep_suffix=True) as tmp:
        assert tmp.suffix == ".mp4" and tmp.parent == tmp_path
        tmp.write_bytes(b"v")
    with (
        pytest.raises(FileExistsError, match="clip"),
        atomic_path(tmp_path / "clip.mp4", overwrite=False),
    ):
        pass
