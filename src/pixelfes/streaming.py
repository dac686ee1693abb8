"""Train from disk in bounded memory: pairs stream through the crop cache in chunks.

Models with ``partial_fit`` (Pixel-RR, MR, Pixel-KR) need only sums over pairs, so a chunk
is aligned (or read from the cache), added to the statistics and dropped. The same two
plain functions run locally, chunk after chunk, or on a Dask cluster, one partition per
task, with the scheduler reducing their additive results:

- :func:`accumulate` turns a chunk of pairs into :class:`Sums` (a partial fit on the
  training subjects, one on the held-out subjects, colour sums, counts, skipped pairs);
- :func:`score` turns a chunk of held-out pairs into PSNR sums for the reported score.

The fit is then a per-pixel solve of the summed statistics. Memory: one chunk of crops
plus the statistics, whatever the number of pairs.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixelfes.colour import to_gray
from pixelfes.data.cache import Aligner, Skipped, load_pairs
from pixelfes.data.sources import Pair
from pixelfes.data.splits import subject_train_test_split
from pixelfes.faces import face_mask
from pixelfes.metrics import batch_psnr
from pixelfes.photometric import masked_sums, statistics_from_sums
from pixelfes.training import MODEL_FAMILIES, TrainReport, make_model

#: Pairs aligned and added to the statistics at a time.
CHUNK_PAIRS = 256
#: Crops converted to float at a time inside a chunk (colour sums, scoring).
_BLOCK = 32


def streams(family: str) -> bool:
    """Whether a family can be fitted from streamed statistics (``partial_fit`` and ``merge``)."""
    cls = MODEL_FAMILIES.get(family)
    return hasattr(cls, "partial_fit") and hasattr(cls, "merge")


@dataclass(frozen=True)
class TrainTask:
    """What every chunk needs to know (picklable: it travels to the workers)."""

    family: str
    params: dict[str, Any]
    heldout_subjects: frozenset[str]
    size: int = 128
    gray: bool = False
    aligner: Aligner | None = None
    aligner_id: str | None = None
    cache: Any = True

    def load(self, pairs: Sequence[Pair]) -> tuple[np.ndarray, np.ndarray, list[Pair], list]:
        """Aligned crops of ``pairs`` (as trained on), the kept pairs and the skipped ones."""
        aligned = load_pairs(
            pairs, self.size, aligner=self.aligner, aligner_id=self.aligner_id, cache=self.cache
        )
        X, T = aligned.X, aligned.T
        if self.gray:
            X, T = to_gray(X), to_gray(T)
        return X, T, aligned.pairs, aligned.skipped


@dataclass
class Sums:
    """Additive results of training on some pairs; two of them combine with :func:`combine`."""

    fit: Any = None  # partially fitted on the training subjects' pairs
    heldout: Any = None  # partially fitted on the held-out subjects' pairs
    colour: np.ndarray | None = None  # (3, C): count, sum, sum of squares inside the face
    fit_subjects: frozenset[str] = frozenset()
    heldout_subjects: frozenset[str] = frozenset()
    skipped: list[Skipped] = field(default_factory=list)
    n_pairs: int = 0  # pairs in the statistics (both sides)


def accumulate(pairs: Iterable[Pair], task: TrainTask) -> Sums:
    """Align a chunk of pairs and return its statistics (a plain function, run anywhere)."""
    pairs = list(pairs)
    if not pairs:
        return Sums()
    X, T, kept, skipped = task.load(pairs)
    sums = Sums(skipped=skipped, n_pairs=len(kept))
    if not kept:
        return sums
    held = np.array([pair.subject in task.heldout_subjects for pair in kept])
    for name, rows in (("fit", ~held), ("heldout", held)):
        if rows.any():
            setattr(sums, name, make_model(task.family, **task.params).fit(X[rows], T[rows]))
    mask = face_mask(X.shape[1])
    sums.colour = sum(masked_sums(X[i : i + _BLOCK], mask) for i in range(0, len(X), _BLOCK))
    sums.fit_subjects = frozenset(p.subject for p, h in zip(kept, held, strict=True) if not h)
    sums.heldout_subjects = frozenset(p.subject for p, h in zip(kept, held, strict=True) if h)
    return sums


def combine(a: Sums, b: Sums) -> Sums:
    """The statistics of both ``a``'s and ``b``'s pairs (neither is changed)."""

    def add(x: Any, y: Any, plus: Callable[[Any, Any], Any]) -> Any:
        return y if x is None else x if y is None else plus(x, y)

    return Sums(
        fit=add(a.fit, b.fit, lambda x, y: x.merge(y)),
        heldout=add(a.heldout, b.heldout, lambda x, y: x.merge(y)),
        colour=add(a.colour, b.colour, np.add),
        fit_subjects=a.fit_subjects | b.fit_subjects,
        heldout_subjects=a.heldout_subjects | b.heldout_subjects,
        skipped=a.skipped + b.skipped,
        n_pairs=a.n_pairs + b.n_pairs,
    )


def combine_all(parts: Iterable[Sums]) -> Sums:
    """:func:`combine` over any number of partial results."""
    return functools.reduce(combine, parts, Sums())


def score(pairs: Iterable[Pair], task: TrainTask, model: Any) -> np.ndarray:
    """Sums of the model's and the identity's PSNR over held-out pairs, and their count."""
    pairs = list(pairs)
    if not pairs:
        return np.zeros(3)
    X, T, kept, _ = task.load(pairs)
    if not kept:
        return np.zeros(3)
    total = np.array([0.0, 0.0, len(kept)])
    for i in range(0, len(X), _BLOCK):
        x, t = X[i : i + _BLOCK], T[i : i + _BLOCK]
        total[:2] += batch_psnr(model.predict(x), t).sum(), batch_psnr(x, t).sum()
    return total


def score_all(parts: Iterable[np.ndarray]) -> np.ndarray:
    """Sum of :func:`score` results."""
    return functools.reduce(np.add, parts, np.zeros(3))


@dataclass
class StreamedTraining:
    """A :class:`TrainReport` plus what streaming learnt on the way."""

    report: TrainReport
    input_mean: np.ndarray
    input_std: np.ndarray
    skipped: list[Skipped]


def train_streaming(
    family: str,
    pairs: Sequence[Pair],
    *,
    params: dict[str, Any] | None = None,
    size: int = 128,
    gray: bool = False,
    test_size: float = 0.2,
    seed: int = 0,
    chunk_pairs: int = CHUNK_PAIRS,
    aligner: Aligner | None = None,
    aligner_id: str | None = None,
    cache: Any = True,
    cluster: Any = None,
    on_chunk: Callable[[int], None] | None = None,
) -> StreamedTraining:
    """Score a model on held-out subjects and fit it on every pair, streaming from disk.

    The same as :func:`pixelfes.training.train` (without cross-validation) for a family
    with ``partial_fit``, but pairs are aligned and added ``chunk_pairs`` at a time, so
    memory does not grow with the number of pairs. Held-out subjects are drawn from the
    discovered pairs (by ``seed``), before alignment.

    Parameters
    ----------
    family : str
        ``pixel-rr``, ``mr`` or ``pixel-kr`` (a family with ``partial_fit`` and ``merge``).
    pairs : sequence of Pair
        From :func:`pixelfes.data.find_pairs`.
    params : dict, optional
        Hyper-parameters of the model.
    size, gray
        Crop side and whether to train on grayscale crops.
    chunk_pairs : int
        Pairs per chunk (locally) or per partition (on a cluster).
    aligner, aligner_id, cache
        As for :func:`pixelfes.data.load_pairs`.
    cluster : None, "local", scheduler address or distributed.Client
        ``None`` runs here; otherwise the chunks are Dask tasks on that cluster (each
        worker aligns and sums its share; the scheduler reduces the sums).
    on_chunk : callable, optional
        Called with the number of pairs of each chunk done (local runs; for a progress bar).

    Returns
    -------
    StreamedTraining
        Its report's ``fit_seconds`` is the time of the whole streamed pass (reading,
        aligning what the cache lacks, summing, solving), without a cluster's start-up.
    """
    if not streams(family):
        raise ValueError(f"{family} cannot be fitted from streamed statistics (no partial_fit)")
    pairs = list(pairs)
    subjects = [pair.subject for pair in pairs]
    if len(set(subjects)) < 2:
        raise ValueError(f"training needs pairs from at least 2 subjects, got {len(set(subjects))}")
    _, test_idx = subject_train_test_split(subjects, test_size=test_size, seed=seed)
    task = TrainTask(
        family=family,
        params=dict(params or {}),
        heldout_subjects=frozenset(subjects[i] for i in test_idx),
        size=size,
        gray=gray,
        aligner=aligner,
        aligner_id=aligner_id,
        cache=cache,
    )
    heldout_pairs = [pairs[i] for i in test_idx]
    if cluster is None:
        sums, scores, seconds = _run_here(pairs, heldout_pairs, task, chunk_pairs, on_chunk)
    else:
        sums, scores, seconds = _run_on_cluster(cluster, pairs, heldout_pairs, task, chunk_pairs)
    return _finish(family, sums, scores, seconds)


def _run_here(
    pairs: list[Pair],
    heldout_pairs: list[Pair],
    task: TrainTask,
    chunk_pairs: int,
    on_chunk: Callable[[int], None] | None,
) -> tuple[Sums, np.ndarray, float]:
    start = time.perf_counter()
    sums = Sums()
    for chunk in _chunks(pairs, chunk_pairs):
        sums = combine(sums, accumulate(chunk, task))
        if on_chunk is not None:
            on_chunk(len(chunk))
    _check_sides(sums)
    scores = score_all(
        score(chunk, task, sums.fit) for chunk in _chunks(heldout_pairs, chunk_pairs)
    )
    return sums, scores, time.perf_counter() - start


def _run_on_cluster(
    cluster: Any,
    pairs: list[Pair],
    heldout_pairs: list[Pair],
    task: TrainTask,
    chunk_pairs: int,
) -> tuple[Sums, np.ndarray, float]:
    from pixelfes.cluster import connect, map_reduce

    with connect(cluster) as client:
        start = time.perf_counter()
        sums = map_reduce(
            client,
            pairs,
            functools.partial(accumulate, task=task),
            combine_all,
            partition_size=chunk_pairs,
        )
        _check_sides(sums)
        predictor = _without_statistics(sums.fit)
        scores = map_reduce(
            client,
            heldout_pairs,
            functools.partial(score, task=task, model=predictor),
            score_all,
            partition_size=chunk_pairs,
        )
        seconds = time.perf_counter() - start
    return sums, scores, seconds


def _finish(family: str, sums: Sums, scores: np.ndarray, seconds: float) -> StreamedTraining:
    model = sums.fit.merge(sums.heldout)
    model_psnr, identity_psnr, n_scored = scores
    report = TrainReport(
        model=model,
        family=family,
        params={k: float(v) for k, v in model.get_params().items() if isinstance(v, int | float)},
        n_pairs=sums.n_pairs,
        n_subjects=len(sums.fit_subjects | sums.heldout_subjects),
        fit_seconds=seconds,
        heldout_psnr=float(model_psnr / n_scored),
        heldout_identity_psnr=float(identity_psnr / n_scored),
        n_heldout_subjects=len(sums.heldout_subjects),
    )
    mean, std = statistics_from_sums(sums.colour)
    skipped = sorted(sums.skipped, key=lambda s: str(s.path))
    return StreamedTraining(report=report, input_mean=mean, input_std=std, skipped=skipped)


def _check_sides(sums: Sums) -> None:
    if sums.fit is None or sums.heldout is None:
        side = "training" if sums.fit is None else "held-out"
        raise ValueError(f"no usable pairs left for the {side} subjects (no face found in them)")


#: Fitted attributes that hold training statistics (Pixel-RR/MR; Pixel-KR), not needed to predict.
_STATISTICS = ("statistics_", "level_counts_", "level_sums_")


def _without_statistics(model: Any) -> Any:
    """A copy that predicts but carries no statistics (smaller to ship to the workers)."""
    model.predict(np.zeros((1, *model.image_shape_), np.uint8))  # solves a lazy fit now
    clone = type(model)(**model.get_params())
    clone.__dict__.update({k: v for k, v in model.__dict__.items() if k not in _STATISTICS})
    return clone


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]
