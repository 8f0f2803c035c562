"""The original GAN game (Goodfellow et al. 2014) on logits, in numerically stable form.

With D(x) = sigmoid(l(x)): log D = -softplus(-l) and log(1 - D) = -softplus(l), so no
probability is ever formed and large logits cannot produce log(0).

Which generator loss is the default: the *non-saturating* one, -log D(G(z)). The minimax
generator loss log(1 - D(G(z))) has gradient -sigmoid(l) w.r.t. the logit, which vanishes when D
confidently rejects the fakes, exactly the situation early in training; the non-saturating loss
has gradient sigmoid(l) - 1, which is largest there (Goodfellow et al. 2014, section 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ganforge.registry import Registry


def discriminator_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean log D(x) - mean log(1 - D(G(z))): BCE with target 1 on reals plus target 0 on fakes."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean log D(G(z)) (the default)."""
    return F.softplus(-fake_logits).mean()


def generator_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """mean log(1 - D(G(z))): the saturating loss of the original minimax game."""
    return -F.softplus(fake_logits).mean()


@dataclass(frozen=True)
class AdversarialLoss:
    """A pair of loss functions: discriminator(real_logits, fake_logits), generator(fake_logits)."""

    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]


LOSSES: Registry[AdversarialLoss] = Registry("loss")
LOSSES.register("nonsaturating")(AdversarialLoss(discriminator_loss_bce, generator_loss_nonsaturating))
LOSSES.register("minimax")(AdversarialLoss(discriminator_loss_bce, generator_loss_minimax))
