"""Turning image batches into pictures: grids, PNG files and .npy arrays."""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.data.transforms import to_uint8


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """(N, C, H, W) float in [-1, 1] -> one (C, H', W') uint8 grid, `nrow` images per row
    (default: a near-square layout), separated by `padding` black pixels."""
    if images.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) images, got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = torch.zeros(c, rows * (h + padding) + padding, nrow * (w + padding) + padding, dtype=torch.uint8)
    pixels = to_uint8(images.cpu())
    for i in range(n):
        top, left = padding + (i // nrow) * (h + padding), padding + (i % nrow) * (w + padding)
        grid[:, top:top + h, left:left + w] = pixels[i]
    return grid


def to_pil(image: torch.Tensor) -> Image.Image:
    """(C, H, W) uint8 tensor (C = 1 or 3) -> Pillow image."""
    array = image.permute(1, 2, 0).numpy()
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


def atomic_write(path: Path, write) -> None:
    """Call write(tmp_path) and rename the result onto `path`, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A plain new file (not mkstemp) so the result gets the usual umask permissions.
    tmp = path.parent / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}"
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, upscale: int = 1) -> Path:
    """Save (N, C, H, W) images in [-1, 1] as one PNG grid; `upscale` enlarges small images
    with nearest-neighbour so 28x28 digits are visible."""
    picture = to_pil(make_grid(images, nrow))
    if upscale > 1:
        picture = picture.resize((picture.width * upscale, picture.height * upscale), Image.Resampling.NEAREST)
    atomic_write(Path(path), lambda tmp: picture.save(tmp, format="PNG"))
    return Path(path)


def save_images(images: torch.Tensor, folder: str | Path, prefix: str = "sample") -> list[Path]:
    """One PNG per image: folder/prefix_00000.png, ..."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pixels = to_uint8(images.cpu())
    paths = []
    for i, image in enumerate(pixels):
        path = folder / f"{prefix}_{i:05d}.png"
        to_pil(image).save(path, format="PNG")
        paths.append(path)
    return paths


def save_npy(images: torch.Tensor, path: str | Path) -> Path:
    """(N, C, H, W) float32 array in [-1, 1]."""
    array = images.detach().cpu().float().numpy()
    atomic_write(Path(path), lambda tmp: np.save(tmp, array))
    return Path(path)
