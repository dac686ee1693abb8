"""Resumable training checkpoints in a safe format.

A checkpoint is one ``torch.save`` of plain containers: the configuration (str, int, float),
the step, both networks' and both optimisers' state dicts and the global RNG state. It is
read back with ``torch.load(..., weights_only=True)``, which refuses anything but tensors
and plain containers, so loading a checkpoint never runs code. Writes are atomic.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from pixelfes.atomic import atomic_path

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint"]

#: Bumped when the layout changes.
CHECKPOINT_FORMAT = 1

_KEYS = ("format", "config", "step", "generator", "discriminator", "opt_g", "opt_d", "rng")


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (a :meth:`~pixelfes.baselines.train.Trainer.state_dict`) atomically."""
    missing = [k for k in _KEYS if k not in state]
    if missing:
        raise ValueError(f"checkpoint state lacks {missing}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; tensors go to ``map_location``.

    Raises
    ------
    ValueError
        The file is not a pixelfes GAN checkpoint of a known format.
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        raise ValueError(f"{path} is not a readable checkpoint: {error}") from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a pixelfes GAN checkpoint (format {CHECKPOINT_FORMAT})")
    missing = [k for k in _KEYS if k not in state]
    if missing:
        raise ValueError(f"{path} lacks {missing}")
    return state
