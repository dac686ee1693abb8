"""Ghosting: contours in an edited face that belong neither to the input nor to the target.

A per-pixel model adds its training faces' *average* change at fixed crop locations. On a
face whose mouth or eyes sit elsewhere, that change draws contours of its own: a dark
mouth line over closed lips, a second lip outline, a brow above the brow. Such edges are
in neither the unedited input nor the real photo of the person with the expression.

:func:`ghost_edges` measures them: the gradient magnitude of the output's luma that
exceeds both the input's and the target's gradient magnitude, each taken at its largest
over a small neighbourhood (so that an edge which moved by a pixel or two between the two
photos, or a softened copy of a real edge, does not count). The input scores exactly 0 by
construction; so does the real target. The unit is grey levels (0-255) per pixel,
averaged over the face ellipse of the aligned crop.

:func:`contour_scores` looks at the same failure from the other side, on Canny contours:
of the input's contours that the real target no longer has, the share the output still
draws (*old contours kept*: 1 for the unedited input, 0 for the target), and of the
target's new contours, the share the output draws. A double outline is both at once.
"""

from __future__ import annotations

import cv2
import numpy as np

from pixelfes.colour import BT601_LUMA
from pixelfes.evaluation._common import as_float_batch

__all__ = ["contour_scores", "edge_magnitude", "ghost_edges", "ghost_map"]

#: Neighbourhood (pixels, each side) over which input and target edges are allowed to sit.
TOLERANCE = 2


def _luma255(images: np.ndarray, name: str) -> np.ndarray:
    x, _ = as_float_batch(images, name)
    y = x @ np.array(BT601_LUMA) if x.shape[3] == 3 else x[..., 0]
    return (np.clip(y, 0.0, 1.0) * 255.0).astype(np.float32)


def edge_magnitude(images: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of each image's luma, grey levels, shape (N, H, W).

    A 3x3 Gaussian blur first keeps pixel noise and JPEG blocks out of the edges.
    """
    y = _luma255(images, "images")
    out = np.empty_like(y)
    for i, plane in enumerate(y):
        smooth = cv2.GaussianBlur(plane, (3, 3), 0)
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        out[i] = np.hypot(gx, gy)
    return out


def _spread(edges: np.ndarray, tolerance: int) -> np.ndarray:
    if tolerance <= 0:
        return edges
    kernel = np.ones((2 * tolerance + 1, 2 * tolerance + 1), np.uint8)
    return np.stack([cv2.dilate(e, kernel) for e in edges])


def ghost_map(
    outputs: np.ndarray, inputs: np.ndarray, targets: np.ndarray, tolerance: int = TOLERANCE
) -> np.ndarray:
    """Per-pixel ghost edge strength, grey levels, shape (N, H, W).

    ``max(0, |grad output| - max(spread |grad input|, spread |grad target|))`` where
    ``spread`` is the largest value within ``tolerance`` pixels.
    """
    outputs, inputs, targets = (np.asarray(a) for a in (outputs, inputs, targets))
    if outputs.shape[:-1] != inputs.shape[:-1] or inputs.shape[:-1] != targets.shape[:-1]:
        raise ValueError(
            f"outputs, inputs and targets differ in shape: {outputs.shape}, {inputs.shape}, "
            f"{targets.shape}"
        )
    allowed = np.maximum(
        _spread(edge_magnitude(inputs), tolerance), _spread(edge_magnitude(targets), tolerance)
    )
    return np.maximum(edge_magnitude(outputs) - allowed, 0.0)


def _face_mask(height: int, width: int) -> np.ndarray:
    """The aligned crop's face ellipse (brows to chin, cheek to cheek)."""
    from pixelfes.faces import face_mask

    return np.asarray(face_mask(height), dtype=np.float32).reshape(height, width) > 0.5


def ghost_edges(
    outputs: np.ndarray, inputs: np.ndarray, targets: np.ndarray, tolerance: int = TOLERANCE
) -> np.ndarray:
    """Mean ghost edge strength inside the face of each output, grey levels, shape (N,).

    Parameters
    ----------
    outputs, inputs, targets : ndarray of shape (N, H, W, C)
        Edited crops, the unedited inputs and the real target photos (aligned), uint8 or
        float in [0, 1]; C may differ between them (edges are measured on the luma).
    tolerance : int
        Pixels by which an input or target edge may be displaced and still explain an
        output edge.

    Returns
    -------
    ndarray of float64
        0 when every output edge is explained by the input or the target.
    """
    ghosts = ghost_map(outputs, inputs, targets, tolerance)
    mask = _face_mask(*ghosts.shape[1:3])
    return ghosts[:, mask].mean(axis=1).astype(np.float64)


def _contours(images: np.ndarray, name: str) -> np.ndarray:
    """Canny contours (thresholds 40 / 100 after a 3x3 blur) of each luma: (N, H, W) bool."""
    grey = np.clip(np.rint(_luma255(images, name)), 0, 255).astype(np.uint8)
    return np.stack([cv2.Canny(cv2.GaussianBlur(g, (3, 3), 0), 40, 100) > 0 for g in grey])


def _near(contours: np.ndarray, radius: int) -> np.ndarray:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    return np.stack([cv2.dilate(c.astype(np.uint8), kernel) > 0 for c in contours])


def contour_scores(
    outputs: np.ndarray, inputs: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per face: share of vanished contours still drawn, share of new contours drawn.

    Parameters
    ----------
    outputs, inputs, targets : ndarray of shape (N, H, W, C)
        As for :func:`ghost_edges`.

    Returns
    -------
    old_kept, new_drawn : ndarray of shape (N,)
        ``old_kept``: of the input's contours inside the face that the target does not
        have within :data:`TOLERANCE` pixels, the share with an output contour within 1
        pixel (0 when there are none). ``new_drawn``: the same for the target's contours
        that the input does not have.
    """
    e_in, e_t = _contours(inputs, "inputs"), _contours(targets, "targets")
    e_out = _contours(outputs, "outputs")
    if not e_in.shape == e_t.shape == e_out.shape:
        raise ValueError(
            f"outputs, inputs and targets differ in shape: {e_out.shape}, {e_in.shape}, {e_t.shape}"
        )
    inside = _face_mask(*e_in.shape[1:3])
    old = e_in & ~_near(e_t, TOLERANCE) & inside
    new = e_t & ~_near(e_in, TOLERANCE) & inside
    near_out = _near(e_out, 1)
    kept = (old & near_out).sum((1, 2)) / np.maximum(old.sum((1, 2)), 1)
    drawn = (new & near_out).sum((1, 2)) / np.maximum(new.sum((1, 2)), 1)
    return kept.astype(np.float64), drawn.astype(np.float64)
