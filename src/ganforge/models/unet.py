"""Image-to-image networks in the pix2pix style (Isola et al. 2017).

UNetGenerator: an encoder of stride-2 4x4 convs (LeakyReLU 0.2, BatchNorm after the first) and
a decoder of stride-2 4x4 transposed convs (ReLU, BatchNorm, dropout on the innermost ones),
with skip connections concatenating each encoder level to the decoder level of the same size;
tanh output in [-1, 1] (or raw logits, output="logits", for per-pixel classification). Depth = number of halvings; the input size must be divisible by 2^depth.

PatchDiscriminator: stride-2 4x4 convs (LeakyReLU 0.2, BatchNorm after the first) then two
stride-1 3x3 convs (4x4 in the paper; 3x3 keeps small maps' sizes), one logit per overlapping patch; conditional on the input image by
concatenating it with the output being judged.

unet_depth: the deepest U-Net an image size allows (used by inpainting and segmentation).
"""

from __future__ import annotations

import torch
from torch import nn


def unet_depth(size: int, most: int = 4, smallest: int = 4) -> int:
    """The deepest U-Net (at most `most` halvings) whose innermost maps are whole and >= `smallest` px."""
    depth = 1
    while depth < most and size % 2 ** (depth + 1) == 0 and size // 2 ** (depth + 1) >= smallest:
        depth += 1
    return depth


class _Down(nn.Module):
    def __init__(self, c_in: int, c_out: int, norm: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not norm)]
        layers += [nn.BatchNorm2d(c_out)] if norm else []
        self.net = nn.Sequential(*layers, nn.LeakyReLU(0.2, True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _Up(nn.Module):
    def __init__(self, c_in: int, c_out: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                                   nn.ReLU(True)]
        layers += [nn.Dropout(dropout)] if dropout > 0 else []
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class UNetGenerator(nn.Module):
    """x (N, in_channels, H, W) -> (N, out_channels, H, W) in [-1, 1] (or logits)."""

    def __init__(self, in_channels: int, out_channels: int, depth: int = 3, width: int = 32,
                 dropout: float = 0.0, output: str = "tanh") -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if output not in ("tanh", "logits"):
            raise ValueError(f"output must be 'tanh' (images in [-1, 1]) or 'logits' (per-pixel classes), got {output!r}")
        self.depth, self.output = depth, output
        widths = [width * 2 ** min(i, 3) for i in range(depth)]  # 32, 64, 128, 256, 256, ...
        self.downs = nn.ModuleList(_Down(c_in, c_out, norm=i > 0)
                                   for i, (c_in, c_out) in enumerate(zip([in_channels] + widths[:-1], widths)))
        ups = []
        for i in reversed(range(1, depth)):  # from the bottom up to level 1
            c_in = widths[i] if i == depth - 1 else widths[i] * 2
            ups.append(_Up(c_in, widths[i - 1], dropout if i >= depth - 2 else 0.0))
        self.ups = nn.ModuleList(ups)
        self.out = nn.Sequential(nn.ConvTranspose2d(widths[0] * 2 if depth > 1 else widths[0], out_channels, 4, 2, 1),
                                 *([nn.Tanh()] if output == "tanh" else []))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2**self.depth or x.shape[-2] % 2**self.depth:
            raise ValueError(f"image size {tuple(x.shape[-2:])} must be divisible by 2^depth = {2 ** self.depth}")
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        for up, skip in zip(self.ups, reversed(skips[:-1])):
            x = torch.cat([up(x), skip], dim=1)
        return self.out(x)


class PatchDiscriminator(nn.Module):
    """(condition (N, c_cond, H, W), output (N, c_out, H, W)) -> patch logits (N, 1, h, w)."""

    def __init__(self, in_channels: int, width: int = 32, layers: int = 2) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in, c = in_channels, width
        for i in range(layers):
            blocks.append(_Down(c_in, c, norm=i > 0))
            c_in, c = c, min(c * 2, width * 8)
        blocks += [nn.Conv2d(c_in, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True),
                   nn.Conv2d(c, 1, 3, 1, 1)]
        self.net = nn.Sequential(*blocks)

    def forward(self, condition: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([condition, output], dim=1))
