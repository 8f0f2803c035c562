"""The classic DCGAN (Radford, Metz & Chintala 2016), for 28x28 and any power of two >= 16.

Generator: z (latent_dim) -> (start x start x width*2^(n-1)) by a transposed conv (a dense layer
in conv form) -> n-1 stride-2 transposed convs halving channels, each BatchNorm + ReLU ->
a last stride-2 transposed conv to `channels` -> tanh. At 64x64 with width 64 this is the paper's
100 -> 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3.

Discriminator: the mirror image, stride-2 4x4 convs with LeakyReLU(0.2) and optional dropout,
BatchNorm on inner layers (not on the first), and a last conv to one *logit* per image: no
sigmoid, the losses work on logits.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.models.layers import upsampling_plan


class DCGANGenerator(nn.Module):
    """z: (N, latent_dim) float -> images (N, channels, image_size, image_size) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, channels: int = 1, image_size: int = 28, width: int = 64) -> None:
        super().__init__()
        start, stages = upsampling_plan(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        c = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, c, start, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """images (N, channels, image_size, image_size) in [-1, 1] -> logits (N,).

    With `spectral_norm`, every conv is spectrally normalised and the BatchNorm layers are left
    out (as in SNGAN): the two fight over the layers' scale.
    """

    def __init__(self, channels: int = 1, image_size: int = 28, width: int = 64, dropout: float = 0.0,
                 spectral_norm: bool = False) -> None:
        super().__init__()
        start, stages = upsampling_plan(image_size)
        self.channels, self.image_size = channels, image_size
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda layer: layer)
        layers: list[nn.Module] = [sn(nn.Conv2d(channels, width, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        layers += [nn.Dropout(dropout)] if dropout > 0 else []
        c = width
        for _ in range(stages - 1):
            layers += [sn(nn.Conv2d(c, c * 2, 4, 2, 1, bias=spectral_norm))]
            layers += [] if spectral_norm else [nn.BatchNorm2d(c * 2)]
            layers += [nn.LeakyReLU(0.2, True)]
            layers += [nn.Dropout(dropout)] if dropout > 0 else []
            c *= 2
        layers += [sn(nn.Conv2d(c, 1, start, 1, 0))]
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).view(-1)
