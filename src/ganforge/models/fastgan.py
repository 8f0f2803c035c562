"""FastGAN (Liu et al. 2021, "Towards Faster and Stabilized GAN Training for High-fidelity Few-shot
Image Synthesis"), written from the paper: a light generator whose skip-layer excitation (SLE)
lets low-resolution features gate high-resolution channels, and a discriminator trained with a
self-supervised reconstruction task on its own feature maps besides the adversarial loss.

Generator: z (N, latent_dim) -> 4x4 (7x7 for 28 px) by a transposed conv + BN + GLU -> up-blocks
(nearest x2, 3x3 conv, BN, GLU: the GLU halves the conv's 2c channels to c) -> 3x3 conv -> tanh.
An SLE block gates every resolution from min(128, size / 2) up with the features 16x smaller (at
least the start): 8 -> 128 and 16 -> 256 at 256 px as in the paper, 4 -> 32 and 4 -> 64 at 64 px.
Channels at resolution r: width x min(size / r, 16) (width = the last layer's).

Discriminator: 3x3 conv stem at full resolution (so that 16 px images have a 16x16 map too) ->
down-blocks halving down to 8x8 (7x7 for 28 px) (the paper's residual down-block: 4x4 stride-2
conv, BN, LeakyReLU, 3x3 conv, BN, LeakyReLU, averaged with avg-pool + 1x1 conv, BN, LeakyReLU)
-> 1x1 conv, BN, LeakyReLU, 4x4 conv -> the mean of its 5x5 (4x4) patch logits (the paper keeps
the patches). Spectral norm on its convs when asked (the paper's code has it). Asked with
`auxiliary=True`, D also decodes two images from its features, the paper's self-supervision:
the whole 8x8 map into the image at half its size, and one random quarter of the 16x16 map into
that quarter of the image; `ganforge.losses.self_supervised` scores them (L1; the paper uses
LPIPS). Unlike the paper's, this D sees one resolution of the image, not two.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.models.layers import upsampling_plan

MAX_CHANNEL_FACTOR = 16  # channels stop growing at width x 16 towards low resolutions


def _identity(layer: nn.Module) -> nn.Module:
    return layer


def channels_at(image_size: int, resolution: int, width: int) -> int:
    """Feature channels at `resolution` in a network for `image_size` images."""
    return width * min(image_size // resolution, MAX_CHANNEL_FACTOR)


def excitations(image_size: int) -> list[tuple[int, int]]:
    """[(gated resolution, source resolution)] of the generator's SLE blocks."""
    start, stages = upsampling_plan(image_size)
    sizes = [start * 2 ** i for i in range(1, stages + 1)]
    return [(r, max(r // 16, start)) for r in sizes if r >= min(128, image_size // 2)]


def quarter(x: torch.Tensor, index: int) -> torch.Tensor:
    """Quarter `index` of a map (..., H, W): 0 top left, 1 top right, 2 bottom left, 3 bottom right."""
    h, w = x.shape[-2] // 2, x.shape[-1] // 2
    row, col = divmod(index, 2)
    return x[..., row * h:(row + 1) * h, col * w:(col + 1) * w]


class SkipLayerExcitation(nn.Module):
    """high (N, C_high, H, W) x sigmoid(conv1x1(LeakyReLU_0.1(conv4x4(avgpool_4x4(low))))): a
    per-channel gate in (0, 1) computed from a low-resolution map low (N, C_low, h, w)."""

    def __init__(self, low_channels: int, high_channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.squeeze = nn.Conv2d(low_channels, high_channels, 4)  # 4x4 -> 1x1
        self.excite = nn.Conv2d(high_channels, high_channels, 1)

    def gate(self, low: torch.Tensor) -> torch.Tensor:
        """(N, C_high, 1, 1) in (0, 1)."""
        return torch.sigmoid(self.excite(F.leaky_relu(self.squeeze(self.pool(low)), 0.1)))

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.gate(low)


class UpBlock(nn.Module):
    """(N, c_in, H, W) -> nearest x2, 3x3 conv to 2 c_out, BN, GLU -> (N, c_out, 2H, 2W)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False)
        self.norm = nn.BatchNorm2d(2 * c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.glu(self.norm(self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))), dim=1)


class FastGANGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, channels, image_size, image_size) in [-1, 1]."""

    def __init__(self, latent_dim: int = 256, channels: int = 3, image_size: int = 64, width: int = 16) -> None:
        super().__init__()
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        self.start, stages = upsampling_plan(image_size)
        sizes = [self.start * 2 ** i for i in range(stages + 1)]
        c = {r: channels_at(image_size, r, width) for r in sizes}
        self.input = nn.Sequential(nn.ConvTranspose2d(latent_dim, 2 * c[self.start], self.start, bias=False),
                                   nn.BatchNorm2d(2 * c[self.start]), nn.GLU(1))
        self.blocks = nn.ModuleList(UpBlock(c[r], c[2 * r]) for r in sizes[:-1])
        self.sources = dict(excitations(image_size))  # gated resolution -> source resolution
        self.sle = nn.ModuleDict({str(r): SkipLayerExcitation(c[low], c[r]) for r, low in self.sources.items()})
        self.to_image = nn.Conv2d(c[image_size], channels, 3, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.input(z[:, :, None, None])
        features = {x.shape[-1]: x}
        for block in self.blocks:
            x = block(x)
            r = x.shape[-1]
            if r in self.sources:
                x = self.sle[str(r)](features[self.sources[r]], x)
            features[r] = x
        return torch.tanh(self.to_image(x))


class DownBlock(nn.Module):
    """The paper's residual down-block: (N, c_in, H, W) -> (N, c_out, H/2, W/2)."""

    def __init__(self, c_in: int, c_out: int, sn=_identity) -> None:
        super().__init__()
        self.main = nn.Sequential(
            sn(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))
        self.direct = nn.Sequential(nn.AvgPool2d(2), sn(nn.Conv2d(c_in, c_out, 1, bias=False)),
                                    nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.direct(x)) / 2


class Decoder(nn.Module):
    """A feature map (N, c_in, h, h) -> `ups` up-blocks halving channels (down to width) -> 3x3
    conv -> tanh: an image (N, channels, h 2^ups, h 2^ups) in [-1, 1]."""

    def __init__(self, c_in: int, channels: int, ups: int, width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(ups):
            layers.append(UpBlock(c_in, max(width, c_in // 2)))
            c_in = max(width, c_in // 2)
        self.net = nn.Sequential(*layers, nn.Conv2d(c_in, channels, 3, 1, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FastGANDiscriminator(nn.Module):
    """images (N, channels, image_size, image_size) -> logits (N,); with auxiliary=True ->
    (logits, {"reconstructions": (whole, part), "targets": (image at half size, its quarter)}),
    whole and part (N, channels, image_size / 2, image_size / 2) in [-1, 1]."""

    def __init__(self, channels: int = 3, image_size: int = 64, width: int = 16, spectral_norm: bool = True) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else _identity
        self.stem = nn.Sequential(sn(nn.Conv2d(channels, width, 3, 1, 1)), nn.LeakyReLU(0.2))
        blocks, r, c = [], image_size, width
        while r > 8:  # down to 8x8 (7x7 from 28 px)
            blocks.append(DownBlock(c, channels_at(image_size, r // 2, width), sn))
            r, c = r // 2, channels_at(image_size, r // 2, width)
        self.blocks = nn.ModuleList(blocks)
        self.small, self.part = r, 2 * r  # the maps the decoders read
        self.head = nn.Sequential(sn(nn.Conv2d(c, c, 1, bias=False)), nn.BatchNorm2d(c), nn.LeakyReLU(0.2),
                                  sn(nn.Conv2d(c, 1, 4)))
        ups = (image_size // 2 // r).bit_length() - 1  # the decoded images have half the input's size
        self.decode_whole = Decoder(c, channels, ups, width)
        self.decode_part = Decoder(channels_at(image_size, self.part, width), channels, ups, width)

    def forward(self, images: torch.Tensor, auxiliary: bool = False):
        h = self.stem(images)
        part = h
        for block in self.blocks:
            if h.shape[-1] == self.part:
                part = h
            h = block(h)
        logits = self.head(h).mean((1, 2, 3))
        if not auxiliary:
            return logits
        index = int(torch.randint(4, ()))  # which quarter: the global RNG, saved with checkpoints
        half = F.interpolate(images, scale_factor=0.5, mode="area")
        return logits, {"reconstructions": (self.decode_whole(h), self.decode_part(quarter(part, index))),
                        "targets": (half, quarter(images, index))}
