import math

import torch

from ganforge.data.toy import grid_mixture, ring_mixture


def test_ring_and_grid_centres():
    ring = ring_mixture(8, radius=2.0)
    assert ring.centres.shape == (8, 2)
    assert torch.allclose(ring.centres.norm(dim=1), torch.full((8,), 2.0))
    assert torch.allclose(ring.centres[2], torch.tensor([0.0, 2.0]), atol=1e-6)  # 90 degrees
    grid = grid_mixture(5, spacing=2.0)
    assert grid.centres.shape == (25, 2) and grid.centres.min() == -4 and grid.centres.max() == 4
    assert torch.allclose(grid.centres.mean(0), torch.zeros(2))


def test_samples_are_reproducible_and_near_the_modes():
    ring = ring_mixture(std=0.02)
    a = ring.sample(4000, torch.Generator().manual_seed(0))
    assert torch.equal(a, ring.sample(4000, torch.Generator().manual_seed(0)))
    nearest = torch.cdist(a, ring.centres).min(1).values
    # The distance to the centre of a 2-D Gaussian is Rayleigh: mean std * sqrt(pi / 2).
    assert abs(nearest.mean().item() - 0.02 * math.sqrt(math.pi / 2)) < 1e-3
