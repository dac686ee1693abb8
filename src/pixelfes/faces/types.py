"""Data types shared by the face backends: detected landmarks and the detector protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

#: Names of the five canonical points, in order. "Left" and "right" are as seen in the
#: image (the image-left eye is the subject's right eye), the convention of MTCNN, YuNet
#: and RetinaFace.
POINT_NAMES = ("left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right")


@dataclass(frozen=True, eq=False)
class FaceLandmarks:
    """One detected face in image pixel coordinates (pixel centres at integers).

    ``box`` is ``(x, y, w, h)``; ``points`` is a (5, 2) float64 array in the order of
    :data:`POINT_NAMES`; ``dense`` optionally holds more points (backend specific);
    ``score`` is the detector's confidence in [0, 1] (1.0 for user-supplied landmarks).
    """

    box: tuple[float, float, float, float]
    points: np.ndarray
    score: float = 1.0
    dense: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        pts = np.array(self.points, dtype=np.float64).reshape(5, 2)
        pts.setflags(write=False)
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))
        if self.dense is not None:
            dense = np.array(self.dense, dtype=np.float64).reshape(-1, 2)
            dense.setflags(write=False)
            object.__setattr__(self, "dense", dense)

    @property
    def interocular(self) -> float:
        """Distance between the two eye centres, in pixels."""
        return float(np.hypot(*(self.points[1] - self.points[0])))

    @classmethod
    def from_points(cls, points: np.ndarray, score: float = 1.0) -> FaceLandmarks:
        """Build a face from five points alone; the box is derived from them."""
        pts = np.asarray(points, dtype=np.float64).reshape(5, 2)
        iod = max(float(np.hypot(*(pts[1] - pts[0]))), 1.0)
        cx = float(pts[:2, 0].mean())
        top = float(pts[:2, 1].mean()) - 1.15 * iod
        bottom = float(pts[3:, 1].mean()) + 0.5 * iod
        half = 1.1 * iod
        return cls(box=(cx - half, top, 2 * half, bottom - top), points=pts, score=score)


@runtime_checkable
class LandmarkDetector(Protocol):
    """Anything with ``detect(image) -> list[FaceLandmarks]``.

    ``image`` is an (H, W, 3) uint8 RGB or (H, W) uint8 grayscale array. Implementations
    return every face they find, in image coordinates, and an empty list when none.
    """

    def detect(self, image: np.ndarray) -> list[FaceLandmarks]: ...
