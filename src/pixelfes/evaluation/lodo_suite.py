"""Run the leave-one-dataset-out protocol and write its scores, face grids and report.

``pixelfes evaluate`` calls :func:`run_lodo` (the expensive part: fit, predict, judge) and
:func:`write_results_md` (cheap: reads the stored per-image scores back and renders the
markdown with :mod:`pixelfes.evaluation.lodo_report`), so the report can be regenerated
from ``results/lodo_scores.csv.gz`` alone (``pixelfes evaluate --report-only``; the targets
section also reads which variant :func:`pixelfes.edit` uses by default).

A run limited to some methods (``LodoSettings.methods``, ``pixelfes evaluate --methods``)
fits and scores only those and replaces their rows in the stored scores, keeping every
other row (:func:`replace_rows`); the face grids need every method and are left as they are.

Face grids of London (CC BY 4.0) go to ``figures/``; CK+ and Taiwanese images may not be
redistributed, so their grids are written to a private folder outside the repository.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelfes.evaluation import lodo
from pixelfes.evaluation.judges import SCORE_COLUMNS, Judges
from pixelfes.evaluation.lodo_report import LABELS, headline_markdown, method_order
from pixelfes.evaluation.report import write_csv

#: Columns of ``results/lodo_scores.csv.gz``.
COLUMNS = (
    "protocol",
    "expression",
    "held_out",
    "train_sets",
    "n_train",
    "method",
    "label",
    "subject",
    "image",
    "index",
    "fit_predict_s",
    "params",
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
    kr_grid : dict, optional
        Pixel-KR's sigma/lambda search grid (None: ``KERNEL_GRID``).
    max_test : int, optional
        Cap on scored pairs per held-out set (``--quick``).
    methods : tuple of str, optional
        Run only these method ids and replace their rows in the stored scores (which must
        come from a run with the same test images); None runs everything and rewrites
        the scores and figures.
    input_pose : bool
        Score against the real targets moved onto their inputs' pose
        (:func:`pixelfes.evaluation.pose.targets_in_input_pose`; needs the face mesh).
    """

    expressions: tuple[str, ...] = EXPRESSIONS
    max_test_per_subject: int | None = 2
    kr_grid: dict[str, tuple[float, ...]] | None = None
    max_test: int | None = None
    methods: tuple[str, ...] | None = None
    input_pose: bool = True

    @classmethod
    def fast(cls) -> LodoSettings:
        """A minute-long check: happy only, 12 test faces per held-out set."""
        return cls(
            expressions=("happy",),
            max_test_per_subject=1,
            kr_grid=lodo.KR_QUICK_GRID,
            max_test=12,
        )


def run_lodo(
    out: Path,
    root: Path | None = None,
    settings: LodoSettings | None = None,
    private_figures: Path | None = None,
    log: Callable[[str], None] = print,
    extra_methods: Callable[[lodo.Split], list[Any]] | None = None,
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
    extra_methods : callable, optional
        ``extra_methods(split) -> list`` of further methods for a split (the interface of
        :class:`~pixelfes.evaluation.lodo.LumaMethod`; an optional ``label`` names the row
        in the report), scored after the built-in ones.

    Returns
    -------
    dict
        ``scores`` (path), ``n_rows`` (rows written), ``figures`` (paths written) and
        ``seconds`` (fit + predict seconds per method id, summed over the splits).
    """
    from pixelfes.bundled import recipe
    from pixelfes.evaluation.lodo_geometry import LandmarkCache
    from pixelfes.evaluation.pairs import load_sets
    from pixelfes.evaluation.pose import targets_in_input_pose

    settings = settings or LodoSettings()
    selected = settings.methods
    if selected is not None and not (out / SCORES).is_file():
        raise FileNotFoundError(
            f"no stored scores at {out / SCORES} to replace rows in: run every method first"
        )
    judges = Judges()
    landmarks = LandmarkCache()
    records: list[dict[str, Any]] = []
    figures: list[Path] = []
    ran: list[tuple[str, str]] = []
    seen: set[str] = set()
    for expression in settings.expressions:
        sets = load_sets(lodo.DATASETS, expression, root=root)
        if settings.max_test is not None:
            sets = {d: s.subset(_first(len(s), settings.max_test)) for d, s in sets.items()}
        alpha, strength = recipe(expression)
        builtin = lodo.methods(expression, alpha, strength, settings.kr_grid, landmarks)
        for split in lodo.splits(expression, sets, settings.max_test_per_subject):
            log(f"{expression}: {split.held_out} held out ({len(split.test)} test pairs)")
            methods = [*builtin, *(extra_methods(split) if extra_methods else [])]
            seen.update(m.id for m in methods)
            if extra_methods is None:
                _check_known(selected, seen)
            if selected is not None:
                methods = [m for m in methods if m.id in selected]
            targets = None
            if settings.input_pose:
                targets = targets_in_input_pose(split.test.X, split.test.T, landmarks)
            result = lodo.run_split(
                split, methods, judges, log=log, ceiling=selected is None, targets=targets
            )
            records += result.records
            ran.append((expression, split.held_out))
            folder = out / "figures" if split.held_out in PUBLIC else private_figures
            if folder is not None and selected is None:
                path = folder / f"lodo_{expression}_{split.held_out}.jpg"
                _write_grid(path, result.examples[expression, split.held_out], result.labels)
                figures.append(path)
    _check_known(selected, seen)
    seconds = _seconds(records)
    if selected is not None:
        records = replace_rows(read_scores(out / SCORES), records, selected, ran)
        log("face grids left as they were (they need every method: run without --methods)")
    n_rows = write_csv(out / SCORES, records, COLUMNS)
    return {"scores": out / SCORES, "n_rows": n_rows, "figures": figures, "seconds": seconds}


def _check_known(selected: tuple[str, ...] | None, ids: set[str]) -> None:
    unknown = sorted(set(selected or ()) - ids)
    if unknown:
        raise ValueError(f"unknown method ids {unknown}; the methods are {', '.join(sorted(ids))}")


def replace_rows(
    stored: list[dict[str, Any]],
    new: list[dict[str, Any]],
    methods: tuple[str, ...],
    splits: list[tuple[str, str]],
) -> list[dict[str, Any]]:
    """``stored`` with the rows of ``methods`` on ``splits`` replaced by ``new``.

    Every other row (the input and real-target rows, other methods, other expressions) is
    kept. Raises ValueError when a split's new rows score other test images than its
    stored real-target rows (a run with other settings, e.g. ``--quick``, or a split
    that was never stored).
    """
    for split in splits:
        want = _images(stored, split, lambda m: m == lodo.REAL_TARGET)
        for method in {r["method"] for r in new if (r["expression"], r["held_out"]) == split}:
            if _images(new, split, lambda m, method=method: m == method) != want:
                raise ValueError(
                    f"{split[0]}, {split[1]} held out: {method} was scored on other test "
                    "images than the stored rows (different settings?): run every method"
                )
    done = set(splits)
    kept = [
        r
        for r in stored
        if not (r["method"] in methods and (r["expression"], r["held_out"]) in done)
    ]
    return kept + new


def _images(
    records: list[dict[str, Any]], split: tuple[str, str], method: Callable[[str], bool]
) -> set[tuple[str, str, str]]:
    return {
        (str(r["subject"]), str(r["image"]), str(r["index"]))
        for r in records
        if (r["expression"], r["held_out"]) == split and method(r["method"])
    }


def _seconds(records: list[dict[str, Any]]) -> dict[str, float]:
    """Fit + predict seconds per method id, summed over splits (one record per split)."""
    per_split = {
        (r["expression"], r["held_out"], r["method"]): float(r["fit_predict_s"])
        for r in records
        if r["method"] != lodo.REAL_TARGET
    }
    out: dict[str, float] = {}
    for (_, _, method), seconds in per_split.items():
        out[method] = out.get(method, 0.0) + seconds
    return out


def _first(n: int, limit: int) -> Any:
    import numpy as np

    return np.arange(min(n, limit))


def _write_grid(path: Path, examples: dict[str, Any], labels: dict[str, str]) -> None:
    """Rows: test faces; columns: input, each method (report order), real target."""
    from pixelfes.evaluation.report import write_figure
    from pixelfes.figures import labelled_grid

    columns = [m for m in method_order(examples) if m != lodo.REAL_TARGET]
    columns.append(lodo.REAL_TARGET)
    rows = [
        [_rgb8(examples[m][i]) for m in columns] for i in range(len(examples[lodo.REAL_TARGET]))
    ]
    short = {
        lodo.INPUT: "input",
        lodo.REAL_TARGET: "real target",
        "geometry": "geometry",
        "pixel_kr_paper": "KR (paper)",
    }
    names = [short.get(m) or LABELS.get(m) or labels.get(m) or m for m in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_figure(path, labelled_grid(rows, col_labels=names, cell=128))


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


def default_methods() -> dict[str, str]:
    """Per expression, the row of what :func:`pixelfes.edit` uses by default.

    The row of :data:`pixelfes.editing.PREFERRED_VARIANT` (one variant, or one per
    expression) where that variant is bundled for the expression (``geometry``), the plain
    ``bundled`` recipe otherwise.
    """
    from pixelfes.editing import PREFERRED_VARIANT
    from pixelfes.pretrained import find_bundled

    out = {}
    for expression in EXPRESSIONS:
        variant = (
            PREFERRED_VARIANT.get(expression)
            if isinstance(PREFERRED_VARIANT, Mapping)
            else PREFERRED_VARIANT
        )
        bundled = variant and find_bundled(f"{expression}-{variant}") is not None
        out[expression] = variant if bundled else "bundled"
    return out


def write_results_md(out: Path) -> Path:
    """Render ``out/results.md`` from the stored scores (and the default variants)."""
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
            "[results-sigma-cv.md](results-sigma-cv.md); the geometry-aware models' design, "
            "shape-model error, subject-disjoint k-fold tables and speed: "
            "[geometry.md](geometry.md); the GAN baselines (StarGAN, GANimation), their "
            "training budget and the paper's claims: [baselines.md](baselines.md).",
            "",
            headline_markdown(records, figures, default_methods()),
        ]
    )
    path = out / "results.md"
    path.write_text(text, encoding="utf-8")
    return path
