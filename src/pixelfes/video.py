"""Edit the expression in a video, frame by frame, with steady (tracked, smoothed) faces.

Faces are detected every few frames, carried between detections by optical flow and
smoothed with a one-euro filter (:class:`pixelfes.faces.FaceTracker`), so the edited face
does not flicker with landmark jitter. The output is written atomically; sound is not kept.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pixelfes.atomic import atomic_path
from pixelfes.editing import edit_image
from pixelfes.exceptions import ImageError, NoFaceError

_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}
#: Output suffixes edit_video can write.
WRITABLE_SUFFIXES = frozenset(_FOURCC)
#: Containers read, by their first bytes: anything else (an ffconcat list, an HLS or other
#: playlist, a raw stream) is refused, so a "video" can never make the reader open other
#: files or URLs.
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


@dataclass(frozen=True)
class VideoReport:
    """Frames read and how many had at least one face edited."""

    frames: int
    frames_with_faces: int
    fps: float


def edit_video(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    model: Any,
    intensity: float = 1.0,
    detect_every: int = 5,
    detector: Any = None,
    like: str | os.PathLike[str] | None = None,
) -> VideoReport:
    """Edit every frame of ``source`` and write the result to ``target``.

    Parameters
    ----------
    source, target : path
        Input and output videos; the container is chosen by ``target``'s suffix
        (``.mp4``, ``.mov``, ``.m4v``, ``.mkv`` as MPEG-4 Part 2, ``.avi`` as MJPEG).
    model : fitted model
        From :func:`pixelfes.load_model`.
    intensity : float
        Blend between input (0) and full synthesis (1); up to 1.5.
    detect_every : int
        Run the face detector on every n-th frame and track in between.
    detector : LandmarkDetector, optional
        Face detector; by default the photo pipeline's choice
        (:func:`pixelfes.faces.default_detector`: YuNet, or Haar + O-net without
        ``yuface``) at 320 px, where O-net still places the points at full resolution.
    like : path, optional
        A file whose mode and owner the output takes (for in-place edits).

    Returns
    -------
    VideoReport

    Raises
    ------
    ImageError
        When the video cannot be read, is not an MP4/MOV, AVI or Matroska/WebM file, is
        truncated (fewer frames than its header declares), or the output format is unknown.
    NoFaceError
        When no frame has a face.
    """
    from pixelfes.faces import FaceTracker

    source, target = Path(source), Path(target)
    fourcc = _FOURCC.get(target.suffix.lower())
    if fourcc is None:
        raise ImageError(
            f"cannot write video format {target.suffix!r}: use one of {sorted(_FOURCC)}"
        )
    _check_container(source)
    capture = cv2.VideoCapture(str(source), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise ImageError(f"cannot read video {source}")
    declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    if detector is None:
        detector = _video_detector()
    tracker = FaceTracker(detector, detect_every=detect_every)
    frames = with_faces = 0
    try:
        with atomic_path(target, keep_suffix=True, like=like) as tmp:
            writer: cv2.VideoWriter | None = None
            while True:
                ok, bgr = capture.read()
                if not ok:
                    break
                if writer is None:
                    size = (bgr.shape[1], bgr.shape[0])
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*fourcc), fps, size)
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                edited, found = _edit_frame(rgb, tracker, frames / fps, model, intensity)
                frames += 1
                with_faces += found
                writer.write(cv2.cvtColor(edited, cv2.COLOR_RGB2BGR))
            if writer is not None:
                writer.release()
            if frames == 0:
                raise ImageError(f"no frames could be read from {source}")
            if frames + max(1, declared // 50) <= declared:
                raise ImageError(
                    f"video {source} is truncated or damaged: {frames} of the {declared} "
                    "frames its header declares could be read"
                )
            if with_faces == 0:
                raise NoFaceError(f"no face found in any of the {frames} frames of {source}")
    finally:
        capture.release()
    return VideoReport(frames=frames, frames_with_faces=with_faces, fps=float(fps))


def _video_detector() -> Any:
    """The pipeline's detector backend, detecting on frames shrunk to 320 px."""
    from pixelfes.faces import default_detector

    detector = type(default_detector())(max_side=320)
    if getattr(detector, "fallback_side", None) is not None:
        detector.fallback_side = None  # no larger retry: frames without a face stay cheap
    return detector


def _check_container(source: Path) -> None:
    if not source.is_file():  # a FIFO or device would block the read below
        raise ImageError(f"cannot read video {source}: not a regular file")
    try:
        with open(source, "rb") as handle:
            head = handle.read(12)
    except OSError as error:
        raise ImageError(f"cannot read video {source}: {error.strerror}") from None
    if (
        (head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"))
        or head[4:8] in _MP4_BOXES
        or head[:4] == b"\x1a\x45\xdf\xa3"
    ):
        return
    raise ImageError(
        f"{source} is not an MP4/MOV, AVI or Matroska/WebM video (playlists and concat "
        "lists are never followed)"
    )


def _edit_frame(
    frame: np.ndarray, tracker: Any, t: float, model: Any, intensity: float
) -> tuple[np.ndarray, bool]:
    faces = tracker.update(frame, t)
    if not faces:
        return frame, False
    try:
        result = edit_image(frame, model=model, intensity=intensity, landmarks=faces)
    except NoFaceError:
        return frame, False
    return result.image, True
