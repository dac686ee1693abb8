"""Clean face borders: keep an edit on the face's own skin, and measure the seam it leaves.

The paste-back mask (:func:`pixelfes.faces.face_mask`) is a fixed ellipse in the aligned
frame. On a frontal face it covers forehead to chin; on a 3/4 view, a narrow face, long hair
or a beard it also covers background, hair or beard, where the model's change (drawn from
its training faces' jaw and hairline) shows as a grey ghost contour. :func:`border_mask`
narrows the mask per face: the inner face (eyes, brows, mouth and the area between) always
keeps the edit; towards the border, a pixel keeps it in proportion to how much its colour
resembles the face's own skin, sampled on the cheeks and nose. The result is feathered, so
no new edge appears.

:func:`seam_energy` measures what an edit adds along the paste boundary: the gradient
energy of the change in the outer ring of the paste ellipse, relative to the photo's own
gradient energy there. 0 means the ring is untouched; a ghost contour or a hard paste edge
raises it.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from pixelfes.exceptions import InvalidInputError
from pixelfes.faces.align import AlignedFace
from pixelfes.faces.regions import region_masks

__all__ = ["border_mask", "seam_energy", "seam_ring"]

# The paste ellipse of pixelfes.faces.align (centre and half axes in crop fractions).
_PASTE_ELLIPSE = (0.5, 0.51, 0.40, 0.47)
_INNER = (0.60, 0.74)  # the inner face: 1 inside radius 0.60 of the ellipse, 0 beyond 0.74
_RING = 0.60  # seam_energy's ring: radius 0.60 to 1.0 of the paste ellipse
_SKIN_SAMPLE = (0.25, 0.60)  # skin is sampled at ellipse radius 0.25-0.60, off the features
_TOLERANCE = 2.0  # colour distance, in robust spreads of the skin sample, where weight is ~0.6


def _radius(size: int) -> np.ndarray:
    s = float(size)
    cx, cy, ax, ay = _PASTE_ELLIPSE
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    return np.hypot((xx - (cx * s - 0.5)) / (ax * s), (yy - (cy * s - 0.5)) / (ay * s))


@lru_cache(maxsize=8)
def _inner(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(inner-face weight, skin-sample mask) of a crop of side ``size``."""
    r = _radius(size)
    lo, hi = _INNER
    t = np.clip((hi - r) / (hi - lo), 0.0, 1.0)
    features = 1.0 - region_masks(size)["rest"]
    inner = np.maximum(t * t * (3.0 - 2.0 * t), features).astype(np.float32)
    sample = (r >= _SKIN_SAMPLE[0]) & (r <= _SKIN_SAMPLE[1]) & (features == 0)
    inner.setflags(write=False)
    sample.setflags(write=False)
    return inner, sample


def border_mask(crop: np.ndarray) -> np.ndarray:
    """Weight in [0, 1] of the edit at each pixel of an aligned crop, by skin likeness.

    Parameters
    ----------
    crop : ndarray of shape (S, S, 3) or (S, S), uint8
        An aligned face (:attr:`pixelfes.faces.AlignedFace.crop`).

    Returns
    -------
    ndarray of shape (S, S), float32
        1 over the inner face; elsewhere the likeness of the pixel's colour to the face's
        skin, smoothed. Multiply a crop's change by it before pasting.
    """
    img = np.asarray(crop)
    if img.dtype != np.uint8 or img.ndim not in (2, 3) or img.shape[0] != img.shape[1]:
        raise InvalidInputError(f"crop must be a square uint8 (S, S[, C]) image, got {img.shape}")
    size = img.shape[0]
    pixels = img.reshape(size, size, -1).astype(np.float32)
    inner, sample = _inner(size)
    reference = np.median(pixels[sample], axis=0)
    spread = np.median(np.abs(pixels[sample] - reference), axis=0) * 1.4826
    spread = np.maximum(spread, 6.0)  # at least ~2.5 % of the range per channel
    distance = np.sqrt((((pixels - reference) / spread) ** 2).mean(axis=-1))
    skin = np.exp(-0.5 * (distance / _TOLERANCE) ** 2).astype(np.float32)
    skin = cv2.GaussianBlur(skin, (0, 0), max(1.0, size / 32.0), borderType=cv2.BORDER_REPLICATE)
    return np.maximum(inner, skin)


@lru_cache(maxsize=8)
def _ring(size: int) -> np.ndarray:
    r = _radius(size)
    ring = ((r >= _RING) & (r < 1.0)).astype(np.float32)
    ring.setflags(write=False)
    return ring


def seam_ring(image_shape: tuple[int, ...], face: AlignedFace) -> np.ndarray:
    """Boolean (H, W) mask of the photo pixels in the outer ring of ``face``'s paste ellipse."""
    h, w = image_shape[:2]
    flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    ring = cv2.warpAffine(_ring(face.size), face.matrix, (w, h), flags=flags, borderValue=0)
    return ring > 0.5


def seam_energy(original: np.ndarray, edited: np.ndarray, face: AlignedFace) -> float:
    """Gradient energy an edit adds along the paste boundary, relative to the photo's own.

    ``sum |grad(edited - original)|^2 / sum |grad(original)|^2`` over the photo pixels of the
    outer ring of the paste ellipse (radius 0.6 to 1, :func:`seam_ring`), summed over the
    colour channels.

    Parameters
    ----------
    original, edited : ndarray of shape (H, W, 3) or (H, W), uint8
        The photo before and after the edit.
    face : AlignedFace
        The face whose border is measured.

    Returns
    -------
    float
        0 when the ring is unchanged; about 1 when the change there has as much edge
        energy as the photo itself.
    """
    a, b = np.asarray(original), np.asarray(edited)
    if a.shape != b.shape:
        raise InvalidInputError(f"original and edited differ in shape: {a.shape} vs {b.shape}")
    ring = seam_ring(a.shape, face)
    if not ring.any():
        raise InvalidInputError("the face's paste boundary lies outside the photo")
    a, b = a.astype(np.float32), b.astype(np.float32)
    own = _gradient_energy(a)[ring].sum()
    added = _gradient_energy(b - a)[ring].sum()
    return float(added / max(own, 1e-9))


def _gradient_energy(values: np.ndarray) -> np.ndarray:
    """Squared Sobel gradient magnitude per pixel, summed over the channels."""
    gx = cv2.Sobel(values, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(values, cv2.CV_32F, 0, 1, ksize=3)
    energy = gx * gx + gy * gy
    return energy if energy.ndim == 2 else energy.sum(axis=-1)
