"""ResNet generator and discriminator in the SNGAN style (Miyato et al. 2018; Gulrajani et al.
2017), with an optional self-attention block (SAGAN, Zhang et al. 2019).

Generator: z -> linear -> start x start x (width * 2^(n-1)) -> n up-blocks halving channels
(BN, ReLU, nearest x2, 3x3 conv, BN, ReLU, 3x3 conv; 1x1 conv shortcut) -> BN, ReLU, 3x3 conv
-> tanh. Discriminator: n down-blocks doubling channels (ReLU, 3x3 conv, ReLU, 3x3 conv,
avg-pool; the first without the leading ReLU) -> ReLU -> sum over space -> linear logit; no
BatchNorm, spectral norm on every layer when asked.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.models.layers import upsampling_plan


def _identity(layer: nn.Module) -> nn.Module:
    return layer


class SelfAttention(nn.Module):
    """x + gamma * attention(x) over all positions; gamma starts at 0, so the block starts as
    the identity and the network learns how much to use it."""

    def __init__(self, channels: int, sn=_identity) -> None:
        super().__init__()
        inner = max(channels // 8, 1)
        self.query = sn(nn.Conv2d(channels, inner, 1, bias=False))
        self.key = sn(nn.Conv2d(channels, inner, 1, bias=False))
        self.value = sn(nn.Conv2d(channels, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (n, hw, inner)
        k = self.key(x).flatten(2)  # (n, inner, hw)
        attention = torch.softmax(q @ k, dim=-1)  # (n, hw, hw)
        v = self.value(x).flatten(2)  # (n, c, hw)
        return x + self.gamma * (v @ attention.transpose(1, 2)).view(n, c, h, w)


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, 1, 1), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DownBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, first: bool, sn=_identity) -> None:
        super().__init__()
        self.first = first
        self.conv1, self.conv2 = sn(nn.Conv2d(c_in, c_out, 3, 1, 1)), sn(nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.shortcut = sn(nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(h))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


class ResNetGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, channels, image_size, image_size) in [-1, 1]."""

    def __init__(self, latent_dim: int = 128, channels: int = 3, image_size: int = 32, width: int = 64,
                 attention_res: int | None = None) -> None:
        super().__init__()
        self.start, stages = upsampling_plan(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        c = width * 2 ** (stages - 1)
        self.c0 = c
        self.linear = nn.Linear(latent_dim, self.start * self.start * c)
        blocks: list[nn.Module] = []
        size = self.start
        for _ in range(stages):
            blocks.append(UpBlock(c, max(c // 2, width)))
            c, size = max(c // 2, width), size * 2
            if size == attention_res:
                blocks.append(SelfAttention(c))
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(True), nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.linear(z).view(z.shape[0], self.c0, self.start, self.start)
        return self.out(self.blocks(x))


class ResNetDiscriminator(nn.Module):
    """images (N, channels, image_size, image_size) -> logits (N,)."""

    def __init__(self, channels: int = 3, image_size: int = 32, width: int = 64, spectral_norm: bool = True,
                 attention_res: int | None = None) -> None:
        super().__init__()
        _, stages = upsampling_plan(image_size)
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else _identity
        blocks: list[nn.Module] = []
        c_in, c, size = channels, width, image_size
        for i in range(stages):
            if size == attention_res and i > 0:
                blocks.append(SelfAttention(c_in, sn))
            blocks.append(DownBlock(c_in, c, first=i == 0, sn=sn))
            c_in, c, size = c, c * 2, size // 2
        self.blocks = nn.Sequential(*blocks)
        self.linear = sn(nn.Linear(c_in, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.blocks(images)).sum((2, 3))
        return self.linear(h).view(-1)
