"""The whole evaluation behind ``pixelfes evaluate``: protocols, tables, figures, CSV.

:func:`run_suite` runs the protocols of :mod:`pixelfes.evaluation.protocols` with the
methods of :mod:`pixelfes.evaluation.methods` and writes ``results-paper.md``, figures and CSV
files. Everything is seeded (folds, subsets, bootstrap), so reruns give the same numbers;
only the timing columns differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pixelfes.evaluation import report
from pixelfes.evaluation.catalog import standard_methods
from pixelfes.evaluation.methods import Method
from pixelfes.evaluation.pairs import PairSet, load_set
from pixelfes.evaluation.paper_report import (
    _method_order,
    markdown,
    qualitative_figure,
    sigma_figure,
)
from pixelfes.evaluation.protocols import Results, run_cross, run_kfold
from pixelfes.evaluation.scoring import Scorer
from pixelfes.evaluation.wild import SigmaSweep, align_wild, run_wild, sigma_sweep
from pixelfes.expressions import EMOTIONS

SIX = EMOTIONS


@dataclass
class Settings:
    """What one evaluation run does.

    Attributes
    ----------
    quick : bool
        London only, fewer pairs, folds and methods; no cross-dataset runs.
    k : int
        Folds of the within-dataset protocol.
    within : list of (dataset, expression)
    cross : list of (train dataset, test dataset, expression)
    kr_max_train : int, optional
        Cap on Pixel-KR training pairs (fixed random subset); None: every pair.
    max_pairs : int, optional
        Use only the pairs of the first subjects (sorted) up to this many pairs.
    lpips_subjects, identity_subjects : int, optional
        Test subjects per run that get LPIPS / identity distances (None: all).
    london_identity_subjects : int, optional
        The same for runs tested on London (the set shown in figures).
    sigmas : tuple of float
        Pixel-KR widths of the sigma sweep.
    """

    quick: bool = False
    k: int = 5
    within: list[tuple[str, str]] = field(default_factory=list)
    cross: list[tuple[str, str, str]] = field(default_factory=list)
    kr_max_train: int | None = None
    max_pairs: int | None = None
    lpips_subjects: int | None = 20
    identity_subjects: int | None = 6
    london_identity_subjects: int | None = 40
    sigmas: tuple[float, ...] = (0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 5.0)
    n_examples: int = 4

    @classmethod
    def full(cls) -> Settings:
        """The complete evaluation (about 15-20 minutes on two busy cores)."""
        within = [("london", "happy")]
        within += [(d, e) for d in ("ckplus", "taiwanese") for e in SIX]
        cross = [("london", "taiwanese", "happy"), ("taiwanese", "london", "happy")]
        for e in SIX[1:]:
            cross += [("ckplus", "taiwanese", e), ("taiwanese", "ckplus", e)]
        return cls(within=within, cross=cross)

    @classmethod
    def fast(cls) -> Settings:
        """The ``--quick`` run: London only, 40 pairs, 2 folds, five methods."""
        return cls(
            quick=True,
            k=2,
            within=[("london", "happy")],
            cross=[],
            max_pairs=40,
            lpips_subjects=8,
            identity_subjects=4,
            london_identity_subjects=4,
            sigmas=(0.5, 3.0),
            n_examples=2,
        )


def _limit(data: PairSet, max_pairs: int | None) -> PairSet:
    if max_pairs is None or len(data) <= max_pairs:
        return data
    order = sorted(range(len(data)), key=lambda i: (data.subjects[i], data.names[i]))
    return data.subset(np.array(sorted(order[:max_pairs])))


def _methods(settings: Settings, expression: str) -> list[Method]:
    return standard_methods(expression, quick=settings.quick, kr_max_train=settings.kr_max_train)


def run_suite(
    out: Path,
    root: Path | None = None,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every protocol and write ``out/results-paper.md``, figures and CSV files.

    Parameters
    ----------
    out : Path
        The docs folder: writes ``results-paper.md``, ``figures/results_*.png`` and
        ``results/*.csv`` inside it.
    root, settings, log
        As in :func:`collect`.

    Returns
    -------
    dict
        Paths written and row counts.
    """
    settings = settings or Settings.full()
    collected = collect(root, settings, log)
    log("writing")
    return write_outputs(
        out,
        settings,
        collected.results,
        collected.sweep,
        collected.london,
        collected.faces,
        collected.keep,
    )


def collect(
    root: Path | None = None,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> Collected:
    """Run every protocol of ``settings`` and return the raw results.

    Parameters
    ----------
    root : Path, optional
        Shared data root (default: :func:`pixelfes.config.data_root`).
    settings : Settings, optional
        Default :meth:`Settings.full`.
    log : callable
        Progress messages.

    Returns
    -------
    Collected
    """
    settings = settings or Settings.full()
    scorer = Scorer()
    cache: dict[tuple[str, str], PairSet] = {}

    def data(dataset: str, expression: str) -> PairSet:
        if (dataset, expression) not in cache:
            cache[dataset, expression] = _limit(
                load_set(dataset, expression, root=root), settings.max_pairs
            )
        return cache[dataset, expression]

    results = Results()
    london = data("london", "happy")
    keep = frozenset(int(i) for i in np.linspace(0, len(london) - 1, settings.n_examples))
    for dataset, expression in settings.within:
        log(f"within {dataset} {expression}")
        identity_subjects = (
            settings.london_identity_subjects if dataset == "london" else settings.identity_subjects
        )
        results.extend(
            run_kfold(
                _methods(settings, expression),
                data(dataset, expression),
                scorer,
                k=settings.k,
                lpips_subjects=None if dataset == "london" else settings.lpips_subjects,
                identity_subjects=identity_subjects,
                keep=keep if dataset == "london" else frozenset(),
            )
        )
    for train_set, test_set, expression in settings.cross:
        log(f"cross {train_set} -> {test_set} {expression}")
        results.extend(
            run_cross(
                _methods(settings, expression),
                data(train_set, expression),
                data(test_set, expression),
                scorer,
                lpips_subjects=settings.lpips_subjects,
                identity_subjects=(
                    settings.london_identity_subjects
                    if test_set == "london"
                    else settings.identity_subjects
                ),
            )
        )
    log("wild images")
    wild_dir = (root or _default_root()) / "wild"
    faces, skipped = align_wild(wild_dir) if wild_dir.is_dir() else ([], ["wild/: not found"])
    wild = run_wild(_methods(settings, "happy"), london, faces, scorer, skipped)
    results.extend(wild)
    log("sigma sweep")
    sweep = sigma_sweep(london, scorer, settings.sigmas, n_show=2)
    return Collected(results, sweep, london, list(faces), keep)


@dataclass
class Collected:
    """Everything the protocols produced, before writing."""

    results: Results
    sweep: SigmaSweep
    london: PairSet
    faces: list[Any]
    keep: frozenset[int]


def _default_root() -> Path:
    from pixelfes.config import data_root

    root = data_root()
    if root is None:
        raise FileNotFoundError("shared data not found: pass --data-root or set PIXELFES_DATA")
    return root


def write_outputs(
    out: Path,
    settings: Settings,
    results: Results,
    sweep: SigmaSweep,
    london: PairSet,
    faces: Sequence[Any],
    keep: frozenset[int],
) -> dict[str, Any]:
    """Write CSV files, figures and ``results-paper.md`` under ``out``."""
    out = Path(out)
    csv_dir, fig_dir = out / "results", out / "figures"
    written: dict[str, Any] = {}
    records = results.records
    methods = _method_order(results)
    written["per_image"] = csv_dir / "per_image.csv.gz"
    written["n_rows"] = report.write_csv(written["per_image"], records, report.RECORD_COLUMNS)
    written["timings"] = csv_dir / "timings.csv"
    report.write_csv(written["timings"], results.timings, report.TIMING_COLUMNS)
    sweep_rows = [
        {"sigma": s, "psnr": p, "accuracy": a}
        for s, p, a in zip(sweep.sigmas, sweep.psnr, sweep.accuracy, strict=True)
    ] + [{"sigma": "Pixel-RR", "psnr": sweep.ridge_psnr, "accuracy": sweep.ridge_accuracy}]
    written["sigma_sweep"] = csv_dir / "sigma_sweep.csv"
    report.write_csv(written["sigma_sweep"], sweep_rows, ("sigma", "psnr", "accuracy"))

    written["qualitative"] = fig_dir / "results_qualitative.jpg"
    report.write_figure(written["qualitative"], qualitative_figure(results, london, faces, keep))
    written["sigma_figure"] = fig_dir / "results_sigma_sweep.png"
    report.write_figure(written["sigma_figure"], sigma_figure(sweep))
    written["markdown"] = out / "results-paper.md"
    written["markdown"].write_text(markdown(settings, results, methods, sweep))
    return written
