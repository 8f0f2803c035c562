"""The training step: the whole GAN game in one screen."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.losses import AdversarialLoss, mode_seeking_loss
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


def _class_loss(class_logits: torch.Tensor | None, labels: Labels, weight: float = 1.0) -> torch.Tensor | float:
    """AC-GAN's auxiliary term (Odena et al. 2017): `weight` times the cross-entropy of the named
    class, else 0."""
    return 0.0 if class_logits is None else weight * F.cross_entropy(class_logits.float(), labels)


@dataclass
class Players:
    """The two networks (or their DistributedDataParallel wrappers) and their optimisers; `scalers`
    (D's, G's) scale the losses for fp16 (GradScaler), skipping steps whose gradients overflowed."""

    generator: nn.Module
    discriminator: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scalers: tuple[torch.amp.GradScaler, torch.amp.GradScaler] | None = None
    # D for the gradient penalty, whose backward is differentiated again: the eager network where
    # `discriminator` is compiled (compiled graphs have no double backward). None: `discriminator`.
    penalty_discriminator: nn.Module | None = None
    # Called before each D update: spectral norm's power iteration (`ganforge.models.spectral`).
    before_d_update: Callable[[], None] | None = None


@dataclass(frozen=True)
class StepOptions:
    """The rules of the game for one step.

    loss: the adversarial loss pair; losses are computed in float32.
    penalty(D, real, fake): added to D's loss (gradient penalty, R1; already weighted; D there is
      the critic at the real labels behind `augment`, the function D plays the game with, so the
      gradients it penalises are those of the images D sees, as in StyleGAN2-ADA's R1). None: no
      penalty this step (lazy regularisation skips steps).
    clip: clamp D's weights to [-clip, clip] after each of its updates (WGAN weight clipping).
    augment(x): transforms every batch D sees, real and fake, differentiably (DiffAugment).
    accumulate: micro-batches per batch (gradient accumulation, see train_step).
    mode_seeking: > 0 adds that times MSGAN's term to G's loss: half of the fakes are paired with
      fakes of fresh latents from noise() under the same labels (`ganforge.losses.mode_seeking`).
    class_weight: the weight of an AC-GAN head's class cross-entropies in both players' losses.
    top_k: the fraction of the fakes G's adversarial loss is taken over: those D scores most real,
      max(1, int(top_k x batch)) of them (Sinha et al. 2020: the rest give G no gradient); the class
      and mode-seeking terms still see every fake. 1: all. Needs accumulate 1.
    autocast(): wraps the forward passes (mixed precision).
    observe_real(s): called after each D update with s, the batch mean of sign(D(real)) (a detached
      scalar tensor): ADA's overfitting heuristic (`ganforge.training.ada`).
    auxiliary(outputs): D's self-supervised loss on the real images it sees, from the outputs an
      (unconditional) D returns beside its logits when called with auxiliary=True (FastGAN's
      reconstructions, `ganforge.losses.self_supervised`); added to D's loss.
    """

    loss: AdversarialLoss
    penalty: Callable[[Callable, torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    clip: float | None = None
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None
    accumulate: int = 1
    mode_seeking: float = 0.0
    class_weight: float = 1.0
    top_k: float = 1.0
    autocast: Callable[[], ContextManager] = nullcontext
    observe_real: Callable[[torch.Tensor], None] | None = None
    auxiliary: Callable[[Any], torch.Tensor] | None = None


def train_step(players: Players, options: StepOptions, real_batches: Sequence[tuple[torch.Tensor, Labels]],
               noise: Callable[[int], tuple[torch.Tensor, Labels]]) -> StepStats:
    """len(real_batches) discriminator updates, then one generator update on the last fakes.

    real_batches: each (images (N, C, H, W) in [-1, 1], labels (N,) or None); noise(n) -> (z
    (n, latent_dim), fake labels (n,) or None). With an AC-GAN head both players also minimise
    the class cross-entropy.

    Gradient accumulation: `options.accumulate` > 1 splits every batch into that many micro-batches
    whose gradients, weighted by their share of the batch, add up before each update: the same
    update with a fraction of the activation memory (BatchNorm statistics and batch-mean terms such
    as the relativistic losses' aside: they see one micro-batch). G then runs again for its update
    instead of keeping every micro-batch's graph. Under DistributedDataParallel only the last
    micro-batch's backward all-reduces.
    """
    generator, discriminator, opt_g, opt_d = players.generator, players.discriminator, players.opt_g, players.opt_d
    loss, penalty, autocast, accumulate = options.loss, options.penalty, options.autocast, options.accumulate
    if options.top_k < 1 and accumulate > 1:
        raise ValueError("top-k updates choose among the whole batch's fakes: they need accumulate 1")
    scaler_d, scaler_g = players.scalers if players.scalers is not None else (None, None)
    penalised = players.penalty_discriminator or discriminator
    seen = options.augment or (lambda images: images)
    keep_graph = accumulate == 1  # one micro-batch: G's update reuses the fakes made for D's
    for real, real_labels in real_batches:
        z, fake_labels = noise(real.shape[0])
        parts = _micro_batches(accumulate, real, real_labels, z, fake_labels)
        # Batch-weighted means over the micro-batches of the last D update (tensors: no sync).
        stats_d = [0.0, 0.0, 0.0, 0.0]  # loss_d, D(real), D(fake), sign(D(real))
        if players.before_d_update is not None:
            players.before_d_update()
        _zero(opt_d)
        for i, (share, real_i, real_labels_i, z_i, fake_labels_i) in enumerate(parts):
            with _sync_on(discriminator, last=i == len(parts) - 1):
                with autocast(), torch.set_grad_enabled(keep_graph):
                    fake = generate(generator, z_i, fake_labels_i)
                with autocast():
                    if options.auxiliary is None:
                        real_logits, real_classes = critic(discriminator, seen(real_i), real_labels_i)
                    else:  # D's self-supervised task on the reals it sees
                        real_logits, real_outputs = discriminator(seen(real_i), auxiliary=True)
                        real_classes = None
                    fake_logits, fake_classes = critic(discriminator, seen(fake.detach()), fake_labels_i)
                loss_d = (loss.discriminator(real_logits.float(), fake_logits.float())
                          + _class_loss(real_classes, real_labels_i, options.class_weight)
                          + _class_loss(fake_classes, fake_labels_i, options.class_weight))
                if options.auxiliary is not None:
                    loss_d = loss_d + options.auxiliary(real_outputs)
                if penalty is not None:
                    loss_d = loss_d + penalty(lambda x: critic(penalised, seen(x), real_labels_i)[0], real_i, fake)
                _backward(share * loss_d, scaler_d)
            with torch.no_grad():
                for k, value in enumerate((loss_d, torch.sigmoid(real_logits.float()).mean(),
                                           torch.sigmoid(fake_logits.float()).mean(),
                                           real_logits.float().sign().mean())):
                    stats_d[k] = stats_d[k] + share * value.detach().float()
        _step(opt_d, scaler_d)
        if options.observe_real is not None:
            options.observe_real(stats_d[3])
        if options.clip is not None:
            with torch.no_grad():
                for p in discriminator.parameters():
                    p.clamp_(-options.clip, options.clip)

    # D's weights get no gradient from the generator's loss: skipping it saves a third of D's
    # backward work and leaves D's .grad untouched.
    discriminator.requires_grad_(False)
    _zero(opt_g)
    total_g = 0.0
    for i, (share, real_i, real_labels_i, z_i, fake_labels_i) in enumerate(parts):
        with _sync_on(generator, last=i == len(parts) - 1):
            with autocast():
                if not keep_graph:
                    fake = generate(generator, z_i, fake_labels_i)
                fake_logits_g, fake_classes_g = critic(discriminator, seen(fake), fake_labels_i)
                real_logits_g = None
                if loss.generator_needs_real:  # relativistic losses compare fakes with reals
                    with torch.no_grad():
                        real_logits_g = critic(discriminator, seen(real_i), real_labels_i)[0].float()
            loss_g = (loss.generator(_top_k(fake_logits_g.float(), options.top_k), real_logits_g)
                      + _class_loss(fake_classes_g, fake_labels_i, options.class_weight))
            if options.mode_seeking > 0:
                loss_g = loss_g + options.mode_seeking * _mode_seeking_term(generator, noise, autocast, fake, z_i, fake_labels_i)
            _backward(share * loss_g, scaler_g)
        total_g = total_g + share * loss_g.detach().float()
    _step(opt_g, scaler_g)
    discriminator.requires_grad_(True)
    return StepStats(stats_d[0], total_g, stats_d[1], stats_d[2])


def _top_k(logits: torch.Tensor, fraction: float) -> torch.Tensor:
    """The max(1, int(fraction x N)) largest of the (N,) logits: the fakes D finds most real."""
    if fraction >= 1:
        return logits
    return logits.topk(max(1, int(fraction * logits.shape[0]))).values


def _mode_seeking_term(generator: nn.Module, noise: Callable[[int], tuple[torch.Tensor, Labels]],
                       autocast: Callable[[], ContextManager], fake: torch.Tensor, z: torch.Tensor,
                       labels: Labels) -> torch.Tensor:
    """MSGAN's 1 / (|G(z_a) - G(z_b)| / |z_a - z_b|) for the first half of the fakes (z_a) and as
    many fresh latents z_b under the same labels."""
    m = max(1, fake.shape[0] // 2)
    z_b, _ = noise(m)
    with autocast():
        fake_b = generate(generator, z_b, None if labels is None else labels[:m])
    return mode_seeking_loss(fake[:m].float(), fake_b.float(), z[:m], z_b)


def _micro_batches(accumulate: int, real: torch.Tensor, real_labels: Labels, z: torch.Tensor,
                   fake_labels: Labels) -> list[tuple[float, torch.Tensor, Labels, torch.Tensor, Labels]]:
    """[(share of the batch, real, real labels, z, fake labels)] for each micro-batch."""
    if accumulate == 1:
        return [(1.0, real, real_labels, z, fake_labels)]
    n = real.shape[0]
    if accumulate > n:
        raise ValueError(f"cannot split a batch of {n} into {accumulate} micro-batches")
    split = lambda t: [None] * accumulate if t is None else torch.tensor_split(t, accumulate)  # noqa: E731
    return [(r.shape[0] / n, r, rl, zi, fl)
            for r, rl, zi, fl in zip(split(real), split(real_labels), split(z), split(fake_labels))]


def _sync_on(module: nn.Module, last: bool) -> ContextManager:
    """DistributedDataParallel's no_sync() except on the last micro-batch: gradients are
    all-reduced once per update."""
    no_sync = getattr(module, "no_sync", None)
    return nullcontext() if last or no_sync is None else no_sync()


def _zero(optimizer: torch.optim.Optimizer) -> None:
    optimizer.zero_grad(set_to_none=True)


def _backward(loss: torch.Tensor, scaler: torch.amp.GradScaler | None) -> None:
    (loss if scaler is None else scaler.scale(loss)).backward()


def _step(optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    if scaler is None:
        optimizer.step()
        return
    scaler.step(optimizer)
    scaler.update()
