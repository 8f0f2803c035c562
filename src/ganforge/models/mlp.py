"""Fully connected networks: a small GAN for 2-D toy data (mode-collapse experiments), and the
MNIST MLPs of the semi-supervised K+1-class GAN (Salimans et al. 2016; trained by
`ganforge.apps.semi_supervised`): a discriminator with Gaussian noise on every layer's input and
weight normalisation, and a generator with BatchNorm and softplus."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


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


class GaussianNoise(nn.Module):
    """x + N(0, std^2) noise while training; x unchanged in eval mode."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.std * torch.randn_like(x) if self.training and self.std > 0 else x


class KPlusOneDiscriminator(nn.Module):
    """x (N, 784) in [0, 1] -> (class logits (N, K), last hidden features (N, 250))."""

    def __init__(self, num_classes: int = 10, in_features: int = 784,
                 hidden: tuple[int, ...] = (1000, 500, 250, 250, 250)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        sizes = (in_features,) + hidden
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers += [GaussianNoise(0.5 if i == 0 else 0.3), weight_norm(nn.Linear(a, b)), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(GaussianNoise(0.3), weight_norm(nn.Linear(hidden[-1], num_classes)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x.flatten(1))
        return self.head(features), features


class MLPImageGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, 784) in [0, 1]."""

    def __init__(self, latent_dim: int = 100, out_features: int = 784) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 500, bias=False), nn.BatchNorm1d(500), nn.Softplus(),
            nn.Linear(500, 500, bias=False), nn.BatchNorm1d(500), nn.Softplus(),
            weight_norm(nn.Linear(500, out_features)), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
