"""``pixelfes evaluate``: compare every method on the shared data and write the results docs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("evaluate")
@click.option(
    "--data-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Shared data folder (default: PIXELFES_DATA or ../shared/data).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="Writes OUT/results.md, OUT/figures/results_*.png and OUT/results/*.csv.",
)
@click.option("--quick", is_flag=True, help="London only, 40 pairs, 2 folds, five methods.")
def evaluate(data_root: Path | None, out: Path, quick: bool) -> None:
    """Evaluate all methods (within-dataset, cross-dataset, wild) and write tables and figures."""
    from pixelfes.config import data_root as default_root
    from pixelfes.evaluation.suite import Settings, run_suite

    root = data_root or default_root()
    if root is None:
        raise click.UsageError("shared data not found: pass --data-root or set PIXELFES_DATA")
    settings = Settings.fast() if quick else Settings.full()
    try:
        written = run_suite(
            out, root=root, settings=settings, log=lambda m: click.echo(m, err=True)
        )
    except ImportError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {written['markdown']} ({written['n_rows']} per-image rows)")
