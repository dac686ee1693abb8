"""GANimation's generator (Pumarola et al., ECCV 2018): a colour mask and an attention mask.

The trunk is StarGAN's (:func:`~pixelfes.baselines.stargan.encoder_decoder`); two 7x7 heads
regress a colour image ``C`` (tanh) and a one-channel attention mask ``A`` (sigmoid), and
the output keeps the input where the attention is high:

    y = A * x + (1 - A) * C

so the generator only has to paint the regions that change. With 64 base channels and the
paper's 17 action units the generator has 8,471,296 parameters (Table I: 850e4).

Deviation from the paper: GANimation is conditioned on continuous action-unit intensities,
which no tool available here extracts offline. pixelfes conditions it on one-hot
expression labels (the same vocabulary as StarGAN), so the discriminator's condition head
is a classifier trained with cross-entropy (StarGAN's loss, weight 1) instead of an
action-unit regressor trained with a squared error (weight 4000).

References
----------
A. Pumarola, A. Agudo, A. M. Martinez, A. Sanfeliu and F. Moreno-Noguer, "GANimation:
Anatomically-aware Facial Animation from a Single Image", ECCV 2018.
"""

from __future__ import annotations

import torch
from torch import nn

from pixelfes.baselines.stargan import ConditionalGenerator, output_head

__all__ = ["GANimationGenerator"]


class GANimationGenerator(ConditionalGenerator):
    """(B, C, H, W) in [-1, 1] and (B, D) labels -> (B, C, H, W), through attention.

    Parameters as :class:`~pixelfes.baselines.stargan.ConditionalGenerator`; ``c_dim`` is
    the length of the condition vector (7 expressions here; 17 action units in the paper).
    """

    def _add_heads(self, channels: int, image_channels: int) -> None:
        self.colour = output_head(channels, image_channels, nn.Tanh())
        self.attention = output_head(channels, 1, nn.Sigmoid())

    def masks(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The colour mask (B, C, H, W) in [-1, 1] and attention mask (B, 1, H, W) in [0, 1]."""
        features = self.features(x, c)
        return self.colour(features), self.attention(features)

    def compose(self, x: torch.Tensor, colour: torch.Tensor, attention: torch.Tensor):
        """``A x + (1 - A) C``."""
        return attention * x + (1 - attention) * colour

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        colour, attention = self.masks(x, c)
        return self.compose(x, colour, attention)
