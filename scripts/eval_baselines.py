"""Score trained StarGAN/GANimation generators beside Pixel-RR on held-out subjects.

    python scripts/eval_baselines.py --stargan RUN/stargan.pt --ganimation RUN/ganimation.pt \
        [-o docs/results/baselines] [--per-subject 1] [--threads 1] [--no-learned]

The held-out subjects are those ``pixelfes train-gan`` left out (the split stored in the
checkpoints), so no method saw a test person. For every dataset and neutral->expression
pair set: identity (the input), Pixel-RR (fitted here on the training subjects of that
set, lambda 0.4) and both generators, scored against the real target photo (PSNR, SSIM,
LPIPS, dlib identity distance, the FER2013 judge; the judge's accuracy on the real target
photo is the ceiling). Then the wild photos (out of every dataset; judge only), with
Pixel-RR fitted on London (happy) or the Taiwanese set (the other expressions).

Writes ``records.csv.gz`` (one row per method and image), ``summary.md`` (tables) and
``grid.jpg`` (London held-out and wild faces only: the other sets may not be shown).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from pixelfes.baselines.checkpoint import load_checkpoint
from pixelfes.baselines.method import GANMethod, load_generator
from pixelfes.baselines.pool import held_out_subjects, labelled_images
from pixelfes.config import data_root
from pixelfes.evaluation.methods import PAPER_ALPHA, IdentityMethod, ModelMethod
from pixelfes.evaluation.protocols import (
    REAL_TARGET,
    Results,
    Scorer,
    evaluate_split,
    load_set,
)
from pixelfes.evaluation.report import (
    RECORD_COLUMNS,
    accuracy_table,
    blank,
    markdown_table,
    metrics_table,
    write_csv,
    write_figure,
)
from pixelfes.evaluation.wild import align_wild, run_wild
from pixelfes.exceptions import DatasetError
from pixelfes.figures import labelled_grid
from pixelfes.models import PixelRidge

WILD_EXPRESSIONS = ("happy", "surprise")


def methods_for(expression: str, checkpoints: dict[str, Path]) -> list:
    ridge = ModelMethod("Pixel-RR", lambda: PixelRidge(alpha=PAPER_ALPHA, channels="shared"))
    gans = [GANMethod(path, expression, name=name) for name, path in checkpoints.items()]
    return [IdentityMethod(), ridge, *gans]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stargan", type=Path, required=True)
    parser.add_argument("--ganimation", type=Path, required=True)
    parser.add_argument("-o", "--output", type=Path, default=Path("docs/results/baselines"))
    parser.add_argument("--per-subject", type=int, default=1, help="test pairs per subject")
    parser.add_argument("--no-learned", action="store_true", help="pixel metrics only")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads")
    parser.add_argument("--datasets", nargs="+", help="only these of the checkpoints' sets")
    parser.add_argument("--grid-faces", type=int, default=4, help="London faces in the grid")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    checkpoints = {"StarGAN": args.stargan, "GANimation": args.ganimation}
    meta = load_checkpoint(args.stargan)["meta"]
    root = data_root()
    scorer = Scorer(learned=not args.no_learned)
    results = Results()
    grid_rows: list[list[np.ndarray]] = []
    grid_labels: list[str] = []
    names = ["identity", "Pixel-RR", *checkpoints]

    datasets = args.datasets or meta["datasets"]
    for dataset in datasets:
        held = held_out_subjects(dataset, meta["targets"], meta["test_size"], meta["split_seed"])
        for expression in meta["targets"]:
            try:
                data = load_set(dataset, expression)
            except DatasetError:
                continue
            test_mask = np.array([s in held for s in data.subjects])
            train = data.subset(np.flatnonzero(~test_mask))
            count: dict[str, int] = {}
            chosen = []
            for i in np.flatnonzero(test_mask):
                count[data.subjects[i]] = count.get(data.subjects[i], 0) + 1
                if count[data.subjects[i]] <= args.per_subject:
                    chosen.append(i)
            test_index = np.array(chosen)
            test = data.subset(test_index)
            print(f"{dataset} {expression}: train {len(train)}, test {len(test)}", flush=True)
            everything = np.ones(len(test), bool)
            shown = set(test_index[: args.grid_faces].tolist()) if dataset == "london" else set()
            run = evaluate_split(
                methods_for(expression, checkpoints),
                train,
                test,
                scorer,
                info={
                    "protocol": "held-out subjects",
                    "train_set": f"{dataset} (GANs: {'+'.join(meta['datasets'])})",
                    "test_set": dataset,
                    "expression": expression,
                    "fold": 0,
                },
                lpips_mask=everything,
                identity_mask=everything,
                test_index=test_index,
                keep=frozenset(shown),
            )
            results.extend(run)
            for i in sorted(shown):
                outputs = run.examples[(dataset, i)]
                grid_rows.append([data.X[i], data.T[i], *(outputs[n] for n in names[1:])])
                grid_labels.append(f"London {data.subjects[i].split(':')[-1][-3:]}")

    faces, skipped = align_wild(root / "wild")
    wild_train = {"happy": "london"}
    for expression in WILD_EXPRESSIONS:
        dataset = wild_train.get(expression, "taiwanese")
        data = load_set(dataset, expression)
        held = held_out_subjects(dataset, meta["targets"], meta["test_size"], meta["split_seed"])
        train = data.subset(np.flatnonzero([s not in held for s in data.subjects]))
        run = run_wild(methods_for(expression, checkpoints), train, faces, scorer, skipped)
        results.extend(run)
        for j, face in enumerate(faces):
            outputs = run.examples[("wild", j)]
            grid_rows.append([face.crop, blank(), *(outputs[n] for n in names[1:])])
            grid_labels.append(f"{face.name[:5]} {expression[:4]}.")

    args.output.mkdir(parents=True, exist_ok=True)
    write_csv(args.output / "records.csv.gz", results.records, RECORD_COLUMNS)
    columns = ["input", "real target", *names[1:]]
    grid = labelled_grid(grid_rows, col_labels=columns, row_labels=grid_labels, cell=128)
    write_figure(args.output / "grid.jpg", grid)
    (args.output / "summary.md").write_text(summary(results, names, checkpoints, meta))
    print((args.output / "summary.md").read_text())


def summary(results: Results, names: list[str], checkpoints: dict[str, Path], meta: dict) -> str:
    lines = ["# GAN baselines beside Pixel-RR (generated by scripts/eval_baselines.py)", ""]
    pool = labelled_images(
        meta["datasets"], meta["targets"], test_size=meta["test_size"], seed=meta["split_seed"]
    )
    budget = []
    for name, path in checkpoints.items():
        _, config, step = load_generator(path)
        images = step * config.batch_size
        epochs = f"{images / len(pool):.2f}"
        budget.append([name, step, step // config.n_critic, config.batch_size, images, epochs])
    lines += [
        f"Training budget ({len(pool)} training faces of {len(set(pool.subjects))} subjects; "
        "critic iterations, the generator moves every n_critic-th):",
        "",
        markdown_table(
            ["model", "iterations", "generator updates", "batch", "real images seen", "epochs"],
            budget,
        ),
        "",
    ]
    held = [r for r in results.records if r["protocol"] == "held-out subjects"]
    rows = [*names, REAL_TARGET]
    for dataset in sorted({r["test_set"] for r in held}):
        lines += [
            f"## Held-out subjects: {dataset}",
            "",
            metrics_table(held, names, lambda r, d=dataset: r["test_set"] == d),
            "",
        ]
    expressions = sorted({r["expression"] for r in held})
    lines += [
        "## FER2013 judge accuracy (%) on held-out subjects, all sets pooled",
        "",
        accuracy_table(held, rows, [(e, lambda r, e=e: r["expression"] == e) for e in expressions]),
        "",
    ]
    wild = [r for r in results.records if r["protocol"] == "wild"]
    if wild:
        lines += [
            "## Wild photos (out of every dataset): judge accuracy (%)",
            "",
            accuracy_table(
                wild, names, [(e, lambda r, e=e: r["expression"] == e) for e in WILD_EXPRESSIONS]
            ),
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
