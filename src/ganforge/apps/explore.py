"""Latent exploration: linear and spherical interpolation, class-to-class morphs, GIFs."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ganforge.device import memory_shortfall
from ganforge.errors import InputError
from ganforge.data.transforms import to_uint8
from ganforge.io.atomic import atomic_write
from ganforge.io.pictures import to_pil


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(1 - t) a + t b for latents a, b (D,) and fractions t (T,) -> (T, D)."""
    return a[None] + t[:, None] * (b - a)[None]


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation along the great circle from a to b (Shoemake 1985; White 2016 for
    GAN latents), with the norm interpolated linearly: a Gaussian latent's norm stays typical,
    where a straight line passes through the improbable region near the origin.
    a, b (D,), t (T,) -> (T, D); equals a at t=0 and b at t=1."""
    a64, b64, t64 = a.double(), b.double(), t.double()
    na, nb = a64.norm(), b64.norm()
    if na == 0 or nb == 0:
        raise InputError("slerp: latents must be non-zero")
    ua, ub = a64 / na, b64 / nb
    omega = torch.arccos((ua * ub).sum().clamp(-1.0, 1.0))
    if omega < 1e-6:  # (almost) parallel: the arc is the line
        direction = lerp(ua, ub, t64)
    else:
        direction = (torch.sin((1 - t64) * omega)[:, None] * ua + torch.sin(t64 * omega)[:, None] * ub) / torch.sin(omega)
    norms = (1 - t64) * na + t64 * nb
    return (direction * norms[:, None]).to(a.dtype)


INTERPOLATIONS = {"linear": lerp, "slerp": slerp}


def interpolate(gan, seed_a: int, seed_b: int, steps: int = 8, method: str = "slerp",
                label: int | None = None, truncation: float = 1.0) -> torch.Tensor:
    """Images (steps, C, H, W) in [-1, 1] along the path between the latents of two seeds
    (the same latents `gan.sample(1, seed)` uses); conditional models hold `label` fixed."""
    if method not in INTERPOLATIONS:
        raise InputError(f"method must be one of {', '.join(INTERPOLATIONS)}, got {method!r}")
    if steps < 2:
        raise InputError(f"steps must be >= 2 (the two ends), got {steps}")
    _check_frames(gan, steps)
    a, b = gan.latents(1, seed_a)[0].cpu(), gan.latents(1, seed_b)[0].cpu()
    z = INTERPOLATIONS[method](a, b, torch.linspace(0, 1, steps))
    labels = (0 if label is None else label) if gan.num_classes else label  # unconditional + label: an error
    return gan.generate(z, labels, truncation)


def _check_frames(gan, steps: int) -> None:
    """`steps` frames (float32 images and their latents) must fit in memory (device.memory_budget)."""
    shortfall = memory_shortfall(4 * steps * (math.prod(gan.image_shape) + gan.latent_dim))
    if shortfall is not None:
        c, h, w = gan.image_shape
        raise InputError(f"steps: {steps:,} frames of {c}x{h}x{w} {shortfall}; use fewer")


def class_morph(gan, seed: int, label_a: int, label_b: int, steps: int = 8) -> torch.Tensor:
    """Images (steps, C, H, W) of one latent while the class weight moves from `label_a` to
    `label_b` (soft labels mix the classes' conditional parameters)."""
    if not gan.num_classes:
        raise InputError("class morphs need a class-conditional model (trained with --num-classes)")
    for name, label in (("label_a", label_a), ("label_b", label_b)):
        if not 0 <= label < gan.num_classes:
            raise InputError(f"{name} must be in 0..{gan.num_classes - 1}, got {label}")
    _check_frames(gan, steps)
    t = torch.linspace(0, 1, steps)
    soft = torch.zeros(steps, gan.num_classes)
    soft[:, label_a] += 1 - t
    soft[:, label_b] += t
    return gan.generate(gan.latents(1, seed).expand(steps, -1), soft)


def save_gif(frames: torch.Tensor, path: str | Path, frame_ms: int = 120, upscale: int = 1,
             bounce: bool = True) -> Path:
    """Frames (T, C, H, W) in [-1, 1] as a looping GIF; `bounce` plays forward then back."""
    if frames.ndim != 4 or len(frames) < 1:
        raise InputError(f"frames must be (T, C, H, W), got {tuple(frames.shape)}")
    order = list(range(len(frames))) + (list(range(len(frames) - 2, 0, -1)) if bounce else [])
    pictures = []
    for i in order:
        picture = to_pil(to_uint8(frames[i:i + 1])[0])
        if upscale > 1:
            picture = picture.resize((picture.width * upscale, picture.height * upscale))
        pictures.append(picture)
    atomic_write(Path(path), lambda tmp: pictures[0].save(tmp, format="GIF", save_all=True,
                                                          append_images=pictures[1:], duration=frame_ms, loop=0))
    return Path(path)
