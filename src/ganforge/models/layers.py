"""Building blocks shared by the model families."""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def init_dcgan_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """DCGAN initialisation (Radford et al. 2016): conv weights ~ N(0, 0.02), BatchNorm
    scale ~ N(1, 0.02), biases 0. `generator` makes it reproducible without global seeding."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            # Under spectral norm the raw weight lives in parametrizations.weight.original.
            weight = m.parametrizations.weight.original if nn.utils.parametrize.is_parametrized(m, "weight") else m.weight
            nn.init.normal_(weight, 0.0, 0.02, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02, generator=generator)
            nn.init.zeros_(m.bias)


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """(start size, number of x2 stages) that reach `image_size`: 4 x 2^n, or 7 x 2^2 for 28."""
    if image_size == 28:
        return 7, 2
    if image_size >= 16 and image_size & (image_size - 1) == 0:
        return 4, int(math.log2(image_size // 4))
    raise ValueError(f"image_size must be 28 or a power of two >= 16, got {image_size}")


@torch.no_grad()
def init_resnet_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Xavier-uniform conv/linear weights, zero biases (the SNGAN reference initialisation);
    BatchNorm starts at scale 1, shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = m.parametrizations.weight.original if nn.utils.parametrize.is_parametrized(m, "weight") else m.weight
            fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(weight)
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            weight.uniform_(-bound, bound, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
