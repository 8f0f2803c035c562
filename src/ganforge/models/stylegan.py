"""A light StyleGAN2-like generator (Karras et al. 2020) in plain PyTorch: no custom CUDA ops.

Mapping: z, normalised to unit second moment (with a normalised class embedding concatenated
when conditional) -> `mapping_depth` linear layers with leaky ReLU at a 0.01 learning-rate
multiplier -> w. A running mean `w_avg` (updated in training mode) gives the truncation trick
w' = w_avg + psi (w - w_avg).

Synthesis: a learned constant at the start resolution; per resolution two modulated 3x3 convs
(the first after a bilinear x2 upsampling) with weight demodulation, per-pixel noise scaled by a
learned strength (starting at 0), bias, and leaky ReLU x sqrt(2); a modulated 1x1 toRGB at every
resolution summed into an upsampled RGB skip path; tanh keeps images in [-1, 1] like ganforge's
other generators. All weights use the equalised learning rate (N(0, 1) storage, scaled by
1/sqrt(fan_in) at run time).

Left out of the full StyleGAN2 ("lite"): style mixing and path-length regularisation, per-layer
w (W+), the blur filters of up/down-sampling, and the minibatch-stddev discriminator. The
discriminator is ganforge's ResNet one (StyleGAN2 also uses a residual D), regularised with R1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.models.layers import check_labels, init_resnet_weights, upsampling_plan

_GAIN = math.sqrt(2.0)  # keeps activations' variance through leaky ReLU layers


def _second_moment_normalise(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * torch.rsqrt(x.square().mean(1, keepdim=True) + eps)


class EqualLinear(nn.Module):
    """y = x W^T scale + b lr_mul with W ~ N(0, 1/lr_mul^2) stored, scale = lr_mul / sqrt(in)."""

    def __init__(self, c_in: int, c_out: int, lr_mul: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((c_out,), float(bias_init)))
        self.lr_mul, self.bias_init, self.scale = lr_mul, bias_init, lr_mul / math.sqrt(c_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)

    @torch.no_grad()
    def init_weights(self, generator: torch.Generator | None) -> None:
        self.weight.normal_(0.0, 1.0 / self.lr_mul, generator=generator)
        self.bias.fill_(self.bias_init)


class MappingNetwork(nn.Module):
    """z (N, latent_dim) [+ labels (N,)] -> w (N, w_dim)."""

    def __init__(self, latent_dim: int, w_dim: int, depth: int = 4, num_classes: int = 0,
                 lr_mul: float = 0.01, w_avg_beta: float = 0.995) -> None:
        super().__init__()
        self.num_classes, self.w_avg_beta = num_classes, w_avg_beta
        self.embed = EqualLinear(num_classes, latent_dim) if num_classes else None
        dims = [latent_dim * (2 if num_classes else 1)] + [w_dim] * depth
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:]))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation: float = 1.0) -> torch.Tensor:
        x = _second_moment_normalise(z)
        if self.embed is not None:
            one_hot = labels if labels.ndim == 2 else F.one_hot(labels, self.num_classes)  # soft labels mix
            y = self.embed(one_hot.to(z.dtype))
            x = torch.cat([x, _second_moment_normalise(y)], dim=1)
        for layer in self.layers:
            x = F.leaky_relu(layer(x), 0.2) * _GAIN
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        if truncation != 1.0:
            x = self.w_avg.to(x.dtype).lerp(x, truncation)
        return x


class ModulatedConv2d(nn.Module):
    """A conv whose input channels are scaled per sample by a style from w, with the output
    optionally demodulated to unit variance: x (N, C_in, H, W), w (N, w_dim) -> (N, C_out, H', W').

    Computed as scale-input, shared conv, scale-output (StyleGAN2's non-fused form), which is
    exactly the per-sample modulated kernel and fast on CPUs.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, w_dim: int, demodulate: bool = True,
                 upsample: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)  # styles start at 1: plain convs
        self.scale = 1.0 / math.sqrt(c_in * kernel * kernel)
        self.demodulate, self.upsample, self.padding = demodulate, upsample, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        style = self.affine(w)  # (N, C_in)
        weight = self.weight * self.scale
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = F.conv2d(x * style[:, :, None, None], weight, padding=self.padding)
        if self.demodulate:  # 1 / ||W * style|| per sample and output channel
            norms = (weight.square().sum((2, 3))[None] * style.square()[:, None, :]).sum(2)  # (N, C_out)
            out = out * torch.rsqrt(norms + 1e-8)[:, :, None, None]
        return out

    @torch.no_grad()
    def init_weights(self, generator: torch.Generator | None) -> None:
        self.weight.normal_(0.0, 1.0, generator=generator)


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv, + noise x strength, + bias, leaky ReLU x sqrt(2). Noise is fresh in
    training mode and a fixed buffer in eval mode, so sampling is deterministic."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, resolution: int, upsample: bool = False,
                 noise: bool = True) -> None:
        super().__init__()
        self.use_noise = noise
        self.conv = ModulatedConv2d(c_in, c_out, 3, w_dim, upsample=upsample)
        self.bias = nn.Parameter(torch.zeros(c_out))
        if noise:  # without noise there are no such weights (DDP wants every parameter used)
            self.noise_strength = nn.Parameter(torch.zeros(()))
            self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = self.conv(x, w)
        if not self.use_noise:
            return F.leaky_relu(x + self.bias[:, None, None], 0.2) * _GAIN
        if self.training:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        else:
            noise = self.noise_const.to(x.dtype)
        x = x + noise * self.noise_strength + self.bias[:, None, None]
        return F.leaky_relu(x, 0.2) * _GAIN

    @torch.no_grad()
    def init_weights(self, generator: torch.Generator | None) -> None:
        if self.use_noise:
            self.noise_const.normal_(0.0, 1.0, generator=generator)


class ToRGB(nn.Module):
    def __init__(self, c_in: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(c_in, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[:, None, None]


class StyleGenerator(nn.Module):
    """z (N, latent_dim), labels (N,) when conditional -> images (N, channels, size, size) in
    [-1, 1]. `mapping` and `synthesis` are also usable apart (inversion in w space)."""

    def __init__(self, latent_dim: int = 128, channels: int = 3, image_size: int = 32, width: int = 64,
                 num_classes: int = 0, mapping_depth: int = 4, noise: bool = True) -> None:
        super().__init__()
        start, stages = upsampling_plan(image_size)
        self.latent_dim, self.channels, self.image_size, self.num_classes = latent_dim, channels, image_size, num_classes
        self.w_dim = latent_dim
        widths = [width * 2 ** max(stages - 1 - i, 0) for i in range(stages + 1)]
        self.mapping = MappingNetwork(latent_dim, self.w_dim, mapping_depth, num_classes)
        self.const = nn.Parameter(torch.randn(1, widths[0], start, start))
        self.layers = nn.ModuleList([SynthesisLayer(widths[0], widths[0], self.w_dim, start, noise=noise)])
        self.to_rgb = nn.ModuleList([ToRGB(widths[0], channels, self.w_dim)])
        for i in range(stages):
            size = start * 2 ** (i + 1)
            self.layers.append(SynthesisLayer(widths[i], widths[i + 1], self.w_dim, size, upsample=True, noise=noise))
            self.layers.append(SynthesisLayer(widths[i + 1], widths[i + 1], self.w_dim, size, noise=noise))
            self.to_rgb.append(ToRGB(widths[i + 1], channels, self.w_dim))

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        """w (N, w_dim) -> images (N, channels, size, size) in [-1, 1]."""
        x = self.const.expand(w.shape[0], -1, -1, -1)
        x = self.layers[0](x, w)
        rgb = self.to_rgb[0](x, w)
        for i, to_rgb in enumerate(self.to_rgb[1:]):
            x = self.layers[2 * i + 2](self.layers[2 * i + 1](x, w), w)
            rgb = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False) + to_rgb(x, w)
        return torch.tanh(rgb)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation: float = 1.0) -> torch.Tensor:
        check_labels(labels, self.num_classes, z.shape[0])
        return self.synthesis(self.mapping(z, labels, truncation))

    @torch.no_grad()
    def init_weights(self, generator: torch.Generator | None) -> None:
        self.const.normal_(0.0, 1.0, generator=generator)


@torch.no_grad()
def init_stylegan_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Equalised-lr layers back to N(0, 1) storage, noise buffers redrawn; plain layers (the
    ResNet discriminator) get the ResNet initialisation."""
    init_resnet_weights(module, generator)
    for m in module.modules():
        if hasattr(m, "init_weights"):
            m.init_weights(generator)
