"""Fully connected networks: a small GAN for 2-D toy data (mode-collapse experiments), and the
MNIST MLPs of the semi-supervised K+1-class GAN (Salimans et al. 2016; trained by
`ganforge.apps.semi_supervised`): a discriminator with Gaussian noise on every layer's input and
weight normalisation, and a generator with BatchNorm and softplus."""

from __future__ import annotations

import torch
import torch.nn.functional as F
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


class KPlusOneDiscriminator(nn.Module):
    """x (N, 784) in [0, 1] -> (class logits (N, K), features (N, 250)): the paper's MNIST
    discriminator. Every layer adds Gaussian noise to its input while training (std `input_noise`
    on the image, `hidden_noise` on hidden activations), then applies a weight-normalised linear
    map w = scale * v / |v| per output unit (Salimans & Kingma 2016) and ReLU (none on the logits).
    As in the paper's code, the hidden layers' scales are fixed after `data_init` and only the
    output layer's scale is trained (`train_hidden_scales` trains them all). `features_at` picks
    the hidden layer whose output is returned as features (-1: the last, the paper's choice).
    `direction_std`: the directions' initial Gaussian std (the paper's code: 0.1). It does not change
    the function after `data_init`, but it sets how far an optimiser step turns a direction: the
    gradient of w = scale * v / |v| with respect to v scales as 1 / |v|.

    The noise of a whole forward pass is drawn in one buffer, and `layers(dtype, count)` computes
    the weight-norm factors once, so a step can cast the large layers to bf16 once and reuse them
    for several forward passes (`forward(x, layers)`); features and logits come out in the last
    layers' precision."""

    def __init__(self, num_classes: int = 10, in_features: int = 784,
                 hidden: tuple[int, ...] = (1000, 500, 250, 250, 250), input_noise: float = 0.3,
                 hidden_noise: float = 0.5, train_hidden_scales: bool = False, features_at: int = -1,
                 direction_std: float = 0.05) -> None:
        super().__init__()
        if not -len(hidden) <= features_at < len(hidden):
            raise ValueError(f"features_at must index one of the {len(hidden)} hidden layers, got {features_at}")
        sizes = (in_features, *hidden, num_classes)
        self.widths = sizes[:-1]  # each layer's input width
        last = len(sizes) - 2
        self.directions = nn.ParameterList(nn.Parameter(torch.randn(b, a) * direction_std)
                                           for a, b in zip(sizes, sizes[1:]))
        self.scales = nn.ParameterList(nn.Parameter(torch.ones(b), requires_grad=train_hidden_scales or i == last)
                                       for i, b in enumerate(sizes[1:]))
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(b)) for b in sizes[1:])
        self.noise_std = (input_noise,) + (hidden_noise,) * len(hidden)
        self.features_at = features_at % len(hidden)

    def layers(self, dtype: torch.dtype | None = None, count: int | None = None) -> list[tuple[torch.Tensor, ...]]:
        """Each layer's (direction v, per-unit factor scale / |v|, bias); those of the first
        `count` layers (all when None) cast to `dtype` when given. The layer computes
        (x v^T) * factor + bias, which equals x w^T + bias with the normalised weight
        w = v * factor, without writing w out (a pass over every weight saved forward and
        backward)."""
        out = []
        for i, (v, scale, bias) in enumerate(zip(self.directions, self.scales, self.biases)):
            factor = scale / torch.linalg.vector_norm(v, dim=1)
            cast = dtype is not None and (count is None or i < count)
            out.append((v.to(dtype), factor.to(dtype), bias.to(dtype)) if cast else (v, factor, bias))
        return out

    def draw_noise(self, rows: int) -> list[torch.Tensor]:
        """One forward pass's noise, one (rows, width) tensor per layer, drawn into one buffer."""
        device = self.directions[0].device
        flat = torch.empty(rows * sum(self.widths), device=device)
        chunks = flat.split([rows * width for width in self.widths])
        for chunk, std in zip(chunks, self.noise_std):
            chunk.normal_(0.0, std)
        return [chunk.view(rows, width) for chunk, width in zip(chunks, self.widths)]

    def forward(self, x: torch.Tensor, layers: list[tuple[torch.Tensor, ...]] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        layers = self.layers() if layers is None else layers
        h = x.flatten(1)
        noise = self.draw_noise(len(h)) if self.training else [None] * len(layers)
        features = h
        for i, ((v, factor, bias), n) in enumerate(zip(layers, noise)):
            h = h.to(v.dtype) if n is None else h.to(v.dtype) + n.to(v.dtype)
            h = torch.addcmul(bias, F.linear(h, v), factor)
            if i < len(layers) - 1:
                h = F.relu(h)
                if i == self.features_at:
                    features = h
        return h, features

    @torch.no_grad()
    def data_init(self, x: torch.Tensor) -> None:
        """Data-dependent initialisation (Salimans & Kingma 2016, section 3): set each layer's scale
        and bias so that its pre-activations on `x` have mean 0 and standard deviation 1, layer by
        layer, with the training noise on (as in the paper's code, 500 training images)."""
        h = x.flatten(1).float()
        for i, (v, scale, bias, std) in enumerate(zip(self.directions, self.scales, self.biases, self.noise_std)):
            if self.training and std > 0:
                h = h + std * torch.randn_like(h)
            pre = F.linear(h, v) * (scale / torch.linalg.vector_norm(v, dim=1))
            mean = pre.mean(0)
            spread = (pre - mean).pow(2).mean(0).sqrt().clamp_min(1e-8)
            scale.div_(spread)
            bias.copy_(-mean / spread)
            h = F.relu((pre - mean) / spread) if i < len(self.directions) - 1 else h


class MLPImageGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, 784) in [0, 1]. `paper_init`: as the paper's code builds it
    (Lasagne): Glorot-uniform weights, BatchNorm without a trained scale (epsilon 1e-6), and the
    weight-normalised output layer's scales starting at 1; otherwise torch's defaults (the output
    scales start at each row's norm)."""

    def __init__(self, latent_dim: int = 100, out_features: int = 784, paper_init: bool = False) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 500, bias=False), nn.BatchNorm1d(500), nn.Softplus(),
            nn.Linear(500, 500, bias=False), nn.BatchNorm1d(500), nn.Softplus(),
            weight_norm(nn.Linear(500, out_features)), nn.Sigmoid())
        if paper_init:
            with torch.no_grad():
                for module in self.net:
                    if isinstance(module, nn.BatchNorm1d):
                        module.eps = 1e-6
                        module.weight.requires_grad_(False)  # stays 1: the state dict keeps its keys
                    elif isinstance(module, nn.Linear) and not hasattr(module, "parametrizations"):
                        nn.init.xavier_uniform_(module.weight)
                output = self.net[6]
                direction = nn.init.xavier_uniform_(torch.empty_like(output.weight))
                output.parametrizations.weight.original1.copy_(direction)
                output.parametrizations.weight.original0.fill_(1.0)
                nn.init.zeros_(output.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
