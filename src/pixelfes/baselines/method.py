"""A trained StarGAN/GANimation generator as an expression-synthesis method.

:class:`GANMethod` follows :class:`pixelfes.evaluation.methods.Method`, so the evaluation
protocols score it beside Pixel-RR. It is trained beforehand (``pixelfes train-gan``, on
subjects disjoint from the test subjects): ``fit`` only loads the checkpoint's generator.
:class:`SplitGANMethod` is one for a given evaluation split: its ``fit`` refuses a split
whose test faces the checkpoint trained on, and :func:`lodo_gan_methods` hands
``pixelfes evaluate`` the GAN rows of each leave-one-dataset-out split whose held-out
dataset a checkpoint never saw (the evaluation itself never imports this package).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pixelfes.baselines.checkpoint import load_checkpoint
from pixelfes.baselines.pool import DOMAINS, training_subjects
from pixelfes.baselines.stargan import count_parameters
from pixelfes.baselines.train import TrainConfig, build_generator
from pixelfes.colour import BT601_LUMA

__all__ = [
    "GANMethod",
    "SplitGANMethod",
    "TrainedOn",
    "checkpoint_meta",
    "load_generator",
    "lodo_gan_methods",
    "trained_on",
    "translate",
]

#: Display names of the models.
MODEL_LABELS = {"stargan": "StarGAN", "ganimation": "GANimation"}


def load_generator(path: str | Path, device: str = "cpu") -> tuple[nn.Module, TrainConfig, int]:
    """The generator of a checkpoint (in eval mode), its configuration and training step.

    Loads are cached per (resolved path, modification time, device): a checkpoint holds
    both networks and optimiser states (about 640 MB at 128x128), read once per run.
    """
    generator, config, step, _ = _load(path, device)
    return generator, config, step


def checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """The data settings a checkpoint recorded (:func:`pixelfes.baselines.pool.data_meta`)."""
    return dict(_load(path, "cpu")[3])


def _load(path: str | Path, device: str) -> tuple[nn.Module, TrainConfig, int, dict[str, Any]]:
    path = Path(path).resolve()
    return _load_generator(str(path), path.stat().st_mtime_ns, device)


@functools.lru_cache(maxsize=4)
def _load_generator(
    path: str, mtime: int, device: str
) -> tuple[nn.Module, TrainConfig, int, dict[str, Any]]:
    state = load_checkpoint(path, map_location=device)
    config = TrainConfig.from_dict(state["config"])
    generator = build_generator(config).to(device)
    generator.load_state_dict(state["generator"])
    return generator.eval(), config, int(state["step"]), dict(state.get("meta", {}))


@dataclass(frozen=True)
class TrainedOn:
    """What a checkpoint trained on, and how long.

    Attributes
    ----------
    model : str
    step : int
        Iterations done (critic updates).
    batch_size, n_critic : int
    datasets : frozenset of str
        Datasets it saw (some or all of their subjects).
    subjects : frozenset of str
        Every training subject, ``dataset:subject``.
    hold_out_dataset : str
        The dataset left out whole ("" when subjects of each set were held out instead).
    n_images : int
        Training faces (0 when unknown: older checkpoints do not record it).
    """

    model: str
    step: int
    batch_size: int
    n_critic: int
    datasets: frozenset[str]
    subjects: frozenset[str]
    hold_out_dataset: str
    n_images: int

    @property
    def label(self) -> str:
        return MODEL_LABELS.get(self.model, self.model)


def trained_on(path: str | Path, root: str | Path | None = None) -> TrainedOn:
    """Read what the checkpoint at ``path`` trained on (see :class:`TrainedOn`)."""
    path = Path(path).resolve()
    return _trained_on(str(path), path.stat().st_mtime_ns, None if root is None else str(root))


@functools.lru_cache(maxsize=8)
def _trained_on(path: str, mtime: int, root: str | None) -> TrainedOn:
    _, config, step, meta = _load(path, "cpu")
    return TrainedOn(
        config.model,
        step,
        config.batch_size,
        config.n_critic,
        frozenset(meta["datasets"]),
        frozenset(training_subjects(meta, root)),
        meta.get("hold_out_dataset", ""),
        int(meta.get("n_images", 0)),
    )


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


class SplitGANMethod(GANMethod):
    """A :class:`GANMethod` for one evaluation split, refusing test faces it trained on.

    Parameters
    ----------
    checkpoint : str or Path
    split
        Any object with ``expression``, ``held_out`` and ``test.subjects``
        (``dataset:subject`` ids), e.g. :class:`pixelfes.evaluation.lodo.Split`.
    whole_dataset : bool
        The split holds out a whole dataset (leave-one-dataset-out): the checkpoint must
        not have seen any subject of it. Otherwise only the test subjects must be unseen.
    root : str or Path, optional
        Shared data root (older checkpoints' subjects are recomputed from it).
    """

    def __init__(
        self,
        checkpoint: str | Path,
        split: Any,
        *,
        whole_dataset: bool = True,
        root: str | Path | None = None,
        device: str = "cpu",
    ) -> None:
        info = trained_on(checkpoint, root)
        super().__init__(checkpoint, split.expression, name=info.model, device=device)
        self.label = info.label
        self.split = split
        self.whole_dataset = whole_dataset
        self.root = root

    def fit(
        self, X: np.ndarray, T: np.ndarray, groups: Sequence[str] | None = None
    ) -> SplitGANMethod:
        """Check that the checkpoint never saw the split's test data, then load it.

        Raises
        ------
        RuntimeError
            A test subject (or, for a whole held-out dataset, its dataset) was in the
            checkpoint's training data.
        """
        info = trained_on(self.checkpoint, self.root)
        test = set(self.split.test.subjects)
        seen = sorted(test & info.subjects)
        datasets = {s.split(":", 1)[0] for s in test} & info.datasets
        if seen or (self.whole_dataset and datasets):
            raise RuntimeError(
                f"{self.checkpoint} trained on the test data of {self.split.expression} / "
                f"{self.split.held_out}: datasets {sorted(datasets)}, subjects {seen[:5]}"
            )
        return super().fit(X, T, groups)


def lodo_gan_methods(
    checkpoints: Sequence[str | Path], root: str | Path | None = None, device: str = "cpu"
) -> Callable[[Any], list[SplitGANMethod]]:
    """The ``extra_methods`` of :func:`pixelfes.evaluation.lodo_suite.run_lodo` for GANs.

    Returns a function of a leave-one-dataset-out split giving one
    :class:`SplitGANMethod` per checkpoint that never saw the split's held-out dataset
    (none for the others: a GAN trained on some subjects of every set has no
    leave-one-dataset-out row). Method ids are the model names, so two checkpoints of the
    same model that both qualify for one split are refused.
    """
    infos = [(Path(path), trained_on(path, root)) for path in checkpoints]

    def extra_methods(split: Any) -> list[SplitGANMethod]:
        chosen = [path for path, info in infos if split.held_out not in info.datasets]
        methods = [SplitGANMethod(p, split, root=root, device=device) for p in chosen]
        ids = [m.id for m in methods]
        if len(set(ids)) != len(ids):
            raise ValueError(f"two checkpoints of one model for {split.held_out}: {chosen}")
        return methods

    return extra_methods
