"""The few image operations ganforge needs, on Pillow images and torch tensors (no torchvision);
picture files are opened through `ganforge.decoding.open_image` (re-exported here)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageOps

from ganforge.decoding import MAX_ASPECT, MAX_PIXELS, open_image  # noqa: F401 (the picture gate, read here too)


def resize_center_crop(image: Image.Image, size: int) -> Image.Image:
    """Scale the short side to `size` (bicubic), then crop the centre `size` x `size` square."""
    width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), Image.Resampling.BICUBIC)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    return image.crop((left, top, left + size, top + size))


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """(H, W) or (H, W, C) 8-bit Pillow image -> (C, H, W) uint8 tensor."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 in [0, 255] -> float32 in [-1, 1]."""
    return images.to(torch.float32).div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float in [-1, 1] -> uint8 in [0, 255] (values outside the range are clipped)."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def resize_tensor(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a (N, C, H, W) uint8 batch of square images with antialiased bilinear filtering."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    resized = torch.nn.functional.interpolate(
        images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized.round().clamp(0, 255).to(torch.uint8)


def to_gray(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) uint8 RGB -> (N, 1, H, W) uint8 luma (ITU-R 601 weights, as Pillow's "L")."""
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)


def upright_8bit(picture: Image.Image) -> Image.Image:
    """A decoded picture as it is meant to be seen, in an 8-bit mode: turned as its EXIF orientation
    says (cameras store pixels sideways and a tag that turns them), and grayscale kept grayscale:
    1-bit and 16-bit ("I;16", "I") pictures become "L", palette pictures whose colours are all gray
    "L" (or "LA" with transparency); other modes are returned as they are."""
    picture = ImageOps.exif_transpose(picture)
    if picture.mode == "1":
        return picture.convert("L")
    if picture.mode.startswith("I;16") or picture.mode == "I":  # 0..65535 -> 0..255
        array = np.asarray(picture, dtype=np.uint32) >> 8
        return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8), "L")
    if picture.mode in ("P", "PA") and _gray_palette(picture):
        return picture.convert("LA" if picture.mode == "PA" or "transparency" in picture.info else "L")
    return picture


def _gray_palette(picture: Image.Image) -> bool:
    """Whether every colour a palette picture uses has R = G = B."""
    palette = picture.getpalette() or []
    used = [index for _, index in picture.getcolors(256) or []]
    return all(palette[3 * i] == palette[3 * i + 1] == palette[3 * i + 2] for i in used if 3 * i + 2 < len(palette))
