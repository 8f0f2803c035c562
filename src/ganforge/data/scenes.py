"""Scenes with ground truth for segmentation and detection: digits (MNIST, or any glyphs) pasted
in bright colours onto smooth dark backgrounds with noise, at random scales and positions that
never overlap. Each scene comes with a per-pixel class mask, an instance mask, one box and one
label per object; everything is a deterministic function of the seed.

Mask values: 0 background, 1 + d for digit d. An object's pixels are where its glyph's alpha is
above one half; its box is the tight box of those pixels, (x0, y0, x1, y1) in pixel edges
(x1 = last column + 1), so masks and boxes agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ganforge.data.mnist import load_mnist
from ganforge.data.tensor_dataset import ImageTensorDataset, check_memory
from ganforge.data.transforms import resize_tensor, to_gray
from ganforge.errors import DataError

SCENE_CLASSES = ["background"] + [str(d) for d in range(10)]
SPLIT_SEEDS = {"train": 0, "test": 1_000_003}


@dataclass
class Scenes:
    images: torch.Tensor  # (N, 3, S, S) uint8
    masks: torch.Tensor  # (N, S, S) int64: 0 background, 1 + class of the object there
    instances: torch.Tensor  # (N, S, S) int64: 0 background, k for the k-th object (1-based)
    boxes: list[torch.Tensor]  # boxes[i]: (M_i, 4) float32 x0, y0, x1, y1 of each object's pixels
    labels: list[torch.Tensor]  # labels[i]: (M_i,) int64 class of each object (0-9 for digits)

    def __len__(self) -> int:
        return len(self.images)


def compose_scenes(glyphs: np.ndarray, glyph_labels: np.ndarray, n: int, size: int = 64, seed: int = 0,
                   objects: tuple[int, int] = (1, 3), scale: tuple[float, float] = (0.7, 1.3)) -> Scenes:
    """n scenes from `glyphs` ((G, h, w) uint8, 255 = ink) with classes `glyph_labels` (G,)."""
    glyphs, glyph_labels = np.asarray(glyphs), np.asarray(glyph_labels)
    if glyphs.ndim != 3 or glyphs.dtype != np.uint8 or len(glyphs) != len(glyph_labels) or not len(glyphs):
        raise DataError(f"glyphs must be a non-empty (G, h, w) uint8 array with G labels, got {glyphs.shape} "
                        f"{glyphs.dtype} and {len(glyph_labels)} labels")
    if size < 2 * max(glyphs.shape[1:]) * scale[0]:
        raise DataError(f"scene size {size} is too small for {glyphs.shape[1]}x{glyphs.shape[2]} glyphs")
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size, 3), dtype=np.uint8)
    masks = np.zeros((n, size, size), dtype=np.int64)
    instances = np.zeros((n, size, size), dtype=np.int64)
    all_boxes, all_labels = [], []
    for i in range(n):
        canvas = _background(rng, size)
        boxes, labels, taken = [], [], []
        for _ in range(rng.integers(objects[0], objects[1] + 1)):
            g = int(rng.integers(len(glyphs)))
            alpha = _scaled(glyphs[g], float(rng.uniform(*scale)))
            h, w = alpha.shape
            for _attempt in range(30):  # rejection sampling of a position that overlaps nothing
                top, left = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
                if not any(top < b + 1 and a < top + h + 1 and left < d + 1 and c < left + w + 1
                           for a, c, b, d in taken):
                    break
            else:
                continue
            inside = alpha > 0.5
            if not inside.any():
                continue
            colour = rng.uniform(150, 255, size=3)
            region = canvas[top:top + h, left:left + w]
            canvas[top:top + h, left:left + w] = region * (1 - alpha[..., None]) + colour * alpha[..., None]
            k = len(labels) + 1
            masks[i, top:top + h, left:left + w][inside] = int(glyph_labels[g]) + 1
            instances[i, top:top + h, left:left + w][inside] = k
            ys, xs = np.nonzero(inside)
            boxes.append([left + xs.min(), top + ys.min(), left + xs.max() + 1, top + ys.max() + 1])
            labels.append(int(glyph_labels[g]))
            taken.append((top, left, top + h - 1, left + w - 1))
        images[i] = np.clip(canvas.round(), 0, 255).astype(np.uint8)
        all_boxes.append(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
        all_labels.append(torch.tensor(labels, dtype=torch.int64))
    return Scenes(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(masks),
                  torch.from_numpy(instances), all_boxes, all_labels)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A dark two-colour gradient in a random direction plus Gaussian noise: (size, size, 3) float."""
    c0, c1 = rng.uniform(0, 90, size=3), rng.uniform(0, 90, size=3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    t = (np.cos(angle) * xx + np.sin(angle) * yy)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-9)
    return c0 + (c1 - c0) * t[..., None] + rng.normal(0, 6, size=(size, size, 3))


def _scaled(glyph: np.ndarray, factor: float) -> np.ndarray:
    """A glyph resized by `factor` (bilinear) as alpha in [0, 1]."""
    h, w = glyph.shape
    size = (max(4, round(w * factor)), max(4, round(h * factor)))
    return np.asarray(Image.fromarray(glyph).resize(size, Image.Resampling.BILINEAR), dtype=np.float64) / 255


def load_scenes(split: str = "train", n: int = 2000, size: int = 64, seed: int = 0,
                digits_path: str | None = None) -> Scenes:
    """n digit scenes: train scenes use MNIST train digits, test scenes MNIST test digits (and a
    different seed), so no digit image appears in both."""

    if split not in SPLIT_SEEDS:
        raise DataError(f"split must be train or test, got {split!r}")
    digits = load_mnist("train" if split == "train" else "test", path=digits_path)
    return compose_scenes(digits.images[:, 0].numpy(), digits.labels.numpy(), n, size, seed + SPLIT_SEEDS[split])


SCENE_SIZE = 64  # scenes are composed at this size and resized to the size a run asks for


def load_scene_images(n: int = 4096, image_size: int = SCENE_SIZE, channels: int = 3, seed: int = 0,
                      digits_path: str | None = None) -> ImageTensorDataset:
    """n digit scenes (MNIST train digits) as an unlabelled image dataset for GAN training: composed
    at 64x64 and resized (antialiased bilinear) to `image_size`; grayscale when channels == 1."""
    check_memory("scenes", n, SCENE_SIZE * SCENE_SIZE * (3 * 9 + 8 * 2))  # float canvas, uint8 image, masks
    images = load_scenes("train", n, SCENE_SIZE, seed, digits_path).images
    if channels == 1:
        images = to_gray(images)
    return ImageTensorDataset(resize_tensor(images, image_size))
