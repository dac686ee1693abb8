"""The training objectives: WGAN-GP, domain classification, cycle reconstruction, attention.

Both models use StarGAN's objective (Choi et al. 2018, Eqs. 1-7), with the WGAN-GP
adversarial term (Gulrajani et al. 2017):

- discriminator: ``-D(x) + D(G(x, c')) + lambda_cls CE(D_cls(x), c) + lambda_gp GP``
- generator: ``-D(G(x, c')) + lambda_cls CE(D_cls(G(x, c')), c')``
  ``+ lambda_rec |x - G(G(x, c'), c)|_1``

GANimation adds, on both attention masks of the cycle, ``lambda_mask mean(A)`` (the mask
would otherwise saturate to 1, i.e. keep the input unchanged) and ``lambda_smooth TV(A)``
(total variation). Each function returns a dict of named scalar terms with the weighted
total under ``"total"``, so that tests and logs see every term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pixelfes.baselines.ganimation import GANimationGenerator

__all__ = [
    "PUBLISHED",
    "LossWeights",
    "discriminator_losses",
    "generator_losses",
    "gradient_penalty",
    "total_variation",
]


@dataclass(frozen=True)
class LossWeights:
    """The published weights: StarGAN's lambda_cls 1, lambda_rec 10, lambda_gp 10;
    GANimation's attention weights 0.1 (mask) and 1e-5 (smoothness)."""

    cls: float = 1.0
    rec: float = 10.0
    gp: float = 10.0
    mask: float = 0.1
    smooth: float = 1e-5


#: The published weights.
PUBLISHED = LossWeights()


def gradient_penalty(
    discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor
) -> torch.Tensor:
    """``mean((||grad D(x_hat)||_2 - 1)^2)`` at ``x_hat = alpha real + (1 - alpha) fake``.

    ``alpha`` is (B, 1, 1, 1); the caller draws it (so that the schedule is seeded).
    """
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores, _ = discriminator(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def total_variation(mask: torch.Tensor) -> torch.Tensor:
    """Sum of squared differences between neighbouring mask values, averaged over the batch."""
    dh = (mask[:, :, 1:, :] - mask[:, :, :-1, :]) ** 2
    dw = (mask[:, :, :, 1:] - mask[:, :, :, :-1]) ** 2
    return (dh.sum() + dw.sum()) / mask.shape[0]


def _translate(generator: nn.Module, x: torch.Tensor, c: torch.Tensor):
    """The output and, for GANimation, the attention mask (else None)."""
    if isinstance(generator, GANimationGenerator):
        colour, attention = generator.masks(x, c)
        return generator.compose(x, colour, attention), attention
    return generator(x, c), None


def discriminator_losses(
    generator: nn.Module,
    discriminator: nn.Module,
    x: torch.Tensor,
    label: torch.Tensor,
    target: torch.Tensor,
    alpha: torch.Tensor,
    weights: LossWeights = PUBLISHED,
) -> dict[str, torch.Tensor]:
    """The critic's terms on real images ``x`` (domains ``label``, int (B,)) and their
    translations to ``target`` (int (B,)); the generator is not differentiated."""
    c_dim = generator.c_dim
    real_scores, real_logits = discriminator(x)
    with torch.no_grad():
        fake, _ = _translate(generator, x, F.one_hot(target, c_dim).float())
    fake_scores, _ = discriminator(fake)
    terms = {
        "real": -real_scores.mean(),
        "fake": fake_scores.mean(),
        "cls": F.cross_entropy(real_logits, label),
        "gp": gradient_penalty(discriminator, x, fake, alpha),
    }
    terms["total"] = (
        terms["real"] + terms["fake"] + weights.cls * terms["cls"] + weights.gp * terms["gp"]
    )
    return terms


def generator_losses(
    generator: nn.Module,
    discriminator: nn.Module,
    x: torch.Tensor,
    label: torch.Tensor,
    target: torch.Tensor,
    weights: LossWeights = PUBLISHED,
) -> dict[str, torch.Tensor]:
    """The generator's terms: fool the critic, be classified as ``target``, and come back
    to ``x`` when translated back to ``label`` (plus the attention terms for GANimation)."""
    c_dim = generator.c_dim
    fake, attention = _translate(generator, x, F.one_hot(target, c_dim).float())
    scores, logits = discriminator(fake)
    back, attention_back = _translate(generator, fake, F.one_hot(label, c_dim).float())
    terms = {
        "adv": -scores.mean(),
        "cls": F.cross_entropy(logits, target),
        "rec": (x - back).abs().mean(),
    }
    total = terms["adv"] + weights.cls * terms["cls"] + weights.rec * terms["rec"]
    if attention is not None:
        terms["mask"] = attention.mean() + attention_back.mean()
        terms["smooth"] = total_variation(attention) + total_variation(attention_back)
        total = total + weights.mask * terms["mask"] + weights.smooth * terms["smooth"]
    terms["total"] = total
    return terms
