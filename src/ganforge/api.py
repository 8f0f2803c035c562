"""`ganforge.load(path)`: a trained generator, ready to sample, without the training code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge import checkpoint as ckpt
from ganforge.config import RunConfig
from ganforge.models import build_discriminator, build_generator


@dataclass
class LoadedGAN:
    """A checkpoint's generator (eval mode) and config. `discriminator` is loaded on request."""

    generator: nn.Module
    config: RunConfig
    checkpoint: Path
    step: int
    meta: dict[str, Any]
    device: torch.device

    @property
    def latent_dim(self) -> int:
        return self.config.model.latent_dim

    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        """(n, latent_dim) standard normal latents, the same for the same seed on any device."""
        return torch.randn(n, self.latent_dim, generator=torch.Generator().manual_seed(seed)).to(self.device)

    @torch.no_grad()
    def generate(self, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
        """Images (N, C, H, W) float in [-1, 1], on the CPU, from latents z (N, latent_dim)."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be (N, {self.latent_dim}), got {tuple(z.shape)}")
        chunks = [self.generator(part.to(self.device)).float().cpu() for part in z.split(batch_size)]
        return torch.cat(chunks)

    def sample(self, n: int, seed: int = 0, batch_size: int = 256) -> torch.Tensor:
        """n images (N, C, H, W) float in [-1, 1] on the CPU; the same seed gives the same images."""
        if n <= 0:
            raise ValueError(f"n must be > 0, got {n}")
        return self.generate(self.latents(n, seed), batch_size)

    def load_discriminator(self) -> nn.Module:
        net = build_discriminator(self.config.model, self.config.data)
        ckpt.load_module_state(self.checkpoint, "discriminator", net)
        return net.to(self.device).eval()


def load(path: str | Path, device: str | torch.device = "cpu") -> LoadedGAN:
    """Load a run folder (its latest checkpoint) or a checkpoint folder; the EMA generator when
    the run kept one."""
    checkpoint = ckpt.find_checkpoint(path)
    meta = ckpt.read_meta(checkpoint)
    config = ckpt.read_config(checkpoint)
    generator = build_generator(config.model, config.data)
    # The EMA generator is the one to sample from when the run kept one.
    name = "generator_ema" if (checkpoint / "generator_ema.safetensors").is_file() else "generator"
    ckpt.load_module_state(checkpoint, name, generator)
    device = torch.device(device)
    return LoadedGAN(generator.to(device).eval(), config, checkpoint, int(meta["step"]), meta, device)
