"""The paper's GAN baselines, StarGAN and GANimation, in PyTorch (the optional ``gan`` extra).

Nothing else in pixelfes imports this package except, lazily, the evaluation and the CLI:
install ``pip install -e ".[gan]"`` (``torch==2.13.0``, the CPU build is enough) to use it.

Modules: :mod:`~pixelfes.baselines.stargan` (generator, PatchGAN discriminator),
:mod:`~pixelfes.baselines.ganimation` (colour + attention generator),
:mod:`~pixelfes.baselines.losses` (WGAN-GP, classification, reconstruction, attention terms),
:mod:`~pixelfes.baselines.pool` (labelled images from aligned pairs),
:mod:`~pixelfes.baselines.checkpoint` (safe, resumable checkpoints),
:mod:`~pixelfes.baselines.train` (the trainer), :mod:`~pixelfes.baselines.method`
(a trained generator as an evaluation method).
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'pixelfes.baselines needs PyTorch: pip install -e ".[gan]" (torch==2.13.0)'
    ) from error

from pixelfes.baselines.ganimation import GANimationGenerator
from pixelfes.baselines.stargan import (
    PAPER_TABLE_I,
    StarDiscriminator,
    StarGenerator,
    count_parameters,
)

__all__ = [
    "PAPER_TABLE_I",
    "GANimationGenerator",
    "StarDiscriminator",
    "StarGenerator",
    "count_parameters",
]
