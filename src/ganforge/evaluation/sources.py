"""Where images to evaluate come from: run folders, image folders, .npy files, MNIST."""

from __future__ import annotations

from pathlib import Path

import torch

from ganforge.data import load_emoji, load_fashion_mnist, load_mnist, load_scene_images, load_shapes
from ganforge.data.image_folder import GRAY_MODES, find_images
from ganforge.data.scenes import SCENE_SIZE
from ganforge.data.transforms import open_image
from ganforge.api import load
from ganforge.decoding import array_shape
from ganforge.errors import DataError
from ganforge.evaluation.pixels import as_pixels, fit_pixels, npy_pixels, read_picture_folder
from ganforge.io.checkpoint import CHECKPOINTS_DIR, find_checkpoint, list_checkpoints, read_config
from ganforge import zoo


def _is_run(path: Path) -> bool:
    """A checkpoint, a run folder, or a folder of step_* checkpoints (such as RUN/best)."""
    return (path / "meta.json").is_file() or (path / CHECKPOINTS_DIR).is_dir() or bool(list_checkpoints(path))


def _all_images(path: Path, image_size: int | None) -> torch.Tensor:
    """Every image of a .npy file or an image folder, as uint8 pixels (resized to `image_size`)."""
    if path.suffix == ".npy":
        return fit_pixels(npy_pixels(path), None, image_size, what=str(path))
    if not path.is_dir():
        raise DataError(f"{path}: expected a run folder, an image folder or a .npy file")
    return read_picture_folder(path, image_size)


def source_path(source: str | Path) -> Path:
    """`source` as a path; a zoo model's name (where no such file or folder exists) as its checkpoint."""
    path = Path(source)
    return zoo.checkpoint(str(source)) if not path.exists() and zoo.is_name(str(source)) else path


def run_num_classes(source: str | Path) -> int:
    """Classes of the conditional model in a run/checkpoint folder or zoo model; 0 for anything else."""
    path = source_path(source)
    if not path.exists() or path.suffix == ".npy" or not _is_run(path):
        return 0
    return read_config(find_checkpoint(path)).model.num_classes


def images_from_source(source: str | Path, n: int, image_size: int | None = None, seed: int = 0,
                       device: str | torch.device = "cpu", progress: bool = False) -> torch.Tensor:
    """n images (N, C, H, W) as uint8 pixels (see `ganforge.evaluation.pixels`) from a run or
    checkpoint folder (sampled with `seed`; conditional models with balanced labels i mod K), a
    folder of images, or a .npy file (float in [-1, 1] or uint8 in [0, 255]); at their own size,
    or resized to `image_size` the same way whatever the source. A zoo model's name reads as its
    checkpoint."""
    path = source_path(source)
    if not path.exists():
        raise DataError(f"{path}: not found (expected a run folder, an image folder or a .npy file)")
    if _is_run(path):
        return fit_pixels(as_pixels(load(path, device=device).sample(n, seed=seed, progress=progress)), None,
                          image_size)
    images = _all_images(path, image_size)
    if len(images) < n:
        raise DataError(f"{path}: has {len(images)} images, fewer than --n {n}")
    return images[:n]


def reference_images(ref: str, n: int, image_size: int | None = None,
                     seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(reference images, held-out real images for the floor or None) for --ref: a dataset name
    (see REFERENCE_DATASETS), a run (2n samples), or a folder / .npy (two random disjoint halves when it
    has 2n images, else all as reference and no floor)."""
    if ref in REFERENCE_DATASETS:
        reference, floor = REFERENCE_DATASETS[ref](n, seed)
        return fit_pixels(reference, None, image_size), fit_pixels(floor, None, image_size)
    path = Path(ref)
    if not path.exists():
        raise DataError(f"--ref {ref}: not found (expected {', '.join(REFERENCE_DATASETS)}, a folder of images, "
                        "a .npy or a .npz)")
    images = images_from_source(path, 2 * n, image_size, seed) if _is_run(path) else _all_images(path, image_size)
    if len(images) < n:
        raise DataError(f"--ref {ref}: has {len(images)} images, fewer than --n {n}")
    images = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))]
    return (images[:n], images[n:2 * n]) if len(images) >= 2 * n else (images, None)


Shape = tuple[int, int, int]


def check_sources(source: str | Path, ref: str, n: int, image_size: int | None = None) -> list[tuple[str, Shape]]:
    """What can be told before any image is sampled, decoded or featurised: DataError when the
    source or --ref holds fewer than n images (or a dataset's floor allows fewer); the (C, H, W)
    the extractor will get from each whose shape is known: [("the source", shape), ("--ref X", shape)]."""
    shapes = []
    count, shape = peek_images(source_path(source), image_size)
    if count is not None and count < n:
        raise DataError(f"{source_path(source)}: has {count} images, fewer than --n {n}")
    if shape is not None:
        shapes.append(("the source", shape))
    if str(ref).endswith(".npz"):
        return shapes
    if ref in REFERENCE_DATASETS:
        if ref in ("mnist", "fashion-mnist"):
            check_mnist_floor(n, ref)
        count, shape = None, _resized(REFERENCE_SHAPES.get(ref), image_size)
    else:
        count, shape = peek_images(Path(ref), image_size)
    if count is not None and count < n:
        raise DataError(f"--ref {ref}: has {count} images, fewer than --n {n}")
    return shapes + ([(f"--ref {ref}", shape)] if shape is not None else [])


def peek_images(path: Path, image_size: int | None = None) -> tuple[int | None, Shape | None]:
    """(how many images, their (C, H, W) as the extractor gets them) of a run, .npy or picture
    folder, told without sampling or decoding: from a run's config (count None: it makes as many
    as asked), a .npy's header, a folder's file names and picture headers. None for what cannot be
    told so (reading the images then reports why)."""
    if not path.exists():
        return None, None
    if _is_run(path):
        data = read_config(find_checkpoint(path)).data
        return None, _resized((data.channels, data.image_size, data.image_size), image_size)
    if path.suffix == ".npy":
        try:
            shape = array_shape(path)
        except DataError:
            return None, None  # reading the images then says why, in one line
        return (shape[0], _resized(shape[1:], image_size)) if len(shape) == 4 else (None, None)
    if not path.is_dir():
        return None, None
    paths = find_images(path)
    if not paths:
        return None, None
    channels, size = 1, None
    for file in paths:  # headers only; gray files are read as gray only when all are (read_picture_folder)
        try:
            with open_image(file) as picture:
                channels = 1 if channels == 1 and picture.mode in GRAY_MODES else 3
                size = size or (picture.height, picture.width)
        except (DataError, OSError, SyntaxError, ValueError):
            continue
        if channels == 3:
            break
    return len(paths), (None if size is None else _resized((channels, *size), image_size))


def _resized(shape: tuple[int, ...] | None, image_size: int | None) -> Shape | None:
    if shape is None:
        return None
    return (shape[0], image_size, image_size) if image_size is not None else (shape[0], shape[1], shape[2])


def check_mnist_floor(n: int, dataset: str = "mnist") -> None:
    """The real-vs-real floor of MNIST and Fashion-MNIST draws n of their 10,000 test images."""
    if n > 10_000:
        label = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}[dataset]
        raise DataError(f"--n {n}: {label} test has 10,000 images, so the real-vs-real floor allows n <= 10000")


def mnist_reference(n: int, seed: int = 0, dataset: str = "mnist") -> tuple[torch.Tensor, torch.Tensor]:
    """(n random train images, n random test images) of MNIST or Fashion-MNIST as uint8 pixels:
    reference and floor."""
    check_mnist_floor(n, dataset)
    rng = torch.Generator().manual_seed(seed)
    load = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}[dataset]
    train, test = load("train"), load("test")
    pick = lambda ds: ds.images[torch.randperm(len(ds), generator=rng)[:n]]  # noqa: E731
    return pick(train), pick(test)


# The (C, H, W) of each --ref dataset's pictures (before --image-size), for the checks made before any work.
REFERENCE_SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "shapes": (3, SCENE_SIZE, SCENE_SIZE),
                    "scenes": (3, SCENE_SIZE, SCENE_SIZE), "emoji": (3, 64, 64)}
PROCEDURAL_FLOOR_SEED = 1_000_003  # the floor's images are made from this seed (runs train on seed 0's)


def procedural_reference(name: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(the first n images `--dataset shapes` or `scenes` trains on, n others made from another
    seed) at 64x64 RGB: reference and floor."""
    load = {"shapes": load_shapes, "scenes": load_scene_images}[name]
    return tuple(load(n, SCENE_SIZE, 3, seed=seed).images for seed in (0, PROCEDURAL_FLOOR_SEED))  # type: ignore[return-value]


def emoji_reference(n: int, seed: int = 0, path: str | Path | None = None, image_size: int = 64,
                    channels: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """(reference, floor): two disjoint halves of n emoji each, drawn by a `seed`ed permutation of
    the whole set (`load_emoji(path, image_size, channels)`; 1,911 pictures, so n <= 955), as
    uint8 pixels. A real set has no second draw, so the real-vs-real floor is its other half."""
    images = load_emoji(path, image_size, channels).images
    if 2 * n > len(images):
        raise DataError(f"--n {n}: the emoji set has {len(images):,} pictures, so two disjoint halves (reference "
                        f"and floor) allow n <= {len(images) // 2}")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return images[order[:n]], images[order[n:2 * n]]


# --ref names -> (n, seed) -> (reference, floor): MNIST and Fashion-MNIST train vs test (n random
# images of each); the procedural colour data: the run's training images vs others (seed unused);
# emoji: two disjoint random halves of the set (seed picks them).
REFERENCE_DATASETS = {
    "mnist": lambda n, seed: mnist_reference(n, seed, "mnist"),
    "fashion-mnist": lambda n, seed: mnist_reference(n, seed, "fashion-mnist"),
    "shapes": lambda n, seed: procedural_reference("shapes", n),
    "scenes": lambda n, seed: procedural_reference("scenes", n),
    "emoji": lambda n, seed: emoji_reference(n, seed),
}
