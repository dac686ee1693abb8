"""Where pixelfes finds the shared datasets and keeps its cache (both configurable)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "PIXELFES_DATA"
CACHE_ENV = "PIXELFES_CACHE"
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def data_root() -> Path | None:
    """Return the shared data folder, or ``None`` when it cannot be found.

    Looked up in order: the ``PIXELFES_DATA`` environment variable, ``../shared/data``
    from the current directory, then ``../shared/data`` from the project's source checkout.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    for base in (Path.cwd(), _SOURCE_ROOT):
        path = (base / ".." / "shared" / "data").resolve()
        if path.is_dir():
            return path
    return None


def cache_dir() -> Path:
    """Return the cache folder (``PIXELFES_CACHE``, default ``~/.cache/pixelfes``)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "pixelfes"
