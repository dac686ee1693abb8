"""Fit a model on aligned pairs: named model families, subject-disjoint scoring and CV.

Scores are mean PSNR (dB) over held-out images, computed on subjects that were never seen
in fitting; the identity map (output = input) is scored alongside as the floor.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixelfes import __version__
from pixelfes.data.splits import subject_kfold, subject_train_test_split
from pixelfes.exceptions import InvalidInputError
from pixelfes.faces import face_mask
from pixelfes.kernel_selection import KERNEL_GRID, cross_validate_kernel
from pixelfes.metrics import batch_psnr
from pixelfes.models import MODEL_FAMILIES
from pixelfes.photometric import pooled_statistics

#: Hyper-parameter grids searched by cross-validation, per model family.
CV_GRIDS: dict[str, dict[str, Sequence[float]]] = {
    "pixel-rr": {"alpha": (0.001, 0.01, 0.04, 0.4, 4.0)},
    "pixel-kr": KERNEL_GRID,
    "mr": {"alpha": (0.01, 0.04, 0.4, 4.0)},
    "global-rr": {"alpha": (0.4, 4.0, 40.0, 400.0)},
    "flow-rr": {"alpha": (0.04, 0.4, 4.0), "penalty": (1e-5, 3e-5, 1e-4)},
}


#: Cross-validation scores closer than this (dB) count as a tie.
TIE_DB = 0.01


@dataclass
class TrainReport:
    """What training did, for the command line summary and the model card."""

    model: Any
    family: str
    params: dict[str, float]
    n_pairs: int
    n_subjects: int
    fit_seconds: float
    heldout_psnr: float
    heldout_identity_psnr: float
    n_heldout_subjects: int
    cv_scores: dict[str, float] = field(default_factory=dict)


def make_model(family: str, **params: Any) -> Any:
    """Build an unfitted model of a family named in :data:`MODEL_FAMILIES`."""
    try:
        cls = MODEL_FAMILIES[family]
    except KeyError:
        names = ", ".join(MODEL_FAMILIES)
        raise InvalidInputError(f"unknown model {family!r}; choose one of {names}") from None
    return cls(**params)


def heldout_psnr(
    family: str,
    params: dict[str, Any],
    X: np.ndarray,
    T: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
) -> np.ndarray:
    """Fit on ``train`` indices and return the PSNR of each ``test`` prediction."""
    model = make_model(family, **params).fit(X[train], T[train])
    return batch_psnr(model.predict(X[test]), T[test])


def cross_validate(
    family: str,
    X: np.ndarray,
    T: np.ndarray,
    subjects: Sequence[str],
    *,
    grid: dict[str, Sequence[float]] | None = None,
    k: int = 5,
    seed: int = 0,
    on_step: Callable[[], None] | None = None,
    fixed: dict[str, Any] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Choose hyper-parameters by subject-disjoint k-fold cross-validation.

    ``fixed`` holds the family's other hyper-parameters (e.g. ``channels``), the same for
    every candidate, so that the search scores the model that will be fitted.

    Returns
    -------
    best : dict
        The hyper-parameters with the highest mean held-out PSNR; among candidates within
        ``TIE_DB`` of it, the one with the largest values (most regularised, widest kernel).
    scores : dict
        Mean held-out PSNR of every candidate, keyed by ``"name=value,..."``.
    """
    grid = grid or CV_GRIDS[family]
    fixed = {name: value for name, value in (fixed or {}).items() if name not in grid}
    candidates = {
        ",".join(f"{name}={value:g}" for name, value in zip(grid, values, strict=True)): dict(
            zip(grid, values, strict=True)
        )
        for values in itertools.product(*grid.values())
    }
    if family == "pixel-kr" and X.dtype == np.uint8 and set(grid) == {"alpha", "sigma"}:
        # 8-bit inputs: every candidate from additive per-level fold statistics
        scores = cross_validate_kernel(
            X,
            T,
            subjects,
            alphas=grid["alpha"],
            sigmas=grid["sigma"],
            channels=fixed.get("channels", "shared"),
            k=k,
            seed=seed,
            on_step=on_step,
        )
        scores = {
            key: scores[f"alpha={p['alpha']:g},sigma={p['sigma']:g}"]
            for key, p in candidates.items()
        }
        return _choose(scores, candidates), scores
    folds = subject_kfold(subjects, k=k, seed=seed)
    scores: dict[str, float] = {}
    for key, params in candidates.items():
        fold_scores = []
        for train, test in folds:
            fold_scores.append(heldout_psnr(family, {**fixed, **params}, X, T, train, test))
            if on_step is not None:
                on_step()
        scores[key] = float(np.mean(np.concatenate(fold_scores)))
    return _choose(scores, candidates), scores


def _choose(scores: dict[str, float], candidates: dict[str, dict[str, float]]) -> dict[str, float]:
    """The best candidate; among those within TIE_DB of it, the most regularised one."""
    best = max(scores.values())
    near = [key for key, score in scores.items() if score >= best - TIE_DB]
    return candidates[max(near, key=lambda key: tuple(candidates[key].values()))]


def cv_steps(family: str, k: int = 5) -> int:
    """Progress steps of :func:`cross_validate` (fits; for Pixel-KR, folds x sigmas)."""
    if family == "pixel-kr":
        return k * len(CV_GRIDS[family]["sigma"])
    return k * int(np.prod([len(values) for values in CV_GRIDS[family].values()]))


def train(
    family: str,
    X: np.ndarray,
    T: np.ndarray,
    subjects: Sequence[str],
    *,
    params: dict[str, float] | None = None,
    cv: bool = False,
    test_size: float = 0.2,
    seed: int = 0,
    on_step: Callable[[], None] | None = None,
) -> TrainReport:
    """Score a model on held-out subjects, then fit it on every pair.

    Parameters
    ----------
    family : str
        ``pixel-rr``, ``pixel-kr``, ``mr`` or ``global-rr``.
    X, T : ndarray of shape (N, H, W, C), uint8
        Aligned input and target crops.
    subjects : sequence of str
        Subject id of each pair; no subject is on both sides of a split.
    params : dict, optional
        Hyper-parameters (e.g. ``{"alpha": 0.4}``); the family's defaults otherwise.
    cv : bool
        Choose the hyper-parameters by 5-fold subject-disjoint cross-validation on the
        training part of the split (``params`` then fixes the rest).
    test_size : float
        Fraction of subjects held out for the reported score.

    Returns
    -------
    TrainReport
    """
    _check_pairs(X, T, subjects)
    params = dict(params or {})
    train_idx, test_idx = subject_train_test_split(subjects, test_size=test_size, seed=seed)
    cv_scores: dict[str, float] = {}
    if cv:
        train_subjects = [subjects[i] for i in train_idx]
        best, cv_scores = cross_validate(
            family,
            X[train_idx],
            T[train_idx],
            train_subjects,
            seed=seed,
            on_step=on_step,
            fixed=params,
        )
        params.update(best)
    scores = heldout_psnr(family, params, X, T, train_idx, test_idx)
    identity = batch_psnr(X[test_idx], T[test_idx])
    start = time.perf_counter()
    model = make_model(family, **params).fit(X, T)
    fit_seconds = time.perf_counter() - start
    return TrainReport(
        model=model,
        family=family,
        params={
            name: float(value)
            for name, value in model.get_params().items()
            if isinstance(value, int | float)
        },
        n_pairs=len(X),
        n_subjects=len(set(subjects)),
        fit_seconds=fit_seconds,
        heldout_psnr=float(np.mean(scores)),
        heldout_identity_psnr=float(np.mean(identity)),
        n_heldout_subjects=len({subjects[i] for i in test_idx}),
        cv_scores=cv_scores,
    )


def _check_pairs(X: np.ndarray, T: np.ndarray, subjects: Iterable[str]) -> None:
    n_subjects = len(set(subjects))
    if n_subjects < 2:
        raise InvalidInputError(f"training needs pairs from at least 2 subjects, got {n_subjects}")


def training_colours(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of (N, S, S, C) training inputs in the face."""
    return pooled_statistics(X, face_mask(X.shape[1]))


def model_metadata(
    report: TrainReport,
    X: np.ndarray | None,
    source: str,
    target: str,
    datasets: Sequence[str],
    seed: int,
    *,
    input_statistics: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """The metadata saved with a trained model: its task, data, scores and colour statistics.

    ``input_mean``/``input_std`` are the training inputs' per-channel statistics inside the
    face mask (``input_statistics``, or computed from the crops ``X``), used by
    :func:`pixelfes.editing.synthesize` to match new faces to them.
    """
    mean, std = input_statistics if input_statistics is not None else training_colours(X)
    return {
        "source_expression": source,
        "target_expression": target,
        "datasets": list(datasets),
        "n_pairs": report.n_pairs,
        "n_subjects": report.n_subjects,
        "heldout_psnr": round(report.heldout_psnr, 3),
        "heldout_identity_psnr": round(report.heldout_identity_psnr, 3),
        "heldout_subjects": report.n_heldout_subjects,
        "split_seed": seed,
        "cv_scores": {k: round(v, 3) for k, v in report.cv_scores.items()},
        "input_mean": [round(float(v), 6) for v in mean],
        "input_std": [round(float(v), 6) for v in std],
        "pixelfes_version": __version__,
    }
