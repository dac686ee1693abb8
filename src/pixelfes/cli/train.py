"""``pixelfes train``: fit a model on aligned pairs from the shared sets or your own folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
from tqdm import tqdm

from pixelfes.cli._deprecation import warn_renamed
from pixelfes.colour import to_gray
from pixelfes.expressions import EXPRESSIONS
from pixelfes.streaming import CHUNK_PAIRS, streams, train_streaming
from pixelfes.training import (
    MODEL_FAMILIES,
    TrainReport,
    cv_steps,
    model_metadata,
    train,
    training_colours,
)


@click.command("train")
@click.option(
    "--data",
    "datasets",
    multiple=True,
    required=True,
    help="london, ckplus, taiwanese, or a folder in the generic layout; repeat to combine.",
)
@click.option(
    "--from",
    "source",
    default="neutral",
    show_default=True,
    help=f"Input expression: {', '.join(EXPRESSIONS)} (or a dataset's own name for one).",
)
@click.option(
    "--to",
    "target",
    default="happy",
    show_default=True,
    help=f"Target expression: {', '.join(EXPRESSIONS)} (or a dataset's own name for one).",
)
@click.option(
    "--family",
    type=click.Choice(sorted(MODEL_FAMILIES)),
    default="pixel-rr",
    show_default=True,
    help="Model family.",
)
@click.option("--model", "old_family", type=click.Choice(sorted(MODEL_FAMILIES)), hidden=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Model file.")
@click.option("--size", type=click.IntRange(16, 1024), default=128, show_default=True)
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), help="Ridge lambda.")
@click.option("--sigma", type=click.FloatRange(min=0, min_open=True), help="Kernel width (KR).")
@click.option("--cv", is_flag=True, help="Choose alpha/sigma by subject-disjoint 5-fold CV.")
@click.option("--gray", is_flag=True, help="Train on grayscale crops.")
@click.option("--float16", is_flag=True, help="Store parameters as float16 (half the size).")
@click.option("--data-root", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split.")
@click.option(
    "--geometry",
    is_flag=True,
    help="Geometry-aware model: dense landmarks, shape model, Pixel-RR texture in the "
    "target frame (needs the geometry extra).",
)
@click.option(
    "--chunk",
    "chunk_pairs",
    type=click.IntRange(1),
    default=CHUNK_PAIRS,
    show_default=True,
    help="Pairs aligned and summed at a time (pixel-rr, flow-rr, mr, pixel-kr: memory flat in N).",
)
@click.option(
    "--cluster",
    metavar="local|tcp://HOST:8786",
    help="Align and sum on a Dask cluster: 'local' or a scheduler address (docs/cluster.md).",
)
def train_command(
    datasets: tuple[str, ...],
    source: str,
    target: str,
    family: str,
    old_family: str | None,
    output: Path,
    size: int,
    alpha: float | None,
    sigma: float | None,
    cv: bool,
    gray: bool,
    float16: bool,
    data_root: Path | None,
    seed: int,
    geometry: bool,
    chunk_pairs: int,
    cluster: str | None,
) -> None:
    """Train a model that turns SOURCE faces into TARGET faces and save it to OUTPUT.

    Pixel-RR (flow-rr too), MR and Pixel-KR stream the pairs through the crop cache in chunks
    (bounded memory; on a Dask cluster with --cluster); --cv and the other families load every
    pair.
    """
    from pixelfes.data import find_pairs
    from pixelfes.exceptions import DatasetError

    if old_family is not None:
        warn_renamed("`pixelfes train --model`", "`--family` (`--model` names a model file)")
        family = old_family
    params = {name: v for name, v in (("alpha", alpha), ("sigma", sigma)) if v is not None}
    if "sigma" in params and family != "pixel-kr":
        raise click.UsageError("--sigma applies only to --family pixel-kr")
    stream = streams(family) and not cv and not geometry
    if cluster is not None and not stream:
        raise click.UsageError("--cluster trains pixel-rr, flow-rr, mr or pixel-kr, without --cv")
    if geometry and (family != "pixel-rr" or cv or gray):
        raise click.UsageError("--geometry uses a Pixel-RR texture: no --family, --cv or --gray")
    if geometry:
        _require_geometry()
    try:
        pairs = find_pairs(list(datasets), source=source, target=target, root=data_root)
    except DatasetError as error:
        raise click.UsageError(str(error)) from error
    click.echo(f"aligning {len(pairs)} {source}->{target} pairs at {size}x{size}", err=True)
    options = {"params": params, "size": size, "gray": gray, "seed": seed}
    try:
        if geometry:
            report, statistics = _train_geometry(pairs, options)
        elif stream:
            report, statistics = _train_streaming(family, pairs, options, chunk_pairs, cluster)
        else:
            report, statistics = _train_in_memory(family, pairs, options, cv)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    except (ImportError, OSError) as error:
        raise click.UsageError(str(error)) from error
    metadata = model_metadata(
        report, None, source, target, datasets, seed, input_statistics=statistics
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    report.model.save(output, metadata=metadata, dtype="float16" if float16 else "float32")
    params_text = ", ".join(f"{k}={v:g}" for k, v in report.params.items())
    click.echo(
        f"pairs {report.n_pairs}, subjects {report.n_subjects}, {report.family}({params_text}), "
        f"fit {report.fit_seconds:.2f} s\n"
        f"held-out PSNR {report.heldout_psnr:.2f} dB on {report.n_heldout_subjects} subjects "
        f"(identity {report.heldout_identity_psnr:.2f} dB)\nwrote {output}"
    )


#: Per-channel mean and standard deviation of the training inputs inside the face mask.
Statistics = tuple[np.ndarray, np.ndarray]


def _train_streaming(
    family: str, pairs: list, options: dict[str, Any], chunk_pairs: int, cluster: str | None
) -> tuple[TrainReport, Statistics]:
    with tqdm(total=len(pairs), unit="pair", disable=cluster is not None) as bar:
        result = train_streaming(
            family,
            pairs,
            params=options["params"],
            size=options["size"],
            gray=options["gray"],
            seed=options["seed"],
            chunk_pairs=chunk_pairs,
            cluster=cluster,
            on_chunk=bar.update,
        )
    _echo_skipped(result.skipped)
    return result.report, (result.input_mean, result.input_std)


def _train_in_memory(
    family: str, pairs: list, options: dict[str, Any], cv: bool
) -> tuple[TrainReport, Statistics]:
    from pixelfes.data import load_pairs

    aligned = load_pairs(pairs, size=options["size"], progress=True)
    _echo_skipped(aligned.skipped)
    X, T = aligned.X, aligned.T
    if options["gray"]:
        X, T = to_gray(X), to_gray(T)
    with tqdm(total=cv_steps(family) if cv else 0, unit="fit", disable=not cv) as bar:
        report = train(
            family,
            X,
            T,
            aligned.subjects,
            params=options["params"],
            cv=cv,
            seed=options["seed"],
            on_step=bar.update,
        )
    return report, training_colours(X)


def _train_geometry(pairs: list, options: dict[str, Any]) -> tuple[TrainReport, Statistics]:
    from pixelfes.data import load_pairs
    from pixelfes.geometric import train_geometry

    aligned = load_pairs(pairs, size=options["size"], progress=True)
    _echo_skipped(aligned.skipped)
    alpha = options["params"].get("alpha", 0.4)
    report = train_geometry(
        aligned.X, aligned.T, aligned.subjects, alpha=alpha, seed=options["seed"]
    )
    return report, training_colours(aligned.X)


def _require_geometry() -> None:
    from pixelfes.exceptions import MissingDependencyError
    from pixelfes.faces.landmarks import require_dense_landmarks

    try:
        require_dense_landmarks()
    except MissingDependencyError as error:
        raise click.ClickException(str(error)) from error


def _echo_skipped(skipped: list) -> None:
    for item in skipped:
        click.echo(f"skipped {item.path}: {item.reason}", err=True)
