"""The classic DCGAN (Radford, Metz & Chintala 2016), for 28x28 and any power of two >= 16.

Generator: z (latent_dim) -> (start x start x width*2^(n-1)) by a transposed conv (a dense layer
in conv form) -> n-1 stride-2 transposed convs halving channels, each BatchNorm + ReLU ->
a last stride-2 transposed conv to `channels` -> tanh. At 64x64 with width 64 this is the paper's
100 -> 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3.

Discriminator: the mirror image, stride-2 4x4 convs with LeakyReLU(0.2) and optional dropout,
BatchNorm on inner layers (not on the first), and a last conv to one *logit* per image: no
sigmoid, the losses work on logits.

Class-conditional (num_classes > 0), a conditional DCGAN (cGAN, Mirza & Osindero 2014): the
generator joins a learnt class embedding to z (the first layer takes 2 x latent_dim channels), and
the discriminator adds the projection of its last feature map, summed over positions, onto the
class's embedding (Miyato & Koyama 2018), or with class_head="acgan" returns class logits from
those summed features as well (Odena et al. 2017); "projection+acgan" does both. Unconditional
networks keep the layers (and checkpoint keys) they always had.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.models.layers import ClassEmbedding, check_class_head, check_labels, upsampling_plan


class DCGANGenerator(nn.Module):
    """z: (N, latent_dim) float, labels (N,) int when conditional -> images (N, channels,
    image_size, image_size) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, channels: int = 1, image_size: int = 28, width: int = 64,
                 num_classes: int = 0) -> None:
        super().__init__()
        start, stages = upsampling_plan(image_size)
        self.latent_dim, self.channels, self.image_size = latent_dim, channels, image_size
        self.num_classes = num_classes
        if num_classes:
            self.embed = ClassEmbedding(num_classes, latent_dim)
        c = width * 2 ** (stages - 1)
        inputs = latent_dim * (2 if num_classes else 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(inputs, c, start, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_labels(labels, self.num_classes, z.shape[0])
        if self.num_classes:
            z = self.embed.join(z, labels)
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """images (N, channels, image_size, image_size) in [-1, 1], labels (N,) with the projection
    head -> logits (N,); with an AC-GAN head -> (logits (N,), class logits (N, num_classes)).

    With `spectral_norm`, every conv is spectrally normalised and the BatchNorm layers are left
    out (as in SNGAN): the two fight over the layers' scale.
    """

    def __init__(self, channels: int = 1, image_size: int = 28, width: int = 64, dropout: float = 0.0,
                 spectral_norm: bool = False, num_classes: int = 0, class_head: str = "projection") -> None:
        super().__init__()
        projection, classifier = check_class_head(class_head)
        start, stages = upsampling_plan(image_size)
        self.channels, self.image_size = channels, image_size
        self.num_classes = num_classes
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
        self.net = nn.Sequential(*layers)  # the features, then the last conv to one logit
        self.projection = sn(nn.Embedding(num_classes, c)) if num_classes and projection else None
        self.classifier = sn(nn.Linear(c, num_classes)) if num_classes and classifier else None

    def forward(self, images: torch.Tensor,
                labels: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if not self.num_classes:
            return self.net(images).view(-1)
        if self.projection is not None:
            check_labels(labels, self.num_classes, images.shape[0])
        features = self.net[:-1](images)
        logits = self.net[-1](features).view(-1)
        h = features.sum((2, 3))
        if self.projection is not None:
            logits = logits + (self.projection(labels) * h).sum(1)
        return logits if self.classifier is None else (logits, self.classifier(h))
