"""The one exception hierarchy of pixelfes: each error names the problem (and the file).

Every error pixelfes raises on purpose is a :class:`PixelfesError`; the input errors are
also ``ValueError`` so that callers that caught ``ValueError`` keep working::

    PixelfesError
    ├── InvalidInputError (ValueError)      an argument has the wrong shape, dtype or value
    │   ├── NotFittedError (AttributeError) a model used before ``fit``
    │   └── GeometryError                   unusable landmarks, a folded mesh
    ├── InvalidImageError (ValueError)      an image cannot be read or has a bad layout
    │   └── ImageTooLargeError              more pixels than the decoding limit
    ├── InvalidModelError (ValueError)      a model file is corrupt, foreign or too new
    ├── NoFaceError (ValueError)            no usable face in an image
    ├── DatasetError (ValueError)           a dataset/folder is missing, empty or unpaired
    └── MissingDependencyError (ImportError, ValueError) an optional package is missing

``ImageError`` and ``ModelFileError`` are the former names of ``InvalidImageError`` and
``InvalidModelError`` (the same classes).
"""

from __future__ import annotations

__all__ = [
    "DatasetError",
    "GeometryError",
    "ImageError",
    "ImageTooLargeError",
    "InvalidImageError",
    "InvalidInputError",
    "InvalidModelError",
    "MissingDependencyError",
    "ModelFileError",
    "NoFaceError",
    "NotFittedError",
    "PixelfesError",
]


class PixelfesError(Exception):
    """Base class of every error pixelfes raises on purpose."""


class InvalidInputError(PixelfesError, ValueError):
    """An argument has the wrong shape, dtype or value (an image stack, a hyper-parameter)."""


class NotFittedError(InvalidInputError, AttributeError):
    """A model was used (``predict``, ``save``...) before ``fit``."""


class InvalidModelError(PixelfesError, ValueError):
    """A model file is corrupt, truncated, foreign or written by a newer format version."""


class InvalidImageError(PixelfesError, ValueError):
    """An image cannot be read or has an unsupported layout."""


class ImageTooLargeError(InvalidImageError):
    """An image has more pixels than the configured limit (decompression-bomb guard)."""


class NoFaceError(PixelfesError, ValueError):
    """No usable face was found in an image."""


class DatasetError(PixelfesError, ValueError):
    """A dataset or image folder is missing, empty, unpaired or uses an unknown label."""


class MissingDependencyError(PixelfesError, ImportError, ValueError):
    """An optional package a feature needs is not installed; the message says how to install it.

    Also a ``ValueError``, like every pixelfes error, so that one ``except ValueError``
    still catches everything pixelfes raises on purpose.
    """


class GeometryError(InvalidInputError):
    """Landmarks or a mesh warp are unusable: NaN, outside the image, folded triangles."""


#: Former name of :class:`InvalidImageError` (the same class).
ImageError = InvalidImageError
#: Former name of :class:`InvalidModelError` (the same class).
ModelFileError = InvalidModelError
