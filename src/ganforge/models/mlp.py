"""Small fully connected GAN for 2-D toy data (mode-collapse experiments)."""

from __future__ import annotations

import torch
from torch import nn


def _mlp(sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> points (N, out_dim), unbounded."""

    def __init__(self, latent_dim: int = 16, out_dim: int = 2, hidden: int = 128, depth: int = 3) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = _mlp([latent_dim] + [hidden] * depth + [out_dim], nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """points (N, in_dim) -> logits (N,); `spectral_norm` normalises every Linear's weight by its
    largest singular value (Miyato et al. 2018)."""

    def __init__(self, in_dim: int = 2, hidden: int = 128, depth: int = 3, spectral_norm: bool = False) -> None:
        super().__init__()
        self.net = _mlp([in_dim] + [hidden] * depth + [1], lambda: nn.LeakyReLU(0.2))
        if spectral_norm:
            for layer in self.net:
                if isinstance(layer, nn.Linear):
                    nn.utils.parametrizations.spectral_norm(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)
