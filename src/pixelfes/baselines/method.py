"""A trained StarGAN/GANimation generator as an expression-synthesis method.

:class:`GANMethod` follows :class:`pixelfes.evaluation.methods.Method`, so the evaluation
protocols score it beside Pixel-RR. It is trained beforehand (``pixelfes train-gan``, on
subjects disjoint from the test subjects): ``fit`` only loads the checkpoint's generator.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pixelfes.baselines.checkpoint import load_checkpoint
from pixelfes.baselines.pool import DOMAINS
from pixelfes.baselines.stargan import count_parameters
from pixelfes.baselines.train import TrainConfig, build_generator
from pixelfes.colour import BT601_LUMA

__all__ = ["GANMethod", "load_generator", "translate"]


def load_generator(path: str | Path, device: str = "cpu") -> tuple[nn.Module, TrainConfig, int]:
    """The generator of a checkpoint (in eval mode), its configuration and training step.

    Loads are cached per (resolved path, modification time, device): a checkpoint holds
    both networks and optimiser states (about 640 MB at 128x128), read once per run.
    """
    path = Path(path).resolve()
    return _load_generator(str(path), path.stat().st_mtime_ns, device)


@functools.lru_cache(maxsize=4)
def _load_generator(path: str, mtime: int, device: str) -> tuple[nn.Module, TrainConfig, int]:
    state = load_checkpoint(path, map_location=device)
    config = TrainConfig.from_dict(state["config"])
    generator = build_generator(config).to(device)
    generator.load_state_dict(state["generator"])
    return generator.eval(), config, int(state["step"])


@torch.no_grad()
def translate(
    generator: nn.Module, images: np.ndarray, target: str, batch_size: int = 16
) -> np.ndarray:
    """Translate (N, H, W, 3) uint8 faces to ``target``: float32 (N, H, W, 3) in [0, 1]."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}")
    device = next(generator.parameters()).device
    label = torch.zeros(1, generator.c_dim, device=device)
    label[0, DOMAINS.index(target)] = 1.0
    out = []
    for start in range(0, len(images), batch_size):
        chunk = torch.from_numpy(np.array(images[start : start + batch_size]))
        x = chunk.to(device).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        y = generator(x, label.expand(len(x), -1))
        out.append(((y + 1.0) / 2.0).permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(out).astype(np.float32, copy=False)


class GANMethod:
    """A trained generator, translating every face to one target expression.

    Parameters
    ----------
    checkpoint : str or Path
        A ``pixelfes train-gan`` checkpoint.
    target : str
        The expression to synthesize (one of the generator's domains).
    name : str, optional
        Its ``id`` (and ``name``) in tables; default: the checkpoint's file name.
    device : str
        Where to run the generator.

    Grayscale (one-channel) stacks are fed as three equal channels and the output's
    BT.601 luma is returned.
    """

    def __init__(
        self, checkpoint: str | Path, target: str, name: str | None = None, device: str = "cpu"
    ) -> None:
        if target not in DOMAINS:
            raise ValueError(f"unknown target {target!r}; choose from {DOMAINS}")
        self.checkpoint = checkpoint
        self.target = target
        self.device = device
        self.id = self.name = name or Path(checkpoint).stem
        self.generator_: nn.Module | None = None

    def fit(self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None) -> GANMethod:
        """Load the generator (trained elsewhere); the pairs and groups are not used."""
        if self.generator_ is None:
            self.generator_, self.config_, self.step_ = load_generator(self.checkpoint, self.device)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """float32 [0, 1] translations of uint8 (N, S, S, C) crops, C = 1 or 3."""
        if self.generator_ is None:
            self.fit(X, X)
        X = np.asarray(X)
        if X.dtype != np.uint8:
            X = np.clip(np.rint(np.asarray(X, np.float32) * 255), 0, 255).astype(np.uint8)
        if X.shape[-1] == 1:
            Y = translate(self.generator_, np.repeat(X, 3, axis=-1), self.target)
            return (Y @ np.array(BT601_LUMA, np.float32))[..., None]
        return translate(self.generator_, X, self.target)

    @property
    def n_parameters(self) -> int:
        """The generator's parameters (the critic is needed only for training)."""
        if self.generator_ is None:
            self.fit(np.empty(0), np.empty(0))
        return count_parameters(self.generator_)
