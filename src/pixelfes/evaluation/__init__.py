"""Evaluation metrics for synthesized faces: image quality, expression and identity.

Every metric is a small pure function on numpy images (uint8 or float in [0, 1]). The
metrics that need model weights (LPIPS, the expression classifier, the identity embedding)
import their optional packages lazily and raise an ImportError naming the ``eval`` extra
when they are missing. Names are imported on first use so that this package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "psnr": "metrics",
    "ssim": "metrics",
    "sharpness": "metrics",
    "batch_psnr": "metrics",
    "batch_ssim": "metrics",
    "batch_sharpness": "metrics",
    "mean_ci": "metrics",
    "ConfidenceInterval": "metrics",
    "LPIPS": "lpips",
    "lpips": "lpips",
    "ExpressionClassifier": "classifier",
    "expression_accuracy": "classifier",
    "EXPRESSIONS": "classifier",
    "IdentityEmbedder": "identity",
    "identity_distance": "identity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pixelfes.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pixelfes.evaluation.{module}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
