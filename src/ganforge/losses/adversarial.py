"""The original GAN game (Goodfellow et al. 2014) on logits, in numerically stable form.

With D(x) = sigmoid(l(x)): log D = -softplus(-l) and log(1 - D) = -softplus(l), so no
probability is ever formed and large logits cannot produce log(0).

Which generator loss is the default: the *non-saturating* one, -log D(G(z)). The minimax
generator loss log(1 - D(G(z))) has gradient -sigmoid(l) w.r.t. the logit, which vanishes when D
confidently rejects the fakes, exactly the situation early in training; the non-saturating loss
has gradient sigmoid(l) - 1, which is largest there (Goodfellow et al. 2014, section 3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Callable

import torch
import torch.nn.functional as F

from ganforge.registry import Registry


def discriminator_loss_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                           real_target: float = 1.0) -> torch.Tensor:
    """-mean log D(x) - mean log(1 - D(G(z))): BCE with target 1 on reals plus target 0 on fakes.

    real_target < 1 is one-sided label smoothing (Salimans et al. 2016): reals are scored against
    t, i.e. -t log D(x) - (1 - t) log(1 - D(x)); fakes keep target 0.
    """
    real_term = real_target * F.softplus(-real_logits) + (1.0 - real_target) * F.softplus(real_logits)
    return real_term.mean() + F.softplus(fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """-mean log D(G(z)) (the default)."""
    return F.softplus(-fake_logits).mean()


def generator_loss_minimax(fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """mean log(1 - D(G(z))): the saturating loss of the original minimax game."""
    return -F.softplus(fake_logits).mean()


def discriminator_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """mean relu(1 - D(x)) + mean relu(1 + D(G(z))) (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def generator_loss_hinge(fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """-mean D(G(z)): the generator side of the hinge loss."""
    return -fake_logits.mean()


def discriminator_loss_least_squares(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """1/2 mean (D(x) - 1)^2 + 1/2 mean D(G(z))^2 (LSGAN, Mao et al. 2017, targets a=0, b=1)."""
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def generator_loss_least_squares(fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """1/2 mean (D(G(z)) - 1)^2 (target c=1)."""
    return 0.5 * ((fake_logits - 1) ** 2).mean()


def discriminator_loss_relativistic(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Relativistic average BCE (RaSGAN, Jolicoeur-Martineau 2019): reals should look more real
    than the average fake, fakes less real than the average real."""
    return (F.softplus(-(real_logits - fake_logits.mean())).mean()
            + F.softplus(fake_logits - real_logits.mean()).mean())


def generator_loss_relativistic(fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    """The same game with the roles swapped; needs the real logits."""
    if real_logits is None:
        raise ValueError("the relativistic generator loss needs the real logits")
    return (F.softplus(-(fake_logits - real_logits.mean())).mean()
            + F.softplus(real_logits - fake_logits.mean()).mean())


def discriminator_loss_wasserstein(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """mean D(G(z)) - mean D(x): the critic's side of the Wasserstein estimate (Arjovsky et al.
    2017). Only meaningful with a Lipschitz constraint: --penalty gp or --clip."""
    return fake_logits.mean() - real_logits.mean()


def generator_loss_wasserstein(fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
    return -fake_logits.mean()


@dataclass(frozen=True)
class AdversarialLoss:
    """discriminator(real_logits, fake_logits) and generator(fake_logits, real_logits=None).

    `generator_needs_real`: the trainer then also passes D's (detached) logits on real images.
    """

    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[..., torch.Tensor]
    generator_needs_real: bool = False
    needs_lipschitz: bool = False  # the critic must be constrained (gradient penalty or clipping)


LOSSES: Registry[AdversarialLoss] = Registry("loss")
LOSSES.register("nonsaturating")(AdversarialLoss(discriminator_loss_bce, generator_loss_nonsaturating))
LOSSES.register("minimax")(AdversarialLoss(discriminator_loss_bce, generator_loss_minimax))
LOSSES.register("hinge")(AdversarialLoss(discriminator_loss_hinge, generator_loss_hinge))
LOSSES.register("least-squares")(AdversarialLoss(discriminator_loss_least_squares, generator_loss_least_squares))
LOSSES.register("wasserstein")(AdversarialLoss(discriminator_loss_wasserstein, generator_loss_wasserstein,
                                               needs_lipschitz=True))
LOSSES.register("relativistic")(AdversarialLoss(discriminator_loss_relativistic, generator_loss_relativistic,
                                                generator_needs_real=True))


def with_label_smoothing(loss: AdversarialLoss, smoothing: float) -> AdversarialLoss:
    """`loss` with one-sided label smoothing (Salimans et al. 2016): D's target for real images is
    1 - smoothing. Only the BCE losses have a target to smooth."""
    if smoothing == 0:
        return loss
    if loss.discriminator is not discriminator_loss_bce:
        raise ValueError("label smoothing needs a BCE discriminator loss")
    return replace(loss, discriminator=partial(discriminator_loss_bce, real_target=1.0 - smoothing))
