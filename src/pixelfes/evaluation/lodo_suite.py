"""Run the leave-one-dataset-out protocol and write its scores, face grids and report.

``pixelfes evaluate`` calls :func:`run_lodo` (the expensive part: fit, predict, judge) and
:func:`write_results_md` (cheap: reads the stored per-image scores back and renders the
markdown with :mod:`pixelfes.evaluation.lodo_report`), so the report can be regenerated
from ``results/lodo_scores.csv.gz`` alone (``pixelfes evaluate --report-only``).

Face grids of London (CC BY 4.0) go to ``figures/``; CK+ and Taiwanese images may not be
redistributed, so their grids are written to a private folder outside the repository.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelfes.evaluation import lodo
from pixelfes.evaluation.judges import SCORE_COLUMNS, Judges
from pixelfes.evaluation.lodo_report import LABELS, headline_markdown
from pixelfes.evaluation.report import write_csv

#: Columns of ``results/lodo_scores.csv.gz``.
COLUMNS = (
    "protocol",
    "expression",
    "held_out",
    "train_sets",
    "n_train",
    "method",
    "subject",
    "image",
    "index",
    "fit_predict_s",
    *SCORE_COLUMNS,
)
SCORES = Path("results") / "lodo_scores.csv.gz"
#: Datasets whose images may be shown in the repository's figures.
PUBLIC = ("london",)
EXPRESSIONS = ("happy", "sad", "surprise", "anger", "disgust", "fear")


@dataclass
class LodoSettings:
    """What a leave-one-dataset-out run does.

    Attributes
    ----------
    expressions : tuple of str
    max_test_per_subject : int, optional
        Held-out pairs scored per subject (Taiwanese has up to 9 per person).
    kr_max_train : int
        Pixel-KR training subset.
    max_test : int, optional
        Cap on scored pairs per held-out set (``--quick``).
    """

    expressions: tuple[str, ...] = EXPRESSIONS
    max_test_per_subject: int | None = 2
    kr_max_train: int = lodo.KR_MAX_TRAIN
    max_test: int | None = None

    @classmethod
    def fast(cls) -> LodoSettings:
        """A minute-long check: happy only, 12 test faces per held-out set."""
        return cls(expressions=("happy",), max_test_per_subject=1, kr_max_train=30, max_test=12)


def run_lodo(
    out: Path,
    root: Path | None = None,
    settings: LodoSettings | None = None,
    private_figures: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every split, write the per-image scores and the face grids.

    Parameters
    ----------
    out : Path
        The docs folder (``results/lodo_scores.csv.gz``, ``figures/lodo_*.jpg``).
    root : Path, optional
        Shared data root.
    settings : LodoSettings, optional
    private_figures : Path, optional
        Where grids of research-only datasets go (not written when None).
    log : callable
        Progress messages.
    """
    from pixelfes.bundled import recipe
    from pixelfes.evaluation.pairs import load_sets

    settings = settings or LodoSettings()
    judges = Judges()
    records: list[dict[str, Any]] = []
    figures: list[Path] = []
    for expression in settings.expressions:
        sets = load_sets(lodo.DATASETS, expression, root=root)
        if settings.max_test is not None:
            sets = {d: s.subset(_first(len(s), settings.max_test)) for d, s in sets.items()}
        alpha, strength = recipe(expression)
        methods = lodo.methods(expression, alpha, strength, settings.kr_max_train)
        for split in lodo.splits(expression, sets, settings.max_test_per_subject):
            log(f"{expression}: {split.held_out} held out ({len(split.test)} test pairs)")
            result = lodo.run_split(split, methods, judges, log=log)
            records += result.records
            folder = out / "figures" if split.held_out in PUBLIC else private_figures
            if folder is not None:
                path = folder / f"lodo_{expression}_{split.held_out}.jpg"
                _write_grid(path, result.examples[expression, split.held_out])
                figures.append(path)
    write_csv(out / SCORES, records, COLUMNS)
    return {"scores": out / SCORES, "n_rows": len(records), "figures": figures}


def _first(n: int, limit: int) -> Any:
    import numpy as np

    return np.arange(min(n, limit))


def _write_grid(path: Path, examples: dict[str, Any]) -> None:
    """Rows: test faces; columns: input, each method, real target."""
    from pixelfes.evaluation.report import write_figure
    from pixelfes.figures import labelled_grid

    columns = [m for m in LABELS if m in examples and m != lodo.REAL_TARGET]
    columns.append(lodo.REAL_TARGET)
    rows = [
        [_rgb8(examples[m][i]) for m in columns] for i in range(len(examples[lodo.REAL_TARGET]))
    ]
    short = {lodo.INPUT: "input", lodo.REAL_TARGET: "real target"}
    labels = [short.get(m, LABELS[m]) for m in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_figure(path, labelled_grid(rows, col_labels=labels, cell=128))


def _rgb8(image: Any) -> Any:
    import numpy as np

    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def read_scores(path: Path) -> list[dict[str, Any]]:
    """The stored per-image records (strings as written; empty cells for NaN)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_results_md(out: Path) -> Path:
    """Render ``out/results.md`` from the stored scores (a pure function of that file)."""
    records = read_scores(out / SCORES)
    figures = sorted(
        f"figures/{p.name}" for p in (out / "figures").glob("lodo_*.jpg") if p.is_file()
    )
    text = "\n".join(
        [
            "# Evaluation results",
            "",
            "Generated by `pixelfes evaluate` (src/pixelfes/evaluation/); do not edit by hand. "
            "The headline below is rendered from `results/lodo_scores.csv.gz` alone "
            "(`pixelfes evaluate --report-only` regenerates it). The paper's protocols "
            "(within-dataset k-fold, pairwise cross-dataset, sigma sweep): "
            "[results-paper.md](results-paper.md); Pixel-KR's sigma curve with CV lambda: "
            "[results-sigma-cv.md](results-sigma-cv.md).",
            "",
            headline_markdown(records, figures),
        ]
    )
    path = out / "results.md"
    path.write_text(text, encoding="utf-8")
    return path
