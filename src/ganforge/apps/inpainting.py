"""Inpainting: filling the hole ((H, W) bool, True = missing) of damaged images.

- `inpaint_inversion`: semantic inpainting by masked GAN inversion (Yeh et al. 2017): find z
  whose image matches the known pixels (context loss) and looks real to D (prior loss), then
  blend G(z) into the hole (`ganforge.apps.blending`: Poisson or feathered);
- `inpaint_net`: a trained image-to-image network (U-Net, context-encoder style), kept in a run
  folder as INPAINTER_FILE (trained by `ganforge.apps.inpainter.train_inpainter`);
- baselines: `mean_fill` (the mean of the known pixels) and OpenCV's Telea inpainting.
INPAINTERS names the three ways to fill a hole for the CLI (`ganforge inpaint --method`) and the
server. Training the net lives in `ganforge.apps.inpainter`, so this module (which the server
imports) never reaches the training code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganforge.apps.blending import BLENDS, paste
from ganforge.apps.inversion import Inversion, check_images, invert
from ganforge.errors import InputError, MissingExtra
from ganforge.io.checkpoint import load_network, run_folder, save_network
from ganforge.io.pictures import check_mask
from ganforge.models.unet import UNetGenerator
from ganforge.registry import Registry

INPAINTER_FILE = "inpainter.safetensors"


def inpaint_inversion(gan, images: torch.Tensor, hole: torch.Tensor, *, blend: str = "poisson", steps: int = 400,
                      restarts: int = 8, lr: float | None = None, prior_weight: float = 0.003, seed: int = 0,
                      **invert_options) -> tuple[torch.Tensor, Inversion]:
    """Fill `hole` ((H, W) bool, True = missing) in `images` ((N, C, H, W) in [-1, 1]) by masked
    inversion (Yeh et al. 2017; prior weight 0.003 as in the paper) and blending. Returns
    (restored images (N, C, H, W) on the CPU, the inversion)."""
    images = check_images(gan, images, "images")
    hole = check_mask(hole, tuple(images.shape[2:]))
    if blend not in BLENDS:
        raise InputError(f"blend must be one of {', '.join(BLENDS.names())}, got {blend!r}")
    discriminator = gan.load_discriminator() if prior_weight > 0 else None
    result = invert(gan, images, known=~hole, steps=steps, restarts=restarts, lr=lr, prior_weight=prior_weight,
                    discriminator=discriminator, seed=seed, **invert_options)
    return BLENDS.get(blend)(images, result.images, hole), result


def mean_fill(images: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The baseline of doing nothing clever: each image's hole set to the mean of its known pixels."""
    hole = check_mask(hole, tuple(images.shape[2:]))
    known = (~hole).to(images.dtype)[None, None]
    means = (images * known).sum((2, 3), keepdim=True) / known.sum()
    return torch.where(hole[None, None], means.expand_as(images), images)


def telea_inpaint(images: torch.Tensor, hole: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """OpenCV's fast-marching inpainting (Telea 2004), the classic non-learned baseline."""
    try:
        import cv2
    except ImportError:
        raise MissingExtra("the Telea baseline needs OpenCV: pip install 'ganforge[restoration]'") from None
    hole = check_mask(hole, tuple(images.shape[2:]))
    mask = hole.numpy().astype(np.uint8) * 255
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    out = []
    for picture in pixels:
        filled = cv2.inpaint(np.ascontiguousarray(picture), mask, radius, cv2.INPAINT_TELEA)
        out.append(filled.reshape(picture.shape))
    result = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return torch.where(hole[None, None], result, images)  # OpenCV keeps known pixels; make it exact


def net_inputs(images: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """What the inpainting net sees: the image with holes zeroed, plus the hole as a channel
    (+1 missing, -1 known): (N, C + 1, H, W)."""
    hole = holes.to(images.dtype).unsqueeze(1)
    return torch.cat([images * (1 - hole), hole * 2 - 1], dim=1)


@torch.no_grad()
def inpaint_net(net: torch.nn.Module, images: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Fill `hole` in `images` ((N, C, H, W) in [-1, 1]) with the trained net; known pixels kept."""
    hole = check_mask(hole, tuple(images.shape[2:]))
    expected = net.downs[0].net[0].in_channels - 1
    if images.ndim != 4 or images.shape[1] != expected:
        raise InputError(f"images: the inpainting net takes (N, {expected}, H, W), got {tuple(images.shape)}")
    device = next(net.parameters()).device
    holes = hole.expand(len(images), *hole.shape)
    out = net(net_inputs(images.to(device), holes.to(device))).float().cpu()
    return paste(images, out, hole)


def save_inpainter(net: torch.nn.Module, config, run: str | Path) -> Path:
    """RUN/inpainter.safetensors (atomic), with the U-Net's shape."""
    return save_network(run_folder(run) / INPAINTER_FILE, net, config.network_config())


def load_inpainter(run: str | Path, device: torch.device | str = "cpu") -> torch.nn.Module:
    """The inpainting net trained for a run (ganforge train-inpainter); `run` may also be one of
    its checkpoint folders."""
    path = run_folder(run) / INPAINTER_FILE
    if not path.is_file():
        raise InputError(f"{run_folder(run)}: no {INPAINTER_FILE}; train one with: ganforge train-inpainter "
                         f"{run_folder(run)}")
    net, _ = load_network(path, UNetGenerator)
    return net.to(device).eval()


# name -> f(gan, images, hole, *, blend, steps, restarts, seed) -> restored (N, C, H, W): the ways
# `ganforge inpaint --method` and the server fill a hole; options a method has no use for are ignored.
INPAINTERS: Registry[Callable[..., torch.Tensor]] = Registry("inpainting method")


@INPAINTERS.register("inversion")
def _by_inversion(gan, images: torch.Tensor, hole: torch.Tensor, *, blend: str = "poisson", steps: int = 400,
                  restarts: int = 8, seed: int = 0, progress: bool = False) -> torch.Tensor:
    return inpaint_inversion(gan, images, hole, blend=blend, steps=steps, restarts=restarts, seed=seed,
                             progress=progress)[0]


@INPAINTERS.register("net")
def _by_net(gan, images: torch.Tensor, hole: torch.Tensor, **_) -> torch.Tensor:
    """The net trained for the generator's run (RUN/inpainter.safetensors)."""
    return inpaint_net(load_inpainter(gan.checkpoint, gan.device), images, hole)


@INPAINTERS.register("telea")
def _by_telea(gan, images: torch.Tensor, hole: torch.Tensor, **_) -> torch.Tensor:
    return telea_inpaint(images, hole)
