"""Datasets: every one yields (image float (C, H, W) in [-1, 1], label int or -1)."""

from __future__ import annotations

from ganforge.config import DataConfig
from ganforge.data.image_folder import load_image_folder
from ganforge.data.mnist import load_mnist
from ganforge.data.shapes import load_shapes, make_shapes
from ganforge.data.tensor_dataset import UNLABELLED, ImageTensorDataset
from ganforge.errors import DataError

__all__ = ["build_dataset", "load_image_folder", "load_mnist", "load_shapes", "make_shapes",
           "ImageTensorDataset", "UNLABELLED"]


def build_dataset(config: DataConfig, progress: bool = False) -> ImageTensorDataset:
    """The training dataset a run's data config describes."""
    if config.dataset == "mnist":
        if config.channels != 1:
            raise DataError("MNIST is grayscale: use --channels 1")
        return load_mnist("train", config.path, config.image_size, config.limit)
    if config.dataset == "shapes":
        return load_shapes(config.limit or 2048, config.image_size, config.channels)
    return load_image_folder(config.path, config.image_size, config.channels, config.skip_bad,
                             config.limit, progress=progress)
