"""Training the inpainting net: a context-encoder-style U-Net (Pathak et al. 2016) trained
pix2pix-style on images with random holes. Using it (`inpaint_net`, `load_inpainter`) lives in
`ganforge.apps.inpainting`; this module imports the training code, so the server never imports it."""

from __future__ import annotations

import torch

from ganforge.apps.inpainting import net_inputs
from ganforge.apps.masks import random_holes
from ganforge.errors import InputError
from ganforge.models.unet import unet_depth
from ganforge.training.image2image import Image2ImageConfig, Image2ImageResult, train_image_to_image


def train_inpainter(images: torch.Tensor, steps: int = 2000, batch_size: int = 64, adversarial_weight: float = 1.0,
                    l1_weight: float = 100.0, width: int = 32, seed: int = 0, device: torch.device | str = "cpu",
                    progress: bool = False, log_every: int = 100) -> tuple[Image2ImageResult, Image2ImageConfig]:
    """A context-encoder-style inpainting U-Net (Pathak et al. 2016) trained on `images`
    ((N, C, H, W) in [-1, 1]) with random center / box / scribble holes, L1 + conditional
    PatchGAN loss (pix2pix's weights). Returns (result, config); `save_inpainter(result.generator,
    config, run)` keeps the net where `load_inpainter` finds it."""
    n, c, h, w = images.shape
    if h != w:
        raise InputError(f"images must be square, got {h}x{w}")

    def batches(rng: torch.Generator):
        pick = torch.randint(n, (batch_size,), generator=rng)
        real = images[pick]
        return net_inputs(real, random_holes(batch_size, h, rng)), real

    config = Image2ImageConfig(c + 1, c, depth=unet_depth(h), width=width, steps=steps, seed=seed,
                               adversarial_weight=adversarial_weight, l1_weight=l1_weight, log_every=log_every)
    return train_image_to_image(config, batches, device, progress), config
