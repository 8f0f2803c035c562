"""ResNet generator and discriminator in the SNGAN style (Miyato et al. 2018; Gulrajani et al.
2017), with an optional self-attention block (SAGAN, Zhang et al. 2019).

Generator: z -> linear -> start x start x (width * 2^(n-1)) -> n up-blocks halving channels
(BN, ReLU, nearest x2, 3x3 conv, BN, ReLU, 3x3 conv; 1x1 conv shortcut) -> BN, ReLU, 3x3 conv
-> tanh. Discriminator: n down-blocks doubling channels (ReLU, 3x3 conv, ReLU, 3x3 conv,
avg-pool; the first without the leading ReLU) -> ReLU -> sum over space -> linear logit; no
BatchNorm, spectral norm on every layer when asked.

Class-conditional (num_classes > 0): the generator's block BatchNorms take per-class scale and
shift (conditional BN), and a learned class embedding is concatenated to z at the input (as
BigGAN's shared embedding feeds its generator; it gives the class a strong signal from the first
step, where conditional BN alone starts identical for all classes); the discriminator adds the projection term <embed(y), h> to its logit
(Miyato & Koyama 2018), or with class_head="acgan" returns (logit, class logits) from an
auxiliary classifier instead and ignores labels (AC-GAN, Odena et al. 2017); "projection+acgan"
returns (logit with the projection term, class logits).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.models.layers import ClassEmbedding, ConditionalBatchNorm2d, check_class_head, check_labels, upsampling_plan


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
    def __init__(self, c_in: int, c_out: int, num_classes: int = 0) -> None:
        super().__init__()
        if num_classes:
            self.bn1, self.bn2 = ConditionalBatchNorm2d(c_in, num_classes), ConditionalBatchNorm2d(c_out, num_classes)
        else:
            self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conditional = num_classes > 0
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, 1, 1), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        norm = (lambda bn, t: bn(t, labels)) if self.conditional else (lambda bn, t: bn(t))
        h = F.interpolate(F.relu(norm(self.bn1, x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(norm(self.bn2, self.conv1(h))))
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
    """z (N, latent_dim), labels (N,) int when conditional -> images (N, channels, image_size,
    image_size) in [-1, 1]."""

    def __init__(self, latent_dim: int = 128, channels: int = 3, image_size: int = 32, width: int = 64,
                 attention_res: int | None = None, num_classes: int = 0) -> None:
        super().__init__()
        self.start, stages = upsampling_plan(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        self.num_classes = num_classes
        c = width * 2 ** (stages - 1)
        self.c0 = c
        self.embed = ClassEmbedding(num_classes, latent_dim) if num_classes else None
        self.linear = nn.Linear(latent_dim * (2 if num_classes else 1), self.start * self.start * c)
        blocks: list[nn.Module] = []
        size = self.start
        for _ in range(stages):
            blocks.append(UpBlock(c, max(c // 2, width), num_classes))
            c, size = max(c // 2, width), size * 2
            if size == attention_res:
                blocks.append(SelfAttention(c))
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(True), nn.Conv2d(c, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(labels, self.num_classes, z.shape[0])
        if self.embed is not None:
            z = self.embed.join(z, labels)
        x = self.linear(z).view(z.shape[0], self.c0, self.start, self.start)
        for block in self.blocks:
            x = block(x, labels) if isinstance(block, UpBlock) else block(x)
        return self.out(x)


class ResNetDiscriminator(nn.Module):
    """images (N, channels, image_size, image_size), labels (N,) with the projection head ->
    logits (N,); with the AC-GAN head -> (logits (N,), class logits (N, num_classes))."""

    def __init__(self, channels: int = 3, image_size: int = 32, width: int = 64, spectral_norm: bool = True,
                 attention_res: int | None = None, num_classes: int = 0, class_head: str = "projection") -> None:
        super().__init__()
        projection, classifier = check_class_head(class_head)
        self.num_classes = num_classes
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
        self.projection = sn(nn.Embedding(num_classes, c_in)) if num_classes and projection else None
        self.classifier = sn(nn.Linear(c_in, num_classes)) if num_classes and classifier else None

    def forward(self, images: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.projection is not None:
            check_labels(labels, self.num_classes, images.shape[0])
        h = F.relu(self.blocks(images)).sum((2, 3))
        logits = self.linear(h).view(-1)
        if self.projection is not None:
            logits = logits + (self.projection(labels) * h).sum(1)
        return logits if self.classifier is None else (logits, self.classifier(h))
