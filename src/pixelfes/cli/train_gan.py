"""``pixelfes train-gan``: train the StarGAN or GANimation baseline, resumable (``gan`` extra)."""

from __future__ import annotations

from pathlib import Path

import click

#: Target expressions trained by default (every basic expression but neutral).
DEFAULT_TARGETS = ("happy", "sad", "surprise", "anger", "disgust", "fear")


@click.command("train-gan")
@click.option(
    "--model", type=click.Choice(["stargan", "ganimation"]), default="stargan", show_default=True
)
@click.option(
    "-o",
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Checkpoint file; an existing one is resumed (its settings win).",
)
@click.option(
    "--data",
    "datasets",
    multiple=True,
    help="Shared datasets (london, ckplus, taiwanese); repeat. Default: all three.",
)
@click.option(
    "--to", "targets", multiple=True, help="Target expressions; repeat. Default: all six."
)
@click.option("--iterations", type=click.IntRange(1), default=200_000, show_default=True)
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), help="Wall-time budget.")
@click.option(
    "--batch-size", type=click.IntRange(1), help="Default: 16 (StarGAN), 25 (GANimation)."
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:1, ...")
@click.option("--threads", type=click.IntRange(1), help="CPU threads for PyTorch.")
@click.option("--every", type=click.IntRange(1), default=50, show_default=True, help="Save period.")
@click.option("--seed", type=int, default=0, show_default=True, help="Initialisation and schedule.")
@click.option("--split-seed", type=int, default=0, show_default=True, help="Held-out subjects.")
@click.option("--test-size", type=float, default=0.2, show_default=True, help="Held-out fraction.")
@click.option("--data-root", type=click.Path(exists=True, file_okay=False, path_type=Path))
def train_gan(
    model: str,
    checkpoint: Path,
    datasets: tuple[str, ...],
    targets: tuple[str, ...],
    iterations: int,
    minutes: float | None,
    batch_size: int | None,
    device: str,
    threads: int | None,
    every: int,
    seed: int,
    split_seed: int,
    test_size: float,
    data_root: Path | None,
) -> None:
    """Train a GAN baseline on neutral->expression pairs of the shared datasets.

    The held-out subjects (``--test-size`` of each dataset's subjects, ``--split-seed``) are
    never seen, so the evaluation can use them. Iteration k's random draws depend only on
    (seed, k): a run stopped here continues identically elsewhere, e.g. ``--device cuda``.
    """
    try:
        import torch

        from pixelfes.baselines.pool import labelled_images
        from pixelfes.baselines.train import TrainConfig, Trainer, run
    except ImportError as error:
        raise click.ClickException(f'{error}; install the extra: pip install -e ".[gan]"') from None
    if threads:
        torch.set_num_threads(threads)
    meta = {
        "datasets": list(datasets or ("london", "ckplus", "taiwanese")),
        "targets": list(targets or DEFAULT_TARGETS),
        "split_seed": split_seed,
        "test_size": test_size,
    }
    if checkpoint.exists():
        from pixelfes.baselines.checkpoint import load_checkpoint

        try:
            saved = load_checkpoint(checkpoint)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        meta = {**meta, **saved.get("meta", {})}
    pool = labelled_images(
        meta["datasets"],
        meta["targets"],
        split="train",
        test_size=meta["test_size"],
        seed=meta["split_seed"],
        root=data_root,
    )
    if checkpoint.exists():
        trainer = Trainer.resume(checkpoint, pool.images, pool.labels, device)
        click.echo(f"resuming {checkpoint} at iteration {trainer.step}")
    else:
        default_batch = 16 if model == "stargan" else 25
        config = TrainConfig(model=model, batch_size=batch_size or default_batch, seed=seed)
        trainer = Trainer(config, pool.images, pool.labels, device, meta=meta)
    click.echo(
        f"{trainer.config.model}: {len(pool)} training faces of {len(set(pool.subjects))} "
        f"subjects, batch {trainer.config.batch_size}, device {device}"
    )
    done = run(trainer, iterations, minutes=minutes, checkpoint=checkpoint, every=every)
    seen = trainer.step * trainer.config.batch_size
    click.echo(
        f"{done['steps']} iterations in {done['seconds'] / 60:.1f} min "
        f"({done['cpu_seconds'] / 60:.1f} CPU min, {done['seconds'] / max(1, done['steps']):.2f} s "
        f"each); now at iteration "
        f"{trainer.step} ({trainer.step // trainer.config.n_critic} generator updates, "
        f"{seen} real images seen by the critic); saved {checkpoint}"
    )
