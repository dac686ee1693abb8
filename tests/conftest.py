"""Shared fixtures: the shared datasets are optional; tests that need them skip with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixelfes.config import data_root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; skips the test when it is absent."""
    root = data_root()
    if root is None:
        pytest.skip("shared datasets not found: set PIXELFES_DATA or place them at ../shared/data")
    return root
