"""Evaluation protocols of the paper: subject-disjoint k-fold and cross-dataset.

Every protocol fits :class:`~pixelfes.evaluation.methods.Method` objects on aligned pairs
and scores each output image, producing flat per-image records (dicts) that
:mod:`pixelfes.evaluation.report` summarises. Outputs are clipped to [0, 1] before
scoring. The expensive learned metrics (LPIPS, identity embedding) are computed on a
fixed subset of the test images (the first image of each of the first ``lpips_subjects``
/ ``identity_subjects`` test subjects, in sorted subject order); the others hold NaN.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixelfes.data import subject_kfold
from pixelfes.evaluation.methods import Method
from pixelfes.evaluation.pairs import GRAY_DATASETS, PairSet, load_set
from pixelfes.evaluation.scoring import Scorer

__all__ = [
    "GRAY_DATASETS",
    "REAL_TARGET",
    "PairSet",
    "Results",
    "Scorer",
    "evaluate_split",
    "first_per_subject",
    "load_set",
    "run_cross",
    "run_kfold",
]

#: Label of the reference rows scoring the real target photos (the classifier's ceiling).
REAL_TARGET = "real_target"


@dataclass
class Results:
    """What the protocols produce.

    Attributes
    ----------
    records : list of dict
        One row per (protocol run, method, test image), plus ``REAL_TARGET`` rows.
    timings : list of dict
        One row per (protocol run, fold, method): fit and predict seconds, parameters.
    examples : dict
        ``(test_set, index) -> {method id: output}`` kept for figures.
    skipped : list of str
        Inputs that could not be evaluated, with the reason.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    timings: list[dict[str, Any]] = field(default_factory=list)
    examples: dict[tuple[str, int], dict[str, np.ndarray]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def extend(self, other: Results) -> None:
        """Append another result's rows."""
        self.records += other.records
        self.timings += other.timings
        self.examples.update(other.examples)
        self.skipped += other.skipped


def first_per_subject(subjects: Sequence[str], limit: int | None) -> np.ndarray:
    """Mask of the first image of each of the first ``limit`` subjects (sorted order)."""
    mask = np.zeros(len(subjects), dtype=bool)
    seen: dict[str, int] = {}
    for i, subject in enumerate(subjects):
        seen.setdefault(subject, i)
    chosen = sorted(seen)[: limit if limit is not None else None]
    mask[[seen[s] for s in chosen]] = True
    return mask


def _fit_predict(
    method: Method, train: PairSet, test: PairSet
) -> tuple[np.ndarray, float, float, int]:
    start = time.perf_counter()
    method.fit(train.X, train.T, groups=train.subjects)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    outputs = method.predict(test.X)
    predict_s = time.perf_counter() - start
    outputs = np.clip(np.asarray(outputs, np.float32), 0.0, 1.0)
    return outputs, fit_s, predict_s, int(method.n_parameters)


def evaluate_split(
    methods: Sequence[Method],
    train: PairSet,
    test: PairSet,
    scorer: Scorer,
    *,
    info: dict[str, Any],
    lpips_mask: np.ndarray,
    identity_mask: np.ndarray,
    test_index: np.ndarray | None = None,
    keep: frozenset[int] = frozenset(),
    on_method: Callable[[str], None] | None = None,
) -> Results:
    """Fit every method on ``train``, predict ``test`` and score every output.

    Parameters
    ----------
    methods : sequence of Method
    train, test : PairSet
    scorer : Scorer
    info : dict
        Columns copied into every row (protocol, train_set, test_set, expression, fold).
    lpips_mask, identity_mask : ndarray of bool, shape (len(test),)
        Which test images get the learned distances.
    test_index : ndarray, optional
        Index of each test pair in its full set (for ``keep`` and target caching).
    keep : frozenset of int
        Full-set indices whose outputs are kept in ``Results.examples``.
    on_method : callable, optional
        Called with each method's name before it runs (progress).
    """
    index = np.arange(len(test)) if test_index is None else np.asarray(test_index)
    target_key = [(test.dataset, test.expression, test.X.shape[-1], int(i)) for i in index]
    results = Results()
    base = [
        {**info, "subject": s, "image": name, "index": int(i)}
        for s, name, i in zip(test.subjects, test.names, index, strict=True)
    ]
    reference = scorer.expression(test.T, test.expression)
    for row, j in zip(base, range(len(test)), strict=True):
        results.records.append(
            {**row, "method": REAL_TARGET, **{k: _item(v[j]) for k, v in reference.items()}}
        )
    for method in methods:
        if on_method is not None:
            on_method(method.id)
        outputs, fit_s, predict_s, n_params = _fit_predict(method, train, test)
        scores = scorer.score(
            outputs, test.T, test.expression, lpips_mask, identity_mask, target_key
        )
        for j, row in enumerate(base):
            results.records.append(
                {**row, "method": method.id, **{k: _item(v[j]) for k, v in scores.items()}}
            )
        results.timings.append(
            {
                **info,
                "method": method.id,
                "n_train": len(train),
                "n_test": len(test),
                "fit_s": fit_s,
                "predict_s_per_image": predict_s / max(1, len(test)),
                "n_parameters": n_params,
            }
        )
        for j, i in enumerate(index):
            if int(i) in keep:
                results.examples.setdefault((test.dataset, int(i)), {})[method.id] = outputs[j]
    return results


def run_kfold(
    methods: Sequence[Method],
    data: PairSet,
    scorer: Scorer,
    *,
    k: int = 5,
    seed: int = 0,
    lpips_subjects: int | None = None,
    identity_subjects: int | None = None,
    keep: frozenset[int] = frozenset(),
    on_method: Callable[[str], None] | None = None,
) -> Results:
    """Subject-disjoint k-fold within one set.

    Every pair is scored once, by a model that never saw its subject (checked per fold).

    Parameters
    ----------
    methods : sequence of Method
    data : PairSet
    scorer : Scorer
    k, seed : int
        Folds and seed of :func:`pixelfes.data.subject_kfold`.
    lpips_subjects, identity_subjects : int, optional
        How many test subjects get LPIPS / identity distances (None: all).
    keep : frozenset of int
        Indices whose outputs are kept for figures.
    on_method : callable, optional
        Progress callback.

    Returns
    -------
    Results
        Rows with ``protocol="within"``, ``fold`` 0..k-1.
    """
    folds = subject_kfold(data.subjects, k=k, seed=seed)
    lpips_all = first_per_subject(data.subjects, lpips_subjects)
    identity_all = first_per_subject(data.subjects, identity_subjects)
    results = Results()
    for fold, (train_idx, test_idx) in enumerate(folds):
        leaked = set(data.subjects[i] for i in train_idx) & set(data.subjects[i] for i in test_idx)
        if leaked:  # subject_kfold guarantees this; checked because the claim rests on it
            raise RuntimeError(f"subjects in both train and test: {sorted(leaked)[:5]}")
        info = {
            "protocol": "within",
            "train_set": data.dataset,
            "test_set": data.dataset,
            "expression": data.expression,
            "fold": fold,
        }
        results.extend(
            evaluate_split(
                methods,
                data.subset(train_idx),
                data.subset(test_idx),
                scorer,
                info=info,
                lpips_mask=lpips_all[test_idx],
                identity_mask=identity_all[test_idx],
                test_index=test_idx,
                keep=keep,
                on_method=on_method,
            )
        )
    return results


def run_cross(
    methods: Sequence[Method],
    train: PairSet,
    test: PairSet,
    scorer: Scorer,
    *,
    lpips_subjects: int | None = None,
    identity_subjects: int | None = None,
    on_method: Callable[[str], None] | None = None,
) -> Results:
    """Train on one set and test on another (real target photos as ground truth).

    If either set is grayscale, both are compared in grayscale (luma).

    Parameters
    ----------
    methods : sequence of Method
    train, test : PairSet
    scorer : Scorer
    lpips_subjects, identity_subjects : int, optional
        How many test subjects get LPIPS / identity distances (None: all).
    on_method : callable, optional
        Progress callback.

    Returns
    -------
    Results
        Rows with ``protocol="cross"``.
    """
    if train.X.shape[-1] != test.X.shape[-1]:
        train, test = train.gray(), test.gray()
    info = {
        "protocol": "cross",
        "train_set": train.dataset,
        "test_set": test.dataset,
        "expression": test.expression,
        "fold": 0,
    }
    return evaluate_split(
        methods,
        train,
        test,
        scorer,
        info=info,
        lpips_mask=first_per_subject(test.subjects, lpips_subjects),
        identity_mask=first_per_subject(test.subjects, identity_subjects),
        on_method=on_method,
    )


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
