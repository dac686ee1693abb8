"""pixelfes: pixel-based facial expression synthesis.

Each output pixel is a small regression on the one input pixel at the same location
(Pixel-RR and Pixel-KR), which keeps models tiny, fast and robust on unseen faces.
Public names are imported lazily so that ``import pixelfes`` stays cheap.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "PixelRidge": "pixelfes.models",
    "PixelKernelRidge": "pixelfes.models",
    "MaskedRidge": "pixelfes.models",
    "GlobalRidge": "pixelfes.models",
    "FlowPixelRidge": "pixelfes.models",
    "align": "pixelfes.faces",
    "paste_back": "pixelfes.faces",
    "edit": "pixelfes.editing",
    "load_model": "pixelfes.editing",
    "PixelfesError": "pixelfes.exceptions",
    "InvalidInputError": "pixelfes.exceptions",
    "InvalidImageError": "pixelfes.exceptions",
    "InvalidModelError": "pixelfes.exceptions",
    "NotFittedError": "pixelfes.exceptions",
    "NoFaceError": "pixelfes.exceptions",
    "ModelFileError": "pixelfes.exceptions",
    "ImageError": "pixelfes.exceptions",
    "ImageTooLargeError": "pixelfes.exceptions",
    "DatasetError": "pixelfes.exceptions",
}

#: Former names, kept for one release: name -> (module, attribute, what to use instead).
_DEPRECATED = {
    "load": ("pixelfes.models", "load", "pixelfes.load_model (files and bundled names)"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        module, attribute, instead = _DEPRECATED[name]
        warnings.warn(
            f"pixelfes.{name} is deprecated and will be removed in the next release; use {instead}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), attribute)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pixelfes' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
