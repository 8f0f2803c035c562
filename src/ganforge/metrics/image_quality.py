"""Full-reference image quality: PSNR and SSIM of images in [-1, 1] (data range 2)."""

from __future__ import annotations

import numpy as np
import torch

from ganforge.errors import MissingExtra


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, 10 log10(range^2 / MSE), range 2 for images in
    [-1, 1]: a, b (N, C, H, W) -> (N,). Identical images give +inf."""
    if a.shape != b.shape:
        raise ValueError(f"psnr: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    mse = ((a.double() - b.double()) ** 2).flatten(1).mean(1)
    return (10 * torch.log10(4.0 / mse)).float()


def ssim(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """Structural similarity (Wang et al. 2004) per image, by scikit-image's
    `structural_similarity` (7x7 uniform window, data range 2): a, b (N, C, H, W) -> (N,)."""
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        raise MissingExtra("SSIM needs scikit-image: pip install 'ganforge[restoration]'") from None
    if a.shape != b.shape:
        raise ValueError(f"ssim: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    x, y = a.double().numpy(), b.double().numpy()
    return np.array([structural_similarity(x[i], y[i], data_range=2.0, channel_axis=0) for i in range(len(x))])
