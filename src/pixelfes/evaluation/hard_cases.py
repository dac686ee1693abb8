"""Generated hard cases for the face border: a busy background and a turned (3/4-like) face.

Both start from a real photo of a face on a plain background and keep the face's own
pixels; they move what surrounds it into the part of the aligned crop's paste ellipse
that a frontal face would fill, where a careless paste leaves a contour. They are
stand-ins: the turned face is squeezed in 2-D, not rotated in 3-D.
"""

from __future__ import annotations

import cv2
import numpy as np

from pixelfes.faces import AlignedFace

__all__ = ["busy_background", "turned_face"]


def _background(image: np.ndarray, tolerance: float) -> np.ndarray:
    """The plain backdrop as a bool (H, W): pixels within ``tolerance`` of the colour of the
    photo's corners, connected to a corner."""
    h, w = image.shape[:2]
    k = max(4, min(h, w) // 20)
    img = image.astype(np.float32)
    corners = np.concatenate([img[:k, :k], img[:k, -k:], img[-k:, :k], img[-k:, -k:]])
    reference = np.median(corners.reshape(-1, img.shape[-1]), axis=0)
    close = (np.linalg.norm(img - reference, axis=-1) < tolerance).astype(np.uint8)
    _, labels = cv2.connectedComponents(close, connectivity=4)
    seeds = {labels[y, x] for x, y in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)]}
    return np.isin(labels, [s for s in seeds if s != 0])


def busy_background(image: np.ndarray, *, period: int = 9, tolerance: float = 40.0) -> np.ndarray:
    """Replace a plain backdrop (the colour of the corners, connected to them) by stripes.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3), uint8
        A face photographed against a plain backdrop (e.g. the London Set).
    period : int
        Stripe period in pixels.
    tolerance : float
        Colour distance to the corners' median below which a pixel may be backdrop.

    Returns
    -------
    ndarray of shape (H, W, 3), uint8
    """
    back = _background(image, tolerance)
    back = cv2.morphologyEx(back.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)) > 0
    yy, xx = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    stripes = np.where(((xx + yy) // max(1, period // 2)) % 2 == 0, 40, 200).astype(np.uint8)
    colours = np.stack([stripes, stripes // 2 + 60, 255 - stripes], axis=-1)
    out = image.copy()
    out[back] = colours[back]
    return out


def turned_face(image: np.ndarray, face: AlignedFace, *, squeeze: float = 0.5) -> np.ndarray:
    """Squeeze the image-right half of the face towards the nose, like a head turned away.

    Columns right of the nose tip are compressed by ``squeeze`` (the nose stays put, the
    right cheek and jaw move inwards) and what was beyond fills in, so background now lies
    where the aligned crop expects the right cheek.
    """
    h, w = image.shape[:2]
    nose_x = float(face.landmarks[2, 0])
    xs = np.arange(w, dtype=np.float32)
    src_x = np.where(xs > nose_x, nose_x + (xs - nose_x) / np.float32(squeeze), xs)
    map_x = np.repeat(src_x[None, :], h, axis=0).astype(np.float32)
    map_y = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
