"""Video steadiness: a one-euro landmark smoother and a tracker that skips detections."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from pixelfes.faces.types import FaceLandmarks, LandmarkDetector

__all__ = ["FaceTracker", "LandmarkSmoother"]


class LandmarkSmoother:
    """One-euro filter (Casiez et al. 2012) over an (N, 2) point set, e.g. the 5 landmarks.

    Slow motion is smoothed hard (removes jitter), fast motion follows quickly (little lag).
    ``min_cutoff`` (Hz) sets the jitter smoothing, ``beta`` the speed adaptation; both act
    on coordinates expressed in units of the face's inter-ocular distance, so the same
    settings work for small and large faces. ``fps`` is the nominal frame rate used when
    ``update`` gets no timestamp.
    """

    def __init__(
        self,
        *,
        min_cutoff: float = 1.0,
        beta: float = 2.0,
        d_cutoff: float = 1.0,
        fps: float = 30.0,
    ) -> None:
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.fps = float(fps)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def update(self, points: np.ndarray, t: float | None = None) -> np.ndarray:
        """Feed the raw points of one frame; returns the smoothed points (new array)."""
        x = np.asarray(points, dtype=np.float64)
        if self._x is None:
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            self._t = 0.0 if t is None else float(t)
            return x.copy()
        dt = 1.0 / self.fps if t is None or self._t is None else max(float(t) - self._t, 1e-6)
        self._t = (self._t or 0.0) + dt if t is None else float(t)
        scale = 1.0
        if x.shape[0] >= 2:
            scale = max(float(np.hypot(*(x[1] - x[0]))), 1.0)
        dx = (x - self._x) / dt / scale
        a_d = self._alpha(self.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        speed = np.linalg.norm(self._dx, axis=-1, keepdims=True)
        a = self._alpha(self.min_cutoff + self.beta * speed, dt)
        self._x = a * x + (1 - a) * self._x
        return self._x.copy()


@dataclass
class _Track:
    face: FaceLandmarks
    smoother: LandmarkSmoother
    missed: int = 0
    ident: int = 0
    points: np.ndarray = field(default=None)  # smoothed


class FaceTracker:
    """Per-frame faces for video: detect every ``detect_every`` frames, track in between.

    Between detections the five points are carried to the next frame with pyramidal
    Lucas-Kanade optical flow (cheap), and every track is smoothed with a
    :class:`LandmarkSmoother`. Tracks are matched to new detections by nearest eye
    midpoint; a track not re-detected for ``max_missed`` detection rounds is dropped.
    ``update(frame)`` returns the smoothed faces of that frame, ordered by track id.
    The default detector is YuNet at ``max_side=320`` (fast enough for every frame of a
    640x480 video at 25 fps on two cores; see docs/faces.md).
    """

    def __init__(
        self,
        detector: LandmarkDetector | None = None,
        *,
        detect_every: int = 5,
        max_missed: int = 2,
        smoother_kwargs: dict | None = None,
    ) -> None:
        if detector is None:
            import importlib.util

            from pixelfes.faces.detectors import HaarONetDetector, YuNetDetector

            # Video frames: detect at 320 px (O-net refines the points at full resolution).
            if importlib.util.find_spec("yuface") is not None:
                # No 640 px retry: a frame without a face must stay cheap.
                detector = YuNetDetector(max_side=320, fallback_side=None)
            else:
                detector = HaarONetDetector(max_side=320)
        self.detector = detector
        self.detect_every = max(1, int(detect_every))
        self.max_missed = int(max_missed)
        self.smoother_kwargs = dict(smoother_kwargs or {})
        self.reset()

    def reset(self) -> None:
        self._tracks: list[_Track] = []
        self._prev_gray: np.ndarray | None = None
        self._frame = 0
        self._next_id = 0

    @staticmethod
    def _gray(frame: np.ndarray) -> np.ndarray:
        f = np.asarray(frame)
        return (
            f
            if f.ndim == 2
            else cv2.cvtColor(np.ascontiguousarray(f[:, :, :3]), cv2.COLOR_RGB2GRAY)
        )

    def update(self, frame: np.ndarray, t: float | None = None) -> list[FaceLandmarks]:
        gray = self._gray(frame)
        if self._frame % self.detect_every == 0 or not self._tracks:
            self._match(list(self.detector.detect(frame)))
        else:
            self._flow(gray)
        self._prev_gray = gray
        self._frame += 1
        out = []
        for tr in self._tracks:
            tr.points = tr.smoother.update(tr.face.points, t)
            out.append(FaceLandmarks(box=tr.face.box, points=tr.points, score=tr.face.score))
        return out

    def _flow(self, gray: np.ndarray) -> None:
        if self._prev_gray is None or self._prev_gray.shape != gray.shape:
            return
        pts = np.concatenate([tr.face.points for tr in self._tracks]).astype(np.float32)
        iod = min(tr.face.interocular for tr in self._tracks)
        win = int(np.clip(iod * 0.4, 9, 41)) | 1
        new, status, _ = cv2.calcOpticalFlowPyrLK(
            self._prev_gray,
            gray,
            pts.reshape(-1, 1, 2),
            None,
            winSize=(win, win),
            maxLevel=3,
            criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
        )
        new = new.reshape(-1, 2).astype(np.float64)
        ok = status.reshape(-1).astype(bool)
        for i, tr in enumerate(self._tracks):
            old = tr.face.points
            sl = slice(5 * i, 5 * i + 5)
            if ok[sl].sum() >= 3:
                shift = np.median(new[sl][ok[sl]] - old[ok[sl]], axis=0)
                moved = np.where(ok[sl, None], new[sl], old + shift)
            else:
                moved = old
            x, y, w, h = tr.face.box
            d = moved.mean(axis=0) - old.mean(axis=0)
            tr.face = FaceLandmarks(
                box=(x + d[0], y + d[1], w, h), points=moved, score=tr.face.score
            )

    def _match(self, faces: list[FaceLandmarks]) -> None:
        unused = list(range(len(faces)))
        for tr in self._tracks:
            if not unused:
                tr.missed += 1
                continue
            c = tr.face.points[:2].mean(axis=0)
            j = min(unused, key=lambda k: np.hypot(*(faces[k].points[:2].mean(axis=0) - c)))
            if np.hypot(*(faces[j].points[:2].mean(axis=0) - c)) < 1.0 * tr.face.interocular:
                tr.face = faces[j]
                tr.missed = 0
                unused.remove(j)
            else:
                tr.missed += 1
        self._tracks = [tr for tr in self._tracks if tr.missed <= self.max_missed]
        for j in unused:
            self._tracks.append(
                _Track(
                    face=faces[j],
                    smoother=LandmarkSmoother(**self.smoother_kwargs),
                    ident=self._next_id,
                )
            )
            self._next_id += 1
