"""The geometry-aware row of the leave-one-dataset-out table.

:class:`GeometryMethod` fits the model that ``pixelfes train --geometry`` builds
(:func:`pixelfes.geometric.fit`: 468 dense landmarks, a shape model, a piecewise-affine
warp and a Pixel-RR texture in the mean target shape's frame) on a split's training pairs
and edits the held-out crops at its default intensity (1; the model's gain calibrates it).

Colour and grey, as the photo pipeline would see them:

- every row is fitted on the luma of the pooled training pairs (CK+ is grayscale), so the
  face mesh runs on each grey training crop repeated to R, G and B, as it does on a grey
  photo; the texture model works on the luma in any case;
- a colour test crop goes to the mesh and the warp in colour, and gets the luma texture
  change on R, G and B alike, as :func:`pixelfes.edit` does; a grey test crop (CK+) is
  edited as grey RGB and comes back with its one channel;
- a face whose predicted shape folds the mesh even at a quarter of the change (or whose
  landmarks are unusable) gets the plain bundled recipe, as :func:`pixelfes.edit` does.

The mesh runs once per distinct crop (:class:`LandmarkCache`, shared by every method of a
run and by the splits: each training set is in two splits).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pixelfes.colour import to_rgb, to_unit
from pixelfes.exceptions import GeometryError

__all__ = ["GeometryMethod", "LandmarkCache"]


class LandmarkCache:
    """Dense landmarks of crops, computed once per distinct crop.

    Parameters
    ----------
    detect : callable, optional
        ``detect(crop) -> (P, 2)`` for one (S, S, 3) uint8 crop; by default the face mesh
        (:func:`pixelfes.faces.landmarks.dense_landmarks`).

    Attributes
    ----------
    n_detected : int
        Crops the detector has run on (the rest came from the cache).
    """

    def __init__(self, detect: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.detect = detect
        self.n_detected = 0
        self._points: dict[bytes, np.ndarray] = {}

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        """(N, P, 2) float64 landmarks of (N, S, S, 3) uint8 crops."""
        if self.detect is None:
            from pixelfes.faces.landmarks import dense_landmarks

            self.detect = dense_landmarks
        out = []
        for crop in np.asarray(crops):
            key = hashlib.sha1(crop.tobytes() + repr(crop.shape).encode()).digest()
            if key not in self._points:
                self._points[key] = np.asarray(self.detect(crop), np.float64)
                self.n_detected += 1
            out.append(self._points[key])
        return np.stack(out)


class GeometryMethod:
    """The geometry-aware model as a leave-one-dataset-out method.

    Parameters
    ----------
    fallback : object
        A method (``fit(X, T)``, ``predict(X)``) for the faces the mesh cannot follow;
        the plain bundled recipe, as in the photo pipeline. Fitted only when needed.
    landmarks : LandmarkCache, optional
        Shared landmark cache (a private one by default).
    intensity : float
        Edit intensity (1: the model's calibrated default).
    id, label : str
        Key in the records and display name.

    Attributes
    ----------
    model_ : GeometryModel
        The fitted model.
    note_ : str
        What the last :meth:`predict` did besides the plain geometric edit (backed-off
        shapes, faces given to the fallback), for the run's log.
    """

    def __init__(
        self,
        fallback: Any,
        landmarks: LandmarkCache | None = None,
        intensity: float = 1.0,
        id: str = "geometry",
        label: str = "geometry-aware",
    ) -> None:
        self.fallback = fallback
        self.landmarks = landmarks if landmarks is not None else LandmarkCache()
        self.intensity = intensity
        self.id = id
        self.label = label

    def fit(
        self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None
    ) -> GeometryMethod:
        """Fit on (N, S, S, C) uint8 pairs; ``groups`` (subjects) calibrate the gain."""
        from pixelfes import geometric

        X3, T3 = to_rgb(X), to_rgb(T)
        self.model_ = geometric.fit(X3, T3, self.landmarks(X3), self.landmarks(T3), subjects=groups)
        self._pairs = (X, T)
        self._fallback_fitted = False
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Edited crops on [0, 1] with the channels of ``X``."""
        from pixelfes import geometric

        X = np.asarray(X)
        rgb = to_rgb(X)
        shapes = self.landmarks(rgb)
        out = to_unit(X)
        failed = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(len(X)):
                try:
                    edited = geometric.synthesize(
                        self.model_, rgb[i : i + 1], self.intensity, shapes=shapes[i : i + 1]
                    )[0]
                except GeometryError:
                    failed.append(i)
                    continue
                out[i] = edited[..., : X.shape[-1]]
        backed_off = sum("folds the mesh" in str(w.message) for w in caught)
        if failed:
            if not self._fallback_fitted:
                self.fallback.fit(*self._pairs)
                self._fallback_fitted = True
            out[failed] = self.fallback.predict(X[failed])
        self.note_ = (
            f"{backed_off} of {len(X)} shapes backed off (the full change folded the mesh), "
            f"{len(failed)} faces given to the plain recipe"
        )
        return out
