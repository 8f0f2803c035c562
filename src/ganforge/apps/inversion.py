"""GAN inversion: find the latent whose image matches a target (Zhu et al. 2016; Creswell &
Bharath 2018), by gradient descent from several starts, optionally from a learned encoder's guess.

The objective per target, over the pixels marked known (all by default):
    mean (degrade(G(z)) - x)^2                       pixel (context) loss
  + feature_weight * mean (f(G(z)) - f(x))^2        feature loss (e.g. the MNIST classifier's features)
  + prior_weight * softplus(-D(G(z)))               D's realism prior (Yeh et al. 2017, non-saturating form)
  + latent_weight * (|z|^2 / dim - 1)^2             keeps z on the shell where Gaussian latents live
StyleGAN-like models are inverted in w space (starting at w_avg and mapped random z), the others
in z space. Conditional models try the classes in turn over the restarts unless `labels` is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.device import memory_shortfall
from ganforge.errors import InputError
from ganforge.loop import Loop, adam
from ganforge.io.checkpoint import load_network, save_network
from ganforge.models.encoder import LatentEncoder

Images = torch.Tensor  # (N, C, H, W) float in [-1, 1]


@dataclass
class Inversion:
    latents: torch.Tensor  # (N, dim) best z (or w) per target, CPU
    images: Images  # (N, C, H, W) G(latents), CPU
    loss: torch.Tensor  # (N,) final objective of the chosen start
    labels: torch.Tensor | None  # (N,) class used per target (conditional models)
    space: str  # "z" or "w"


def check_images(gan, images: torch.Tensor, name: str = "images") -> Images:
    """(N, C, H, W) or (C, H, W) float images of the model's shape -> (N, C, H, W)."""
    if images.ndim == 3:
        images = images[None]
    shape = gan.image_shape
    if images.ndim != 4 or tuple(images.shape[1:]) != shape:
        raise InputError(f"{name}: expected (N, {shape[0]}, {shape[1]}, {shape[2]}) images for this model, "
                         f"got {tuple(images.shape)}")
    if not images.is_floating_point() or images.min() < -1.001 or images.max() > 1.001:
        raise InputError(f"{name}: expected float images in [-1, 1]")
    return images.float()


def _synthesise(gan, latents: torch.Tensor, labels: torch.Tensor | None, space: str) -> Images:
    g = gan.generator
    if space == "w":
        return g.synthesis(latents)
    return g(latents) if labels is None else g(latents, labels)


def _starts(gan, n: int, restarts: int, space: str, labels: torch.Tensor | None, seed: int,
            start: torch.Tensor | None) -> torch.Tensor:
    """(restarts * n, dim) starting latents, restart-major; the first restart is `start` when given."""
    z = torch.randn(restarts * n, gan.latent_dim, generator=torch.Generator().manual_seed(seed)).to(gan.device)
    if space == "w":
        mapping = gan.generator.mapping
        with torch.no_grad():
            w = mapping(z, labels)
        # Start between w_avg and the mapped samples: the mean image first, variety from the restarts.
        z = mapping.w_avg.lerp(w, 0.5)
    if start is not None:
        z[:n] = start.to(z.device)
    return z


def invert(gan, targets: Images, *, known: torch.Tensor | None = None, steps: int = 300, restarts: int = 4,
           lr: float | None = None, feature_weight: float = 0.0, features: Callable[[Images], torch.Tensor] | None = None,
           prior_weight: float = 0.0, discriminator: nn.Module | None = None, latent_weight: float = 1e-3,
           labels: int | list[int] | torch.Tensor | None = None, start: torch.Tensor | None = None,
           degrade: Callable[[Images], Images] | None = None, seed: int = 0, progress: bool = False) -> Inversion:
    """Invert `targets` (N, C, H, W) in [-1, 1] through `gan` (a `ganforge.load` result).

    known: (N, 1, H, W) / (H, W) bool, True where the target's pixels count (inpainting), or None.
    lr: Adam's step size; None: 0.05 in z space, 0.1 in w space (w's scale is larger).
    start: (N, dim) latents to begin the first restart from (an encoder's guess).
    degrade: applied to G's images before comparing (blur for deblurring); differentiable.
    progress: a progress bar with a time estimate on stderr (all restarts run together, as one batch).
    """
    targets = check_images(gan, targets, "targets").to(gan.device)
    n = len(targets)
    if steps < 1 or restarts < 1:
        raise InputError(f"steps and restarts must be >= 1, got {steps} and {restarts}")
    # All restarts run as one batch: each holds its latent, its image and that image's features and
    # gradients (at least 4 copies of the image) for every target.
    shortfall = memory_shortfall(4 * restarts * len(targets) * (gan.latent_dim + 4 * math.prod(gan.image_shape)))
    if shortfall is not None:
        raise InputError(f"restarts: {restarts:,} restarts of {len(targets)} image(s) {shortfall}; use fewer")
    if feature_weight > 0 and features is None:
        raise InputError("feature_weight > 0 needs a features function")
    if prior_weight > 0 and discriminator is None:
        raise InputError("prior_weight > 0 needs the discriminator (gan.load_discriminator())")
    weight = _known_weights(known, targets)
    space = "w" if hasattr(gan.generator, "mapping") else "z"
    lr = lr if lr is not None else {"z": 0.05, "w": 0.1}[space]
    if start is not None and tuple(start.shape) != (n, gan.latent_dim):
        raise InputError(f"start must be ({n}, {gan.latent_dim}), got {tuple(start.shape)}")

    # Restart r of target i is row r * n + i; conditional models cycle the classes over restarts.
    if gan.num_classes:
        if labels is None:
            per_row = (torch.arange(restarts * n) // n) % gan.num_classes
        else:
            per_row = gan.labels(n, labels).repeat(restarts)
        per_row = per_row.to(gan.device)
    else:
        gan.labels(n, labels)  # refuses labels for unconditional models
        per_row = None
    latents = _starts(gan, n, restarts, space, per_row, seed, start).detach().requires_grad_(True)
    targets_r, weight_r = targets.repeat(restarts, 1, 1, 1), weight.repeat(restarts, 1, 1, 1)
    target_features = features(targets).detach().repeat(restarts, 1) if feature_weight > 0 else None

    frozen = [p for p in gan.generator.parameters() if p.requires_grad]
    nets = [gan.generator] + ([discriminator] if discriminator is not None else [])
    for net in nets:
        net.requires_grad_(False)
    optimiser = adam([latents], lr)

    def step(_: int) -> dict[str, torch.Tensor]:
        loss = _objective(gan, latents, per_row, space, targets_r, weight_r, target_features, features,
                          feature_weight, discriminator, prior_weight, latent_weight, degrade)
        optimiser.zero_grad(set_to_none=True)
        loss.sum().backward()
        optimiser.step()
        return {}

    try:
        Loop(steps=steps, progress=progress, desc=f"inversion ({restarts} restart{'s' * (restarts > 1)} at once)"
             ).run(step)
        with torch.no_grad():
            loss = _objective(gan, latents, per_row, space, targets_r, weight_r, target_features, features,
                              feature_weight, discriminator, prior_weight, latent_weight, degrade)
    finally:
        for p in frozen:
            p.requires_grad_(True)
        if discriminator is not None:
            discriminator.requires_grad_(True)
    best = loss.view(restarts, n).argmin(0)  # (n,) restart index per target
    rows = best * n + torch.arange(n, device=best.device)
    chosen = latents.detach()[rows]
    chosen_labels = per_row[rows] if per_row is not None else None
    with torch.no_grad():
        images = _synthesise(gan, chosen, chosen_labels, space).float().cpu()
    return Inversion(chosen.cpu(), images, loss.view(restarts, n).min(0).values.cpu(),
                     chosen_labels.cpu() if chosen_labels is not None else None, space)


def _known_weights(known: torch.Tensor | None, targets: Images) -> torch.Tensor:
    """(N, 1, H, W) float weights: 1 on known pixels."""
    n, _, h, w = targets.shape
    if known is None:
        return torch.ones(n, 1, h, w, device=targets.device)
    known = known.to(targets.device)
    if known.shape == (h, w):
        known = known.expand(n, 1, h, w)
    if tuple(known.shape) != (n, 1, h, w):
        raise InputError(f"known: expected ({h}, {w}) or ({n}, 1, {h}, {w}), got {tuple(known.shape)}")
    if not bool(known.flatten(1).any(1).all()):
        raise InputError("known: every image needs some known pixels")
    return known.float()


def _objective(gan, latents, labels, space, targets, weight, target_features, features, feature_weight,
               discriminator, prior_weight, latent_weight, degrade) -> torch.Tensor:
    """(rows,) objective of each latent."""
    images = _synthesise(gan, latents, labels, space).float()
    compared = degrade(images) if degrade is not None else images
    loss = ((compared - targets) ** 2 * weight).sum((1, 2, 3)) / (weight.sum((1, 2, 3)) * images.shape[1])
    if target_features is not None:
        loss = loss + feature_weight * ((features(images) - target_features) ** 2).mean(1)
    if discriminator is not None and prior_weight > 0:
        logits = discriminator(images) if labels is None else _judge(discriminator, images, labels)
        loss = loss + prior_weight * F.softplus(-logits.float())
    if space == "z" and latent_weight > 0:
        loss = loss + latent_weight * (latents.pow(2).mean(1) - 1.0) ** 2
    return loss


def _judge(discriminator: nn.Module, images: Images, labels: torch.Tensor) -> torch.Tensor:
    out = discriminator(images, labels)
    return out[0] if isinstance(out, tuple) else out


def train_encoder(gan, steps: int = 2000, batch_size: int = 64, lr: float = 1e-3, width: int = 32,
                  image_weight: float = 1.0, seed: int = 0, progress: bool = False) -> nn.Module:
    """An encoder E trained on the generator's own samples: minimise |E(G(z)) - z|^2 (the latent
    space the inversion works in: w for StyleGAN-like models) plus image_weight x |G(E(G(z))) -
    G(z)|^2. Unconditional models only (a conditional latent depends on the class too)."""
    if gan.num_classes:
        raise InputError("train_encoder: conditional models are inverted without an encoder")
    channels, size, _ = gan.image_shape
    # A batch holds latents, G(z), E's maps of it and G(E(G(z))), with gradients: at least 4 images each.
    shortfall = memory_shortfall(4 * batch_size * (2 * gan.latent_dim + 4 * math.prod(gan.image_shape)))
    if shortfall is not None:
        raise InputError(f"--batch-size {batch_size:,}: images of {channels}x{size}x{size} {shortfall}")
    torch.manual_seed(seed)
    encoder = LatentEncoder(channels, size, gan.latent_dim, width).to(gan.device)
    optimiser = adam(encoder.parameters(), lr)
    rng = torch.Generator(device=gan.device).manual_seed(seed)
    space = "w" if hasattr(gan.generator, "mapping") else "z"
    gan.generator.requires_grad_(False)
    try:
        def step(_: int) -> dict[str, torch.Tensor]:
            z = torch.randn(batch_size, gan.latent_dim, generator=rng, device=gan.device)
            with torch.no_grad():
                latent = gan.generator.mapping(z) if space == "w" else z
                images = _synthesise(gan, latent, None, space)
            guess = encoder(images)
            loss = F.mse_loss(guess, latent)
            if image_weight > 0:
                loss = loss + image_weight * F.mse_loss(_synthesise(gan, guess, None, space), images)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            return {"loss": loss.detach()}

        Loop(steps=steps, progress=progress, desc="encoder").run(step)
    finally:
        gan.generator.requires_grad_(True)
    return encoder.eval()


ENCODER_FILE = "encoder.safetensors"


def save_encoder(encoder: nn.Module, folder: str | Path) -> Path:
    """RUN/encoder.safetensors (atomic), found again by `load_encoder`."""
    return save_network(Path(folder) / ENCODER_FILE, encoder, encoder.config)


def load_encoder(folder: str | Path, device: torch.device | str = "cpu") -> nn.Module | None:
    """The encoder saved in `folder` (a run folder), or None when there is none."""
    path = Path(folder) / ENCODER_FILE
    if not path.is_file():
        return None
    encoder, _ = load_network(path, LatentEncoder)
    return encoder.to(device).eval()
