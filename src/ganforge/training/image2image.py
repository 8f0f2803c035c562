"""Training image-to-image networks (pix2pix, Isola et al. 2017; context encoders, Pathak et al.
2016): a U-Net G from input x to output y, optionally against a conditional PatchGAN D.

    loss_D = 1/2 [BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)]
    loss_G = adversarial_weight * BCE(D(x, G(x)), 1) + l1_weight * |G(x) - y|_1

adversarial_weight = 0 trains the same U-Net with L1 alone (no D): the ablation pix2pix reports.
reconstruction="cross_entropy" is for label maps (y one-hot in {-1, +1}): G outputs per-pixel
logits, the L1 term becomes cross-entropy against argmax y (weighted by the same l1_weight), and
D judges the softmax probabilities mapped to [-1, 1], the same range as the one-hot targets.
Batches come from a function of a seeded torch.Generator, so inputs can be made on the fly
(random masks for inpainting, scenes for segmentation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ganforge.loop import Loop, adam
from ganforge.losses import discriminator_loss_bce, generator_loss_nonsaturating
from ganforge.models.layers import init_dcgan_weights
from ganforge.models.unet import PatchDiscriminator, UNetGenerator

RECONSTRUCTIONS = ("l1", "cross_entropy")  # the per-pixel terms G can be trained with
Batch = tuple[torch.Tensor, torch.Tensor]  # (inputs (N, C_in, H, W), targets (N, C_out, H, W)), in [-1, 1]


@dataclass
class Image2ImageConfig:
    in_channels: int
    out_channels: int
    depth: int = 3
    width: int = 32
    dropout: float = 0.0
    steps: int = 2000
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    l1_weight: float = 100.0  # pix2pix's lambda, on the L1 or the cross-entropy term
    adversarial_weight: float = 1.0  # 0: L1 only
    reconstruction: str = "l1"  # or "cross_entropy" (label maps)
    seed: int = 0
    log_every: int = 100

    def network_config(self) -> dict:
        """What UNetGenerator needs to be rebuilt (saved with its weights)."""
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, "depth": self.depth,
                "width": self.width, "dropout": self.dropout,
                "output": "logits" if self.reconstruction == "cross_entropy" else "tanh"}

    def __post_init__(self) -> None:
        if self.reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"reconstruction must be one of {', '.join(RECONSTRUCTIONS)}, got {self.reconstruction!r}")


@dataclass
class Image2ImageResult:
    generator: UNetGenerator
    history: list[dict] = field(default_factory=list)  # {"step", "l1" or "cross_entropy", "loss_d", "loss_g_adv"}


def train_image_to_image(config: Image2ImageConfig, batches: Callable[[torch.Generator], Batch],
                         device: torch.device | str = "cpu", progress: bool = False) -> Image2ImageResult:
    """Train for config.steps; batches(rng) returns one batch (on any device)."""
    device = torch.device(device)
    init = torch.Generator().manual_seed(config.seed)
    generator = UNetGenerator(**config.network_config()).to(device)
    init_dcgan_weights(generator, init)
    opt_g = adam(generator.parameters(), config.lr, config.betas)
    adversarial = config.adversarial_weight > 0
    classify = config.reconstruction == "cross_entropy"
    if adversarial:
        discriminator = PatchDiscriminator(config.in_channels + config.out_channels, config.width).to(device)
        init_dcgan_weights(discriminator, init)
        opt_d = adam(discriminator.parameters(), config.lr, config.betas)
    rng = torch.Generator().manual_seed(config.seed + 1)
    torch.manual_seed(config.seed)  # dropout

    def step(_: int) -> dict[str, torch.Tensor]:
        x, y = (t.to(device) for t in batches(rng))
        out = generator(x)
        fake = out.softmax(1) * 2 - 1 if classify else out  # what D sees, in y's range
        record = {}
        if adversarial:
            loss_d = 0.5 * discriminator_loss_bce(discriminator(x, y).flatten(), discriminator(x, fake.detach()).flatten())
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            discriminator.requires_grad_(False)
            adv = generator_loss_nonsaturating(discriminator(x, fake).flatten())
            discriminator.requires_grad_(True)
            record = {"loss_d": loss_d.detach(), "loss_g_adv": adv.detach()}
        reconstruction = F.cross_entropy(out, y.argmax(1)) if classify else F.l1_loss(out, y)
        loss_g = config.l1_weight * reconstruction
        if adversarial:
            loss_g = loss_g + config.adversarial_weight * adv
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        record["cross_entropy" if classify else "l1"] = reconstruction.detach()
        return record

    history = Loop(steps=config.steps, log_every=config.log_every, progress=progress, desc="image-to-image").run(step)
    return Image2ImageResult(generator.eval(), history)
