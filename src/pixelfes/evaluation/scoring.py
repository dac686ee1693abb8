"""Scores of the paper protocols' outputs: pixel metrics, LPIPS, classifier, identity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pixelfes.evaluation.metrics import batch_psnr, batch_sharpness, batch_ssim


class Scorer:
    """Scores outputs against targets; loads the learned metrics lazily, once.

    Parameters
    ----------
    learned : bool
        Compute LPIPS, the classifier and the identity distance (needs the ``eval``
        packages); False leaves them NaN (pixel metrics only).
    """

    def __init__(self, learned: bool = True) -> None:
        self.learned = learned
        self._lpips: Any = None
        self._classifier: Any = None
        self._embedder: Any = None
        self._target_embeddings: dict[int, np.ndarray] = {}

    @property
    def classifier(self) -> Any:
        """The expression classifier (loaded on first use)."""
        if self._classifier is None:
            from pixelfes.evaluation.classifier import ExpressionClassifier

            self._classifier = ExpressionClassifier()
        return self._classifier

    def lpips(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """LPIPS distances of two batches."""
        if self._lpips is None:
            from pixelfes.evaluation.lpips import LPIPS

            self._lpips = LPIPS()
        return np.asarray(self._lpips(a, b), dtype=np.float64).reshape(-1)

    def embed(self, faces: np.ndarray) -> np.ndarray:
        """dlib face embeddings (N, 128)."""
        if self._embedder is None:
            from pixelfes.evaluation.identity import IdentityEmbedder

            self._embedder = IdentityEmbedder()
        return self._embedder.embed(faces)

    def expression(self, faces: np.ndarray, target: str) -> dict[str, np.ndarray]:
        """Predicted label, probability of ``target`` and correctness of each face."""
        from pixelfes.evaluation.classifier import EXPRESSIONS

        n = len(faces)
        if not self.learned:
            return {
                "predicted": np.array([""] * n, dtype=object),
                "p_target": np.full(n, np.nan),
                "correct": np.full(n, np.nan),
            }
        proba = self.classifier.predict_proba(faces)
        predicted = np.array([EXPRESSIONS[i] for i in proba.argmax(axis=1)], dtype=object)
        return {
            "predicted": predicted,
            "p_target": proba[:, EXPRESSIONS.index(target)],
            "correct": (predicted == target).astype(np.float64),
        }

    def score(
        self,
        outputs: np.ndarray,
        targets: np.ndarray,
        expression: str,
        lpips_mask: np.ndarray,
        identity_mask: np.ndarray,
        target_key: Sequence[Any] | None = None,
    ) -> dict[str, np.ndarray]:
        """Every metric for each output (float [0, 1]) against its target (uint8).

        ``target_key`` (one hashable per image) lets target embeddings be reused.
        """
        n = len(outputs)
        scores: dict[str, np.ndarray] = {
            "psnr": batch_psnr(outputs, targets),
            "ssim": batch_ssim(outputs, targets),
            "sharpness": batch_sharpness(outputs, targets),
            "lpips": np.full(n, np.nan),
            "identity": np.full(n, np.nan),
        }
        scores.update(self.expression(outputs, expression))
        if not self.learned:
            return scores
        if lpips_mask.any():
            scores["lpips"][lpips_mask] = self.lpips(outputs[lpips_mask], targets[lpips_mask])
        if identity_mask.any():
            chosen = np.flatnonzero(identity_mask)
            keys = list(target_key) if target_key is not None else [None] * n
            target_vecs = []
            for i in chosen:
                key = keys[i]
                if key is None or key not in self._target_embeddings:
                    vec = self.embed(targets[i : i + 1])[0]
                    if key is not None:
                        self._target_embeddings[key] = vec
                else:
                    vec = self._target_embeddings[key]
                target_vecs.append(vec)
            out_vecs = self.embed(outputs[chosen])
            scores["identity"][chosen] = np.linalg.norm(out_vecs - np.array(target_vecs), axis=1)
        return scores
