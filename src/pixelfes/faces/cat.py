"""Cat faces: OpenCV's bundled cat-face Haar cascades, eyes from the box and the pupils.

The cascades (``haarcascade_frontalcatface.xml`` and ``..._extended.xml``, shipped with
opencv-python < 5) give a box only. The eyes are first put at fixed fractions of that box
(read off one photo, scikit-image's CC0 "chelsea"), then each moves to the darkest spot
nearby (the pupil); the nose and mouth follow from the template
(:func:`landmarks_from_eyes`), so that the cat's eyes land on the template's eye
positions. Close-ups that fill the frame need context around the head: the photo is
padded by replicating its border before detection.

Limits measured (docs/gallery.md, ``scripts/measure_cat.py``): on 48 generated scenes of the
one CC0 cat at six sizes, it was found in 39 with no false detection, the eyes within
0.03-0.04 of the inter-ocular distance (0.12-0.22 from the box alone, which cannot tell a
tilted head). The cascades also fire on noses and mouths, which :class:`CatFaceDetector`
drops when a larger box contains them. Expect less on cats unlike that one (closed eyes,
slit pupils in bright light, a black cat). They are for frontal cat faces only; dogs,
bears and cartoons were not tested (no such images are available offline): use ``--eyes``.
"""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np

from pixelfes.exceptions import InvalidInputError
from pixelfes.faces.manual import landmarks_from_eyes
from pixelfes.faces.types import FaceLandmarks

__all__ = ["CAT_CASCADES", "CatFaceDetector"]

CAT_CASCADES = ("haarcascade_frontalcatface_extended.xml", "haarcascade_frontalcatface.xml")
# Eye centres as fractions (x, y) of the cascade's square box, measured on "chelsea" (its
# head is tilted: the measured eyes are at y 0.38 and 0.45; the level mean is used).
EYE_FRACTIONS = ((0.265, 0.41), (0.675, 0.41))


class CatFaceDetector:
    """Detect frontal cat faces with OpenCV's cat cascades; points from box geometry.

    Parameters
    ----------
    max_side : int
        The photo is shrunk so that its longer side is at most this before detection.
    pads : tuple of float
        Borders added around the photo (fractions of its longer side, replicated edge
        pixels) so that heads filling the frame are seen whole; each is tried and the
        detections pooled.
    min_neighbors : int
        The cascades' ``minNeighbors``: higher finds fewer false faces, and fewer cats.
    find_pupils : bool
        Move each eye from its place in the box to the darkest spot (the pupil, after a
        blur) within 12 % of the box side, when the two spots make a plausible pair.
    """

    def __init__(
        self,
        *,
        max_side: int = 200,
        pads: tuple[float, ...] = (0.3, 0.5),
        min_neighbors: int = 3,
        find_pupils: bool = True,
    ) -> None:
        self.max_side = int(max_side)
        self.find_pupils = bool(find_pupils)
        self.pads = tuple(float(p) for p in pads)
        self.min_neighbors = int(min_neighbors)
        self._cascades = []
        for name in CAT_CASCADES:
            path = os.path.join(cv2.data.haarcascades, name)
            cascade = cv2.CascadeClassifier(path)
            if cascade.empty():
                raise ImportError(f"OpenCV's cat-face cascade is missing ({path}); use opencv<5")
            self._cascades.append(cascade)
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]:
        """Every cat face found, in image coordinates (``image``: RGB or grey uint8)."""
        img = np.asarray(image)
        if img.dtype != np.uint8 or img.ndim not in (2, 3):
            raise InvalidInputError(
                f"expected a uint8 (H, W[, 3]) image, got {img.dtype} {img.shape}"
            )
        grey = img if img.ndim == 2 else cv2.cvtColor(img[..., :3], cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        f = min(1.0, self.max_side / max(h, w))
        small = cv2.resize(grey, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else grey
        boxes, weights = [], []
        for pad in self.pads:
            p = round(pad * max(small.shape))
            padded = cv2.copyMakeBorder(small, p, p, p, p, cv2.BORDER_REPLICATE)
            with self._lock:  # cascade objects are not safe to share across threads
                for cascade in self._cascades:
                    found, _, level = cascade.detectMultiScale3(
                        padded, 1.05, self.min_neighbors, minSize=(24, 24), outputRejectLevels=True
                    )
                    found = np.asarray(found, np.float64).reshape(-1, 4) - [p, p, 0, 0]
                    boxes.extend(found)
                    weights.extend(np.asarray(level, np.float64).reshape(-1))
        faces = []
        for box, weight in _outermost(boxes, weights):
            x, y, s = box[0] / f, box[1] / f, box[2] / f
            guess = np.array([[x + fx * s, y + fy * s] for fx, fy in EYE_FRACTIONS])
            eyes = _pupils(grey, guess, s) if self.find_pupils else guess
            points = landmarks_from_eyes(eyes.ravel()).points
            score = float(1.0 / (1.0 + np.exp(-weight)))
            faces.append(FaceLandmarks(box=(x, y, s, s), points=points, score=score))
        return faces


def _pupils(grey: np.ndarray, guess: np.ndarray, side: float) -> np.ndarray:
    """The darkest blurred spot near each guessed eye, or the guesses when implausible."""
    h, w = grey.shape
    reach = 0.12 * side
    x0 = int(max(0, guess[:, 0].min() - reach))
    x1 = int(min(w, guess[:, 0].max() + reach + 1))
    y0 = int(max(0, guess[:, 1].min() - reach))
    y1 = int(min(h, guess[:, 1].max() + reach + 1))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return guess
    blur = cv2.GaussianBlur(grey[y0:y1, x0:x1].astype(np.float32), (0, 0), max(1.0, 0.015 * side))
    found = []
    for gx, gy in guess:
        ax, bx = int(max(0, gx - reach - x0)), int(min(x1 - x0, gx + reach - x0 + 1))
        ay, by = int(max(0, gy - reach - y0)), int(min(y1 - y0, gy + reach - y0 + 1))
        if bx - ax < 2 or by - ay < 2:
            return guess
        window = blur[ay:by, ax:bx]
        iy, ix = np.unravel_index(int(np.argmin(window)), window.shape)
        found.append([x0 + ax + ix, y0 + ay + iy])
    eyes = np.array(found, np.float64)
    span, expected = eyes[1] - eyes[0], guess[1] - guess[0]
    ratio = np.hypot(*span) / max(np.hypot(*expected), 1e-9)
    tilt = abs(np.degrees(np.arctan2(span[1], span[0])))
    return eyes if 0.7 <= ratio <= 1.3 and tilt <= 30 else guess


def _outermost(boxes: list, weights: list) -> list[tuple[np.ndarray, float]]:
    """Drop boxes that lie mostly inside a larger one (the cascades fire on noses and mouths)
    and near-duplicates of a larger box from the other cascade."""
    order = sorted(range(len(boxes)), key=lambda i: -boxes[i][2])
    kept: list[tuple[np.ndarray, float]] = []
    for i in order:
        box = boxes[i]
        if all(_overlap(box, big) < 0.5 for big, _ in kept):
            kept.append((box, float(weights[i])))
    return kept


def _overlap(small: np.ndarray, big: np.ndarray) -> float:
    """Fraction of ``small``'s area inside ``big`` (boxes as x, y, w, h)."""
    ix = max(0.0, min(small[0] + small[2], big[0] + big[2]) - max(small[0], big[0]))
    iy = max(0.0, min(small[1] + small[3], big[1] + big[3]) - max(small[1], big[1]))
    return ix * iy / max(small[2] * small[3], 1e-9)
