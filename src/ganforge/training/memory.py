"""What a training run will hold in memory, worked out before anything is allocated.

The run's two networks are built on PyTorch's meta device (shapes only, no storage), so their size
follows the real layers of every family and option without a formula per architecture; a batch is
counted by its largest maps (a forward pass on the meta device would be exact, but its first call
imports torch's decompositions: seconds at every start):

    parameters  (G + D) x 4 bytes x 4        weights, gradients and Adam's two moments (+ G again for EMA)
    activations 3 x width x H x W x 4 bytes x 2 x micro-batch
                G's and D's full-resolution maps (D sees a real and a fake batch), kept for backward,
                and their gradients

It is a floor rather than a peak (cuDNN workspaces, the data set and fragmentation come on top), so
a run it refuses could never have fitted; one it accepts may still run out.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.config import RunConfig, flag
from ganforge.device import memory_shortfall
from ganforge.errors import ConfigError
from ganforge.models import build_discriminator, build_generator

FP32 = 4
ADAM_COPIES = 4  # weights, gradients, first and second moments


def training_bytes(config: RunConfig) -> int | None:
    """Bytes of parameters, optimiser state and one micro-batch's activations of `config`'s run
    (see the module's docstring); None when a size overflows 64 bits (a layer too large to count)."""
    m, d, t = config.model, config.data, config.train
    try:
        with torch.device("meta"):
            generator, discriminator = build_generator(m, d), build_discriminator(m, d)
    except (RuntimeError, TypeError, OverflowError) as exc:  # what torch raises for a size past 64 bits
        if "overflow" in str(exc).lower():
            return None
        raise
    weights = _numel(generator) * (ADAM_COPIES + (t.ema_decay is not None)) + _numel(discriminator) * ADAM_COPIES
    per_image = 3 * max(m.width, d.channels) * d.image_size ** 2
    micro_batch = -(-t.batch_size // t.accumulate)
    return FP32 * (weights + 2 * per_image * micro_batch)


def check_training_memory(config: RunConfig) -> None:
    """ConfigError naming the flags to lower when `training_bytes(config)` does not fit in the
    memory ganforge holds at once (device.memory_budget); called before the data is read."""
    needed = training_bytes(config)
    shortfall = memory_shortfall(needed if needed is not None else 2**64)
    if shortfall is None:
        return
    m, d, t = config.model, config.data, config.train
    classes = f"{flag('model.num_classes')} {m.num_classes}, " if m.num_classes else ""  # a class embedding each
    what = (f"{flag('model.arch')} {m.arch} with {classes}{flag('model.width')} {m.width}, {flag('model.latent_dim')} "
            f"{m.latent_dim}, {flag('train.batch_size')} {t.batch_size} at {d.image_size} px")
    if needed is None:
        shortfall = "has layers too large to count (their sizes overflow 64 bits)"
    fewer = f"{flag('model.num_classes')}, " if m.num_classes else ""
    raise ConfigError(f"{what} {shortfall}; use a smaller {fewer}{flag('model.width')}, {flag('model.latent_dim')}, "
                      f"{flag('train.batch_size')} or {flag('data.image_size')}")


def _numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
