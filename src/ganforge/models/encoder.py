"""An encoder from images to latents, the start point for GAN inversion (Zhu et al. 2016):
stride-2 4x4 convs doubling channels with LeakyReLU(0.2) (the DCGAN discriminator's body,
without BatchNorm) -> a linear layer to the latent."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.models.layers import upsampling_plan


class LatentEncoder(nn.Module):
    """images (N, channels, image_size, image_size) in [-1, 1] -> latents (N, latent_dim)."""

    def __init__(self, channels: int, image_size: int, latent_dim: int, width: int = 32) -> None:
        super().__init__()
        start, stages = upsampling_plan(image_size)
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for _ in range(stages):
            layers += [nn.Conv2d(c_in, c, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            c_in, c = c, c * 2
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(c_in * start * start, latent_dim)
        self.config = {"channels": channels, "image_size": image_size, "latent_dim": latent_dim, "width": width}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))
