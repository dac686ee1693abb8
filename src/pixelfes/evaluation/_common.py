"""Helpers shared by the evaluation metrics (private); the image checks live in pixelfes.metrics."""

from __future__ import annotations

from pixelfes.metrics import as_float_batch, as_image, same_shape, to_float

__all__ = ["EXTRA", "as_float_batch", "as_image", "missing", "same_shape", "to_float"]

EXTRA = "eval"


def missing(package: str, pin: str, what: str) -> ImportError:
    """Return an ImportError naming the optional package and the ``eval`` extra."""
    return ImportError(
        f"{what} needs the optional package {package!r}: pip install {pin} "
        f"(part of the '{EXTRA}' extra: pip install 'pixelfes[{EXTRA}]')"
    )
