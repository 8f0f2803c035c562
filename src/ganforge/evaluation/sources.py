"""Where images to evaluate come from: run folders, image folders, .npy files, MNIST."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganforge.data import load_fashion_mnist, load_image_folder, load_mnist
from ganforge.data.transforms import to_signed
from ganforge.api import load
from ganforge.errors import DataError
from ganforge.io.checkpoint import CHECKPOINTS_DIR, find_checkpoint, list_checkpoints, read_config


def _is_run(path: Path) -> bool:
    """A checkpoint, a run folder, or a folder of step_* checkpoints (such as RUN/best)."""
    return (path / "meta.json").is_file() or (path / CHECKPOINTS_DIR).is_dir() or bool(list_checkpoints(path))


def _all_images(path: Path, image_shape: tuple[int, int, int] | None) -> torch.Tensor:
    """Every image of a .npy file or an image folder."""
    if path.suffix == ".npy":
        return _npy_images(path)
    if not path.is_dir():
        raise DataError(f"{path}: expected a run folder, an image folder or a .npy file")
    if image_shape is None:
        raise DataError(f"{path}: an image folder needs an extractor with a fixed input size")
    channels, size, _ = image_shape
    return to_signed(load_image_folder(path, size, channels).images)


def run_num_classes(source: str | Path) -> int:
    """Classes of the conditional model in a run/checkpoint folder; 0 for anything else."""
    path = Path(source)
    if not path.exists() or path.suffix == ".npy" or not _is_run(path):
        return 0
    return read_config(find_checkpoint(path)).model.num_classes


def images_from_source(source: str | Path, n: int, image_shape: tuple[int, int, int] | None,
                       seed: int = 0, device: str | torch.device = "cpu") -> torch.Tensor:
    """n images (N, C, H, W) float in [-1, 1] from a run/checkpoint folder (sampled with `seed`;
    conditional models with balanced labels i mod K), a folder of images, or a .npy file (float
    in [-1, 1] or uint8 in [0, 255])."""
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: not found (expected a run folder, an image folder or a .npy file)")
    if _is_run(path):
        return load(path, device=device).sample(n, seed=seed)
    images = _all_images(path, image_shape)
    if len(images) < n:
        raise DataError(f"{path}: has {len(images)} images, fewer than --n {n}")
    return images[:n]


def _npy_images(path: Path) -> torch.Tensor:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read .npy ({exc})") from None
    if array.ndim != 4:
        raise DataError(f"{path}: expected an (N, C, H, W) array, got shape {array.shape}")
    if array.dtype == np.uint8:
        return to_signed(torch.from_numpy(array))
    if not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"{path}: expected float images in [-1, 1] or uint8, got dtype {array.dtype}")
    if array.size and (np.nanmin(array) < -1.001 or np.nanmax(array) > 1.001 or np.isnan(array).any()):
        raise DataError(f"{path}: float images must lie in [-1, 1] (as `ganforge sample` writes them)")
    if array.size and array.min() >= 0 and array.max() <= 1 and array.max() > array.min():
        raise DataError(f"{path}: float values all lie in [0, 1]; ganforge expects [-1, 1] (use x * 2 - 1)")
    return torch.from_numpy(array.astype(np.float32))


def reference_images(ref: str, n: int, image_shape: tuple[int, int, int] | None,
                     seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(reference images, held-out real images for the floor or None) for --ref: "mnist"
    (train vs test), a run (2n samples), or a folder / .npy (two random disjoint halves when it
    has 2n images, else all as reference and no floor)."""
    if ref in REFERENCE_DATASETS:
        return mnist_reference(n, seed, ref)
    path = Path(ref)
    if not path.exists():
        raise DataError(f"--ref {ref}: not found (expected mnist, fashion-mnist, a folder of images, a .npy or a .npz)")
    images = images_from_source(path, 2 * n, image_shape, seed) if _is_run(path) else _all_images(path, image_shape)
    if len(images) < n:
        raise DataError(f"--ref {ref}: has {len(images)} images, fewer than --n {n}")
    images = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))]
    return (images[:n], images[n:2 * n]) if len(images) >= 2 * n else (images, None)


# --ref names: datasets whose train split is the reference and test split the floor.
REFERENCE_DATASETS = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


def mnist_reference(n: int, seed: int = 0, dataset: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """(n random train images, n random test images) of MNIST or Fashion-MNIST: reference and floor."""
    if n > 10_000:
        label = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}[dataset]
        raise DataError(f"--n {n}: {label} test has 10,000 images, so the real-vs-real floor allows n <= 10000")
    rng = torch.Generator().manual_seed(seed)
    load = REFERENCE_DATASETS[dataset]
    train, test = load("train"), load("test")
    pick = lambda ds: to_signed(ds.images[torch.randperm(len(ds), generator=rng)[:n]])  # noqa: E731
    return pick(train), pick(test)
