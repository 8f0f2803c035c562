"""The training step: the whole GAN game in one screen."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, ContextManager, Sequence

import torch
from torch import nn

from ganforge.losses import AdversarialLoss


@dataclass
class StepStats:
    """Detached scalars of one step (kept on the device: reading them forces a sync)."""

    loss_d: torch.Tensor
    loss_g: torch.Tensor
    d_real: torch.Tensor  # mean D(x), the probability D gives real images
    d_fake: torch.Tensor  # mean D(G(z)) before the discriminator update


def train_step(generator: nn.Module, discriminator: nn.Module, opt_g: torch.optim.Optimizer,
               opt_d: torch.optim.Optimizer, loss: AdversarialLoss, real_batches: Sequence[torch.Tensor],
               noise: Callable[[int], torch.Tensor],
               autocast: Callable[[], ContextManager] = nullcontext,
               penalty: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
               clip: float | None = None,
               augment: Callable[[torch.Tensor], torch.Tensor] | None = None) -> StepStats:
    """len(real_batches) discriminator updates, then one generator update on the last fakes.

    real_batches: each (N, C, H, W) in [-1, 1]; noise(n) -> (n, latent_dim) latent vectors;
    autocast() wraps the forward passes (mixed precision); losses are computed in float32.
    penalty(D, real, fake) is added to the discriminator's loss (gradient penalty, R1); `clip`
    clamps D's weights to [-clip, clip] after each of its updates (WGAN weight clipping).
    augment(x) transforms every batch D sees, real and fake, differentiably (DiffAugment).
    """
    seen = augment or (lambda images: images)
    for real in real_batches:
        with autocast():
            fake = generator(noise(real.shape[0]))  # keeps its graph: the G update reuses it
            real_logits = discriminator(seen(real)).float()
            fake_logits = discriminator(seen(fake.detach())).float()
        loss_d = loss.discriminator(real_logits, fake_logits)
        if penalty is not None:
            loss_d = loss_d + penalty(discriminator, real, fake)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if clip is not None:
            with torch.no_grad():
                for p in discriminator.parameters():
                    p.clamp_(-clip, clip)

    # D's weights get no gradient from the generator's loss: skipping it saves a third of D's
    # backward work and leaves D's .grad untouched.
    discriminator.requires_grad_(False)
    with autocast():
        fake_logits_g = discriminator(seen(fake)).float()
        real_logits_g = None
        if loss.generator_needs_real:  # relativistic losses compare fakes with reals
            with torch.no_grad():
                real_logits_g = discriminator(seen(real_batches[-1])).float()
    loss_g = loss.generator(fake_logits_g, real_logits_g)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    discriminator.requires_grad_(True)

    with torch.no_grad():
        return StepStats(loss_d.detach(), loss_g.detach(), torch.sigmoid(real_logits).mean(),
                         torch.sigmoid(fake_logits).mean())
