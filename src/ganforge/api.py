"""`ganforge.load(path)`: a trained generator, ready to sample, without the training code."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.io import checkpoint as ckpt
from ganforge.config import RunConfig
from ganforge.device import memory_shortfall
from ganforge.loop import progress_bar
from ganforge.errors import CheckpointError, InputError
from ganforge.models import build_discriminator, build_generator
from ganforge.zoo import resolve as resolve_model

Labels = int | list[int] | torch.Tensor | None
MAX_SEED = 2**63 - 1  # sampling seeds: 0 .. 2**63 - 1, as torch.Generator.manual_seed takes them (and the server)


@dataclass
class LoadedGAN:
    """A checkpoint's generator (eval mode) and config. `discriminator` is loaded on request."""

    generator: nn.Module
    config: RunConfig
    checkpoint: Path
    step: int
    meta: dict[str, Any]
    device: torch.device

    @property
    def latent_dim(self) -> int:
        return self.config.model.latent_dim

    @property
    def num_classes(self) -> int:
        """Classes of a conditional model; 0 when unconditional."""
        return self.config.model.num_classes

    @property
    def image_shape(self) -> tuple[int, int, int]:
        d = self.config.data
        return d.channels, d.image_size, d.image_size

    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        """(n, latent_dim) standard normal latents, the same for the same seed on any device."""
        if not 0 <= seed <= MAX_SEED:
            raise InputError(f"seed must be in 0..{MAX_SEED}, got {seed}")
        return torch.randn(n, self.latent_dim, generator=torch.Generator().manual_seed(seed)).to(self.device)

    def labels(self, n: int, labels: Labels = None) -> torch.Tensor | None:
        """(n,) int64 class labels for a conditional model: `labels` as given (one int for all,
        or n of them), or balanced 0, 1, ..., K-1, 0, ... when None; a float (n, K) tensor passes
        as soft labels (class weights, for morphs). None for unconditional models."""
        if not self.num_classes:
            if labels is not None:
                raise InputError("labels: this model is unconditional (trained without --num-classes)")
            return None
        if labels is None:
            return torch.arange(n) % self.num_classes
        if isinstance(labels, torch.Tensor) and labels.is_floating_point():  # soft labels: class weights
            if labels.shape != (n, self.num_classes):
                raise InputError(f"labels: soft labels must be ({n}, {self.num_classes}), got {tuple(labels.shape)}")
            return labels.float()
        try:
            out = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
        except (OverflowError, RuntimeError):  # a class past 64 bits: out of range like any other
            raise InputError(f"labels: classes must be in 0..{self.num_classes - 1}, got {labels}") from None
        if out.numel() == 1:
            out = out.expand(n).clone()
        if out.numel() != n:
            raise InputError(f"labels: expected 1 or {n} labels, got {out.numel()}")
        if bool((out < 0).any()) or bool((out >= self.num_classes).any()):
            raise InputError(f"labels: classes must be in 0..{self.num_classes - 1}, got {out.tolist()[:10]}")
        return out

    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: Labels = None, truncation: float = 1.0,
                 batch_size: int = 256, progress: bool = False) -> torch.Tensor:
        """Images (N, C, H, W) float in [-1, 1], on the CPU, from latents z (N, latent_dim) and,
        for conditional models, labels (see `labels`).

        truncation psi in (0, 1] trades variety for typicality: StyleGAN-like models move w
        towards the mean w (w_avg + psi (w - w_avg)); the others scale z by psi.
        """
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise InputError(f"z must be (N, {self.latent_dim}), got {tuple(z.shape)}")
        if not 0.0 < truncation <= 1.0:
            raise InputError(f"truncation must be in (0, 1], got {truncation}")
        y = self.labels(len(z), labels)
        self._check_memory(len(z))
        chunks = []
        starts = range(0, len(z), batch_size)
        for i in progress_bar(starts, len(starts), "sampling", "batch", progress and len(starts) > 1):
            part = z[i:i + batch_size].to(self.device)
            part_labels = None if y is None else y[i:i + batch_size].to(self.device)
            images = self._forward(part, part_labels, truncation).float().cpu()
            if not bool(torch.isfinite(images).all()):
                raise CheckpointError(f"{self.checkpoint}: the generator makes NaN or infinite pixels; its weights "
                                      "are unusable (from a diverged run?)")
            chunks.append(images)
        return torch.cat(chunks)

    def _check_memory(self, n: int, latents: bool = False) -> None:
        """n images (with `latents`, and theirs) as float32 must fit in memory (device.memory_budget)."""
        shortfall = memory_shortfall(4 * n * (math.prod(self.image_shape) + (self.latent_dim if latents else 0)))
        if shortfall is not None:
            c, h, w = self.image_shape
            raise InputError(f"n: {n:,} images of {c}x{h}x{w} {shortfall}; draw them a part at a time")

    def _forward(self, z: torch.Tensor, labels: torch.Tensor | None, truncation: float) -> torch.Tensor:
        if hasattr(self.generator, "mapping"):  # StyleGAN-like: truncate in w space
            return self.generator(z, labels, truncation=truncation)
        z = z * truncation
        return self.generator(z) if labels is None else self.generator(z, labels)

    def sample(self, n: int, seed: int = 0, labels: Labels = None, truncation: float = 1.0,
               batch_size: int = 256, progress: bool = False) -> torch.Tensor:
        """n images (N, C, H, W) float in [-1, 1] on the CPU; the same seed gives the same images.
        Conditional models: `labels` picks the classes (default: balanced over all classes).
        `progress`: a progress bar on stderr while the batches are drawn."""
        if n <= 0:
            raise InputError(f"n must be > 0, got {n}")
        self._check_memory(n, latents=True)
        return self.generate(self.latents(n, seed), labels, truncation, batch_size, progress)

    def load_discriminator(self) -> nn.Module:
        net = build_discriminator(self.config.model, self.config.data)
        ckpt.load_module_state(self.checkpoint, "discriminator", net)
        return net.to(self.device).eval()


def load(path: str | Path, device: str | torch.device = "cpu") -> LoadedGAN:
    """Load a run folder (its latest checkpoint), a checkpoint folder, or a zoo model by name
    (`ganforge.load("mnist-cond")`; `ganforge models` lists them); the EMA generator when the run
    kept one."""
    checkpoint = ckpt.find_checkpoint(resolve_model(path))
    meta = ckpt.read_meta(checkpoint)
    config = ckpt.read_config(checkpoint)
    generator = build_generator(config.model, config.data)
    # The EMA generator is the one to sample from when the run kept one.
    name = "generator_ema" if (checkpoint / "generator_ema.safetensors").is_file() else "generator"
    ckpt.load_module_state(checkpoint, name, generator)
    device = torch.device(device)
    return LoadedGAN(generator.to(device).eval(), config, checkpoint, int(meta["step"]), meta, device)
