"""Training the small MLP GAN on 2-D mixtures, with the same train_step as image GANs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from ganforge.config import OptimConfig, TrainConfig
from ganforge.data.toy import Mixture
from ganforge.loop import Loop, adam
from ganforge.losses import LOSSES, PENALTIES
from ganforge.models.layers import init_dcgan_weights, init_default_linear
from ganforge.models.mlp import MLPDiscriminator, MLPGenerator
from ganforge.presets import PRESETS
from ganforge.training.ema import EMA
from ganforge.training.step import Players, StepOptions, train_step


def train_toy_gan(mixture: Mixture, loss: str = "nonsaturating", steps: int = 3000, batch_size: int = 256,
                  lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999), d_steps: int = 1,
                  latent_dim: int = 16, hidden: int = 128, seed: int = 0, penalty: str | None = None,
                  penalty_weight: float = 10.0, init: str = "default", spectral_norm: bool = False,
                  lr_d: float | None = None, ema_decay: float | None = None, mode_seeking: float = 0.0,
                  penalty_every: int = 1) -> MLPGenerator:
    """Train G and D on fresh mixture samples every step; returns the generator (eval mode), or
    its EMA copy when `ema_decay` is set.
    `penalty` (gp, r1) is added to D's loss with `penalty_weight`, every `penalty_every` steps
    with weight x interval (lazy regularisation). `init`: "default" (PyTorch's own Linear
    initialisation, seeded) or "dcgan" (N(0, 0.02): made for DCGAN's convolutions, it starts an
    MLP generator almost constant in z). `spectral_norm` on D's layers. `lr_d`: D's learning rate
    when it differs from G's `lr` (two time-scales). `mode_seeking`: MSGAN's weight."""
    pair = LOSSES.get(loss)
    penalty_fn = PENALTIES.get(penalty) if penalty is not None else None
    if pair.needs_lipschitz and penalty_fn is None and not spectral_norm:
        raise ValueError(f"loss {loss} needs a penalty or spectral norm")
    init_rng = torch.Generator().manual_seed(seed)
    generator, discriminator = MLPGenerator(latent_dim, 2, hidden), MLPDiscriminator(2, hidden, spectral_norm=spectral_norm)
    initialise = {"default": init_default_linear, "dcgan": init_dcgan_weights}
    if init not in initialise:
        raise ValueError(f"init must be one of {', '.join(initialise)}, got {init!r}")
    for module in (generator, discriminator):
        initialise[init](module, init_rng)
    players = Players(generator, discriminator, adam(generator.parameters(), lr, betas),
                      adam(discriminator.parameters(), lr if lr_d is None else lr_d, betas))
    ema = EMA(generator, ema_decay) if ema_decay is not None else None
    data_rng, noise_rng = torch.Generator().manual_seed(seed + 1), torch.Generator().manual_seed(seed + 2)

    def noise(n: int) -> tuple[torch.Tensor, None]:
        return torch.randn(n, latent_dim, generator=noise_rng), None

    if penalty_every < 1:
        raise ValueError(f"penalty_every must be >= 1, got {penalty_every}")
    weight = penalty_weight * penalty_every
    plain = StepOptions(pair, mode_seeking=mode_seeking)
    penalised = replace(plain, penalty=(lambda d, real, fake: weight * penalty_fn(d, real, fake)) if penalty_fn else None)

    def step(index: int) -> dict:
        batches = [(mixture.sample(batch_size, data_rng), None) for _ in range(d_steps)]
        train_step(players, penalised if index % penalty_every == 0 else plain, batches, noise)
        if ema is not None:
            ema.update(generator, index)
        return {}  # nothing is logged: the caller scores the generator

    Loop(steps=steps).run(step)
    return (generator if ema is None else ema.shadow).eval()


@torch.no_grad()
def sample_toy(generator: MLPGenerator, n: int, seed: int = 0) -> torch.Tensor:
    """(n, 2) points from fixed latents."""
    return generator(torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(seed)))


def preset_recipe(name: str) -> dict[str, Any]:
    """train_toy_gan's keyword arguments for preset `name`'s game: its loss, penalty (weight and
    interval), D steps, spectral norm, Adam rates and betas, EMA and mode seeking, on top of the
    config defaults. Its architecture is left out: the toy GAN is always the MLP."""
    raw = PRESETS.get(name).apply({"model": {}, "optim": {}, "train": {}})
    optim, train = OptimConfig(**raw["optim"]), TrainConfig(**raw["train"])
    return {"loss": train.loss, "penalty": train.penalty, "penalty_weight": train.penalty_weight,
            "penalty_every": train.penalty_every, "d_steps": train.d_steps,
            "spectral_norm": bool(raw["model"].get("spectral_norm", False)),
            "lr": optim.lr_g, "lr_d": optim.lr_d, "betas": (optim.beta1, optim.beta2),
            "ema_decay": train.ema_decay, "mode_seeking": train.mode_seeking}
