"""2-D Gaussian mixtures for mode-collapse experiments (ring of 8, grid of 25)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians in 2-D. centres: (K, 2)."""

    name: str
    centres: torch.Tensor
    std: float

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """(n, 2) float32 points."""
        modes = torch.randint(len(self.centres), (n,), generator=generator)
        return self.centres[modes] + self.std * torch.randn(n, 2, generator=generator)


def ring_mixture(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    """`modes` Gaussians evenly spaced on a circle (Metz et al. 2017, unrolled GANs)."""
    angles = torch.arange(modes, dtype=torch.float64) * 2 * math.pi / modes
    centres = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], 1).float()
    return Mixture(f"ring{modes}", centres, std)


def grid_mixture(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    """side x side Gaussians on a square grid centred at 0 (Dumoulin et al. 2017, ALI)."""
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    centres = torch.cartesian_prod(coords, coords)
    return Mixture(f"grid{side * side}", centres, std)


MIXTURES = {"ring8": ring_mixture, "grid25": grid_mixture}
