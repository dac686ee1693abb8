"""Choose which faces to edit: list them left to right, pick one by index or by a box.

Faces are numbered from 0, left to right by the mean of their five points (the order in
which :func:`pixelfes.faces.align` returns them). ``pixelfes faces PHOTO`` prints this list
and can draw it (:func:`draw_faces`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np

from pixelfes.exceptions import InvalidInputError, NoFaceError
from pixelfes.faces.cat import CatFaceDetector
from pixelfes.faces.detectors import default_detector
from pixelfes.faces.manual import landmarks_from_eyes
from pixelfes.faces.types import FaceLandmarks, LandmarkDetector

__all__ = [
    "choose_landmarks",
    "detect_faces",
    "detector_by_name",
    "draw_faces",
    "select_face",
]

Box = Sequence[float]


def detect_faces(
    image: np.ndarray, detector: LandmarkDetector | None = None
) -> list[FaceLandmarks]:
    """Every face the detector finds, numbered left to right (index = position in the list)."""
    found = (detector or default_detector()).detect(image)
    return sorted(found, key=lambda f: (f.points[:, 0].mean(), f.points[:, 1].mean()))


def select_face(
    image: np.ndarray,
    *,
    face: int | None = None,
    box: Box | None = None,
    detector: LandmarkDetector | None = None,
    source: str | None = None,
) -> FaceLandmarks:
    """The face with index ``face`` (see :func:`detect_faces`), or the one inside ``box``.

    ``box`` is ``(x, y, w, h)`` in image pixels. The face whose five points' centre lies in
    it is chosen (the largest if several); when the detector found none there, it is run
    again on the box alone, enlarged by half, which finds faces too small for the whole photo.

    Raises
    ------
    NoFaceError
        When the index is out of range or no face is in the box.
    """
    if (face is None) == (box is None):
        raise InvalidInputError("give exactly one of face (an index) or box (x, y, w, h)")
    name = f" in {source}" if source else ""
    faces = detect_faces(image, detector)
    if face is not None:
        index = int(face)
        if not 0 <= index < len(faces):
            raise NoFaceError(
                f"there is no face {index}{name}: {len(faces)} found"
                + (f" (indices 0 to {len(faces) - 1})" if faces else "")
            )
        return faces[index]
    x, y, w, h = _check_box(box, image.shape[:2])
    inside = [f for f in faces if _contains((x, y, w, h), f.points.mean(axis=0))]
    if inside:
        return max(inside, key=lambda f: f.interocular)
    found = _detect_in_box(image, (x, y, w, h), detector)
    if found is None:
        raise NoFaceError(f"no face found{name} inside the box x={x:g} y={y:g} w={w:g} h={h:g}")
    return found


def choose_landmarks(
    image: np.ndarray,
    *,
    face: int | None = None,
    box: Box | None = None,
    eyes: Sequence[float] | None = None,
    mouth: Sequence[float] | None = None,
    detector: LandmarkDetector | None = None,
    source: str | None = None,
) -> list[FaceLandmarks] | None:
    """The landmarks to align for a face choice, or None to edit every face detected.

    ``eyes`` (``x1, y1, x2, y2``, with ``mouth`` optional) places a face by hand; ``face``
    and ``box`` pick a detected one. At most one of ``eyes``, ``face`` and ``box``.
    """
    given = [name for name, v in (("eyes", eyes), ("face", face), ("box", box)) if v is not None]
    if len(given) > 1:
        raise InvalidInputError(f"choose the face one way only, got {' and '.join(given)}")
    if mouth is not None and eyes is None:
        raise InvalidInputError("mouth needs eyes: give the two eye centres too")
    if eyes is not None:
        return [landmarks_from_eyes(eyes, mouth)]
    if face is None and box is None:
        return None
    return [select_face(image, face=face, box=box, detector=detector, source=source)]


def draw_faces(image: np.ndarray, faces: Sequence[FaceLandmarks]) -> np.ndarray:
    """A copy of ``image`` (RGB) with each face's box, five points and index drawn on it."""
    out = np.array(image, dtype=np.uint8, copy=True)
    if out.ndim == 2:
        out = np.repeat(out[:, :, None], 3, axis=2)
    line = max(1, round(max(out.shape[:2]) / 400))
    for index, face in enumerate(faces):
        x, y, w, h = (round(v) for v in face.box)
        cv2.rectangle(out, (x, y), (x + w, y + h), (255, 220, 0), line, cv2.LINE_AA)
        for px, py in face.points:
            cv2.circle(out, (round(px), round(py)), line + 1, (0, 255, 120), -1, cv2.LINE_AA)
        scale = max(0.5, h / 90)
        label = str(index)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 2 * line)
        ty = max(th + 2, y - 4)
        cv2.rectangle(out, (x, ty - th - 4), (x + tw + 6, ty + 4), (255, 220, 0), -1)
        cv2.putText(
            out,
            label,
            (x + 3, ty),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (0, 0, 0),
            2 * line,
            cv2.LINE_AA,
        )
    return out


def _check_box(box: Box, shape: tuple[int, int]) -> tuple[float, float, float, float]:
    values = np.asarray(box, dtype=np.float64).reshape(-1)
    if values.shape != (4,) or not np.all(np.isfinite(values)):
        raise InvalidInputError(f"box must be four numbers x, y, w, h, got {box!r}")
    x, y, w, h = (float(v) for v in values)
    if w <= 0 or h <= 0:
        raise InvalidInputError(f"box width and height must be positive, got w={w:g} h={h:g}")
    if x >= shape[1] or y >= shape[0] or x + w <= 0 or y + h <= 0:
        raise InvalidInputError(f"box x={x:g} y={y:g} w={w:g} h={h:g} lies outside the photo")
    return x, y, w, h


def _contains(box: tuple[float, float, float, float], point: np.ndarray) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


def _detect_in_box(
    image: np.ndarray, box: tuple[float, float, float, float], detector: LandmarkDetector | None
) -> FaceLandmarks | None:
    x, y, w, h = box
    ih, iw = image.shape[:2]
    x0, y0 = max(0, int(x - 0.25 * w)), max(0, int(y - 0.25 * h))
    x1, y1 = min(iw, int(np.ceil(x + 1.25 * w))), min(ih, int(np.ceil(y + 1.25 * h)))
    found = [
        f
        for f in detect_faces(image[y0:y1, x0:x1], detector)
        if _contains((x - x0, y - y0, w, h), f.points.mean(axis=0))
    ]
    if not found:
        return None
    best = max(found, key=lambda f: f.interocular)
    bx, by, bw, bh = best.box
    shift = np.array([x0, y0], np.float64)
    dense = None if best.dense is None else best.dense + shift
    return FaceLandmarks(
        box=(bx + x0, by + y0, bw, bh), points=best.points + shift, score=best.score, dense=dense
    )


def detector_by_name(name: str | LandmarkDetector | None) -> LandmarkDetector | None:
    """``"face"`` (or None): the default human-face detector; ``"cat"``: cat faces.

    An object with a ``detect`` method is returned as it is.
    """
    if name is None or not isinstance(name, str):
        return name
    if name == "face":
        return default_detector()
    if name == "cat":
        return _cat_detector()
    raise InvalidInputError(f"unknown detector {name!r}: choose 'face' or 'cat'")


@lru_cache(maxsize=1)
def _cat_detector() -> CatFaceDetector:
    return CatFaceDetector()
