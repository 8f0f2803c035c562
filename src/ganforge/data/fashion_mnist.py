"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 28x28 grayscale pictures of ten kinds of
clothing, in MNIST's format and splits (train 50,000 / valid 10,000 from the 60,000 training
pictures, test 10,000), a harder drop-in for MNIST.

Read from the four IDX files of the Debian package `dataset-fashion-mnist` (offline:
`apt-get install dataset-fashion-mnist`), whose contents are checked against SHA-256 sums recorded
from that package, or from `--data DIR` holding the same four files (gzipped or not), taken as given.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import torch

from ganforge.data.mnist import SPLITS, read_idx_split
from ganforge.data.tensor_dataset import ImageTensorDataset, check_memory
from ganforge.data.transforms import resize_tensor
from ganforge.errors import DataError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# SHA-256 of each file's decompressed IDX content, recorded from the Debian package
# dataset-fashion-mnist 0.0~git20200523.55506a9-1 (content sums: a re-compressed copy still matches).
CONTENT_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


def load_fashion_mnist(split: str = "train", path: str | Path | None = None, image_size: int = 28,
                       limit: int | None = None) -> ImageTensorDataset:
    """Fashion-MNIST as a (N, 1, image_size, image_size) dataset with labels 0-9 (CLASSES)."""
    if split not in SPLITS:
        raise DataError(f"Fashion-MNIST split must be one of {', '.join(SPLITS)}, got {split!r}")
    if path is None:
        root = DEBIAN_DIR
        if not root.is_dir():
            raise DataError(f"Fashion-MNIST not found at {root}: install it offline with `apt-get install "
                            "dataset-fashion-mnist`, or pass --data DIR with the four IDX files")
        verify_contents(root)
    else:
        root = Path(path)
    images, labels = read_idx_split(root, split, "Fashion-MNIST")
    images, labels = images[:limit], labels[:limit]
    check_memory(f"Fashion-MNIST {split}", len(images), 13 * image_size * image_size)
    images = resize_tensor(torch.from_numpy(images).unsqueeze(1), image_size)
    return ImageTensorDataset(images, torch.from_numpy(labels.astype(np.int64)), CLASSES)


def verify_contents(root: Path) -> None:
    """DataError naming a file whose decompressed content is not the recorded one."""
    for name, expected in CONTENT_SHA256.items():
        path = root / f"{name}.gz" if (root / f"{name}.gz").is_file() else root / name
        if not path.is_file():
            raise DataError(f"{root}: missing Fashion-MNIST file {name} (or {name}.gz)")
        digest = hashlib.sha256()
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != expected:
            raise DataError(f"{path}: content differs from the Fashion-MNIST files of the Debian package "
                            "(SHA-256 mismatch)")
