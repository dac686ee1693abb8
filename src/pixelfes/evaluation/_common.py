"""Helpers shared by the evaluation metrics (private); the image checks live in pixelfes.metrics."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from pixelfes.metrics import as_float_batch, as_image, same_shape, to_float

__all__ = [
    "EXTRA",
    "as_float_batch",
    "as_image",
    "missing",
    "package_file",
    "same_shape",
    "to_float",
]

EXTRA = "eval"


def missing(package: str, pin: str, what: str) -> ImportError:
    """Return an ImportError naming the optional package and the ``eval`` extra."""
    return ImportError(
        f"{what} needs the optional package {package!r}: pip install {pin} "
        f"(part of the '{EXTRA}' extra: pip install 'pixelfes[{EXTRA}]')"
    )


def package_file(module: str, relative: str, absent: ImportError, lacking: ImportError) -> Path:
    """The file ``relative`` inside the installed package ``module``, located without
    importing the package (its own imports may need what is not installed).

    Raises
    ------
    ImportError
        ``absent`` when the package is not installed, ``lacking`` when it has no such file.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise absent
    for location in spec.submodule_search_locations:
        path = Path(location) / relative
        if path.is_file():
            return path
    raise lacking
