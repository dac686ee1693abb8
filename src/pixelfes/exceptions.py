"""Exceptions raised by pixelfes; each names the problem and, where there is one, the file."""

from __future__ import annotations


class PixelfesError(Exception):
    """Base class of every error pixelfes raises on purpose."""


class NotFittedError(PixelfesError, ValueError, AttributeError):
    """A model was used (``predict``, ``save``...) before ``fit``."""


class ModelFileError(PixelfesError, ValueError):
    """A model file is corrupt, truncated, foreign or written by a newer format version."""


class ImageError(PixelfesError, ValueError):
    """An image cannot be read or has an unsupported layout."""


class ImageTooLargeError(ImageError):
    """An image has more pixels than the configured limit (decompression-bomb guard)."""


class NoFaceError(PixelfesError, ValueError):
    """No usable face was found in an image."""


class DatasetError(PixelfesError, ValueError):
    """A dataset or image folder is missing, empty, unpaired or uses an unknown label."""
