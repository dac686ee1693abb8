"""File formats, the one definition: which file endings are images and which are videos."""

from __future__ import annotations

import os

__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "is_image", "is_video"]

#: Endings of the image files pixelfes reads (lower case, with the dot).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Endings of the video files ``pixelfes apply`` edits frame by frame.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")


def _ending(path: str | os.PathLike[str]) -> str:
    return os.path.splitext(os.fspath(path))[1].lower()


def is_image(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` ends in one of :data:`IMAGE_EXTENSIONS` (any case)."""
    return _ending(path) in IMAGE_EXTENSIONS


def is_video(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` ends in one of :data:`VIDEO_EXTENSIONS` (any case)."""
    return _ending(path) in VIDEO_EXTENSIONS
