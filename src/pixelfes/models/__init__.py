"""Per-pixel regression models for facial expression synthesis (Section III of the paper).

Images are (N, H, W) or (N, H, W, C) stacks, uint8 (divided by 255) or float on the
[0, 1] intensity scale; every model follows scikit-learn conventions (``fit(X, T)``
returns self, fitted attributes end in ``_``) and saves to a versioned, pickle-free
``.npz`` file read back by :func:`load`.
"""

from __future__ import annotations

from pixelfes.models._registry import MODEL_CLASSES, MODEL_FAMILIES
from pixelfes.models.flow_ridge import FlowPixelRidge
from pixelfes.models.geometry_model import GeometryModel
from pixelfes.models.global_ridge import GlobalRidge
from pixelfes.models.lookup_table import PixelLookupTable
from pixelfes.models.masked_ridge import MaskedRidge
from pixelfes.models.pixel_kernel_ridge import PixelKernelRidge
from pixelfes.models.pixel_ridge import PixelRidge
from pixelfes.models.serialization import FORMAT_VERSION, load
from pixelfes.models.shape_ridge import ShapeRidge

__all__ = [
    "FORMAT_VERSION",
    "MODEL_CLASSES",
    "MODEL_FAMILIES",
    "FlowPixelRidge",
    "GeometryModel",
    "GlobalRidge",
    "MaskedRidge",
    "PixelKernelRidge",
    "PixelLookupTable",
    "PixelRidge",
    "ShapeRidge",
    "load",
]
