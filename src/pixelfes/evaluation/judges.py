"""Every score of an edited face, from every judge: the per-image record of the headline.

:class:`Judges` loads the learned judges lazily, once: two independent expression
classifiers (FER2013 mini-Xception, :mod:`~pixelfes.evaluation.classifier`, and facex,
:mod:`~pixelfes.evaluation.facex`), dlib's identity embedding
(:mod:`~pixelfes.evaluation.identity`) and LPIPS (:mod:`~pixelfes.evaluation.lpips`).
:meth:`Judges.score` returns, per output image, the columns of :data:`SCORE_COLUMNS`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pixelfes.evaluation.ghosting import contour_scores, ghost_edges
from pixelfes.evaluation.metrics import batch_psnr, batch_sharpness, batch_ssim

#: The expression judges: record-column prefix -> (module, class).
CLASSIFIERS = {
    "fer": ("pixelfes.evaluation.classifier", "ExpressionClassifier"),
    "facex": ("pixelfes.evaluation.facex", "FacexClassifier"),
}

#: Per-image score columns (besides the run and image identifiers).
SCORE_COLUMNS = (
    "psnr",
    "ssim",
    "lpips",
    "sharpness",
    "ghost",
    "old_contours",
    "id_input",
    "id_target",
    *(f"{judge}{suffix}" for judge in CLASSIFIERS for suffix in ("", "_hit")),
)


class Judges:
    """The learned judges, loaded on first use.

    Parameters
    ----------
    classifiers : sequence of str
        Keys of :data:`CLASSIFIERS` to run.
    identity, lpips : bool
        Compute the dlib identity distances / LPIPS (NaN otherwise).
    """

    def __init__(
        self,
        classifiers: tuple[str, ...] = tuple(CLASSIFIERS),
        identity: bool = True,
        lpips: bool = True,
    ) -> None:
        unknown = sorted(set(classifiers) - set(CLASSIFIERS))
        if unknown:
            raise ValueError(f"unknown classifiers {unknown}; use {sorted(CLASSIFIERS)}")
        self.classifiers = tuple(classifiers)
        self.identity = identity
        self.use_lpips = lpips
        self._loaded: dict[str, Any] = {}

    def _get(self, key: str) -> Any:
        if key not in self._loaded:
            import importlib

            if key in CLASSIFIERS:
                module, name = CLASSIFIERS[key]
            elif key == "identity":
                module, name = "pixelfes.evaluation.identity", "IdentityEmbedder"
            else:
                module, name = "pixelfes.evaluation.lpips", "LPIPS"
            self._loaded[key] = getattr(importlib.import_module(module), name)()
        return self._loaded[key]

    def expressions(self, faces: np.ndarray, target: str) -> dict[str, np.ndarray]:
        """``{judge: predicted label, judge_hit: 1.0 if it is target}`` per face."""
        from pixelfes.evaluation.classifier import EXPRESSIONS

        out: dict[str, np.ndarray] = {}
        for key in CLASSIFIERS:
            if key not in self.classifiers:
                out[key] = np.array([""] * len(faces), dtype=object)
                out[f"{key}_hit"] = np.full(len(faces), np.nan)
                continue
            proba = self._get(key).predict_proba(faces)
            labels = np.array([EXPRESSIONS[i] for i in proba.argmax(axis=1)], dtype=object)
            out[key] = labels
            out[f"{key}_hit"] = (labels == target).astype(np.float64)
        return out

    def embed(self, faces: np.ndarray) -> np.ndarray:
        """dlib embeddings (N, 128), or NaN when identity is off."""
        if not self.identity:
            return np.full((len(faces), 128), np.nan)
        return self._get("identity").embed(faces)

    def score(
        self,
        outputs: np.ndarray,
        inputs: np.ndarray,
        targets: np.ndarray,
        expression: str,
        input_embeddings: np.ndarray,
        target_embeddings: np.ndarray,
        *,
        is_target: bool = False,
    ) -> dict[str, np.ndarray]:
        """Every score of each output against its input and real target.

        Parameters
        ----------
        outputs : ndarray (N, H, W, C), float in [0, 1] or uint8
        inputs, targets : ndarray (N, H, W, C), uint8
        expression : str
            The target expression the classifiers should see.
        input_embeddings, target_embeddings : ndarray (N, 128)
            Precomputed dlib embeddings of the inputs and targets.
        is_target : bool
            The outputs are the real targets themselves (the ceiling row): PSNR, SSIM and
            LPIPS against the target are left NaN (sharpness, output over target gradient
            energy, is 1 there by definition).
        """
        n = len(outputs)
        scores: dict[str, np.ndarray] = {
            "psnr": np.full(n, np.nan),
            "ssim": np.full(n, np.nan),
            "lpips": np.full(n, np.nan),
        }
        if not is_target:
            scores["psnr"] = batch_psnr(outputs, targets)
            scores["ssim"] = batch_ssim(outputs, targets)
            if self.use_lpips:
                lp = self._get("lpips")(outputs, targets)
                scores["lpips"] = np.asarray(lp, np.float64).reshape(-1)
        scores["sharpness"] = batch_sharpness(outputs, targets)
        scores["ghost"] = ghost_edges(outputs, inputs, targets)
        scores["old_contours"] = contour_scores(outputs, inputs, targets)[0]
        embedded = target_embeddings if is_target else self.embed(outputs)
        scores["id_input"] = np.linalg.norm(embedded - input_embeddings, axis=1)
        scores["id_target"] = np.linalg.norm(embedded - target_embeddings, axis=1)
        scores.update(self.expressions(outputs, expression))
        return scores
