"""Gradient penalties on the discriminator, as pure functions returning a scalar to add to its loss."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ganforge.registry import Registry


def _input_gradients(discriminator: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """d sum(D(inputs)) / d inputs, keeping the graph so the penalty can be back-propagated."""
    inputs = inputs.detach().requires_grad_(True)
    logits = discriminator(inputs).float()
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): mean (||grad D(x_hat)|| - 1)^2 at random points x_hat on
    lines between real and fake samples."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), generator=generator, device=real.device)
    mixed = alpha * real.detach() + (1 - alpha) * fake.detach()
    return ((_input_gradients(discriminator, mixed).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): 1/2 mean ||grad D(x)||^2 on real samples (times gamma outside)."""
    return 0.5 * (_input_gradients(discriminator, real) ** 2).sum(1).mean()


Penalty = Callable[..., torch.Tensor]
PENALTIES: Registry[Penalty] = Registry("penalty")
PENALTIES.register("gp")(gradient_penalty)
PENALTIES.register("r1")(r1_penalty)
