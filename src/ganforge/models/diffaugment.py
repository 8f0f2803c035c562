"""Differentiable augmentation (DiffAugment, Zhao et al. 2020): random colour, translation and
cutout applied to every image the discriminator sees, real and generated alike, with gradients
flowing through to the generator. Each op: (N, C, H, W) in [-1, 1] -> same shape.

With a probability p each op is applied to each image independently instead (`apply_randomly`):
a fixed p, or ADA's p adapted during training (Karras et al. 2020; the policy "ada", whose
controller is `ganforge.training.ada`)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError
from ganforge.registry import Registry

Augment = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]


def _uniform(x: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(shape, generator=generator, device="cpu").to(x.device, x.dtype)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Per image: brightness + U(-0.5, 0.5), saturation x U(0, 2) around the pixel's channel
    mean (colour images only), contrast x U(0.5, 1.5) around the image mean (the DiffAugment
    ranges)."""
    n = x.shape[0]
    x = x + (_uniform(x, (n, 1, 1, 1), generator) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(1, keepdim=True)
        x = (x - mean) * (_uniform(x, (n, 1, 1, 1), generator) * 2) + mean
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, (n, 1, 1, 1), generator) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ratio x size pixels in each direction, filling with -1 (black)."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = (_uniform(x, (n,), generator) * (2 * sy + 1)).long().clamp(max=2 * sy) - sy
    dx = (_uniform(x, (n,), generator) * (2 * sx + 1)).long().clamp(max=2 * sx) - sx
    padded = F.pad(x, [sx, sx, sy, sy], value=-1.0)
    rows = (torch.arange(h, device=x.device)[None, :] + sy - dy.to(x.device)[:, None])  # (n, h)
    cols = (torch.arange(w, device=x.device)[None, :] + sx - dx.to(x.device)[:, None])  # (n, w)
    out = padded.gather(2, rows[:, None, :, None].expand(n, x.shape[1], h, padded.shape[3]))
    return out.gather(3, cols[:, None, None, :].expand(n, x.shape[1], h, w))


def cutout(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.5) -> torch.Tensor:
    """Blank one square of ratio x size per image (set it to 0, mid-grey) at a random position."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = (_uniform(x, (n,), generator) * (h + 1 - ch % 2)).long()
    cx = (_uniform(x, (n,), generator) * (w + 1 - cw % 2)).long()
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    cy, cx = cy.to(x.device)[:, None, None], cx.to(x.device)[:, None, None]
    inside = (ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch) & (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw)
    return x * (~inside)[:, None].to(x.dtype)


AUGMENTS: Registry[Augment] = Registry("augmentation")
AUGMENTS.register("color")(color)
AUGMENTS.register("translation")(translation)
AUGMENTS.register("cutout")(cutout)


ADAPTIVE = "ada"  # in a policy: p adapts to D's overfitting (ADA); alone it means ADA_POLICY
ADA_POLICY = "color,translation,cutout"


def parse_policy(policy: str | None) -> list[str]:
    """"color,translation" -> ["color", "translation"]; "ada" -> ADA_POLICY's ops, "ada,color" ->
    ["color"] (see is_adaptive); ConfigError naming unknown ops."""
    names = [name.strip() for name in (policy or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in AUGMENTS and name != ADAPTIVE]
    if unknown:
        raise ConfigError(f"augment: unknown {', '.join(unknown)} (choose from {', '.join(AUGMENTS)}, "
                          f"or {ADAPTIVE} for adaptive p)")
    ops = [name for name in names if name != ADAPTIVE]
    return ops if ops or ADAPTIVE not in names else parse_policy(ADA_POLICY)


def is_adaptive(policy: str | None) -> bool:
    """Whether the policy names ADA (its p then adapts during training)."""
    return ADAPTIVE in [name.strip() for name in (policy or "").split(",")]


def apply_randomly(x: torch.Tensor, names: list[str], p: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Each op of `names` in turn, applied to each image independently with probability p (ADA's
    per-image, per-op Bernoulli draws, Karras et al. 2020). p = 0 returns x itself; p = 1 augments
    every image. The masks are drawn on the CPU from `generator` (None: the global RNG); the ops
    then draw for the chosen images only. Differentiable in x."""
    for name in names:
        chosen = (torch.rand(x.shape[0], generator=generator) < p).nonzero().squeeze(1)
        if len(chosen):
            index = chosen.to(x.device)
            x = x.index_copy(0, index, AUGMENTS.get(name)(x.index_select(0, index), generator))
    return x


def build_augment(policy: str | None,
                  p: float | Callable[[], float] | None = None) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """"color,translation,cutout" -> one function applying them in that order (None: no-op).
    p: each op's probability per image, a number or a function read at every call (ADA's p);
    None: every op on every image (DiffAugment). The global RNG draws: it is saved with
    checkpoints, so resume stays exact."""
    names = parse_policy(policy)
    if not names:
        return None
    if p is not None:
        probability = p if callable(p) else lambda: p
        return lambda x: apply_randomly(x, names, probability())

    def augment(x: torch.Tensor) -> torch.Tensor:
        for name in names:
            x = AUGMENTS.get(name)(x, None)
        return x

    return augment
