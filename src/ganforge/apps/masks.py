"""Holes to inpaint: standard mask kinds by name (MASKS), random holes for training an
inpainting net, damaging images, and `user_mask`, which turns what a user gave (a kind's name,
a mask picture file, an uploaded picture) into a hole. The CLI and the server both call it.

A hole is an (H, W) bool tensor, True where pixels are missing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from ganforge.errors import InputError
from ganforge.io.pictures import check_mask, load_mask
from ganforge.registry import Registry


def center_box_mask(size: int, fraction: float = 0.5) -> torch.Tensor:
    """A centred square hole covering `fraction` of the side: (size, size) bool."""
    if not 0 < fraction < 1:
        raise InputError(f"fraction must be in (0, 1), got {fraction}")
    side = max(1, round(size * fraction))
    start = (size - side) // 2
    hole = torch.zeros(size, size, dtype=torch.bool)
    hole[start:start + side, start:start + side] = True
    return hole


def random_boxes_mask(size: int, boxes: int = 3, max_fraction: float = 0.35, seed: int = 0) -> torch.Tensor:
    """`boxes` axis-aligned holes with sides up to max_fraction of the image: (size, size) bool."""
    rng = np.random.default_rng(seed)
    hole = torch.zeros(size, size, dtype=torch.bool)
    longest = max(2, int(size * max_fraction))
    for _ in range(boxes):
        h, w = rng.integers(2, longest + 1, size=2)
        top, left = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        hole[top:top + h, left:left + w] = True
    return hole


def scribble_mask(size: int, strokes: int = 3, width: float | None = None, seed: int = 0) -> torch.Tensor:
    """Free-hand-like strokes (random walks with a brush) as the hole: (size, size) bool."""
    rng = np.random.default_rng(seed)
    radius = (width or max(1.0, size / 14)) / 2
    yy, xx = np.mgrid[0:size, 0:size]
    hole = np.zeros((size, size), dtype=bool)
    for _ in range(strokes):
        y, x = rng.uniform(0, size, 2)
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(max(4, size // 3)):
            angle += rng.normal(0, 0.6)
            y = float(np.clip(y + math.sin(angle) * radius, 0, size - 1))
            x = float(np.clip(x + math.cos(angle) * radius, 0, size - 1))
            hole |= (yy - y) ** 2 + (xx - x) ** 2 <= radius**2
    return torch.from_numpy(hole)


# kind -> f(size, seed) -> (size, size) bool hole, at the default settings of each kind
MASKS: Registry[Callable[[int, int], torch.Tensor]] = Registry("mask")
MASKS.register("center")(lambda size, seed: center_box_mask(size))
MASKS.register("boxes")(lambda size, seed: random_boxes_mask(size, seed=seed))
MASKS.register("scribble")(lambda size, seed: scribble_mask(size, seed=seed))
# MASKS' names in the order help texts list them and `random_holes` draws from.
MASK_KINDS = ("center", "boxes", "scribble")


def make_mask(kind: str, size: int, seed: int = 0) -> torch.Tensor:
    """A standard hole by name: center, boxes or scribble (the last two drawn from `seed`)."""
    if kind not in MASKS:
        raise InputError(f"mask kind must be one of {', '.join(MASK_KINDS)}, got {kind!r}")
    return MASKS.get(kind)(size, seed)


def user_mask(spec: str | Path | Image.Image, size: int, seed: int = 0, files: bool = True) -> torch.Tensor:
    """The (size, size) hole a user asked for: a mask kind's name (see `make_mask`), an opened
    mask picture (white = missing), or, when `files`, the path of a mask picture file. A server
    passes files=False: a client must not name files on the server's disk."""
    if isinstance(spec, Image.Image):
        if spec.size != (size, size):
            raise InputError(f"mask: expected {size}x{size}, got {spec.width}x{spec.height}")
        return check_mask(torch.from_numpy(np.asarray(spec.convert("L")) > 127), (size, size))
    if str(spec) in MASKS:
        return make_mask(str(spec), size, seed)
    if files and Path(spec).exists():
        return load_mask(spec, (size, size))
    expected = "a mask picture file or " if files else ""
    raise InputError(f"mask: expected {expected}one of {', '.join(MASK_KINDS)}, got {str(spec)!r}")


def random_holes(n: int, size: int, rng: torch.Generator, kinds: tuple[str, ...] = MASK_KINDS) -> torch.Tensor:
    """(n, size, size) bool holes, each of a random kind with a random seed."""
    picks = torch.randint(len(kinds), (n,), generator=rng).tolist()
    seeds = torch.randint(2**31 - 1, (n,), generator=rng).tolist()
    return torch.stack([make_mask(kinds[k], size, seed=s) for k, s in zip(picks, seeds)])


def damage(images: torch.Tensor, hole: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    """images (N, C, H, W) with the hole set to `fill` (what a damaged input looks like)."""
    return images.masked_fill(hole.to(images.device)[None, None], fill)
