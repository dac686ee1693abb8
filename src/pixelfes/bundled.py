"""The recipe of the bundled models: how ``scripts/build_pretrained.py`` fits them.

One function, used both to build the shipped files and by the evaluation's
leave-one-dataset-out protocol (which fits the same recipe on all sets but the held-out
one), so that the score reported for "the bundled model" is the score of this code.

The recipe: Pixel-RR (Eq. 3-6 of the paper) shared across channels, fitted on the luma
(ITU-R BT.601) of every training pair, so grayscale and colour datasets pool; then the
change it makes is limited to where the training pairs change *consistently*. At each
pixel the per-pair change ``d_n = t_n - x_n`` has mean ``m`` and variance ``v``; the
consistent fraction of its power is ``g = m^2 / (m^2 + v)`` (1 where every pair changes
alike, near 0 where the change is mostly person-to-person variation, e.g. where one
face's iris meets another's skin). ``g`` is smoothed (Gaussian, ``smooth`` pixels) and
raised to ``strength``; the model's change ``(w - 1) x + b`` is scaled by it, which is
again a Pixel-RR model: ``w' = 1 + g (w - 1)``, ``b' = g b``.
"""

from __future__ import annotations

import cv2
import numpy as np

from pixelfes.colour import to_gray
from pixelfes.models import PixelRidge

__all__ = ["RECIPES", "consistency_gain", "fit_bundled", "recipe", "to_luma"]


def to_luma(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, H, W, 1) uint8 BT.601 luma; one channel unchanged."""
    return to_gray(np.asarray(images))


def consistency_gain(X: np.ndarray, T: np.ndarray, smooth: float = 2.0) -> np.ndarray:
    """Per-pixel consistent fraction ``m^2 / (m^2 + v)`` of the training change, (H, W).

    Parameters
    ----------
    X, T : ndarray of shape (N, H, W, 1), uint8
        Luma of the training inputs and targets.
    smooth : float
        Gaussian sigma (pixels) applied to the gain; 0 leaves it raw.
    """
    d = T[..., 0].astype(np.float64) - X[..., 0].astype(np.float64)
    m2 = d.mean(axis=0) ** 2
    v = d.var(axis=0)
    gain = (m2 / np.maximum(m2 + v, 1e-12)).astype(np.float32)
    if smooth > 0:
        gain = cv2.GaussianBlur(gain, (0, 0), smooth)
    return np.clip(gain, 0.0, 1.0)


def fit_bundled(
    X: np.ndarray, T: np.ndarray, alpha: float, strength: float = 0.0, smooth: float = 2.0
) -> PixelRidge:
    """Fit the bundled recipe on paired crops (any channels; fitted on their luma).

    Parameters
    ----------
    X, T : ndarray of shape (N, H, W, C), uint8
    alpha : float
        Ridge penalty (the paper's lambda).
    strength : float
        Exponent of the consistency gain; 0 keeps the plain Pixel-RR change.
    smooth : float
        Gaussian sigma of the gain.

    Returns
    -------
    PixelRidge
        One-channel model (apply it with ``pixelfes.editing.synthesize(..., luma=True)``).
    """
    X, T = to_luma(X), to_luma(T)
    model = PixelRidge(alpha=alpha, channels="shared").fit(X, T)
    if strength > 0:
        gain = consistency_gain(X, T, smooth) ** strength
        gain = gain.reshape(np.shape(model.coef_)).astype(np.asarray(model.coef_).dtype)
        model.coef_ = 1.0 + gain * (model.coef_ - 1.0)
        model.intercept_ = gain * model.intercept_
    return model


#: (alpha, consistency strength) of each bundled model, by target expression, chosen by
#: the leave-one-dataset-out score (``scripts/choose_recipe.py``, its output in
#: docs/results/recipe_choice.tsv). happy -> neutral has no held-out real targets of its
#: own in the chooser and takes happy's recipe.
RECIPES: dict[str, tuple[float, float]] = {
    "happy": (4.0, 0.0),
    "neutral": (4.0, 0.0),
    "surprise": (0.4, 0.0),
    "sad": (0.4, 0.0),
    "fear": (4.0, 0.25),
    "anger": (4.0, 0.0),
    "disgust": (4.0, 0.0),
}
DEFAULT_RECIPE = (0.4, 0.0)


def recipe(expression: str) -> tuple[float, float]:
    """The (alpha, strength) the bundled model for ``expression`` is fitted with."""
    return RECIPES.get(expression, DEFAULT_RECIPE)


def heldout_psnr(
    X: np.ndarray,
    T: np.ndarray,
    subjects: list[str],
    alpha: float,
    strength: float,
    test_size: float = 0.2,
    seed: int = 0,
) -> tuple[float, float, int]:
    """Held-out PSNR of the recipe on a subject-disjoint split, as the model cards report it.

    Returns
    -------
    (recipe PSNR, unchanged-input PSNR, held-out subjects)
        Mean PSNR (dB) over the held-out pairs, scored on the luma with the recipe applied
        through :func:`pixelfes.editing.synthesize`.
    """
    from pixelfes.data import subject_train_test_split
    from pixelfes.editing import synthesize
    from pixelfes.metrics import batch_psnr

    train, test = subject_train_test_split(subjects, test_size=test_size, seed=seed)
    model = fit_bundled(X[train], T[train], alpha, strength)
    x, t = to_luma(X[test]), to_luma(T[test])
    out = synthesize(model, x, 1.0, luma=True)
    held = {subjects[i] for i in test}
    return float(batch_psnr(out, t).mean()), float(batch_psnr(x, t).mean()), len(held)
