"""Training StarGAN or GANimation on labelled faces, step by step, resumable on any device.

One *iteration* (StarGAN's unit: its published schedule is 200,000 of them) is one update
of the discriminator on a batch; the generator is updated on every ``n_critic``-th
iteration. Every random draw of iteration ``k`` (the batch, the target domains, the
gradient-penalty mixing weights) comes from a CPU generator seeded with ``(seed, k)``, so
the schedule does not depend on where a run stopped and resumed nor on the device: a
checkpoint written on a CPU can be continued on a GPU with ``device="cuda"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pixelfes.baselines.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from pixelfes.baselines.ganimation import GANimationGenerator
from pixelfes.baselines.losses import (
    PUBLISHED,
    LossWeights,
    discriminator_losses,
    generator_losses,
)
from pixelfes.baselines.pool import DOMAINS
from pixelfes.baselines.stargan import StarDiscriminator, StarGenerator

__all__ = ["GAN_MODELS", "TrainConfig", "Trainer", "build_generator", "lr_scale", "run"]

#: The trainable models.
GAN_MODELS = ("stargan", "ganimation")


@dataclass(frozen=True)
class TrainConfig:
    """Architecture and schedule; the defaults are the published settings at 128x128.

    StarGAN: batch 16, Adam 1e-4 with betas (0.5, 0.999) for both networks, 5 critic
    updates per generator update, lambda_cls 1, lambda_rec 10, lambda_gp 10, 200,000
    iterations with both learning rates decayed linearly to 0 over the last 100,000
    (:func:`lr_scale`). GANimation uses the same optimiser and schedule (its paper: batch
    25) plus the attention weights.
    ``conv_dim``/``n_residual``/``d_layers`` shrink the networks for tests.
    """

    model: str = "stargan"
    image_size: int = 128
    c_dim: int = len(DOMAINS)
    conv_dim: int = 64
    n_residual: int = 6
    d_conv_dim: int = 64
    d_layers: int = 6
    batch_size: int = 16
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 5
    schedule_iterations: int = 200_000
    decay_iterations: int = 100_000
    lambda_cls: float = PUBLISHED.cls
    lambda_rec: float = PUBLISHED.rec
    lambda_gp: float = PUBLISHED.gp
    lambda_mask: float = PUBLISHED.mask
    lambda_smooth: float = PUBLISHED.smooth
    seed: int = 0

    def __post_init__(self) -> None:
        if self.model not in GAN_MODELS:
            raise ValueError(f"model must be one of {GAN_MODELS}, got {self.model!r}")
        if not 0 <= self.decay_iterations <= self.schedule_iterations:
            raise ValueError("decay_iterations must be in [0, schedule_iterations]")

    @property
    def weights(self) -> LossWeights:
        return LossWeights(
            self.lambda_cls, self.lambda_rec, self.lambda_gp, self.lambda_mask, self.lambda_smooth
        )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def lr_scale(step: int, schedule_iterations: int, decay_iterations: int) -> float:
    """Learning-rate factor of iteration ``step``: 1, then linearly down to 0.

    Constant for the first ``schedule_iterations - decay_iterations`` iterations, then
    ``(schedule_iterations - step) / decay_iterations``, 0 from ``schedule_iterations`` on
    (StarGAN's published schedule: 200,000 iterations, decay over the last 100,000).
    A function of the step alone, so a resumed run takes the same rates.
    """
    if step >= schedule_iterations:
        return 0.0
    if step < schedule_iterations - decay_iterations:
        return 1.0
    return (schedule_iterations - step) / decay_iterations


def build_generator(config: TrainConfig) -> nn.Module:
    """The configured generator (untrained)."""
    kind = StarGenerator if config.model == "stargan" else GANimationGenerator
    return kind(c_dim=config.c_dim, conv_dim=config.conv_dim, n_residual=config.n_residual)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


class Trainer:
    """Both networks, their optimisers and the step counter.

    Parameters
    ----------
    config : TrainConfig
    images : ndarray, shape (N, S, S, 3), uint8
        Training faces, S = ``config.image_size``.
    labels : ndarray of int, shape (N,)
        Domain index of each face; target domains are drawn among the labels present.
    device : str
        ``"cpu"`` or ``"cuda"``; the schedule is identical on both.
    meta : dict, optional
        Plain values (str, int, float, lists of them) saved with the checkpoint, e.g. which
        data the run trains on.
    """

    def __init__(
        self,
        config: TrainConfig,
        images: np.ndarray,
        labels: np.ndarray,
        device: str = "cpu",
        meta: dict[str, Any] | None = None,
    ) -> None:
        images = np.asarray(images)
        size = config.image_size
        if images.ndim != 4 or images.shape[1:] != (size, size, 3) or images.dtype != np.uint8:
            raise ValueError(
                f"images must be uint8 (N, {size}, {size}, 3), got {images.dtype} {images.shape}"
            )
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != (len(images),) or labels.min() < 0 or labels.max() >= config.c_dim:
            raise ValueError(f"labels must be (N,) ints in [0, {config.c_dim})")
        self.config = config
        self.device = torch.device(device)
        self.images = torch.from_numpy(np.ascontiguousarray(images))  # stays uint8 on the CPU
        self.labels = torch.from_numpy(labels)
        self.domains = torch.from_numpy(np.unique(labels))
        torch.manual_seed(config.seed)
        self.generator = build_generator(config).to(self.device)
        self.discriminator = StarDiscriminator(
            size, config.c_dim, config.d_conv_dim, config.d_layers
        ).to(self.device)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), config.lr_d, betas=betas)
        self.meta = dict(meta or {})
        self.step = 0

    def draw(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Iteration ``step``'s batch: images in [-1, 1], labels, targets, GP weights."""
        rng = torch.Generator().manual_seed(self.config.seed * 1_000_003 + step)
        b = self.config.batch_size
        index = torch.randint(len(self.labels), (b,), generator=rng)
        target = self.domains[torch.randint(len(self.domains), (b,), generator=rng)]
        alpha = torch.rand(b, 1, 1, 1, generator=rng)
        x = self.images[index].permute(0, 3, 1, 2).float() / 127.5 - 1.0
        to = self.device
        return x.to(to), self.labels[index].to(to), target.to(to), alpha.to(to)

    def train_step(self) -> dict[str, float]:
        """One iteration: a critic update, and a generator update every ``n_critic``-th.

        Returns the loss terms (``d_*``, and ``g_*`` when the generator moved).
        """
        x, label, target, alpha = self.draw(self.step)
        config, weights = self.config, self.config.weights
        scale = lr_scale(self.step, config.schedule_iterations, config.decay_iterations)
        for optimiser, lr in ((self.opt_g, config.lr_g), (self.opt_d, config.lr_d)):
            for group in optimiser.param_groups:
                group["lr"] = lr * scale
        d_terms = discriminator_losses(
            self.generator, self.discriminator, x, label, target, alpha, weights
        )
        self.opt_d.zero_grad(set_to_none=True)
        d_terms["total"].backward()
        self.opt_d.step()
        log = {f"d_{k}": float(v.detach()) for k, v in d_terms.items()}
        if (self.step + 1) % config.n_critic == 0:
            g_terms = generator_losses(
                self.generator, self.discriminator, x, label, target, weights
            )
            self.opt_g.zero_grad(set_to_none=True)
            g_terms["total"].backward()
            self.opt_g.step()
            log.update({f"g_{k}": float(v.detach()) for k, v in g_terms.items()})
        self.step += 1
        return log

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs (see :mod:`pixelfes.baselines.checkpoint`)."""
        return {
            "format": CHECKPOINT_FORMAT,
            "config": asdict(self.config),
            "step": self.step,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": torch.get_rng_state(),
            "meta": self.meta,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (networks, optimisers, RNG, step)."""
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        torch.set_rng_state(state["rng"].cpu())
        self.meta = dict(state.get("meta", {}))
        self.step = int(state["step"])

    def save(self, path: str | Path) -> None:
        """Write a checkpoint atomically."""
        save_checkpoint(path, self.state_dict())

    @classmethod
    def resume(
        cls, path: str | Path, images: np.ndarray, labels: np.ndarray, device: str = "cpu"
    ) -> Trainer:
        """A trainer continuing from a checkpoint, with the checkpoint's configuration."""
        state = load_checkpoint(path, map_location=device)
        trainer = cls(TrainConfig.from_dict(state["config"]), images, labels, device)
        trainer.load_state_dict(state)
        return trainer


def run(
    trainer: Trainer,
    until_step: int,
    *,
    minutes: float | None = None,
    checkpoint: str | Path | None = None,
    every: int = 50,
    progress: bool = True,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, float]:
    """Train until iteration ``until_step`` or the time budget, checkpointing as it goes.

    Returns ``{"steps": iterations done now, "seconds": wall time, "cpu_seconds": this
    process's CPU time, "step": final step}``.
    A checkpoint is written every ``every`` iterations and at the end (also on Ctrl-C).
    """
    from tqdm import tqdm

    start, cpu_start, first = time.perf_counter(), time.process_time(), trainer.step
    bar = tqdm(
        total=until_step, initial=trainer.step, disable=not progress, desc=trainer.config.model
    )
    try:
        while trainer.step < until_step:
            if minutes is not None and time.perf_counter() - start > 60 * minutes:
                break
            log = trainer.train_step()
            bar.update(1)
            if "g_total" in log:
                bar.set_postfix(d=f"{log['d_total']:.3g}", g=f"{log['g_total']:.3g}")
            if on_step is not None:
                on_step(trainer.step, log)
            if checkpoint is not None and trainer.step % every == 0:
                trainer.save(checkpoint)
    finally:
        bar.close()
        if checkpoint is not None and trainer.step > first:
            trainer.save(checkpoint)
    return {
        "steps": trainer.step - first,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
        "step": trainer.step,
    }
