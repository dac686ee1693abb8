"""Photometric matching: show a model faces lit and coloured like its training faces.

A per-pixel model maps intensities it saw in training; a face photographed under other
light or with another skin tone falls outside that range and is pulled towards the
training mean. Matching each channel's mean and spread inside the face mask to the
training statistics before synthesis, and undoing it afterwards, keeps the person's own
colours while the model changes the expression.

Every function takes the face mask of the crops (e.g. :func:`pixelfes.faces.face_mask`)
from its caller: this module knows colours, not faces.
"""

from __future__ import annotations

import numpy as np

from pixelfes.colour import to_unit
from pixelfes.exceptions import InvalidInputError

_MIN_STD = 1e-3


def face_statistics(crops: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of each face inside the face mask.

    Parameters
    ----------
    crops : ndarray of shape (N, S, S, C) or (S, S, C), uint8 or float in [0, 1]
        Aligned faces.
    mask : ndarray of shape (S, S)
        Face mask of the crops; pixels where it exceeds 0.5 count.

    Returns
    -------
    mean, std : ndarray of shape (N, C), or (C,) for a single face; float32
    """
    values = _masked_values(crops, mask)
    return values.mean(axis=-2), np.maximum(values.std(axis=-2), _MIN_STD)


def pooled_statistics(crops: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per channel over every face of a training set, shape (C,).

    ``crops`` is (N, S, S, C); ``mask`` (S, S) selects the face pixels (values > 0.5).
    """
    values = _masked_values(crops, mask).reshape(-1, np.shape(crops)[-1])
    return values.mean(axis=0), np.maximum(values.std(axis=0), _MIN_STD)


def masked_sums(crops: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Count, sum and sum of squares per channel inside the face mask, shape (3, C), float64.

    Additive over sets of faces: :func:`statistics_from_sums` of the summed arrays gives
    :func:`pooled_statistics` of all the faces together (for training in chunks).
    """
    values = _masked_values(crops, mask).reshape(-1, np.shape(crops)[-1]).astype(np.float64)
    count = np.full(values.shape[1], float(values.shape[0]))
    return np.stack([count, values.sum(axis=0), np.square(values).sum(axis=0)])


def statistics_from_sums(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation per channel from summed :func:`masked_sums`, (C,) each."""
    count, total, squares = sums
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean * mean, 0.0))
    return mean.astype(np.float32), np.maximum(std, _MIN_STD).astype(np.float32)


def match_to(
    crops: np.ndarray, mean: np.ndarray, std: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shift and scale each face's channels to ``mean``/``std`` (inside the face mask).

    Parameters
    ----------
    crops : ndarray of shape (N, S, S, C), uint8 or float in [0, 1]
    mean, std : array-like of shape (C,)
        Target statistics, e.g. from :func:`pooled_statistics` on the training inputs.
    mask : ndarray of shape (S, S)
        Face mask of the crops; the statistics are taken where it exceeds 0.5.

    Returns
    -------
    matched : ndarray of shape (N, S, S, C), float32 clipped to [0, 1]
    face_mean, face_std : ndarray of shape (N, C)
        Each face's own statistics, to undo the match with :func:`unmatch`.
    """
    x = _as_float(crops)
    face_mean, face_std = face_statistics(x, mask)
    scale = np.asarray(std, np.float32) / face_std
    matched = (x - face_mean[:, None, None]) * scale[:, None, None] + np.asarray(mean, np.float32)
    return np.clip(matched, 0.0, 1.0), face_mean, face_std


def unmatch(
    images: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    face_mean: np.ndarray,
    face_std: np.ndarray,
) -> np.ndarray:
    """Invert :func:`match_to` on synthesized faces: back to each face's own colours."""
    scale = face_std / np.asarray(std, np.float32)
    shifted = (images - np.asarray(mean, np.float32)) * scale[:, None, None]
    return shifted + face_mean[:, None, None]


def _as_float(crops: np.ndarray) -> np.ndarray:
    x = np.asarray(crops)
    if x.ndim != 4:
        raise InvalidInputError(f"crops must have shape (N, S, S, C), got {x.shape}")
    return to_unit(x)


def _masked_values(crops: np.ndarray, mask: np.ndarray) -> np.ndarray:
    x = to_unit(crops)
    inside = np.asarray(mask) > 0.5
    if inside.shape != x.shape[-3:-1]:
        raise InvalidInputError(f"mask has shape {inside.shape}; the crops are {x.shape[-3:-1]}")
    return x[..., inside, :]
