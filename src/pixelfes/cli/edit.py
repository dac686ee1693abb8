"""``pixelfes edit``: edit the expression on photos, folders and videos."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from pixelfes.batch import Job, Summary, interrupt_on_sigterm, plan_jobs, run_jobs
from pixelfes.cli.choice import edit_options, face_options, photo_only
from pixelfes.editing import MAX_INTENSITY, available_expressions, edit_image, load_model
from pixelfes.exceptions import InvalidInputError


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
@click.option(
    "--keep-detail",
    is_flag=True,
    help="Geometry models: keep the face's own fine detail (freckles, wrinkles, glasses) "
    "instead of blending it half towards the training faces; sharper and closer to the "
    "person, the expression a little weaker (docs/geometry.md).",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file or folder.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=1, help="Parallel worker processes.")
@click.option("--largest-only", is_flag=True, help="Edit only the largest face in each image.")
@click.option("--in-place", is_flag=True, help="Overwrite the input files (off by default).")
@click.option("--overwrite", is_flag=True, help="Replace outputs that exist already.")
@face_options
@click.option(
    "--cluster",
    metavar="local|tcp://HOST:8786",
    help="Edit on a Dask cluster: 'local' or a scheduler address (see docs/cluster.md).",
)
def edit(
    inputs: tuple[Path, ...],
    to: str,
    intensity: float,
    model_spec: str | None,
    keep_detail: bool,
    output: Path | None,
    jobs: int,
    largest_only: bool,
    in_place: bool,
    overwrite: bool,
    cluster: str | None,
    **choice: Any,
) -> None:
    """Edit the expression of every face in INPUTS (photos, folders or videos).

    Outputs are named <name>_<model>[-<intensity>]<suffix> beside the input (or in -o);
    an existing output is only replaced with --overwrite.

    Exit status: 0 all edited, 1 some inputs failed, 2 usage error or no input.
    """
    spec = model_spec or to
    options = edit_options(**choice)
    try:
        model = load_model(spec)
        _check_model(model, keep_detail)
        planned = plan_jobs(
            inputs,
            output,
            _tag(spec, intensity, keep_detail),
            in_place=in_place,
            overwrite=overwrite,
            output_suffix=_output_suffix,
        )
        for job in planned:
            _check_writable(job)
    except (ValueError, FileNotFoundError) as error:
        raise click.UsageError(str(error)) from error
    work = partial(
        edit_job,
        model_spec=spec,
        intensity=intensity,
        largest_only=largest_only,
        overwrite=overwrite or in_place,
        keep_detail=keep_detail,
        **options,
    )
    progress = _progress if len(planned) > 1 else None
    with interrupt_on_sigterm():  # unwind, removing temporary files and workers
        if cluster is None:
            summary = run_jobs(planned, work, n_jobs=jobs, progress=progress)
        else:
            model = _with_detail(model, keep_detail)
            summary = _run_on_cluster(cluster, planned, partial(work, model=model), progress)
    _report(summary)
    sys.exit(summary.exit_code)


def edit_job(
    job: Job,
    *,
    model_spec: str,
    intensity: float,
    largest_only: bool,
    overwrite: bool = True,
    model: Any = None,
    keep_detail: bool = False,
    **options: Any,
) -> None:
    """Edit one photo or video file and write the result atomically.

    The output keeps the input's EXIF (orientation reset) and ICC profile; an in-place
    edit (target is the input, or the file its link points to) keeps its mode too.
    ``options`` are :func:`pixelfes.editing.edit_image`'s face choice and region doses.
    ``model``, when given, is used instead of loading ``model_spec`` (a cluster worker
    receives it once with the work); ``keep_detail`` sets a geometry model's ``detail``.
    """
    model = _with_detail(model if model is not None else load_model(model_spec), keep_detail)
    job.target.parent.mkdir(parents=True, exist_ok=True)
    in_place = job.target.exists() and job.target.samefile(job.source)
    like = job.target if in_place else None
    if job.is_video:
        from pixelfes.video import edit_video

        chosen = photo_only(options)
        if chosen:
            raise InvalidInputError(f"{', '.join(chosen)} work on photos only, not on videos")
        edit_video(job.source, job.target, model=model, intensity=intensity, like=like)
        return
    from pixelfes.imageio import read_image, read_metadata, write_image

    image = read_image(job.source)
    result = edit_image(
        image,
        model=model,
        intensity=intensity,
        largest_only=largest_only,
        source=str(job.source),
        **options,
    )
    write_image(
        job.target,
        result.image,
        overwrite=overwrite,
        metadata=read_metadata(job.source),
        like=like,
    )


def _check_model(model, keep_detail: bool = False) -> None:
    """Geometry models need the face mesh: say how to install it before any file is read;
    ``--keep-detail`` needs a geometry model."""
    from pixelfes.exceptions import MissingDependencyError
    from pixelfes.models import GeometryModel

    if keep_detail and not isinstance(model, GeometryModel):
        raise click.UsageError(
            "--keep-detail works with geometry models (each expression's default, or "
            "'<expression>-geometry'), not with a per-pixel model"
        )
    if isinstance(model, GeometryModel):
        from pixelfes.faces.landmarks import require_dense_landmarks

        try:
            require_dense_landmarks()
        except MissingDependencyError as error:
            raise click.ClickException(str(error)) from error


def _with_detail(model: Any, keep_detail: bool) -> Any:
    """``model`` with the texture step that keeps the face's fine detail, if asked."""
    if keep_detail:
        from pixelfes.models.geometry_model import KEEP_DETAIL

        model.set_params(detail=KEEP_DETAIL * model.image_shape_[0] / 128)
    return model


def _tag(spec: str, intensity: float = 1.0, keep_detail: bool = False) -> str:
    name = Path(spec).stem if spec.endswith(".npz") else spec
    name = name if intensity == 1.0 else f"{name}-{intensity:g}"
    return f"{name}-detail" if keep_detail else name


def _output_suffix(source: Path) -> str:
    """Default output suffix: the input's, or .mp4 for a video container we cannot write."""
    from pixelfes.formats import is_video
    from pixelfes.video import WRITABLE_SUFFIXES

    if is_video(source) and source.suffix.lower() not in WRITABLE_SUFFIXES:
        return ".mp4"
    return source.suffix


def _check_writable(job: Job) -> None:
    """Refuse, before any work, an output name whose format cannot be written."""
    from pixelfes.imageio import image_format
    from pixelfes.video import WRITABLE_SUFFIXES

    if job.is_video:
        if job.target.suffix.lower() not in WRITABLE_SUFFIXES:
            allowed = ", ".join(sorted(WRITABLE_SUFFIXES))
            raise ValueError(f"cannot write video {job.target}: use one of {allowed}")
        return
    image_format(job.target)


def _run_on_cluster(cluster: str, planned: list[Job], work: partial, progress: Any) -> Summary:
    from pixelfes.cluster import run_jobs_on

    try:
        return run_jobs_on(cluster, planned, work, progress=progress)
    except (ValueError, ImportError, OSError) as error:
        raise click.UsageError(str(error)) from error


def _progress(results: Iterable, total: int) -> Iterator:
    return iter(tqdm(results, total=total, unit="file", file=sys.stderr, dynamic_ncols=True))


def _report(summary: Summary) -> None:
    for path in summary.written:
        click.echo(f"wrote {path}")
    for path, reason in summary.failed:
        click.echo(f"failed {path}: {reason}", err=True)
    total = len(summary.written) + len(summary.failed)
    click.echo(f"{len(summary.written)} of {total} edited, {len(summary.failed)} failed", err=True)
