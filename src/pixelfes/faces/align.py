"""Align faces to a fixed S x S template crop and paste edited crops back into the photo."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from pixelfes.exceptions import ImageError, NoFaceError
from pixelfes.faces.detectors import _to_faces, default_detector
from pixelfes.faces.geometry import (
    apply_affine,
    fit_similarity,
    invert_affine,
    similarity_scale,
    template_points,
)
from pixelfes.faces.types import FaceLandmarks, LandmarkDetector

__all__ = [
    "AlignedFace",
    "SkippedFace",
    "SmallFaceWarning",
    "align",
    "align_face",
    "face_mask",
    "paste_back",
]


class SmallFaceWarning(UserWarning):
    """A detected face was too small to align and was skipped."""


@dataclass(frozen=True, eq=False)
class AlignedFace:
    """One face warped to the template.

    ``crop``: (S, S, C) uint8 (or (S, S) for a grayscale photo); ``matrix``: 2x3 float64
    mapping image pixel coordinates to crop coordinates (for ``cv2.warpAffine``);
    ``landmarks``: the five points in image coordinates; ``box``: detector box (x, y, w, h)
    in image coordinates; ``size``: S; ``score``: detector confidence.
    """

    crop: np.ndarray
    matrix: np.ndarray
    landmarks: np.ndarray
    box: tuple[float, float, float, float]
    size: int
    score: float = 1.0

    @property
    def inverse(self) -> np.ndarray:
        """2x3 matrix mapping crop coordinates back to image coordinates."""
        return invert_affine(self.matrix)


@dataclass(frozen=True)
class SkippedFace:
    """A face found but not aligned, with the reason."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    reason: str


def _check_image(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ImageError(f"expected a uint8 image, got dtype {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))):
        raise ImageError(f"expected an (H, W, 3) RGB or (H, W) grayscale image, got {img.shape}")
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if img.shape[0] < 2 or img.shape[1] < 2:
        raise ImageError(f"image too small: {img.shape}")
    return img


def _warp_to_crop(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Warp only the region the crop needs; pre-shrink it when the crop downscales a lot.

    Straight bilinear warping at scales far below 1 aliases, so the source window is first
    reduced with area averaging (deterministic) until the remaining scale is >= 0.5.
    """
    h, w = image.shape[:2]
    inv = invert_affine(matrix)
    corners = apply_affine(inv, np.array([[-1, -1], [size, -1], [-1, size], [size, size]]))
    x0 = int(np.clip(np.floor(corners[:, 0].min()) - 2, 0, w - 1))
    y0 = int(np.clip(np.floor(corners[:, 1].min()) - 2, 0, h - 1))
    x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 3, x0 + 1, w))
    y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 3, y0 + 1, h))
    window = image[y0:y1, x0:x1]
    m = np.array(matrix, dtype=np.float64)
    m[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)
    scale = similarity_scale(m)
    if scale < 0.5:
        factor = 2.0 * scale  # shrink the window so that the remaining warp scale is 0.5
        ww = max(1, round(window.shape[1] * factor))
        wh = max(1, round(window.shape[0] * factor))
        fx, fy = window.shape[1] / ww, window.shape[0] / wh
        window = cv2.resize(window, (ww, wh), interpolation=cv2.INTER_AREA)
        # window pixel u (new) corresponds to old (u + 0.5) * f - 0.5
        pre = np.array([[fx, 0.0, 0.5 * fx - 0.5], [0.0, fy, 0.5 * fy - 0.5]])
        m = np.hstack([m[:, :2] @ pre[:, :2], (m[:, :2] @ pre[:, 2] + m[:, 2])[:, None]])
    return cv2.warpAffine(
        window, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def align_face(image: np.ndarray, face: FaceLandmarks | np.ndarray, size: int = 128) -> AlignedFace:
    """Align one face given its landmarks (a :class:`FaceLandmarks` or a (5, 2) array)."""
    img = _check_image(image)
    size = int(size)
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    if not isinstance(face, FaceLandmarks):
        face = FaceLandmarks.from_points(np.asarray(face, dtype=np.float64))
    matrix = fit_similarity(face.points, template_points(size))
    matrix.setflags(write=False)
    crop = _warp_to_crop(img, matrix, size)
    crop.setflags(write=False)
    return AlignedFace(
        crop=crop,
        matrix=matrix,
        landmarks=face.points,
        box=face.box,
        size=size,
        score=face.score,
    )


def align(
    image: np.ndarray,
    size: int = 128,
    *,
    largest_only: bool = False,
    detector: LandmarkDetector | None = None,
    min_face: float = 40,
    landmarks=None,
    source: str | None = None,
    skipped: list[SkippedFace] | None = None,
) -> list[AlignedFace]:
    """Find every face in ``image`` and warp each to a ``size`` x ``size`` template crop.

    ``image``: (H, W, 3) uint8 RGB or (H, W) uint8 grayscale (crops stay grayscale, (S, S)).
    ``detector``: any object with ``detect(image) -> list[FaceLandmarks]``; default YuNet.
    ``landmarks``: skip detection and use these (one (5, 2) array, a list of them, or
    FaceLandmarks). ``min_face``: faces whose detector box has a shorter side below this
    many image pixels are skipped with a :class:`SmallFaceWarning` (and appended to
    ``skipped`` when a list is given); 0 keeps all. ``largest_only``: return only the
    face with the largest inter-ocular distance. Faces are ordered left to right.
    ``source`` names the file in error messages. Raises :class:`NoFaceError` when no
    usable face remains.
    """
    img = _check_image(image)
    name = f" in {source}" if source else ""
    if landmarks is not None:
        found = _to_faces(landmarks)
    else:
        det = detector if detector is not None else default_detector()
        found = list(det.detect(img))
    if not found:
        raise NoFaceError(f"no face found{name}")
    kept: list[FaceLandmarks] = []
    reasons = []
    for face in found:
        short = min(face.box[2], face.box[3])
        if min_face and short < min_face:
            reason = (
                f"face at box ({face.box[0]:.0f}, {face.box[1]:.0f}, {face.box[2]:.0f}, "
                f"{face.box[3]:.0f}){name} is smaller than min_face={min_face:g} px"
            )
            reasons.append(reason)
            warnings.warn(reason, SmallFaceWarning, stacklevel=2)
            if skipped is not None:
                skipped.append(SkippedFace(box=face.box, landmarks=face.points, reason=reason))
            continue
        kept.append(face)
    if not kept:
        raise NoFaceError(f"no usable face{name}: " + "; ".join(reasons))
    if largest_only:
        kept = [max(kept, key=lambda f: f.interocular)]
    kept.sort(key=lambda f: (f.points[:, 0].mean(), f.points[:, 1].mean()))
    return [align_face(img, face, size) for face in kept]


@lru_cache(maxsize=16)
def _mask_cached(size: int) -> np.ndarray:
    s = float(size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    # Ellipse over the template face (forehead to chin, cheek to cheek), in crop pixels.
    cx, cy, ax, ay = 0.5 * s - 0.5, 0.51 * s - 0.5, 0.40 * s, 0.47 * s
    r = np.sqrt(((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2)
    t = np.clip((1.0 - r) / 0.22, 0.0, 1.0)  # 1 inside r <= 0.78, 0 outside r >= 1
    mask = (t * t * (3.0 - 2.0 * t)).astype(np.float32)  # smoothstep feather
    mask.setflags(write=False)
    return mask


@lru_cache(maxsize=16)
def _mask_extent(size: int) -> tuple[int, int, int, int]:
    """Crop-pixel rectangle (inclusive, one pixel of margin) holding the mask's non-zeros."""
    ys, xs = np.nonzero(_mask_cached(size))
    return (int(xs.min()) - 1, int(ys.min()) - 1, int(xs.max()) + 1, int(ys.max()) + 1)


def face_mask(size: int = 128) -> np.ndarray:
    """Feathered paste-back mask in crop coordinates: (S, S) float32 in [0, 1].

    1 over the inner face, a smooth ramp to 0, and exactly 0 at the crop's edges.
    """
    return _mask_cached(int(size))


def _crop_to_float(crop: np.ndarray, size: int, channels: int) -> np.ndarray:
    arr = np.asarray(crop)
    if arr.ndim == 3 and arr.shape[2] == 1 and channels == 1:
        arr = arr[:, :, 0]
    want = (size, size) if channels == 1 else (size, size, channels)
    if arr.shape != want:
        if channels == 3 and arr.shape == (size, size):
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        else:
            raise ValueError(f"crop has shape {arr.shape}, expected {want}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.floating):
        out = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        return np.clip(out, 0.0, 1.0) * np.float32(255.0)
    raise ValueError(f"crop must be uint8 or float in [0, 1], got {arr.dtype}")


def _paste_region(
    image: np.ndarray, face: AlignedFace
) -> tuple[np.ndarray, tuple[int, int], np.ndarray, tuple[int, int]] | None:
    """The image region a crop maps onto: (region->crop matrix, origin, mask, size) or None."""
    h, w = image.shape[:2]
    size = face.size
    inv = invert_affine(face.matrix)
    # Footprint of the mask's non-zero part (not the whole crop square) in the photo.
    cx0, cy0, cx1, cy1 = _mask_extent(size)
    corners = apply_affine(inv, np.array([[cx0, cy0], [cx1, cy0], [cx0, cy1], [cx1, cy1]]))
    x0 = int(np.clip(np.floor(corners[:, 0].min()), 0, w))
    y0 = int(np.clip(np.floor(corners[:, 1].min()), 0, h))
    x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 1, 0, w))
    y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 1, 0, h))
    if x1 <= x0 or y1 <= y0:
        return None
    # Region pixel (u, v) is image (u + x0, v + y0); map region -> crop for WARP_INVERSE_MAP.
    m = np.array(face.matrix, dtype=np.float64)
    m[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)
    dsize = (x1 - x0, y1 - y0)
    alpha = cv2.warpAffine(
        face_mask(size), m, dsize, flags=_INVERSE, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    return m, (x0, y0), alpha, dsize


_INVERSE = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP


def _check_photo(image: np.ndarray) -> tuple[np.ndarray, int]:
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ImageError(f"expected a uint8 (H, W[, C]) image, got {img.dtype} {img.shape}")
    return img, 1 if img.ndim == 2 else img.shape[2]


def _blend_region(out: np.ndarray, origin, alpha: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Write ``values`` (float, 0..255) into ``out`` where ``alpha`` > 0, rounding and clipping."""
    x0, y0 = origin
    region = out[y0 : y0 + alpha.shape[0], x0 : x0 + alpha.shape[1]]
    result = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    inside = alpha > 0
    region[inside] = result[inside]
    return out


def paste_back(image: np.ndarray, face: AlignedFace, crop: np.ndarray) -> np.ndarray:
    """Warp an edited ``crop`` back into a copy of ``image`` with a feathered mask.

    ``crop``: (S, S, C) uint8, or float on the [0, 1] scale (clipped; NaN -> 0). Only the
    face's bounding region is processed; pixels where the mask is 0 are bit-identical to
    the input, which is never modified. Returns an array of the input's shape and dtype.
    The pasted face has the crop's resolution; :func:`paste_change` keeps the photo's.
    """
    img, channels = _check_photo(image)
    src = _crop_to_float(crop, face.size, channels)
    return _paste(img, face, src, cv2.BORDER_REPLICATE, added=False)


def _paste(
    img: np.ndarray, face: AlignedFace, values: np.ndarray, border: int, *, added: bool
) -> np.ndarray:
    """Warp crop ``values`` (0..255 scale) back and blend them (or add them) under the mask."""
    out = img.copy()
    found = _paste_region(img, face)
    if found is None:
        return out
    m, (x0, y0), alpha, dsize = found
    warped = cv2.warpAffine(values, m, dsize, flags=_INVERSE, borderMode=border)
    if warped.ndim == 2 and img.ndim == 3:
        warped = warped[:, :, None]
    region = out[y0 : y0 + dsize[1], x0 : x0 + dsize[0]].astype(np.float32)
    a = alpha if region.ndim == 2 else alpha[:, :, None]
    change = warped if added else warped - region
    return _blend_region(out, (x0, y0), alpha, region + a * change)


def paste_box(image: np.ndarray, face: AlignedFace) -> tuple[int, int, int, int] | None:
    """The box ``(x0, y0, x1, y1)`` holding every pixel a paste of ``face`` can change.

    Pixels outside it are never touched by :func:`paste_back` or :func:`paste_change`;
    ``None`` when the face's mask falls outside the image.
    """
    found = _paste_region(np.asarray(image), face)
    if found is None:
        return None
    _, (x0, y0), alpha, _ = found
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return None
    return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]) + 1, y0 + int(rows[-1]) + 1


def paste_change(image: np.ndarray, face: AlignedFace, change: np.ndarray) -> np.ndarray:
    """Add a change computed on a crop to a copy of ``image``, at the photo's resolution.

    ``change``: (S, S) or (S, S, C) float on the [0, 1] intensity scale, e.g.
    ``synthesized - crop / 255``. It is warped back, feathered by the face mask and added,
    so the photo keeps its own detail (skin texture, sharp edges) and only the expression
    change is interpolated from the crop. A zero change returns the photo unchanged, bit
    for bit; pixels where the mask is 0 are always unchanged.
    """
    img, channels = _check_photo(image)
    delta = np.nan_to_num(np.asarray(change, dtype=np.float32)) * np.float32(255.0)
    want = (face.size, face.size)
    if delta.shape[:2] != want or (delta.ndim == 3 and delta.shape[2] not in (1, channels)):
        raise ValueError(f"change has shape {delta.shape}, expected {want} (+ channels)")
    return _paste(img, face, delta, cv2.BORDER_CONSTANT, added=True)
