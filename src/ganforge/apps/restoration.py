"""Denoising and deblurring by GAN inversion: the corruptions (Gaussian noise, Gaussian blur),
looked up by name through CORRUPTIONS, and `restore_inversion`, which finds the generator's image
that, corrupted the same way, matches the damaged input."""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from ganforge.apps.inversion import invert
from ganforge.errors import InputError
from ganforge.registry import Registry


def gaussian_blur(images: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Separable Gaussian blur (radius 3 sigma, reflect padding), differentiable: (N, C, H, W)."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    c = images.shape[1]
    out = F.pad(images, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def add_noise(images: torch.Tensor, sigma: float = 0.3, seed: int = 0) -> torch.Tensor:
    """images + N(0, sigma^2) noise (in the [-1, 1] scale), clamped to [-1, 1]."""
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    return (images + sigma * noise.to(images.device)).clamp(-1, 1)


# name -> f(images, strength, seed) -> corrupted images (strength: noise std or blur sigma)
CORRUPTIONS: Registry[Callable[[torch.Tensor, float, int], torch.Tensor]] = Registry("corruption")
CORRUPTIONS.register("noise")(lambda images, strength, seed: add_noise(images, strength, seed))
CORRUPTIONS.register("blur")(lambda images, strength, seed: gaussian_blur(images, strength))


def restore_inversion(gan, images: torch.Tensor, corruption: str, strength: float, *, steps: int = 400,
                      restarts: int = 8, prior_weight: float = 0.003, seed: int = 0, **invert_options) -> torch.Tensor:
    """Denoise or deblur by inversion: the z whose image, corrupted the same way (blurred with
    the known sigma; for noise, as is), matches the input; returns G(z) (N, C, H, W) on the CPU.
    The generator's range is the prior: noise it cannot produce is left out."""
    if corruption not in CORRUPTIONS:
        raise InputError(f"corruption must be one of {', '.join(CORRUPTIONS.names())}, got {corruption!r}")
    degrade = (lambda x: gaussian_blur(x, strength)) if corruption == "blur" else None
    discriminator = gan.load_discriminator() if prior_weight > 0 else None
    return invert(gan, images, steps=steps, restarts=restarts, prior_weight=prior_weight, discriminator=discriminator,
                  degrade=degrade, seed=seed, **invert_options).images
