"""Shared fixtures: the shared datasets are optional; tests that need them skip with a reason.

Tests never write to the user's cache: unless ``PIXELFES_CACHE`` is set explicitly (e.g.
to a cache of aligned crops shared between runs, for speed), the whole session uses a
temporary cache folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pixelfes.config import CACHE_ENV, data_root


@pytest.fixture(scope="session", autouse=True)
def _temporary_cache(tmp_path_factory: pytest.TempPathFactory):
    """Point PIXELFES_CACHE at a session-wide temporary folder unless it is set already."""
    if os.environ.get(CACHE_ENV):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("pixelfes-cache")))
        yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; skips the test when it is absent."""
    root = data_root()
    if root is None:
        pytest.skip("shared datasets not found: set PIXELFES_DATA or place them at ../shared/data")
    return root
