"""The mode-seeking regulariser of the generator (Mao et al. 2019, "Mode seeking generative
adversarial networks for diverse image synthesis", MSGAN), against collapse in conditional GANs,
where G learns to ignore z and draws one image per class.

For two latents z_a, z_b under the same condition:
    ratio = mean |G(z_a) - G(z_b)| / mean |z_a - z_b|
    L_ms  = 1 / (ratio + eps)
G minimises lambda * L_ms beside its adversarial loss: images must move when z moves.
"""

from __future__ import annotations

import torch


def mode_seeking_loss(fake_a: torch.Tensor, fake_b: torch.Tensor, z_a: torch.Tensor, z_b: torch.Tensor,
                      eps: float = 1e-5) -> torch.Tensor:
    """1 / (mean |fake_a - fake_b| / mean |z_a - z_b| + eps); fakes from z_a, z_b with the same labels."""
    if fake_a.shape != fake_b.shape or z_a.shape != z_b.shape or fake_a.shape[0] != z_a.shape[0]:
        raise ValueError(f"mode seeking pairs images and latents row by row, got {tuple(fake_a.shape)}, "
                         f"{tuple(fake_b.shape)}, {tuple(z_a.shape)}, {tuple(z_b.shape)}")
    ratio = (fake_a - fake_b).abs().mean() / (z_a - z_b).abs().mean()
    return 1.0 / (ratio + eps)
