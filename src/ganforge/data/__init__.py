"""Datasets: every one yields (image float (C, H, W) in [-1, 1], label int or -1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ganforge.data.emoji import load_emoji
from ganforge.data.fashion_mnist import load_fashion_mnist
from ganforge.data.image_folder import load_image_folder
from ganforge.data.mnist import load_mnist
from ganforge.data.scenes import load_scene_images
from ganforge.data.shapes import load_shapes, make_shapes
from ganforge.data.tensor_dataset import UNLABELLED, ImageTensorDataset
from ganforge.errors import DataError
from ganforge.registry import Registry

if TYPE_CHECKING:  # the run schema sits above the data it names
    from ganforge.config import DataConfig

__all__ = ["DATASETS", "build_dataset", "load_emoji", "load_fashion_mnist", "load_image_folder", "load_mnist", "load_scene_images", "load_shapes", "make_shapes",
           "ImageTensorDataset", "UNLABELLED"]

DatasetBuilder = Callable[["DataConfig", bool], ImageTensorDataset]
DATASETS: Registry[DatasetBuilder] = Registry("dataset")


@DATASETS.register("mnist")
def _mnist(config: DataConfig, progress: bool) -> ImageTensorDataset:
    if config.channels != 1:
        raise DataError("MNIST is grayscale: use --channels 1")
    return load_mnist("train", config.path, config.image_size, config.limit)


@DATASETS.register("fashion-mnist")
def _fashion_mnist(config: DataConfig, progress: bool) -> ImageTensorDataset:
    if config.channels != 1:
        raise DataError("Fashion-MNIST is grayscale: use --channels 1")
    return load_fashion_mnist("train", config.path, config.image_size, config.limit)


@DATASETS.register("emoji")
def _emoji(config: DataConfig, progress: bool) -> ImageTensorDataset:
    return load_emoji(config.path, config.image_size, config.channels, config.limit)


@DATASETS.register("folder")
def _folder(config: DataConfig, progress: bool) -> ImageTensorDataset:
    return load_image_folder(config.path, config.image_size, config.channels, config.skip_bad,
                             config.limit, progress=progress)


@DATASETS.register("shapes")
def _shapes(config: DataConfig, progress: bool) -> ImageTensorDataset:
    return load_shapes(config.limit or 2048, config.image_size, config.channels)


@DATASETS.register("scenes")
def _scenes(config: DataConfig, progress: bool) -> ImageTensorDataset:
    return load_scene_images(config.limit or 4096, config.image_size, config.channels, digits_path=config.path)


def build_dataset(config: DataConfig, progress: bool = False) -> ImageTensorDataset:
    """The training dataset a run's data config describes."""
    return DATASETS.get(config.dataset)(config, progress)
