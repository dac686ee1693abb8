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

from pixelfes.baselines.stargan import encoder_decoder, tile_labels

__all__ = ["GANimationGenerator"]


class GANimationGenerator(nn.Module):
    """(B, C, H, W) in [-1, 1] and (B, D) labels -> (B, C, H, W), through attention.

    Parameters
    ----------
    c_dim : int
        Length of the condition vector (7 expressions here; 17 action units in the paper).
    conv_dim, n_residual, image_channels : int
        As :class:`~pixelfes.baselines.stargan.StarGenerator`.
    """

    def __init__(
        self, c_dim: int = 7, conv_dim: int = 64, n_residual: int = 6, image_channels: int = 3
    ) -> None:
        super().__init__()
        self.c_dim = c_dim
        self.trunk, dim = encoder_decoder(image_channels + c_dim, conv_dim, n_residual)
        self.colour = nn.Sequential(nn.Conv2d(dim, image_channels, 7, 1, 3, bias=False), nn.Tanh())
        self.attention = nn.Sequential(nn.Conv2d(dim, 1, 7, 1, 3, bias=False), nn.Sigmoid())

    def masks(self, x: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The colour mask (B, C, H, W) in [-1, 1] and attention mask (B, 1, H, W) in [0, 1]."""
        features = self.trunk(tile_labels(x, c))
        return self.colour(features), self.attention(features)

    def compose(self, x: torch.Tensor, colour: torch.Tensor, attention: torch.Tensor):
        """``A x + (1 - A) C``."""
        return attention * x + (1 - attention) * colour

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        colour, attention = self.masks(x, c)
        return self.compose(x, colour, attention)
