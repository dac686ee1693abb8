"""A stand-in aligner for tests of training pipelines: no face detection involved."""

from __future__ import annotations

import numpy as np


class CentreCrop:
    """Nearest resize of the image's centre square; no face when the image is all black.

    Picklable (a top-level class), so that worker processes can run it.
    """

    cache_id = "test-centre-crop-v1"

    def __call__(self, image: np.ndarray, size: int) -> np.ndarray | None:
        if not image.any():
            return None
        idx = np.arange(size) * min(image.shape[:2]) // size
        return np.ascontiguousarray(image[idx][:, idx])
