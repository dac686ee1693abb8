"""StarGAN (Choi et al., CVPR 2018): one generator for every target domain.

The generator takes an image and a one-hot target domain, tiled into extra input channels:
a 7x7 convolution, two stride-2 down-sampling convolutions, six residual blocks, two
stride-2 up-sampling (transposed) convolutions and a 7x7 output convolution with tanh;
instance normalisation (affine) and ReLU after every hidden
layer. With 64 base channels and the CelebA setting of five domains it has 8,430,528
parameters at any image size (the paper's Table I rounds it to 850e4). Here the domains are
pixelfes' expression vocabulary (seven basic expressions by default).

The discriminator is a PatchGAN: six stride-2 4x4 convolutions with leaky ReLU (0.01),
doubling the channels from 64, then two heads: a 3x3 convolution scoring each patch as
real or fake (WGAN critic) and a convolution over the whole remaining map predicting the
domain logits (the auxiliary classifier).

References
----------
Y. Choi, M. Choi, M. Kim, J.-W. Ha, S. Kim and J. Choo, "StarGAN: Unified Generative
Adversarial Networks for Multi-Domain Image-to-Image Translation", CVPR 2018.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "PAPER_TABLE_I",
    "ConditionalGenerator",
    "StarDiscriminator",
    "StarGenerator",
    "count_parameters",
    "tile_labels",
]

#: Parameter counts as the paper's Table I gives them.
PAPER_TABLE_I = {
    "Pixel-RR": 3.28e4,
    "MR": 16.2e4,
    "StarGAN": 850e4,
    "GANimation": 850e4,
}


def count_parameters(module: nn.Module) -> int:
    """Learned parameters of a module (buffers such as running statistics excluded)."""
    return sum(p.numel() for p in module.parameters())


def tile_labels(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Concatenate a (B, D) label to a (B, C, H, W) image as D constant channels."""
    if c.ndim != 2 or c.shape[0] != x.shape[0]:
        raise ValueError(f"labels must be (B, D) with B={x.shape[0]}, got {tuple(c.shape)}")
    maps = c.to(x.dtype)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, maps], dim=1)


def _norm(channels: int) -> nn.InstanceNorm2d:
    # Each image is normalised by its own statistics in training and at test time (the
    # published code keeps running statistics but never switches to them).
    return nn.InstanceNorm2d(channels, affine=True)


class ResidualBlock(nn.Module):
    """conv3x3 - IN - ReLU - conv3x3 - IN, plus the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            _norm(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def encoder_decoder(in_channels: int, conv_dim: int, n_residual: int, n_sampling: int = 2):
    """The shared trunk of StarGAN's and GANimation's generators (no output layer).

    Returns the layers and the channel count of the last feature map (``conv_dim``).
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, conv_dim, 7, 1, 3, bias=False),
        _norm(conv_dim),
        nn.ReLU(inplace=True),
    ]
    dim = conv_dim
    for _ in range(n_sampling):
        layers += [nn.Conv2d(dim, dim * 2, 4, 2, 1, bias=False), _norm(dim * 2), nn.ReLU(True)]
        dim *= 2
    layers += [ResidualBlock(dim) for _ in range(n_residual)]
    for _ in range(n_sampling):
        layers += [
            nn.ConvTranspose2d(dim, dim // 2, 4, 2, 1, bias=False),
            _norm(dim // 2),
            nn.ReLU(True),
        ]
        dim //= 2
    return nn.Sequential(*layers), dim


def output_head(channels: int, out_channels: int, activation: nn.Module) -> nn.Sequential:
    """A 7x7 output convolution and its activation, on the trunk's last feature map."""
    return nn.Sequential(nn.Conv2d(channels, out_channels, 7, 1, 3, bias=False), activation)


class ConditionalGenerator(nn.Module):
    """What StarGAN's and GANimation's generators share: the label tiled into the input
    channels, then :func:`encoder_decoder`; a subclass adds its heads in ``_add_heads``.

    Parameters
    ----------
    c_dim : int
        Number of domains (length of the one-hot label).
    conv_dim : int
        Channels of the first layer (64 in the paper).
    n_residual : int
        Residual blocks at the bottleneck (6 in the paper).
    image_channels : int
        Colour channels (3).

    H and W must be multiples of 4.
    """

    def __init__(
        self, c_dim: int = 7, conv_dim: int = 64, n_residual: int = 6, image_channels: int = 3
    ) -> None:
        super().__init__()
        self.c_dim = c_dim
        self.trunk, dim = encoder_decoder(image_channels + c_dim, conv_dim, n_residual)
        self._add_heads(dim, image_channels)

    def _add_heads(self, channels: int, image_channels: int) -> None:
        raise NotImplementedError

    def features(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """The trunk's last feature map for images ``x`` and labels ``c`` (B, c_dim)."""
        return self.trunk(tile_labels(x, c))


class StarGenerator(ConditionalGenerator):
    """StarGAN's generator: (B, C, H, W) in [-1, 1] and (B, D) labels -> (B, C, H, W).

    Parameters as :class:`ConditionalGenerator`; one 7x7 output convolution with tanh.
    """

    def _add_heads(self, channels: int, image_channels: int) -> None:
        self.output = output_head(channels, image_channels, nn.Tanh())

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Translate ``x`` to the domains ``c`` (one-hot or soft, (B, c_dim))."""
        return self.output(self.features(x, c))


class StarDiscriminator(nn.Module):
    """PatchGAN critic with an auxiliary domain classifier (StarGAN, also GANimation's).

    Parameters
    ----------
    image_size : int
        Side of the square input; must be divisible by ``2 ** n_layers``.
    c_dim : int
        Number of domains.
    conv_dim : int
        Channels of the first layer (64).
    n_layers : int
        Stride-2 convolutions (6 at 128x128, leaving a 2x2 map).

    ``forward`` returns ``(patch_scores (B, 1, h, w), domain_logits (B, c_dim))``.
    """

    def __init__(
        self,
        image_size: int = 128,
        c_dim: int = 7,
        conv_dim: int = 64,
        n_layers: int = 6,
        image_channels: int = 3,
    ) -> None:
        super().__init__()
        side = image_size // 2**n_layers
        if side < 1 or side * 2**n_layers != image_size:
            raise ValueError(f"image_size {image_size} is not divisible by 2**{n_layers}")
        layers: list[nn.Module] = []
        dim_in, dim = image_channels, conv_dim
        for _ in range(n_layers):
            layers += [nn.Conv2d(dim_in, dim, 4, 2, 1), nn.LeakyReLU(0.01)]
            dim_in, dim = dim, dim * 2
        self.trunk = nn.Sequential(*layers)
        self.critic = nn.Conv2d(dim_in, 1, 3, 1, 1, bias=False)
        self.classifier = nn.Conv2d(dim_in, c_dim, side, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.critic(h), self.classifier(h).flatten(1)
