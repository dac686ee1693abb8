"""``pixelfes edit``: edit the expression on photos, folders and videos."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path

import click
from tqdm import tqdm

from pixelfes.batch import Job, Summary, plan_jobs, run_jobs
from pixelfes.editing import MAX_INTENSITY, available_expressions, edit_image, load_model


@click.command("edit")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--to",
    "to",
    type=click.Choice(available_expressions(), case_sensitive=False),
    default="happy",
    show_default=True,
    help="Target expression (a bundled model).",
)
@click.option(
    "--intensity",
    type=click.FloatRange(0.0, MAX_INTENSITY),
    default=1.0,
    show_default=True,
    help="0 keeps the face, 1 is the model's expression, up to 1.5 exaggerates it.",
)
@click.option("--model", "model_spec", help="Bundled model name or a model file (overrides --to).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file or folder.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, help="Parallel worker processes.")
@click.option("--largest-only", is_flag=True, help="Edit only the largest face in each image.")
@click.option("--in-place", is_flag=True, help="Overwrite the input files (off by default).")
def edit(
    inputs: tuple[Path, ...],
    to: str,
    intensity: float,
    model_spec: str | None,
    output: Path | None,
    jobs: int,
    largest_only: bool,
    in_place: bool,
) -> None:
    """Edit the expression of every face in INPUTS (photos, folders or videos).

    Exit status: 0 all edited, 1 some inputs failed, 2 usage error or no input.
    """
    spec = model_spec or to
    try:
        load_model(spec)
        planned = plan_jobs(inputs, output, _tag(spec), in_place=in_place)
    except (ValueError, FileNotFoundError) as error:
        raise click.UsageError(str(error)) from error
    work = partial(edit_job, model_spec=spec, intensity=intensity, largest_only=largest_only)
    summary = run_jobs(planned, work, n_jobs=jobs, progress=_progress if len(planned) > 1 else None)
    _report(summary)
    sys.exit(summary.exit_code)


def edit_job(job: Job, *, model_spec: str, intensity: float, largest_only: bool) -> None:
    """Edit one photo or video file and write the result atomically."""
    model = load_model(model_spec)
    job.target.parent.mkdir(parents=True, exist_ok=True)
    if job.is_video:
        from pixelfes.video import edit_video

        edit_video(job.source, job.target, model=model, intensity=intensity)
        return
    from pixelfes.imageio import read_image, write_image

    image = read_image(job.source)
    result = edit_image(
        image, model=model, intensity=intensity, largest_only=largest_only, source=str(job.source)
    )
    write_image(job.target, result.image)


def _tag(spec: str) -> str:
    return Path(spec).stem if spec.endswith(".npz") else spec


def _progress(results: Iterable, total: int) -> Iterator:
    return iter(tqdm(results, total=total, unit="file", file=sys.stderr, dynamic_ncols=True))


def _report(summary: Summary) -> None:
    for path in summary.written:
        click.echo(f"wrote {path}")
    for path, reason in summary.failed:
        click.echo(f"failed {path}: {reason}", err=True)
    total = len(summary.written) + len(summary.failed)
    click.echo(f"{len(summary.written)} of {total} edited, {len(summary.failed)} failed", err=True)
