"""The training step: the whole GAN game in one screen."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, ContextManager, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.losses import AdversarialLoss
from ganforge.models import generate

Labels = torch.Tensor | None  # (N,) int class indices for conditional models, else None


@dataclass
class StepStats:
    """Detached scalars of one step (kept on the device: reading them forces a sync)."""

    loss_d: torch.Tensor
    loss_g: torch.Tensor
    d_real: torch.Tensor  # mean D(x), the probability D gives real images
    d_fake: torch.Tensor  # mean D(G(z)) before the discriminator update


def critic(discriminator: nn.Module, images: torch.Tensor, labels: Labels) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(adversarial logits (N,), class logits (N, K) from an AC-GAN head or None)."""
    out = discriminator(images) if labels is None else discriminator(images, labels)
    return out if isinstance(out, tuple) else (out, None)


def _class_loss(class_logits: torch.Tensor | None, labels: Labels) -> torch.Tensor | float:
    """AC-GAN's auxiliary term (Odena et al. 2017): cross-entropy of the named class, else 0."""
    return 0.0 if class_logits is None else F.cross_entropy(class_logits.float(), labels)


def train_step(generator: nn.Module, discriminator: nn.Module, opt_g: torch.optim.Optimizer,
               opt_d: torch.optim.Optimizer, loss: AdversarialLoss,
               real_batches: Sequence[tuple[torch.Tensor, Labels]],
               noise: Callable[[int], tuple[torch.Tensor, Labels]],
               autocast: Callable[[], ContextManager] = nullcontext,
               penalty: Callable[[Callable, torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
               clip: float | None = None,
               augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
               scalers: tuple[torch.amp.GradScaler, torch.amp.GradScaler] | None = None) -> StepStats:
    """len(real_batches) discriminator updates, then one generator update on the last fakes.

    real_batches: each (images (N, C, H, W) in [-1, 1], labels (N,) or None); noise(n) -> (z
    (n, latent_dim), fake labels (n,) or None); autocast() wraps the forward passes (mixed
    precision); losses are computed in float32. penalty(D, real, fake) is added to the
    discriminator's loss (gradient penalty, R1; D there is the critic at the real labels); `clip`
    clamps D's weights to [-clip, clip] after each of its updates (WGAN weight clipping).
    augment(x) transforms every batch D sees, real and fake, differentiably (DiffAugment).
    With an AC-GAN head both players also minimise the class cross-entropy. `scalers` (D's, G's)
    scale the losses for fp16 (GradScaler), skipping steps whose gradients overflowed.
    """
    scaler_d, scaler_g = scalers if scalers is not None else (None, None)
    seen = augment or (lambda images: images)
    for real, real_labels in real_batches:
        z, fake_labels = noise(real.shape[0])
        with autocast():
            fake = generate(generator, z, fake_labels)  # keeps its graph: the G update reuses it
            real_logits, real_classes = critic(discriminator, seen(real), real_labels)
            fake_logits, fake_classes = critic(discriminator, seen(fake.detach()), fake_labels)
        loss_d = (loss.discriminator(real_logits.float(), fake_logits.float())
                  + _class_loss(real_classes, real_labels) + _class_loss(fake_classes, fake_labels))
        if penalty is not None:
            loss_d = loss_d + penalty(lambda x: critic(discriminator, x, real_labels)[0], real, fake)
        _update(loss_d, opt_d, scaler_d)
        if clip is not None:
            with torch.no_grad():
                for p in discriminator.parameters():
                    p.clamp_(-clip, clip)

    # D's weights get no gradient from the generator's loss: skipping it saves a third of D's
    # backward work and leaves D's .grad untouched.
    discriminator.requires_grad_(False)
    with autocast():
        fake_logits_g, fake_classes_g = critic(discriminator, seen(fake), fake_labels)
        real_logits_g = None
        if loss.generator_needs_real:  # relativistic losses compare fakes with reals
            with torch.no_grad():
                real_logits_g = critic(discriminator, seen(real_batches[-1][0]), real_batches[-1][1])[0].float()
    loss_g = loss.generator(fake_logits_g.float(), real_logits_g) + _class_loss(fake_classes_g, fake_labels)
    _update(loss_g, opt_g, scaler_g)
    discriminator.requires_grad_(True)

    with torch.no_grad():
        return StepStats(loss_d.detach(), loss_g.detach(), torch.sigmoid(real_logits.float()).mean(),
                         torch.sigmoid(fake_logits.float()).mean())


def _update(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
        return
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
