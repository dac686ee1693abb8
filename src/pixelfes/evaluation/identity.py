"""Identity preservation: distance between dlib's 128-d face embeddings of two crops.

The embedding is dlib's ResNet face-recognition model (``dlib_face_recognition_resnet_model_v1``,
99.38% on LFW as published by dlib) with its 5-point landmark predictor, both shipped in
``face-recognition-models==0.3.0`` and run by ``dlib-bin==20.0.1.post1`` (a prebuilt dlib).
No face detection is run: the inputs are already aligned face crops, so the whole crop is
given to the landmark predictor as the face rectangle; dlib then cuts its own 150x150 chip
from the five landmarks. By dlib's convention a Euclidean distance below 0.6 means "same
person".

The model files are located without importing ``face_recognition_models`` (whose
``__init__`` needs ``pkg_resources``, gone from recent setuptools).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from pixelfes.evaluation._common import as_float_batch, missing, package_file

__all__ = ["EMBEDDING_SIZE", "SAME_PERSON_THRESHOLD", "IdentityEmbedder", "identity_distance"]

EMBEDDING_SIZE = 128
#: dlib's suggested decision threshold on the embedding distance.
SAME_PERSON_THRESHOLD = 0.6

_MODELS = "face-recognition-models==0.3.0"


def _model_file(name: str) -> Path:
    return package_file(
        "face_recognition_models",
        f"models/{name}",
        missing("face-recognition-models", _MODELS, "identity_distance"),
        missing("face-recognition-models", _MODELS, f"identity_distance ({name} missing)"),
    )


@functools.lru_cache(maxsize=1)
def _dlib_models():
    try:
        import dlib
    except ImportError as exc:
        raise missing("dlib-bin", "dlib-bin==20.0.1.post1", "identity_distance") from exc
    predictor = dlib.shape_predictor(str(_model_file("shape_predictor_5_face_landmarks.dat")))
    encoder = dlib.face_recognition_model_v1(
        str(_model_file("dlib_face_recognition_resnet_model_v1.dat"))
    )
    return dlib, predictor, encoder


class IdentityEmbedder:
    """128-d dlib face embeddings of aligned face crops.

    Raises
    ------
    ImportError
        If ``dlib-bin`` or ``face-recognition-models`` is not installed.
    """

    def __init__(self) -> None:
        self._dlib, self._predictor, self._encoder = _dlib_models()

    def embed(self, faces: np.ndarray) -> np.ndarray:
        """Return embeddings of shape (N, 128) for (N, S, S, C) crops (or one (S, S, C) crop).

        Crops are uint8 or float in [0, 1], RGB (C = 3) or grayscale (C = 1, replicated).
        """
        x, _ = as_float_batch(faces, "faces", rgb=True)
        if min(x.shape[1:3]) < 32:
            raise ValueError(f"face crops must be at least 32x32, got {x.shape[1:3]}")
        images = np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
        height, width = images.shape[1:3]
        rect = self._dlib.rectangle(0, 0, width - 1, height - 1)
        out = np.empty((len(images), EMBEDDING_SIZE), dtype=np.float64)
        for i, image in enumerate(images):
            image = np.ascontiguousarray(image)
            shape = self._predictor(image, rect)
            out[i] = np.asarray(self._encoder.compute_face_descriptor(image, shape))
        return out

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-pair Euclidean embedding distance of two batches, shape (N,)."""
        ea, eb = self.embed(a), self.embed(b)
        if ea.shape != eb.shape:
            raise ValueError(f"a and b hold different numbers of faces: {len(ea)} vs {len(eb)}")
        return np.linalg.norm(ea - eb, axis=1)


def identity_distance(
    a: np.ndarray, b: np.ndarray, embedder: IdentityEmbedder | None = None
) -> float | np.ndarray:
    """Euclidean distance between dlib face embeddings of aligned crops.

    Parameters
    ----------
    a, b : ndarray
        One (S, S, C) crop each, or (N, S, S, C) batches of the same shape; uint8 or float
        in [0, 1].
    embedder : IdentityEmbedder, optional
        Reuse loaded models.

    Returns
    -------
    float or ndarray
        The distance (a float for single crops, shape (N,) for batches). Smaller means more
        alike; below :data:`SAME_PERSON_THRESHOLD` (0.6) dlib calls it the same person.
    """
    if np.shape(a) != np.shape(b):
        raise ValueError(f"a and b differ in shape: {np.shape(a)} vs {np.shape(b)}")
    distances = (embedder or IdentityEmbedder()).distance(a, b)
    return float(distances[0]) if np.ndim(a) in (2, 3) else distances
