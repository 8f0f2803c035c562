"""Building blocks shared by the model families."""

from __future__ import annotations

import math

import torch
from torch import nn


@torch.no_grad()
def init_dcgan_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """DCGAN initialisation (Radford et al. 2016): conv weights ~ N(0, 0.02), BatchNorm
    scale ~ N(1, 0.02), biases 0. `generator` makes it reproducible without global seeding."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(raw_weight(m), 0.0, 0.02, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02, generator=generator)
            nn.init.zeros_(m.bias)
        elif isinstance(m, ClassEmbedding):  # N(0, 1), like z: the class weighs as much as the latent
            m.weight.normal_(0.0, 1.0, generator=generator)
        elif isinstance(m, nn.Embedding):  # the projection discriminator's class embedding, like a weight
            nn.init.normal_(raw_weight(m), 0.0, 0.02, generator=generator)


@torch.no_grad()
def init_default_linear(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """nn.Linear's own default initialisation (uniform, Kaiming with a = sqrt(5); bias uniform in
    +-1/sqrt(fan_in)), drawn from `generator` so it is reproducible."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(raw_weight(m), a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                bound = 1 / math.sqrt(m.in_features)
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)


def raw_weight(layer: nn.Module) -> torch.Tensor:
    """The trainable weight: under spectral norm it lives in parametrizations.weight.original."""
    return layer.parametrizations.weight.original if nn.utils.parametrize.is_parametrized(layer, "weight") else layer.weight


def upsampling_plan(image_size: int) -> tuple[int, int]:
    """(start size, number of x2 stages) that reach `image_size`: 4 x 2^n, or 7 x 2^2 for 28."""
    if image_size == 28:
        return 7, 2
    if image_size >= 16 and image_size & (image_size - 1) == 0:
        return 4, int(math.log2(image_size // 4))
    raise ValueError(f"image_size must be 28 or a power of two >= 16, got {image_size}")


@torch.no_grad()
def init_resnet_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Xavier-uniform conv/linear weights, zero biases (the SNGAN reference initialisation);
    BatchNorm starts at scale 1, shift 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = raw_weight(m)
            fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(weight)
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            weight.uniform_(-bound, bound, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, ClassEmbedding):  # N(0, 1), like z: the class weighs as much as the latent
            m.weight.normal_(0.0, 1.0, generator=generator)
        elif isinstance(m, nn.Embedding):  # the projection discriminator's class embedding
            weight = raw_weight(m)
            bound = math.sqrt(6.0 / sum(weight.shape))
            weight.uniform_(-bound, bound, generator=generator)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ClassEmbedding(nn.Embedding):
    """A generator's input class embedding (initialised N(0, 1) like the latent it joins)."""

    def join(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """z (N, latent_dim) with the labels' embeddings joined: (N, 2 x latent_dim). Soft labels
        (N, K) mix the class embeddings."""
        y = labels.to(z.dtype) @ self.weight if labels.ndim == 2 else self(labels)
        return torch.cat([z, y], dim=1)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift are looked up per class (de Vries et al. 2017; Miyato &
    Koyama 2018): x (N, C, H, W), labels (N,) int in [0, num_classes) -> (N, C, H, W).
    Soft labels (N, num_classes) float mix the classes' scales and shifts (class morphs)."""

    def __init__(self, num_features: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.scale = nn.Parameter(torch.ones(num_classes, num_features))
        self.shift = nn.Parameter(torch.zeros(num_classes, num_features))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        if labels.ndim == 2:
            scale, shift = labels.to(h.dtype) @ self.scale, labels.to(h.dtype) @ self.shift
        else:
            scale, shift = self.scale[labels], self.shift[labels]
        return h * scale[:, :, None, None] + shift[:, :, None, None]


# How a conditional discriminator uses labels: the projection of its pooled features onto the class's
# embedding added to its logit, an AC-GAN classifier of those features, or both at once.
CLASS_HEADS = ("projection", "acgan", "projection+acgan")


def check_class_head(class_head: str) -> tuple[bool, bool]:
    """(projection?, auxiliary classifier?) of a valid head name."""
    if class_head not in CLASS_HEADS:
        raise ValueError(f"class_head must be one of {', '.join(CLASS_HEADS)}, got {class_head!r}")
    return "projection" in class_head, "acgan" in class_head


def check_labels(labels: torch.Tensor | None, num_classes: int, batch: int) -> None:
    """Conditional networks need labels (N,) int in [0, num_classes), or soft labels
    (N, num_classes) float (weights of each class, for morphs); unconditional ones none."""
    if num_classes == 0:
        if labels is not None:
            raise ValueError("this network is unconditional; call it without labels")
        return
    if labels is None:
        raise ValueError(f"this network is class-conditional ({num_classes} classes); pass labels (N,)")
    if labels.is_floating_point() and labels.shape == (batch, num_classes):
        return
    if labels.shape != (batch,) or labels.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"labels must be int64 of shape ({batch},) or float soft labels ({batch}, {num_classes}), "
                         f"got {labels.dtype} {tuple(labels.shape)}")
