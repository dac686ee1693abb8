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
    help="Writes OUTPUT/results.md, OUTPUT/figures/results_*.png and OUTPUT/results/*.csv.",
)
@click.option("--out", "old_output", type=click.Path(file_okay=False, path_type=Path), hidden=True)
@click.option("--quick", is_flag=True, help="London only, 40 pairs, 2 folds, five methods.")
def evaluate(data_root: Path | None, output: Path, old_output: Path | None, quick: bool) -> None:
    """Evaluate all methods (within-dataset, cross-dataset, wild) and write tables and figures."""
    if old_output is not None:
        warn_renamed("`pixelfes evaluate --out`", "`-o/--output`")
        output = old_output
    from pixelfes.config import data_root as default_root
    from pixelfes.evaluation.suite import Settings, run_suite

    root = data_root or default_root()
    if root is None:
        raise click.UsageError("shared data not found: pass --data-root or set PIXELFES_DATA")
    settings = Settings.fast() if quick else Settings.full()
    try:
        written = run_suite(
            output, root=root, settings=settings, log=lambda m: click.echo(m, err=True)
        )
    except ImportError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {written['markdown']} ({written['n_rows']} per-image rows)")
