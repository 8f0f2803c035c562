"""Self-supervised losses of the discriminator: tasks on the real images D sees, computed from the
auxiliary outputs D returns when asked (`discriminator(images, auxiliary=True)`), added to D's
loss by the training step."""

from __future__ import annotations

from typing import Any, Callable

import torch

from ganforge.registry import Registry


def reconstruction_loss(outputs: dict[str, Any]) -> torch.Tensor:
    """FastGAN's self-supervision (Liu et al. 2021, section 3.2): the sum over D's decoded images
    of mean |reconstruction - target|. outputs: {"reconstructions": (N, C, H, W) tensors,
    "targets": tensors of the same shapes}. L1 where the paper uses LPIPS: no network to download."""
    pairs = zip(outputs["reconstructions"], outputs["targets"], strict=True)
    return sum((rec.float() - target.detach().float()).abs().mean() for rec, target in pairs)


AuxiliaryLoss = Callable[[dict[str, Any]], torch.Tensor]
SELF_SUPERVISED: Registry[AuxiliaryLoss] = Registry("self-supervised loss")
SELF_SUPERVISED.register("reconstruction")(reconstruction_loss)
