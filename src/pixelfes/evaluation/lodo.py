"""Leave-one-dataset-out: train on every shared set but one, test on the one held out.

For each expression found in two or more shared datasets (London, CK+, Taiwanese), each
dataset is held out in turn: every method is fitted on all pairs of the other datasets
and scored on the held-out set's pairs against their real target photos. No subject and
no dataset is ever on both sides (:func:`check_disjoint`, checked for every split). This
is the number that predicts what a user sees on their own photos, whose faces no model
has seen.

Training pairs are pooled on their luma (BT.601; CK+ is grayscale), as the photo
pipeline edits the luma; a colour test face gets each method's luma change added to R, G
and B alike (the geometry-aware row warps it in colour first:
:mod:`pixelfes.evaluation.lodo_geometry`). Records are keyed by method id; the display
names of the built-in methods live in the report, other methods may carry a ``label``.

A method is any object with an ``id``, ``fit(X, T)`` returning it and ``predict(X)``
returning outputs on [0, 1] with the channels of ``X`` (``X``: (N, S, S, C) uint8, C = 1
for the pooled training pairs, 1 or 3 for a held-out set); ``fit`` may also take
``groups=`` (the training pairs' subjects). A new model row is one line in
:func:`methods`, e.g. ``LumaMethod("flow", _model_fit(lambda: FlowModel()))``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixelfes.bundled import fit_bundled
from pixelfes.colour import to_gray as luma
from pixelfes.colour import to_unit
from pixelfes.evaluation.judges import Judges
from pixelfes.evaluation.lodo_geometry import GeometryMethod, LandmarkCache
from pixelfes.evaluation.methods import (
    PAPER_ALPHA,
    CrossValidatedKernelRidge,
    LumaKernelRidge,
    paper_sigma,
)
from pixelfes.evaluation.protocols import PairSet

#: The shared datasets, in report order.
DATASETS = ("london", "ckplus", "taiwanese")
#: Method id of the rows that score the real target photos (the ceiling).
REAL_TARGET = "real_target"
#: Method id of the unedited input (the floor).
INPUT = "input"
#: Folds of the subject-disjoint search of Pixel-KR's sigma and lambda, run on each
#: split's training pairs only (over :data:`pixelfes.kernel_selection.KERNEL_GRID`).
KR_CV_FOLDS = 5
#: The search grid of ``--quick`` runs.
KR_QUICK_GRID = {"alpha": (0.01, 0.4), "sigma": (1.0, 3.0)}


def pool(sets: Sequence[PairSet]) -> PairSet:
    """Concatenate pair sets on their luma; subjects keep their ``dataset:`` prefix."""
    if not sets:
        raise ValueError("nothing to pool")
    expressions = {s.expression for s in sets}
    if len(expressions) != 1:
        raise ValueError(f"cannot pool different expressions: {sorted(expressions)}")
    return PairSet(
        np.concatenate([luma(s.X) for s in sets]),
        np.concatenate([luma(s.T) for s in sets]),
        [subject for s in sets for subject in s.subjects],
        [name for s in sets for name in s.names],
        "+".join(s.dataset for s in sets),
        sets[0].expression,
    )


def dataset_of(subject: str) -> str:
    """The dataset a subject id belongs to (ids are ``dataset:subject``)."""
    return subject.split(":", 1)[0]


def check_disjoint(train: PairSet, test: PairSet) -> None:
    """Raise RuntimeError if a subject or a dataset is on both sides of a split."""
    subjects = set(train.subjects) & set(test.subjects)
    datasets = {dataset_of(s) for s in train.subjects} & {dataset_of(s) for s in test.subjects}
    if subjects or datasets:
        raise RuntimeError(
            f"train and test share datasets {sorted(datasets)} / subjects {sorted(subjects)[:5]}"
        )


def per_subject(data: PairSet, limit: int | None) -> PairSet:
    """At most ``limit`` pairs per subject (the first ones, in stored order)."""
    if limit is None:
        return data
    count: dict[str, int] = {}
    keep = []
    for i, subject in enumerate(data.subjects):
        count[subject] = count.get(subject, 0) + 1
        if count[subject] <= limit:
            keep.append(i)
    return data.subset(np.array(keep))


@dataclass
class Split:
    """One leave-one-dataset-out split."""

    expression: str
    held_out: str
    train: PairSet
    test: PairSet

    @property
    def train_sets(self) -> tuple[str, ...]:
        """The datasets pooled for training."""
        return tuple(dict.fromkeys(dataset_of(s) for s in self.train.subjects))


def splits(
    expression: str,
    sets: dict[str, PairSet],
    max_test_per_subject: int | None = None,
) -> list[Split]:
    """Every leave-one-dataset-out split of ``expression`` over the available sets.

    Parameters
    ----------
    expression : str
    sets : dict
        Dataset name -> its pairs for ``expression`` (datasets without the expression
        are simply absent).
    max_test_per_subject : int, optional
        Score at most this many pairs of each held-out subject (bounds run time on sets
        with many images per person); training always uses every pair.

    Returns
    -------
    list of Split
        Empty when fewer than two datasets have the expression.
    """
    names = [d for d in DATASETS if d in sets] + sorted(set(sets) - set(DATASETS))
    if len(names) < 2:
        return []
    out = []
    for held_out in names:
        train = pool([sets[d] for d in names if d != held_out])
        test = per_subject(sets[held_out], max_test_per_subject)
        check_disjoint(train, test)
        out.append(Split(expression, held_out, train, test))
    return out


class LumaMethod:
    """A method fitted on luma pairs; a colour face gets its luma change on R, G and B.

    Parameters
    ----------
    id : str
        Stable key of the method in records and tables.
    fit_predict : callable
        ``fit_predict(X_train, T_train) -> predict`` where ``predict`` maps (N, H, W, 1)
        uint8 luma to float outputs on [0, 1]; with ``uses_subjects``,
        ``fit_predict(X_train, T_train, subjects)``. A ``predict`` with a ``params``
        attribute (the hyper-parameters the fit chose) has it recorded with its scores.
    uses_subjects : bool
        Whether the fit needs the training pairs' subjects (for an inner CV).
    """

    def __init__(
        self, id: str, fit_predict: Callable[..., Any], uses_subjects: bool = False
    ) -> None:
        self.id = id
        self.fit_predict = fit_predict
        self.uses_subjects = uses_subjects

    def fit(self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None) -> LumaMethod:
        """Fit on the luma of the pairs (``groups``: their subjects, if the fit needs them)."""
        extra = (list(groups or [str(i) for i in range(len(X))]),) if self.uses_subjects else ()
        self.predict_ = self.fit_predict(luma(X), luma(T), *extra)
        self.params_ = str(getattr(self.predict_, "params", ""))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Outputs on [0, 1] with the channels of ``X`` (unclipped)."""
        y = luma(X)
        change = np.asarray(self.predict_(y), np.float32) - to_unit(y)
        return to_unit(X) + change


def _model_fit(factory: Callable[[], Any]) -> Callable[[np.ndarray, np.ndarray], Any]:
    def fit_predict(X: np.ndarray, T: np.ndarray) -> Any:
        return factory().fit(X, T).predict

    return fit_predict


def _bundled_fit(alpha: float, strength: float) -> Callable[[np.ndarray, np.ndarray], Any]:
    def fit_predict(X: np.ndarray, T: np.ndarray) -> Any:
        from pixelfes.editing import synthesize

        model = fit_bundled(X, T, alpha=alpha, strength=strength)
        return lambda y: synthesize(model, y, 1.0, luma=True)

    return fit_predict


class _Fitted:
    """A fitted prediction function and the hyper-parameters it was fitted with."""

    def __init__(self, predict: Callable[[np.ndarray], Any], params: str) -> None:
        self.predict, self.params = predict, params

    def __call__(self, y: np.ndarray) -> Any:
        return self.predict(y)


def _kernel_fit(
    sigma: float | None, grid: dict[str, Sequence[float]] | None = None
) -> Callable[[np.ndarray, np.ndarray, Sequence[str]], _Fitted]:
    """Pixel-KR fitted exactly (grouped solve) on every training pair.

    At the given ``sigma`` with the paper's lambda, or, when ``sigma`` is None, with sigma
    and lambda chosen by subject-disjoint cross-validation on the training pairs (the
    held-out set is never seen) over ``grid`` (None: ``KERNEL_GRID``).
    """

    def fit_predict(X: np.ndarray, T: np.ndarray, subjects: Sequence[str]) -> _Fitted:
        if sigma is None:
            model: LumaKernelRidge = CrossValidatedKernelRidge(k=KR_CV_FOLDS, grid=grid)
            model.fit(X, T, groups=subjects)
        else:
            model = LumaKernelRidge(sigma).fit(X, T)
        return _Fitted(model.predict, f"sigma={model.sigma:g},lambda={model.alpha:g}")

    return fit_predict


def methods(
    expression: str,
    bundled_alpha: float,
    bundled_strength: float,
    kr_grid: dict[str, Sequence[float]] | None = None,
    landmarks: LandmarkCache | None = None,
) -> list[Any]:
    """The compared methods: the bundled recipe, Pixel-RR, MR, Pixel-KR (cross-validated
    and the paper's settings), flow Pixel-RR (learned per-pixel offsets) and the
    geometry-aware model.

    Parameters
    ----------
    expression : str
        Selects the paper's sigma of the second Pixel-KR row.
    bundled_alpha, bundled_strength : float
        The bundled recipe's ridge penalty and consistency-gain exponent.
    kr_grid : dict, optional
        Sigma/lambda grid of Pixel-KR's cross-validation (None: ``KERNEL_GRID``).
    landmarks : LandmarkCache, optional
        Dense landmarks shared across methods and splits (a new cache by default).

    Notes
    -----
    ``pixel_kr``: sigma and lambda cross-validated on each split's training pairs;
    ``pixel_kr_paper``: the paper's sigma and lambda. Both are fitted on every training pair.
    """
    from pixelfes.models import FlowPixelRidge, MaskedRidge, PixelRidge

    bundled = _bundled_fit(bundled_alpha, bundled_strength)
    return [
        LumaMethod(INPUT, lambda X, T: lambda y: to_unit(y)),
        LumaMethod("bundled", bundled),
        LumaMethod("pixel_rr", _model_fit(lambda: PixelRidge(alpha=PAPER_ALPHA))),
        LumaMethod("mr", _model_fit(lambda: MaskedRidge(alpha=PAPER_ALPHA, radius=1))),
        LumaMethod("pixel_kr", _kernel_fit(None, kr_grid), uses_subjects=True),
        LumaMethod("pixel_kr_paper", _kernel_fit(paper_sigma(expression)), uses_subjects=True),
        LumaMethod("flow", _model_fit(lambda: FlowPixelRidge(alpha=PAPER_ALPHA))),
        GeometryMethod(LumaMethod("bundled", bundled), landmarks),
    ]


@dataclass
class LodoResults:
    """Per-image records and the outputs kept for the face grids."""

    records: list[dict[str, Any]] = field(default_factory=list)
    examples: dict[tuple[str, str], dict[str, np.ndarray]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def run_split(
    split: Split,
    method_list: Sequence[Any],
    judges: Judges,
    n_examples: int = 4,
    log: Callable[[str], None] = lambda _: None,
    ceiling: bool = True,
    targets: np.ndarray | None = None,
) -> LodoResults:
    """Fit every method on the split's training pairs and score every test image.

    Parameters
    ----------
    split : Split
    method_list : sequence of methods
        See the module's docstring for the interface.
    judges : Judges
    n_examples : int
        Test faces (spread over the set) whose outputs are kept for the figures.
    log : callable
    ceiling : bool
        Also score the real target photos (the ceiling rows).
    targets : ndarray (N, S, S, C) uint8, optional
        The real targets as scored and shown (default: the test pairs' own), e.g. moved
        onto their inputs' pose (:func:`pixelfes.evaluation.pose.targets_in_input_pose`).

    Returns
    -------
    LodoResults
        One record per (method, test image), plus the real-target rows when ``ceiling``;
        the outputs of the example faces; the methods' labels.
    """
    test = split.test
    real = test.T if targets is None else np.asarray(targets)
    if real.shape != test.T.shape:
        raise ValueError(f"targets have shape {real.shape}, the test pairs {test.T.shape}")
    base = {
        "protocol": "lodo",
        "expression": split.expression,
        "held_out": split.held_out,
        "train_sets": "+".join(split.train_sets),
        "n_train": len(split.train),
    }
    rows = [
        {**base, "subject": s, "image": name, "index": i}
        for i, (s, name) in enumerate(zip(test.subjects, test.names, strict=True))
    ]
    input_vecs, target_vecs = judges.embed(test.X), judges.embed(real)
    shown = np.unique(np.linspace(0, len(test) - 1, min(n_examples, len(test))).astype(int))
    results = LodoResults()
    key = (split.expression, split.held_out)
    results.examples[key] = {"input": test.X[shown], REAL_TARGET: real[shown]}
    outputs_of = [(REAL_TARGET, to_unit(real), 0.0, "")] if ceiling else []
    for method in method_list:
        start = time.perf_counter()
        _fit(method, split.train)
        outputs = np.clip(method.predict(test.X), 0.0, 1.0)
        seconds = time.perf_counter() - start
        note = getattr(method, "note_", "")
        params = getattr(method, "params_", "")
        done = f"  {split.expression} held out {split.held_out}: {method.id} {seconds:.1f} s"
        log(done + (f" ({note or params})" if note or params else ""))
        outputs_of.append((method.id, outputs, seconds, params))
        results.examples[key][method.id] = outputs[shown]
        results.labels[method.id] = getattr(method, "label", "") or ""
    for method_id, outputs, seconds, params in outputs_of:
        scores = judges.score(
            outputs,
            test.X,
            real,
            split.expression,
            input_vecs,
            target_vecs,
            is_target=method_id == REAL_TARGET,
        )
        label = results.labels.get(method_id, "")
        for j, row in enumerate(rows):
            record = {
                **row,
                "method": method_id,
                "label": label,
                "fit_predict_s": seconds,
                "params": params,
            }
            record.update({k: _item(v[j]) for k, v in scores.items()})
            results.records.append(record)
    return results


def _fit(method: Any, train: PairSet) -> None:
    """``method.fit`` on the pairs, with their subjects when it takes ``groups``."""
    if "groups" in inspect.signature(method.fit).parameters:
        method.fit(train.X, train.T, groups=list(train.subjects))
    else:
        method.fit(train.X, train.T)


def _item(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
