"""Image folders: every png/jpg/jpeg/webp/bmp below a root; class subfolders become labels."""

from __future__ import annotations

import logging
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from ganforge.data.tensor_dataset import ImageTensorDataset, check_memory
from ganforge.data.transforms import open_image, pil_to_tensor, resize_center_crop, upright_8bit
from ganforge.errors import DataError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
# Modes Pillow converts losslessly enough to 8-bit L or RGB; others (e.g. 32-bit "I", float "F")
# would need a value range we cannot guess, so they are reported as bad files.
CONVERTIBLE_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "I;16"}


def find_images(root: Path) -> list[Path]:
    """All image files below `root`, recursively, in a stable (sorted) order. The walk keeps its own
    list of folders to visit, so a tree nested thousands deep costs no recursion (Path.rglob and
    os.walk recurse, and stop at Python's limit near 1,000); links to folders are not followed."""
    found, folders = [], [Path(root)]
    while folders:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError as exc:
            raise DataError(f"{exc.filename}: cannot list folder ({exc.strerror})") from None
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(Path(entry.path))
            elif entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS:
                found.append(Path(entry.path))
    return sorted(found)


GRAY_MODES = {"1", "L", "LA", "I;16"}


def decode_picture(path: Path, channels: int | None) -> Image.Image:
    """Decode one file to an 8-bit Pillow image: "L" for channels=1, "RGB" for 3, and for None
    whichever the file holds (grayscale files stay "L"); DataError for anything unreadable
    (also for a file declaring more pixels than `open_image` reads: a decompression bomb)."""
    try:
        with open_image(path) as image:
            image.load()
            image = upright_8bit(image)  # EXIF orientation; 1-bit, 16-bit and gray-palette files as gray
            if image.mode not in CONVERTIBLE_MODES:
                raise DataError(f"{path}: unsupported image mode {image.mode!r} "
                                f"(expected 8-bit grayscale, palette, RGB or RGBA)")
            gray = image.mode in GRAY_MODES
            if image.mode == "I;16":
                image = image.point(lambda v: v / 256).convert("L")
            if channels is None:
                channels = 1 if gray else 3
            return image.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: cannot read image ({exc.__class__.__name__}: {exc})") from None


# How many files `inspect_image_folder` decodes: evenly spaced over the sorted list, so every class
# subfolder is seen; enough to tell colour from grayscale and the usual size, cheap for any folder.
SAMPLED_FILES = 64


@dataclass(frozen=True)
class FolderShape:
    """What the pictures of a folder hold, from a sample: `channels` 3 when any sampled picture is
    colour (R, G, B not all equal), else 1; `size` the median short side in pixels."""

    channels: int
    size: int
    sampled: int
    total: int

    def describe(self) -> str:
        kind = "colour" if self.channels == 3 else "grayscale"
        of = f"all {self.total}" if self.sampled == self.total else f"{self.sampled} of {self.total}, evenly spaced,"
        return f"{kind} pictures, median short side {self.size} px ({of} sampled)"


def is_colour(picture: Image.Image) -> bool:
    """Whether a decoded "L" / "RGB" picture has colour: an RGB file whose channels are all equal is gray."""
    if picture.mode != "RGB":
        return False
    red, green, blue = picture.split()
    return red.tobytes() != green.tobytes() or red.tobytes() != blue.tobytes()


def inspect_image_folder(root: str | Path, limit: int | None = None, skip_bad: bool = False,
                         sample: int = SAMPLED_FILES) -> FolderShape:
    """Channels and typical size of the images `load_image_folder(root, limit=limit)` would read,
    from `sample` of them (all when there are no more): DataError as that loader raises it for a
    missing or empty folder or a bad file (skipped with `skip_bad`)."""
    paths = _image_paths(Path(root), limit)
    picks = paths if len(paths) <= sample else [paths[i * len(paths) // sample] for i in range(sample)]
    colour, sides = False, []
    for path in picks:
        try:
            picture = decode_picture(path, None)
        except DataError:
            if not skip_bad:
                raise
            continue
        colour = colour or is_colour(picture)
        sides.append(min(picture.size))
    if not sides:
        raise DataError(f"{root}: all {len(picks)} sampled image(s) were unreadable")
    return FolderShape(3 if colour else 1, int(statistics.median_low(sides)), len(sides), len(paths))


def _image_paths(root: Path, limit: int | None) -> list[Path]:
    if not root.is_dir():
        raise DataError(f"{root}: image folder not found (expected a directory of images)")
    paths = find_images(root)
    if not paths:
        raise DataError(f"{root}: no images found (looked for {', '.join(IMAGE_EXTENSIONS)}, recursively)")
    return paths[:limit] if limit is not None else paths


def read_image(path: Path, image_size: int, channels: int) -> torch.Tensor:
    """Decode one file to a (channels, image_size, image_size) uint8 tensor, or raise DataError."""
    return pil_to_tensor(resize_center_crop(decode_picture(path, channels), image_size))


def load_image_folder(root: str | Path, image_size: int, channels: int = 3, skip_bad: bool = False,
                      limit: int | None = None, progress: bool = False) -> ImageTensorDataset:
    """Decode every image below `root` into memory, resized and centre-cropped to `image_size`.

    Labels come from the top-level subfolders when every image lies in one (sorted names ->
    0, 1, ...); otherwise the dataset is unlabelled. Bad files raise DataError naming the file,
    or with `skip_bad` are skipped and counted in a warning.
    """
    root = Path(root)
    paths = _image_paths(root, limit)
    check_memory(str(root), len(paths), 2 * channels * image_size * image_size)  # the decoded list, then the stack
    relative = [p.relative_to(root).parts for p in paths]
    labelled = all(len(parts) > 1 for parts in relative)
    classes = sorted({parts[0] for parts in relative}) if labelled else []
    class_index = {name: i for i, name in enumerate(classes)}

    images, labels, bad = [], [], 0
    for path, parts in zip(paths, tqdm(relative, desc=f"reading {root}", disable=not progress, unit="img")):
        try:
            images.append(read_image(path, image_size, channels))
        except DataError:
            if not skip_bad:
                raise
            bad += 1
            continue
        labels.append(class_index[parts[0]] if labelled else -1)
    if bad:
        log.warning("%s: skipped %d unreadable image(s) of %d", root, bad, len(paths))
    if not images:
        raise DataError(f"{root}: all {len(paths)} image(s) were unreadable")
    return ImageTensorDataset(torch.stack(images), torch.tensor(labels), classes, skipped=bad)
