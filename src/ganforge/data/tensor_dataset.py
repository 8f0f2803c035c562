"""The in-memory dataset every ganforge loader returns."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from ganforge.data.transforms import to_signed
from ganforge.device import memory_shortfall
from ganforge.errors import DataError

UNLABELLED = -1


def check_memory(source: str, n: int, image_bytes: int) -> None:
    """Refuse, before anything is allocated, `n` images of `image_bytes` each (at the loader's peak:
    decoding, resizing) that would not fit in the memory ganforge holds at once (device.memory_budget)."""
    shortfall = memory_shortfall(n * image_bytes)
    if shortfall is not None:
        raise DataError(f"{source}: {n:,} images {shortfall}; use a smaller --limit or --image-size")


class ImageTensorDataset(Dataset):
    """Images held in memory as uint8 (N, C, H, W); items are (float image in [-1, 1], label).

    `label` is an int class index, or UNLABELLED (-1) for datasets without classes.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                 classes: list[str] | None = None, skipped: int = 0) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        if labels is None:
            labels = torch.full((len(images),), UNLABELLED, dtype=torch.int64)
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels.to(torch.int64)
        self.classes = list(classes or [])
        self.skipped = skipped  # bad source files left out (image folders with skip_bad)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return to_signed(self.images[index]), int(self.labels[index])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, limit: int | None) -> "ImageTensorDataset":
        """The first `limit` images (all of them when limit is None)."""
        if limit is None or limit >= len(self):
            return self
        return ImageTensorDataset(self.images[:limit], self.labels[:limit], self.classes)
