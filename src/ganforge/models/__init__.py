"""Model families, looked up by name through ARCHITECTURES."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch import nn

from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganforge.models.fastgan import FastGANDiscriminator, FastGANGenerator
from ganforge.models.layers import CLASS_HEADS, init_dcgan_weights, init_resnet_weights
from ganforge.models.resnet import ResNetDiscriminator, ResNetGenerator
from ganforge.models.spectral import start_power_iteration
from ganforge.models.stylegan import StyleGenerator, init_stylegan_weights
from ganforge.registry import Registry

if TYPE_CHECKING:  # the run schema sits above the models it names
    from ganforge.config import DataConfig, ModelConfig

__all__ = ["ARCHITECTURES", "CLASS_HEADS", "build_generator", "build_discriminator", "DCGANGenerator", "DCGANDiscriminator",
           "ResNetGenerator", "ResNetDiscriminator", "StyleGenerator", "FastGANGenerator", "FastGANDiscriminator",
           "is_conditional", "generate"]


class Architecture:
    """How to build one family's generator and discriminator from a run's config. auxiliary: the
    name of D's self-supervised loss (`ganforge.losses.SELF_SUPERVISED`), computed from what D
    returns when called with auxiliary=True; None: D has no such task."""

    def __init__(self, generator: Callable[[ModelConfig, DataConfig], nn.Module],
                 discriminator: Callable[[ModelConfig, DataConfig], nn.Module],
                 init: Callable[[nn.Module, torch.Generator | None], None], auxiliary: str | None = None) -> None:
        self.generator, self.discriminator, self.init, self.auxiliary = generator, discriminator, init, auxiliary


ARCHITECTURES: Registry[Architecture] = Registry("architecture")
ARCHITECTURES.register("dcgan")(Architecture(
    generator=lambda m, d: DCGANGenerator(m.latent_dim, d.channels, d.image_size, m.width, m.num_classes),
    discriminator=lambda m, d: DCGANDiscriminator(d.channels, d.image_size, m.width, m.dropout, m.spectral_norm,
                                                  m.num_classes, m.class_head),
    init=init_dcgan_weights,
))
ARCHITECTURES.register("resnet")(Architecture(
    generator=lambda m, d: ResNetGenerator(m.latent_dim, d.channels, d.image_size, m.width, m.attention_res,
                                           m.num_classes),
    discriminator=lambda m, d: ResNetDiscriminator(d.channels, d.image_size, m.width, m.spectral_norm,
                                                   m.attention_res, m.num_classes, m.class_head),
    init=init_resnet_weights,
))
ARCHITECTURES.register("stylegan")(Architecture(
    generator=lambda m, d: StyleGenerator(m.latent_dim, d.channels, d.image_size, m.width, m.num_classes,
                                          m.mapping_depth, m.noise_inputs),
    discriminator=lambda m, d: ResNetDiscriminator(d.channels, d.image_size, m.width, m.spectral_norm,
                                                   None, m.num_classes, m.class_head),
    init=init_stylegan_weights,
))
ARCHITECTURES.register("fastgan")(Architecture(
    generator=lambda m, d: FastGANGenerator(m.latent_dim, d.channels, d.image_size, m.width),
    discriminator=lambda m, d: FastGANDiscriminator(d.channels, d.image_size, m.width, m.spectral_norm),
    init=init_dcgan_weights,  # the paper's: N(0, 0.02) convs, N(1, 0.02) BatchNorm scales
    auxiliary="reconstruction",
))


def is_conditional(net: nn.Module) -> bool:
    """Whether a generator or discriminator takes class labels."""
    return getattr(net, "num_classes", 0) > 0


def generate(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """generator(z), or generator(z, labels) for a conditional one (labels (N,) int)."""
    return generator(z) if labels is None else generator(z, labels)


def _build(part: str, model: ModelConfig, data: DataConfig, seed: int | None) -> nn.Module:
    arch = ARCHITECTURES.get(model.arch)
    net = getattr(arch, part)(model, data)
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
        arch.init(net, generator)
        start_power_iteration(net, generator)  # torch draws spectral norm's u and v from the global RNG
    return net


def build_generator(model: ModelConfig, data: DataConfig, seed: int | None = None) -> nn.Module:
    """The generator of `model.arch`, initialised from `seed` (None: leave default init)."""
    return _build("generator", model, data, seed)


def build_discriminator(model: ModelConfig, data: DataConfig, seed: int | None = None) -> nn.Module:
    """The discriminator of `model.arch`, initialised from `seed` (None: leave default init)."""
    return _build("discriminator", model, data, seed)
