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
@click.option(
    "--hold-out-dataset",
    type=click.Choice(["london", "ckplus", "taiwanese"]),
    help="Leave this whole dataset out (for the leave-one-dataset-out table) and train on "
    "every subject of the others, instead of holding out --test-size of each.",
)
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
    hold_out_dataset: str | None,
    data_root: Path | None,
) -> None:
    """Train a GAN baseline on neutral->expression pairs of the shared datasets.

    The held-out subjects (``--test-size`` of each dataset's subjects, ``--split-seed``) or
    the whole ``--hold-out-dataset`` are never seen, so the evaluation can use them; the
    checkpoint records every training subject. Iteration k's random draws depend only on
    (seed, k): a run stopped here continues identically elsewhere, e.g. ``--device cuda``.
    """
    try:
        import torch

        from pixelfes.baselines.pool import data_meta, training_pool
        from pixelfes.baselines.train import TrainConfig, Trainer, run
    except ImportError as error:
        raise click.ClickException(f'{error}; install the extra: pip install -e ".[gan]"') from None
    if threads:
        torch.set_num_threads(threads)
    if checkpoint.exists():
        from pixelfes.baselines.checkpoint import load_checkpoint

        try:
            saved = load_checkpoint(checkpoint).get("meta", {})
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        meta = {**data_meta(saved["datasets"], saved["targets"]), **saved}  # older: no split
    else:
        try:
            meta = data_meta(
                datasets or ("london", "ckplus", "taiwanese"),
                targets or DEFAULT_TARGETS,
                hold_out_dataset=hold_out_dataset,
                test_size=test_size,
                split_seed=split_seed,
            )
        except ValueError as error:
            raise click.UsageError(str(error)) from None
    pool = training_pool(meta, root=data_root)
    subjects = sorted(set(pool.subjects))
    if meta.setdefault("train_subjects", subjects) != subjects:
        raise click.ClickException(f"{checkpoint} trained on other subjects than the data has now")
    if checkpoint.exists():
        trainer = Trainer.resume(checkpoint, pool.images, pool.labels, device)
        click.echo(f"resuming {checkpoint} at iteration {trainer.step}")
    else:
        default_batch = 16 if model == "stargan" else 25
        config = TrainConfig(model=model, batch_size=batch_size or default_batch, seed=seed)
        trainer = Trainer(config, pool.images, pool.labels, device, meta=meta)
    trainer.meta = {**meta, "n_images": len(pool)}
    held = f", {meta['hold_out_dataset']} held out" if meta["hold_out_dataset"] else ""
    click.echo(
        f"{trainer.config.model}: {len(pool)} training faces of {len(subjects)} subjects "
        f"({'+'.join(meta['datasets'])}{held}), batch {trainer.config.batch_size}, device {device}"
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
