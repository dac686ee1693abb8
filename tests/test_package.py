import pytest

import pixelfes


def test_unknown_attribute_names_itself():
    with pytest.raises(AttributeError, match="no_such_name"):
        pixelfes.no_such_name  # noqa: B018


def test_data_root_honours_environment(tmp_path, monkeypatch):
    from pixelfes.config import data_root

    monkeypatch.setenv("PIXELFES_DATA", str(tmp_path))
    assert data_root() == tmp_path
    monkeypatch.setenv("PIXELFES_DATA", str(tmp_path / "missing"))
    assert data_root() is None


def test_tests_do_not_write_to_the_users_cache() -> None:
    import os
    from pathlib import Path

    from pixelfes.config import cache_dir

    assert os.environ.get("PIXELFES_CACHE")  # set by the user, or by tests/conftest.py
    assert cache_dir() != Path.home() / ".cache" / "pixelfes"
