"""Dense landmarks on an aligned crop: the 468-point MediaPipe face mesh, run offline.

The model is ``mediapipe/modules/face_landmark/face_landmark.tflite`` (Apache-2.0,
1.24 MB) from the ``mediapipe==0.10.21`` wheel, installed with ``pip install --no-deps``
(only the file is read; mediapipe itself is never imported), and it is run with
``ai-edge-litert``. Nothing is downloaded. Its input is a 192 x 192 RGB face on the
[0, 1] scale; an aligned crop is padded by replicating its border (the mesh model expects
some context around the face) and resized to it.

>>> from pixelfes.faces.landmarks import dense_landmarks
>>> points = dense_landmarks(face.crop)        # (468, 2) in crop pixel coordinates

References
----------
.. [1] Kartynnik, Ablavatski, Grishchenko, Grundmann. "Real-time Facial Surface Geometry
   from Monocular Video on Mobile GPUs", CVPR Workshops 2019.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np

from pixelfes.exceptions import ImageError, MissingDependencyError

__all__ = [
    "N_DENSE",
    "STABLE_POINTS",
    "dense_landmarks",
    "dense_landmarks_batch",
    "mesh_model_path",
    "require_dense_landmarks",
]

#: Number of face-mesh points.
N_DENSE = 468
_INPUT = 192
#: Border added on each side of the crop, as a fraction of its side. On London's manual
#: points the eye-centre error was 2.68 / 2.35 / 2.14 / 2.22 / 3.14 % of the inter-ocular
#: distance for 0 / 0.1 / 0.15 / 0.2 / 0.35 (docs/geometry.md).
PAD = 0.15
_INSTALL = "pip install ai-edge-litert==1.4.0 && pip install --no-deps mediapipe==0.10.21"

#: Points an expression hardly moves: the nose's ridge and tip, the inner eye corners and
#: the temples. A similarity fitted on them separates a face's pose from its expression.
STABLE_POINTS = (1, 2, 3, 4, 5, 6, 168, 195, 197, 248, 133, 362, 127, 356, 234, 454)
#: Inner-lip contour (upper lip 78 -> 308 then lower lip back), the opening of the mouth.
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87,
              178, 88, 95)  # fmt: skip
#: Outer-lip contour.
OUTER_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37,
              39, 40, 185)  # fmt: skip
#: Eyebrows (image-left first).
BROWS = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 300, 293, 334, 296, 336, 285, 295, 282,
         283, 276)  # fmt: skip
#: Face oval, from the top of the forehead round the chin.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
             400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54,
             103, 67, 109)  # fmt: skip
#: Eye contours (image-left eye first), used for eye centres.
LEFT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
RIGHT_EYE = (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398)


def mesh_model_path() -> Path:
    """Path of ``face_landmark.tflite`` inside the installed mediapipe wheel.

    Raises
    ------
    MissingDependencyError
        When mediapipe (the file) is not installed, with the command that installs it.
    """
    spec = importlib.util.find_spec("mediapipe")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "modules" / "face_landmark" / "face_landmark.tflite"
        if path.is_file():
            return path
    raise MissingDependencyError(
        f"dense landmarks (geometry models) need the face-mesh model file: {_INSTALL}"
    )


class _Mesh:
    """One interpreter, serialised by a lock (an interpreter is not thread-safe)."""

    def __init__(self) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise MissingDependencyError(
                f"dense landmarks (geometry models) need ai-edge-litert: {_INSTALL}"
            ) from exc
        self.interpreter = Interpreter(model_path=str(mesh_model_path()), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = self.interpreter.get_output_details()
        self.points = next(o["index"] for o in outputs if int(np.prod(o["shape"])) == 3 * N_DENSE)
        self.flag = next(o["index"] for o in outputs if int(np.prod(o["shape"])) == 1)
        self.lock = threading.Lock()

    def __call__(self, tensor: np.ndarray) -> tuple[np.ndarray, float]:
        with self.lock:
            self.interpreter.set_tensor(self.input, tensor)
            self.interpreter.invoke()
            points = self.interpreter.get_tensor(self.points).reshape(N_DENSE, 3)[:, :2].copy()
            logit = float(self.interpreter.get_tensor(self.flag).reshape(()))
        return points, 1.0 / (1.0 + np.exp(-logit))


@functools.lru_cache(maxsize=1)
def _mesh() -> _Mesh:
    return _Mesh()


def _as_rgb_crop(crop: np.ndarray) -> np.ndarray:
    arr = np.asarray(crop)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 16:
        raise ImageError(f"expected a square (S, S[, 3]) crop with S >= 16, got {arr.shape}")
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        return np.clip(np.rint(np.nan_to_num(arr) * 255.0), 0, 255).astype(np.uint8)
    raise ImageError(f"crop must be uint8 or float in [0, 1], got {arr.dtype}")


def require_dense_landmarks() -> None:
    """Load the face-mesh model now; raise :class:`MissingDependencyError` if it is missing."""
    _mesh()


def mesh_priority() -> tuple[int, ...]:
    """All point indices, the contours that shape an expression first (lips, eyes, brows,
    face oval): the order in which :func:`pixelfes.faces.warp.sparse_triangulation` keeps
    points."""
    first = INNER_LIPS + OUTER_LIPS + LEFT_EYE + RIGHT_EYE + BROWS + FACE_OVAL
    return first + tuple(i for i in range(N_DENSE) if i not in set(first))


def dense_landmarks(crop: np.ndarray, *, return_score: bool = False):
    """The 468 face-mesh points of one aligned crop.

    Parameters
    ----------
    crop : ndarray of shape (S, S, 3) or (S, S)
        An aligned face (uint8, or float on [0, 1]), e.g. ``AlignedFace.crop``.
    return_score : bool
        Also return the model's face confidence in [0, 1].

    Returns
    -------
    points : ndarray of shape (468, 2), float64
        (x, y) in crop pixel coordinates (pixel centres at integers).
    score : float
        Only when ``return_score``.
    """
    rgb = _as_rgb_crop(crop)
    size = rgb.shape[0]
    pad = round(PAD * size)
    padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    side = size + 2 * pad
    interpolation = cv2.INTER_AREA if side > _INPUT else cv2.INTER_LINEAR
    tensor = cv2.resize(padded, (_INPUT, _INPUT), interpolation=interpolation)
    tensor = (tensor.astype(np.float32) / np.float32(255.0))[None]
    raw, score = _mesh()(tensor)
    # Model coordinates are continuous (0 at the left edge of the 192 px input).
    points = raw.astype(np.float64) * (side / _INPUT) - pad - 0.5
    return (points, score) if return_score else points


def dense_landmarks_batch(crops: np.ndarray) -> np.ndarray:
    """:func:`dense_landmarks` of each crop in an (N, S, S[, 3]) stack: (N, 468, 2)."""
    return np.stack([dense_landmarks(crop) for crop in np.asarray(crops)])


def eye_centres(points: np.ndarray) -> np.ndarray:
    """Centres of the two eye contours, image-left first: (2, 2) (or (N, 2, 2))."""
    pts = np.asarray(points)
    return np.stack(
        [pts[..., list(LEFT_EYE), :].mean(axis=-2), pts[..., list(RIGHT_EYE), :].mean(axis=-2)],
        axis=-2,
    )
