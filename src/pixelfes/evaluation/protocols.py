"""Evaluation protocols: subject-disjoint k-fold, cross-dataset, wild images, sigma sweep.

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
from pathlib import Path
from typing import Any

import numpy as np

from pixelfes.data import find_pairs, load_pairs, subject_kfold, subject_train_test_split
from pixelfes.evaluation.methods import (
    CrossValidatedKernelRidge,
    CrossValidatedPixelRidge,
    LumaKernelRidge,
    Method,
    ModelMethod,
    luma,
)
from pixelfes.evaluation.metrics import batch_psnr, batch_sharpness, batch_ssim
from pixelfes.formats import is_image

#: Datasets stored in grayscale: pairs involving them are compared in grayscale (luma).
GRAY_DATASETS = frozenset({"ckplus"})
#: Label of the reference rows scoring the real target photos (the classifier's ceiling).
REAL_TARGET = "real target"


@dataclass
class PairSet:
    """Aligned pairs of one dataset and expression, ready for the protocols.

    Attributes
    ----------
    X, T : ndarray of shape (N, S, S, C), uint8
        Input (neutral) and target crops; C = 1 for grayscale data.
    subjects : list of str
        Subject of each pair.
    names : list of str
        Input file name of each pair (for the per-image CSV).
    dataset, expression : str
    """

    X: np.ndarray
    T: np.ndarray
    subjects: list[str]
    names: list[str]
    dataset: str
    expression: str

    def __len__(self) -> int:
        return len(self.X)

    def gray(self) -> PairSet:
        """The same pairs in grayscale (BT.601 luma, one channel)."""
        return PairSet(
            luma(self.X), luma(self.T), self.subjects, self.names, self.dataset, self.expression
        )

    def subset(self, index: np.ndarray) -> PairSet:
        """The pairs at ``index``."""
        return PairSet(
            self.X[index],
            self.T[index],
            [self.subjects[i] for i in index],
            [self.names[i] for i in index],
            self.dataset,
            self.expression,
        )


def load_set(
    dataset: str, expression: str, root: str | Path | None = None, size: int = 128
) -> PairSet:
    """Find and align neutral->``expression`` pairs of a shared dataset.

    Parameters
    ----------
    dataset : str
        ``london``, ``ckplus`` or ``taiwanese`` (see :func:`pixelfes.data.find_pairs`).
    expression : str
        Target expression.
    root : str or Path, optional
        Shared data root.
    size : int
        Crop side.

    Returns
    -------
    PairSet
        Grayscale datasets (CK+) come back with one channel.
    """
    aligned = load_pairs(find_pairs(dataset, "neutral", expression, root=root), size=size)
    names = [pair.input_path.name for pair in aligned.pairs]
    pairs = PairSet(aligned.X, aligned.T, list(aligned.subjects), names, dataset, expression)
    return pairs.gray() if dataset in GRAY_DATASETS else pairs


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
        ``(test_set, index) -> {method name: output}`` kept for figures.
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
    if isinstance(method, CrossValidatedPixelRidge | CrossValidatedKernelRidge):
        method.subjects = train.subjects
    start = time.perf_counter()
    method.fit(train.X, train.T)
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
            on_method(method.name)
        outputs, fit_s, predict_s, n_params = _fit_predict(method, train, test)
        scores = scorer.score(
            outputs, test.T, test.expression, lpips_mask, identity_mask, target_key
        )
        for j, row in enumerate(base):
            results.records.append(
                {**row, "method": method.name, **{k: _item(v[j]) for k, v in scores.items()}}
            )
        results.timings.append(
            {
                **info,
                "method": method.name,
                "n_train": len(train),
                "n_test": len(test),
                "fit_s": fit_s,
                "predict_s_per_image": predict_s / max(1, len(test)),
                "n_parameters": n_params,
            }
        )
        for j, i in enumerate(index):
            if int(i) in keep:
                results.examples.setdefault((test.dataset, int(i)), {})[method.name] = outputs[j]
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


@dataclass
class WildFace:
    """An aligned face from an out-of-dataset photo."""

    name: str
    crop: np.ndarray


def align_wild(folder: Path, size: int = 128) -> tuple[list[WildFace], list[str]]:
    """Align the largest face of every image in ``folder`` (sorted by name).

    Returns
    -------
    faces : list of WildFace
    skipped : list of str
        ``"name: reason"`` for images without a usable face (e.g. the cat).
    """
    from pixelfes.exceptions import NoFaceError
    from pixelfes.faces import align
    from pixelfes.imageio import read_image

    faces, skipped = [], []
    for path in sorted(folder.iterdir()):
        if not is_image(path):
            continue
        try:
            found = align(read_image(path), size, largest_only=True)
        except NoFaceError as error:
            skipped.append(f"{path.name}: {error}")
            continue
        faces.append(WildFace(path.name, found[0].crop))
    return faces, skipped


def run_wild(
    methods: Sequence[Method],
    train: PairSet,
    faces: Sequence[WildFace],
    scorer: Scorer,
    skipped: Sequence[str] = (),
) -> Results:
    """Fit on all of ``train`` and score wild faces with the classifier only.

    The input row (method ``identity``) is the floor; there is no target photo.

    Parameters
    ----------
    methods : sequence of Method
    train : PairSet
    faces : sequence of WildFace
    scorer : Scorer
    skipped : sequence of str
        Images without a usable face, reported in ``Results.skipped``.
    """
    results = Results(skipped=list(skipped))
    if not faces:
        return results
    X = np.stack([face.crop for face in faces])
    if train.X.shape[-1] == 1:
        X = luma(X)
    for method in methods:
        start = time.perf_counter()
        method.fit(train.X, train.T)
        fit_s = time.perf_counter() - start
        outputs = np.clip(method.predict(X), 0.0, 1.0)
        scores = scorer.expression(outputs, train.expression)
        for j, face in enumerate(faces):
            results.records.append(
                {
                    "protocol": "wild",
                    "train_set": train.dataset,
                    "test_set": "wild",
                    "expression": train.expression,
                    "fold": 0,
                    "subject": face.name,
                    "image": face.name,
                    "index": j,
                    "method": method.name,
                    **{k: _item(v[j]) for k, v in scores.items()},
                }
            )
            results.examples[("wild", j)] = results.examples.get(("wild", j), {}) | {
                method.name: outputs[j]
            }
        results.timings.append(
            {
                "protocol": "wild",
                "train_set": train.dataset,
                "test_set": "wild",
                "expression": train.expression,
                "fold": 0,
                "method": method.name,
                "n_train": len(train),
                "n_test": len(faces),
                "fit_s": fit_s,
                "predict_s_per_image": float("nan"),
                "n_parameters": int(method.n_parameters),
            }
        )
    return results


@dataclass
class SigmaSweep:
    """Pixel-KR against its kernel width on held-out faces (the paper's Fig. 5).

    Attributes
    ----------
    sigmas : list of float
    psnr, accuracy : list of float
        Mean PSNR (dB) and classifier accuracy at each sigma.
    ridge_psnr, ridge_accuracy : float
        Pixel-RR on the same split (the horizontal reference line).
    outputs : dict
        ``sigma -> (n_show, S, S, C)`` outputs for the shown faces, plus ``"Pixel-RR"``.
    inputs, targets : ndarray
        The shown faces.
    n_train, n_test : int
    """

    sigmas: list[float]
    psnr: list[float]
    accuracy: list[float]
    ridge_psnr: float
    ridge_accuracy: float
    outputs: dict[Any, np.ndarray]
    inputs: np.ndarray
    targets: np.ndarray
    n_train: int
    n_test: int


def sigma_sweep(
    data: PairSet,
    scorer: Scorer,
    sigmas: Sequence[float] = (0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0),
    *,
    n_show: int = 2,
    seed: int = 0,
) -> SigmaSweep:
    """Fit Pixel-KR at each sigma on a subject-disjoint 80/20 split of ``data``.

    Parameters
    ----------
    data : PairSet
    scorer : Scorer
    sigmas : sequence of float
        Kernel widths on the [0, 1] scale.
    n_show : int
        Test faces whose outputs are kept for the figure.
    seed : int
        Seed of :func:`pixelfes.data.subject_train_test_split`.

    Returns
    -------
    SigmaSweep
    """
    train_idx, test_idx = subject_train_test_split(data.subjects, test_size=0.2, seed=seed)
    train, test = data.subset(train_idx), data.subset(test_idx)
    psnr, accuracy, outputs = [], [], {}
    shown = np.arange(min(n_show, len(test)))
    for sigma in sigmas:
        method = LumaKernelRidge(float(sigma))
        y = np.clip(method.fit(train.X, train.T).predict(test.X), 0.0, 1.0)
        psnr.append(float(batch_psnr(y, test.T).mean()))
        accuracy.append(float(np.nanmean(scorer.expression(y, data.expression)["correct"])))
        outputs[float(sigma)] = y[shown]
    from pixelfes.models import PixelRidge

    ridge = ModelMethod("Pixel-RR", lambda: PixelRidge(alpha=0.4, channels="shared"))
    y = np.clip(ridge.fit(train.X, train.T).predict(test.X), 0.0, 1.0)
    outputs["Pixel-RR"] = y[shown]
    return SigmaSweep(
        sigmas=[float(s) for s in sigmas],
        psnr=psnr,
        accuracy=accuracy,
        ridge_psnr=float(batch_psnr(y, test.T).mean()),
        ridge_accuracy=float(np.nanmean(scorer.expression(y, data.expression)["correct"])),
        outputs=outputs,
        inputs=test.X[shown],
        targets=test.T[shown],
        n_train=len(train),
        n_test=len(test),
    )


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
