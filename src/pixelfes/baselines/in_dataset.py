"""The GANs' in-dataset table: held-out subjects of the sets they trained on, beside Pixel-RR.

A checkpoint trained with ``--test-size`` (no ``--hold-out-dataset``) saw some subjects of
every dataset and never the others. :func:`run_in_dataset` scores it on those held-out
subjects, expression by expression, beside the unedited input, Pixel-RR and the bundled
recipe fitted on the same dataset's training subjects, with the judges of the
leave-one-dataset-out headline (:func:`pixelfes.evaluation.lodo.run_split`: both
expression classifiers, identity, PSNR/SSIM/LPIPS, ghost edges).
:func:`write_results_gan_md` renders ``results-gan.md`` from the stored records and the
checkpoints' training budgets. ``pixelfes evaluate --gan-checkpoint`` runs both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pixelfes.baselines.method import SplitGANMethod, TrainedOn, checkpoint_meta, trained_on
from pixelfes.baselines.pool import held_out_subjects, training_pool
from pixelfes.evaluation import lodo
from pixelfes.evaluation.judges import CLASSIFIERS, Judges
from pixelfes.evaluation.lodo_report import JUDGE_NAMES, LABELS, cells
from pixelfes.evaluation.lodo_suite import COLUMNS, PUBLIC, read_scores
from pixelfes.evaluation.report import markdown_table, write_csv, write_figure
from pixelfes.exceptions import DatasetError

__all__ = ["SCORES", "in_dataset_splits", "run_in_dataset", "write_results_gan_md"]

#: Per-image records of the in-dataset GAN table, under the docs folder.
SCORES = Path("results") / "gan_in_dataset_scores.csv.gz"
#: The methods fitted beside the GANs (ids of :func:`pixelfes.evaluation.lodo.methods`).
COMPARED = (lodo.INPUT, "pixel_rr", "bundled")


def in_dataset_splits(
    meta: dict[str, Any], root: Path | None = None, max_test_per_subject: int | None = 2
) -> list[lodo.Split]:
    """One split per (dataset, expression): the checkpoint's training and held-out subjects.

    Parameters
    ----------
    meta : dict
        A checkpoint's data settings (:func:`pixelfes.baselines.pool.data_meta`).
    max_test_per_subject : int, optional
        Test pairs scored per held-out subject.
    """
    from pixelfes.evaluation.pairs import load_set

    if meta.get("split", "train") != "train":
        raise ValueError("the in-dataset table needs a checkpoint that held out subjects")
    out = []
    for dataset in meta["datasets"]:
        held = held_out_subjects(
            dataset, meta["targets"], meta["test_size"], meta["split_seed"], root
        )
        for expression in meta["targets"]:
            try:
                data = load_set(dataset, expression, root=root)
            except DatasetError:
                continue
            is_test = np.array([s in held for s in data.subjects])
            if is_test.all() or not is_test.any():
                continue
            train = data.subset(np.flatnonzero(~is_test))
            test = lodo.per_subject(data.subset(np.flatnonzero(is_test)), max_test_per_subject)
            out.append(lodo.Split(expression, dataset, train, test))
    return out


def _split_settings(meta: dict[str, Any]) -> tuple[Any, ...]:
    return (
        tuple(meta["datasets"]),
        tuple(meta["targets"]),
        meta["test_size"],
        meta["split_seed"],
    )


def run_in_dataset(
    checkpoints: Sequence[str | Path],
    out: Path,
    root: Path | None = None,
    *,
    max_test_per_subject: int | None = 2,
    private_figures: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Score the checkpoints that held out subjects; write records, grids and the page.

    Checkpoints that held out a whole dataset are left to the leave-one-dataset-out
    table. The others must share one split (datasets, targets, test size, seed).

    Returns ``{"scores": path, "n_rows": int, "markdown": path or None}``.
    """
    metas = {Path(p): checkpoint_meta(p) for p in checkpoints}
    chosen = [p for p, m in metas.items() if m.get("split", "train") == "train"]
    if not chosen:
        log("in-dataset GAN table: no checkpoint held out subjects; skipped")
        return {"scores": None, "n_rows": 0, "markdown": None}
    settings = {_split_settings(metas[p]) for p in chosen}
    if len(settings) > 1:
        raise ValueError(f"checkpoints with different held-out subjects: {sorted(settings)}")
    from pixelfes.bundled import recipe

    judges = Judges()
    records: list[dict[str, Any]] = []
    figures: list[str] = []
    for split in in_dataset_splits(metas[chosen[0]], root, max_test_per_subject):
        log(f"in-dataset {split.expression}, {split.held_out}: {len(split.test)} test pairs")
        alpha, strength = recipe(split.expression)
        methods = [m for m in lodo.methods(split.expression, alpha, strength) if m.id in COMPARED]
        gans = [SplitGANMethod(p, split, whole_dataset=False, root=root) for p in chosen]
        result = lodo.run_split(split, [*methods, *gans], judges, log=log)
        records += [{**r, "protocol": "in_dataset"} for r in result.records]
        folder = out / "figures" if split.held_out in PUBLIC else private_figures
        if folder is not None:
            name = f"gan_in_dataset_{split.expression}_{split.held_out}.jpg"
            examples = result.examples[split.expression, split.held_out]
            _write_grid(folder / name, examples, {g.id: g.label for g in gans})
            if folder == out / "figures":
                figures.append(f"figures/{name}")
    write_csv(out / SCORES, records, COLUMNS)
    page = write_results_gan_md(out, checkpoints, figures, root, max_test_per_subject)
    return {"scores": out / SCORES, "n_rows": len(records), "markdown": page}


def _write_grid(path: Path, examples: dict[str, np.ndarray], gan_labels: dict[str, str]) -> None:
    """Rows: test faces; columns: input, the compared methods, the GANs, real target."""
    from pixelfes.figures import labelled_grid

    columns = [m for m in (*COMPARED, *gan_labels) if m in examples] + [lodo.REAL_TARGET]
    labels = {**LABELS, **gan_labels, lodo.INPUT: "input", lodo.REAL_TARGET: "real target"}

    def rgb(image: np.ndarray) -> np.ndarray:
        return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image

    rows = [[rgb(examples[m][i]) for m in columns] for i in range(len(examples[columns[0]]))]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_figure(path, labelled_grid(rows, col_labels=[labels[m] for m in columns], cell=128))


def budget_table(infos: Sequence[tuple[str, TrainedOn, int]]) -> str:
    """Iterations, generator updates, images seen and epochs of each checkpoint."""
    header = ["checkpoint", "model", "trained on", "held out", "training faces"]
    header += ["iterations", "generator updates", "batch", "real images seen", "epochs"]
    body = []
    for name, info, n_images in infos:
        seen = info.step * info.batch_size
        held = info.hold_out_dataset or "20% of each set's subjects"
        body.append(
            [
                name,
                info.label,
                "+".join(sorted(info.datasets)) + f" ({len(info.subjects)} subjects)",
                held,
                n_images,
                info.step,
                info.step // info.n_critic,
                info.batch_size,
                seen,
                f"{seen / n_images:.2f}" if n_images else "–",
            ]
        )
    return markdown_table(header, body)


def _fmt(value: float, digits: int, percent: bool = False) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{100 * value:.0f}" if percent else f"{value:.{digits}f}"


def scores_table(records: Sequence[dict[str, Any]], labels: dict[str, str]) -> str:
    """One row per (test set, expression, method): every headline column.

    Methods beyond the compared ones come in the order of ``labels`` (id -> display name).
    """
    table = cells(records)
    header = ["test subjects of", "expression", "method", "images"]
    for judge in CLASSIFIERS:
        header += [f"{JUDGE_NAMES[judge]} %", f"{JUDGE_NAMES[judge]} / ceiling"]
    header += ["identity kept %", "PSNR dB", "SSIM", "LPIPS", "ghost edges"]
    present = {m for *_, m in table} - {*COMPARED, lodo.REAL_TARGET}
    named = [m for m in labels if m in present]  # the GANs in the checkpoints' order
    order = [*COMPARED, *named, *sorted(present - set(named)), lodo.REAL_TARGET]
    body = []
    splits = sorted({(d, e) for e, d, _ in table}, key=lambda s: (lodo.DATASETS.index(s[0]), s[1]))
    for dataset, expression in splits:
        for method in order:
            c = table.get((expression, dataset, method))
            if c is None:
                continue
            row = [f"{dataset} ({c['n_train']:.0f} train pairs)", expression]
            row += [labels.get(method, method), f"{c['n']:.0f}"]
            for judge in CLASSIFIERS:
                row += [_fmt(c[judge], 0, True), _fmt(c[f"{judge}_of_ceiling"], 2)]
            row += [_fmt(c["kept"], 0, True), _fmt(c["psnr"], 2), _fmt(c["ssim"], 3)]
            row += [_fmt(c["lpips"], 3), _fmt(c["ghost"], 2)]
            body.append(row)
    return markdown_table(header, body)


def write_results_gan_md(
    out: Path,
    checkpoints: Sequence[str | Path],
    figures: Sequence[str] = (),
    root: Path | None = None,
    max_test_per_subject: int | None = 2,
) -> Path:
    """Render ``out/results-gan.md`` from the stored records and the checkpoints.

    ``max_test_per_subject`` is the setting the records were scored with (for the text).
    """
    infos = []
    for path in checkpoints:
        info = trained_on(path, root)
        n_images = info.n_images or len(training_pool(checkpoint_meta(path), root))
        infos.append(("/".join(Path(path).parts[-2:]), info, n_images))  # folder/file
    records = read_scores(out / SCORES) if (out / SCORES).is_file() else []
    labels = {**{i.model: i.label for _, i, _ in infos}, **LABELS}
    lines = [
        "# GAN baselines: training budget and in-dataset scores",
        "",
        "Generated by `pixelfes evaluate --gan-checkpoint ...` "
        "(src/pixelfes/baselines/in_dataset.py); do not edit by hand. What the numbers "
        "mean and which of the paper's claims they test: [baselines.md](baselines.md). "
        "The leave-one-dataset-out rows of checkpoints that never saw a dataset are in "
        "[results.md](results.md).",
        "",
        "## Training budget",
        "",
        "One iteration is one critic update on a batch; the generator moves every "
        "n_critic-th. The published schedule is 200,000 iterations.",
        "",
        budget_table(infos),
        "",
        "## In-dataset: held-out subjects of the training sets",
        "",
        "Checkpoints trained on 80% of each set's subjects, scored on "
        f"{'every' if max_test_per_subject is None else f'at most {max_test_per_subject}'} pairs "
        "of each held-out subject; the input (floor), Pixel-RR (paper's lambda) and the "
        "bundled recipe are fitted on the luma of the same set's training subjects for that "
        "expression, the GANs translate the colour face. Columns as in the headline of "
        "results.md (both judges, dlib identity kept, PSNR/SSIM/LPIPS against the real "
        "target, ghost edges).",
        "",
        scores_table(records, labels) if records else "Not run.",
        "",
    ]
    for figure in figures:
        lines += [f"![in-dataset faces]({figure})", ""]
    path = out / "results-gan.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
