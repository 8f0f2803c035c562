"""The one way images reach a feature extractor: as 8-bit pixels at their own size.

Every source (a run's samples, a folder of pictures, a .npy, tensors handed to the library) is
turned into an (N, C, H, W) uint8 tensor, exactly what a PNG of the images holds: float images
in [-1, 1] are quantised with `to_uint8` (the rounding `ganforge sample` uses when it writes
PNGs), uint8 arrays are taken as they are. Extractors then fit those pixels to their own input
(`fit_pixels`, or Inception's resizing modes), so the same images give the same features
whatever kind of source held them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.data.image_folder import IMAGE_EXTENSIONS, decode_picture, find_images
from ganforge.data.tensor_dataset import check_memory
from ganforge.data.transforms import pil_to_tensor, resize_center_crop, to_uint8
from ganforge.decoding import load_array
from ganforge.errors import DataError

def as_pixels(images: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) uint8 as it is, or float in [-1, 1] quantised to uint8 (clipped outside)."""
    if images.ndim != 4:
        raise DataError(f"expected (N, C, H, W) images, got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images
    if not images.is_floating_point():
        raise DataError(f"expected float images in [-1, 1] or uint8 pixels, got dtype {images.dtype}")
    return to_uint8(images.cpu())


def _pictures(pixels: torch.Tensor):
    """Pillow images of (N, C, H, W) uint8 pixels, C in {1, 3}."""
    for image in pixels.permute(0, 2, 3, 1).numpy():
        yield Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)


def fit_pixels(pixels: torch.Tensor, channels: int | None, size: int | None, what: str = "images") -> torch.Tensor:
    """uint8 pixels with `channels` (gray is repeated to RGB; RGB to gray is refused) and
    `size` x `size` (Pillow bicubic after scaling the short side, centre crop: what image folders
    get when training). None keeps that property as it is."""
    have = pixels.shape[1]
    if channels is not None and have != channels:
        if (have, channels) != (1, 3):
            raise DataError(f"{what} have {have} channel(s), {channels} needed")
        pixels = pixels.expand(-1, 3, -1, -1)
    if size is None or pixels.shape[-2:] == (size, size):
        return pixels
    return torch.stack([pil_to_tensor(resize_center_crop(p, size)) for p in _pictures(pixels)])


def read_picture_folder(root: str | Path, size: int | None = None) -> torch.Tensor:
    """Every picture below `root` as (N, C, H, W) uint8 at its own size (or resized to `size`):
    C = 1 when all are grayscale, else 3 (gray repeated). Pictures of different sizes need `size`."""
    root = Path(root)
    paths = find_images(root)
    if not paths:
        raise DataError(f"{root}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)}, recursively)")
    pictures: list[Image.Image] = []
    for path in paths:
        picture = decode_picture(path, None)
        if size is not None:
            picture = resize_center_crop(picture, size)
        elif pictures and picture.size != pictures[0].size:
            raise DataError(f"{root}: pictures of different sizes ({pictures[0].size[0]}x{pictures[0].size[1]} and "
                            f"{picture.size[0]}x{picture.size[1]} in {path.name}); pass --image-size to resize them all")
        if not pictures:
            check_memory(str(root), len(paths), 2 * 3 * picture.size[0] * picture.size[1])
        pictures.append(picture)
    channels = 1 if all(p.mode == "L" for p in pictures) else 3
    return torch.stack([pil_to_tensor(p.convert("RGB") if channels == 3 else p) for p in pictures])


def npy_pixels(path: Path) -> torch.Tensor:
    """An (N, C, H, W) .npy of float images in [-1, 1] or uint8 pixels, as uint8 pixels."""
    array = load_array(path, DataError, "of images")
    if array.ndim != 4:
        raise DataError(f"{path}: expected an (N, C, H, W) array, got shape {array.shape}")
    if array.dtype == np.uint8:
        return torch.from_numpy(array)
    if not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"{path}: expected float images in [-1, 1] or uint8, got dtype {array.dtype}")
    if array.size and (np.isnan(array).any() or array.min() < -1.001 or array.max() > 1.001):
        raise DataError(f"{path}: float images must lie in [-1, 1] (as `ganforge sample` writes them)")
    if array.size and array.min() >= 0 and array.max() <= 1 and array.max() > array.min():
        raise DataError(f"{path}: float values all lie in [0, 1]; ganforge expects [-1, 1] (use x * 2 - 1)")
    return to_uint8(torch.from_numpy(array.astype(np.float32)))
