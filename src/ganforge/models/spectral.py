"""Spectral normalisation's power iteration, once per discriminator update and outside the
forward pass.

torch's spectral_norm parametrization updates its vectors u and v in place on every forward
pass in training mode. A GAN step calls D two to four times per update (real, fake, the
generator's pass, a penalty), so that is several iterations per update, and the in-place update
inside the forward is what stops `torch.compile` from compiling D (aot_autograd refuses a
buffer that one call mutates while another call's backward still needs it). Miyato et al.
(2018, Algorithm 1) do one iteration per update. `PowerIteration` does that: it puts the
parametrizations in their read-only (eval) mode, so forward passes only read u and v, and each
call runs one iteration on the current weights. The state dict (weights, u, v) is unchanged, so
checkpoints load either way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def spectral_norms(module: nn.Module) -> list[tuple[nn.Module, nn.Module]]:
    """(parametrization list, spectral-norm parametrization) for every spectrally normalised
    weight in `module`."""
    found = []
    for layer in module.modules():
        weight = getattr(getattr(layer, "parametrizations", None), "weight", None)
        if weight is None:
            continue
        found += [(weight, p) for p in weight if hasattr(p, "_u") and hasattr(p, "_v") and hasattr(p, "dim")]
    return found


@torch.no_grad()
def start_power_iteration(module: nn.Module, generator: torch.Generator, iterations: int = 15) -> None:
    """Draw every spectral norm's u and v from `generator` and iterate `iterations` times on the
    current weights (what torch's parametrization does at creation, there from the global RNG, so
    that a network built from a seed would depend on whatever drew random numbers before)."""
    for weights, norm in spectral_norms(module):
        norm._u.copy_(F.normalize(torch.randn(norm._u.shape, generator=generator), dim=0, eps=norm.eps))
        norm._v.copy_(F.normalize(torch.randn(norm._v.shape, generator=generator), dim=0, eps=norm.eps))
        for _ in range(iterations):
            _iterate(weights, norm)


def _iterate(weights: nn.Module, norm: nn.Module) -> None:
    matrix = weights.original.movedim(norm.dim, 0).flatten(1)  # (output units, the rest)
    norm._u.copy_(F.normalize(torch.mv(matrix, norm._v), dim=0, eps=norm.eps))
    norm._v.copy_(F.normalize(torch.mv(matrix.H, norm._u), dim=0, eps=norm.eps))


class PowerIteration:
    """Call once before each discriminator update: one power iteration per spectrally normalised
    weight; between calls the forward passes read u and v without changing them."""

    def __init__(self, module: nn.Module) -> None:
        self.norms = spectral_norms(module)
        self.hold()

    def __len__(self) -> int:
        return len(self.norms)

    def hold(self) -> None:
        """Forward passes read u and v without updating them (`module.train()` undoes this; the
        next call redoes it)."""
        for _, norm in self.norms:
            norm.training = False

    @torch.no_grad()
    def __call__(self) -> None:
        self.hold()
        for weights, norm in self.norms:
            _iterate(weights, norm)
