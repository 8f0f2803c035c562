"""A procedural dataset of coloured shapes with per-pixel masks and boxes, made from a seed.

Used by tests and demos that need images with known ground truth and no files on disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ganforge.data.tensor_dataset import ImageTensorDataset, check_memory
from ganforge.data.transforms import to_gray

SHAPE_CLASSES = ["circle", "square", "triangle"]


@dataclass
class ShapeScenes:
    """images: (N, 3, S, S) uint8; masks: (N, S, S) int64, 0 = background, k + 1 = class k;
    boxes[i]: (M_i, 4) int64 (x0, y0, x1, y1), inclusive-exclusive pixel bounds of the visible
    part of each shape; labels[i]: (M_i,) class index of each shape, in drawing order."""

    images: torch.Tensor
    masks: torch.Tensor
    boxes: list[torch.Tensor]
    labels: list[torch.Tensor]


def make_shapes(n: int, image_size: int = 32, seed: int = 0, max_shapes: int = 1) -> ShapeScenes:
    """Draw `n` images, each with 1..max_shapes shapes; the same seed gives the same data."""
    if n <= 0 or image_size < 8 or max_shapes < 1:
        raise ValueError("need n > 0, image_size >= 8 and max_shapes >= 1")
    check_memory("shapes", n, image_size * image_size * (3 + 8))  # RGB uint8 images and int64 masks
    rng = np.random.default_rng(seed)
    s = image_size
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float64) + 0.5
    images = np.empty((n, s, s, 3), dtype=np.uint8)
    masks = np.zeros((n, s, s), dtype=np.int64)
    all_boxes, all_labels = [], []
    for i in range(n):
        background = rng.integers(0, 80, size=3)
        canvas = np.broadcast_to(background, (s, s, 3)).copy()
        instance = np.full((s, s), -1, dtype=np.int64)
        labels = []
        for k in range(int(rng.integers(1, max_shapes + 1))):
            cls = int(rng.integers(len(SHAPE_CLASSES)))
            radius = rng.uniform(0.15, 0.3) * s
            cx, cy = rng.uniform(radius, s - radius, size=2)
            inside = _shape_mask(cls, xx - cx, yy - cy, radius)
            canvas[inside] = rng.integers(120, 256, size=3)
            instance[inside] = k
            masks[i][inside] = cls + 1
            labels.append(cls)
        boxes = []
        for k in range(len(labels)):
            ys, xs = np.nonzero(instance == k)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else [0, 0, 0, 0])
        images[i] = canvas
        all_boxes.append(torch.tensor(boxes, dtype=torch.int64).reshape(-1, 4))
        all_labels.append(torch.tensor(labels, dtype=torch.int64))
    return ShapeScenes(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
                       torch.from_numpy(masks), all_boxes, all_labels)


def _shape_mask(cls: int, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    if SHAPE_CLASSES[cls] == "circle":
        return dx**2 + dy**2 <= r**2
    if SHAPE_CLASSES[cls] == "square":
        half = r / np.sqrt(2)
        return (np.abs(dx) <= half) & (np.abs(dy) <= half)
    # Upward triangle inscribed in the circle of radius r.
    return (dy <= r / 2) & (dy >= -r + np.sqrt(3) * np.abs(dx))


def load_shapes(n: int = 2048, image_size: int = 32, channels: int = 3, seed: int = 0) -> ImageTensorDataset:
    """One shape per image, labelled with its class; grayscale when channels == 1."""
    scenes = make_shapes(n, image_size, seed, max_shapes=1)
    images = scenes.images
    if channels == 1:
        images = to_gray(images)
    labels = torch.stack([lab[0] for lab in scenes.labels])
    return ImageTensorDataset(images, labels, SHAPE_CLASSES)
