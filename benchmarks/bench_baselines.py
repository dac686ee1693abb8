"""Pixel-RR beside the GAN baselines: size, time to edit one aligned face, training time.

    python benchmarks/bench_baselines.py [--repeats 5] [--batch-size 16] [--threads 1]
        [--stargan CKPT] [--ganimation CKPT]

One run on this machine, one face: the bundled portrait aligned to 128x128. Rows:

- size: learned parameters (the paper's Table I beside them) and the bytes they occupy
  (Pixel-RR: its stored array; the GANs: float32 generator weights);
- edit: median time to synthesize the target expression of the one aligned face
  (Pixel-RR through :func:`pixelfes.editing.synthesize`, the GANs' generator forward pass);
- training: Pixel-RR's fit on 300 random pairs, and one GAN iteration at the given batch
  (the mean over one ``n_critic`` cycle: ``n_critic`` critic updates and one generator
  update), extrapolated to the published 200,000 iterations.

Ratios are against Pixel-RR. Untrained generators time the same as trained ones; pass
checkpoints to time the trained weights anyway. Needs the ``gan`` extra.
"""

from __future__ import annotations

import argparse
import statistics
import time
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from pixelfes.baselines import PAPER_TABLE_I, count_parameters
from pixelfes.baselines.method import load_generator, translate
from pixelfes.baselines.pool import DOMAINS
from pixelfes.baselines.train import TrainConfig, Trainer, build_generator
from pixelfes.editing import load_model, synthesize
from pixelfes.faces import align
from pixelfes.imageio import read_image
from pixelfes.models import PixelRidge

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))
PUBLISHED_ITERATIONS = 200_000


def median_s(step, repeats: int) -> float:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gan_iteration_s(model: str, batch_size: int) -> float:
    """Mean wall time of one iteration over one n_critic cycle at 128x128."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 128, 128, 3), dtype=np.uint8)
    labels = np.arange(64) % len(DOMAINS)
    trainer = Trainer(TrainConfig(model=model, batch_size=batch_size), images, labels)
    start = time.perf_counter()
    for _ in range(trainer.config.n_critic):
        trainer.train_step()
    return (time.perf_counter() - start) / trainer.config.n_critic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads")
    parser.add_argument("--stargan", type=Path, help="a trained StarGAN checkpoint")
    parser.add_argument("--ganimation", type=Path, help="a trained GANimation checkpoint")
    parser.add_argument("--no-training", action="store_true", help="skip the training rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    crop = align(read_image(PORTRAIT), 128, largest_only=True)[0].crop[None]
    ridge = load_model("happy")
    rows = {
        "Pixel-RR": {
            "params": int(ridge.n_parameters),
            "bytes": int(ridge.coef_.nbytes + ridge.intercept_.nbytes),
            "edit_s": median_s(lambda: synthesize(ridge, crop), args.repeats),
        }
    }
    for name, model, path in (
        ("StarGAN", "stargan", args.stargan),
        ("GANimation", "ganimation", args.ganimation),
    ):
        if path is not None:
            generator, _, _ = load_generator(path)
        else:
            torch.manual_seed(0)
            generator = build_generator(TrainConfig(model=model)).eval()
        params = count_parameters(generator)
        rows[name] = {
            "params": params,
            "bytes": sum(p.numel() * p.element_size() for p in generator.parameters()),
            "edit_s": median_s(lambda g=generator: translate(g, crop, "happy"), args.repeats),
        }

    base = rows["Pixel-RR"]
    print(f"one aligned 128x128 face, {args.repeats} repeats, torch threads {args.threads}\n")
    print(
        f"{'method':<11} {'params':>10} {'Table I':>9} {'x RR':>6} {'bytes':>11} {'x RR':>6} "
        f"{'edit ms':>9} {'x RR':>7}"
    )
    for name, row in rows.items():
        print(
            f"{name:<11} {row['params']:>10,} {PAPER_TABLE_I[name]:>9.3g} "
            f"{row['params'] / base['params']:>6.0f} {row['bytes']:>11,} "
            f"{row['bytes'] / base['bytes']:>6.0f} {1000 * row['edit_s']:>9.2f} "
            f"{row['edit_s'] / base['edit_s']:>7.0f}"
        )
    if args.no_training:
        return

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (300, 128, 128, 3), dtype=np.uint8)
    T = rng.integers(0, 256, (300, 128, 128, 3), dtype=np.uint8)
    start = time.perf_counter()
    PixelRidge(alpha=0.4, channels="shared").fit(X, T)
    fit_s = time.perf_counter() - start
    print(f"\ntraining at 128x128 (GAN batch {args.batch_size})")
    print(f"Pixel-RR    fit on 300 pairs: {fit_s:.2f} s (closed form, done)")
    for name, model in (("StarGAN", "stargan"), ("GANimation", "ganimation")):
        step_s = gan_iteration_s(model, args.batch_size)
        total_h = step_s * PUBLISHED_ITERATIONS / 3600
        print(
            f"{name:<11} {step_s:.2f} s per iteration = {step_s / fit_s:.0f}x Pixel-RR's whole "
            f"fit; the published {PUBLISHED_ITERATIONS:,} iterations: {total_h:,.0f} h "
            f"({total_h * 3600 / fit_s:,.0f}x)"
        )


if __name__ == "__main__":
    main()
