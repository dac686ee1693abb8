"""``pixelfes evaluate``: compare every method on the shared data and write the results docs."""

from __future__ import annotations

from pathlib import Path

import click

from pixelfes.cli._deprecation import warn_renamed


@click.command("evaluate")
@click.option(
    "--data-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Shared data folder (default: PIXELFES_DATA or ../shared/data).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="Writes OUTPUT/results.md (headline), OUTPUT/results-paper.md, OUTPUT/figures/ and "
    "OUTPUT/results/ (per-image scores).",
)
@click.option("--out", "old_output", type=click.Path(file_okay=False, path_type=Path), hidden=True)
@click.option("--quick", is_flag=True, help="A short check: fewer pairs, folds and methods.")
@click.option(
    "--protocol",
    type=click.Choice(["lodo", "paper", "gan", "all"]),
    default="all",
    show_default=True,
    help="lodo: leave-one-dataset-out headline (results.md); paper: the paper's protocols "
    "(results-paper.md); gan: only the in-dataset GAN table (results-gan.md, needs "
    "--gan-checkpoint); all: every one.",
)
@click.option(
    "--report-only",
    is_flag=True,
    help="Only re-render results.md from the stored results/lodo_scores.csv.gz.",
)
@click.option(
    "--methods",
    help="Comma-separated method ids (e.g. geometry,pixel_kr): re-run only these and replace "
    "their rows in the stored results/lodo_scores.csv.gz (lodo protocol; other rows and "
    "the face grids are kept).",
)
@click.option(
    "--private-figures",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write face grids of research-only datasets (CK+, Taiwanese); "
    "default: none written.",
)
@click.option(
    "--gan-checkpoint",
    "gan_checkpoints",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A `pixelfes train-gan` checkpoint (repeatable; `gan` extra): its rows in the "
    "leave-one-dataset-out table for the sets it never saw, and the in-dataset GAN table "
    "(OUTPUT/results-gan.md, with --protocol gan or all) for one that held out subjects.",
)
def evaluate(
    data_root: Path | None,
    output: Path,
    old_output: Path | None,
    quick: bool,
    protocol: str,
    report_only: bool,
    methods: str | None,
    private_figures: Path | None,
    gan_checkpoints: tuple[Path, ...],
) -> None:
    """Evaluate every method on the shared data and write tables and figures.

    The headline is leave-one-dataset-out: train on all shared sets but one, test on the
    held-out set against its real target photos, judged by two expression classifiers,
    identity, LPIPS and a ghosting measure.
    """
    if old_output is not None:
        warn_renamed("`pixelfes evaluate --out`", "`-o/--output`")
        output = old_output
    from pixelfes.config import data_root as default_root
    from pixelfes.evaluation.lodo_suite import LodoSettings, run_lodo, write_results_md

    log = lambda m: click.echo(m, err=True)  # noqa: E731
    selected = tuple(m.strip() for m in methods.split(",") if m.strip()) if methods else None
    if selected is not None and protocol != "lodo":
        raise click.UsageError("--methods re-runs rows of the lodo protocol: add --protocol lodo")
    if report_only:
        click.echo(f"wrote {write_results_md(output)}")
        return
    root = data_root or default_root()
    if root is None:
        raise click.UsageError("shared data not found: pass --data-root or set PIXELFES_DATA")
    if protocol == "gan" and not gan_checkpoints:
        raise click.UsageError("--protocol gan needs at least one --gan-checkpoint")
    try:
        gans = _gan_methods(gan_checkpoints, root) if gan_checkpoints else None
        if protocol in ("lodo", "all"):
            settings = LodoSettings.fast() if quick else LodoSettings()
            settings.methods = selected
            done = run_lodo(output, root, settings, private_figures, log=log, extra_methods=gans)
            click.echo(f"wrote {done['scores']} ({done['n_rows']} per-image rows)")
            seconds = ", ".join(f"{m} {s:.1f}" for m, s in done["seconds"].items())
            click.echo(f"fit + predict seconds: {seconds}")
            click.echo(f"wrote {write_results_md(output)}")
        if protocol in ("paper", "all"):
            from pixelfes.evaluation.suite import Settings, run_suite

            settings = Settings.fast() if quick else Settings.full()
            written = run_suite(output, root=root, settings=settings, log=log)
            click.echo(f"wrote {written['markdown']} ({written['n_rows']} per-image rows)")
        if gan_checkpoints and protocol in ("gan", "all"):
            from pixelfes.baselines.in_dataset import run_in_dataset

            written = run_in_dataset(
                gan_checkpoints, output, root, private_figures=private_figures, log=log
            )
            click.echo(f"wrote {written['markdown']} ({written['n_rows']} per-image rows)")
    except (ImportError, FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error


def _gan_methods(checkpoints: tuple[Path, ...], root: Path):
    """The GAN rows' factory; PyTorch at one thread (its OpenMP team must not meet forks)."""
    import torch

    from pixelfes.baselines.method import lodo_gan_methods

    torch.set_num_threads(1)
    try:
        return lodo_gan_methods(checkpoints, root=root)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
