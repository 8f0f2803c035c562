"""Turning image batches into pictures (grids, PNG files, .npy arrays) and picture files into
images and masks."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.data.transforms import open_image, resize_center_crop, to_signed, to_uint8, upright_8bit
from ganforge.errors import InputError
from ganforge.io.atomic import atomic_write, write_error
from ganforge.loop import progress_bar


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """(N, C, H, W) float in [-1, 1] -> one (C, H', W') uint8 grid, `nrow` images per row
    (default: a near-square layout), separated by `padding` black pixels."""
    if images.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) images, got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    nrow = min(nrow or math.ceil(math.sqrt(n)), n)  # a row longer than the images would add only black
    rows = math.ceil(n / nrow)
    grid = torch.zeros(c, rows * (h + padding) + padding, nrow * (w + padding) + padding, dtype=torch.uint8)
    pixels = to_uint8(images.cpu())
    for i in range(n):
        top, left = padding + (i // nrow) * (h + padding), padding + (i % nrow) * (w + padding)
        grid[:, top:top + h, left:left + w] = pixels[i]
    return grid


def to_pil(image: torch.Tensor) -> Image.Image:
    """(C, H, W) uint8 tensor (C = 1 or 3) -> Pillow image."""
    array = image.permute(1, 2, 0).numpy()
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, upscale: int = 1,
              palette: bool = False) -> Path:
    """Save (N, C, H, W) images in [-1, 1] as one PNG grid; `upscale` enlarges small images
    with nearest-neighbour so 28x28 digits are visible. `palette` stores a colour grid with 256
    colours (median cut, no dithering): about a third of the bytes, for figures kept in docs/."""
    picture = to_pil(make_grid(images, nrow))
    if upscale > 1:
        picture = picture.resize((picture.width * upscale, picture.height * upscale), Image.Resampling.NEAREST)
    if palette and picture.mode == "RGB":
        picture = picture.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    atomic_write(Path(path), lambda tmp: picture.save(tmp, format="PNG"))
    return Path(path)


INCOMPLETE_MARKER = ".incomplete"  # in a folder of pictures while ganforge writes them; removed when all are


def earlier_pictures(folder: str | Path, prefix: str = "sample") -> list[Path]:
    """The `prefix`_*.png files a folder already holds (what `save_images` would replace)."""
    folder = Path(folder)
    return sorted(folder.glob(f"{prefix}_*.png")) if folder.is_dir() else []


def check_images_folder(folder: str | Path, prefix: str = "sample", overwrite: bool = False,
                        what: str = "folder") -> Path:
    """`folder` when `save_images` may write there: refused (InputError naming `what`) when it holds
    earlier `prefix`_*.png pictures, unless `overwrite`."""
    earlier = earlier_pictures(folder, prefix)
    if earlier and not overwrite:
        raise InputError(f"{what} {folder}: holds {len(earlier)} earlier picture(s) ({earlier[0].name}, ...); "
                         "give --overwrite to replace them, or another folder")
    return Path(folder)


def save_images(images: torch.Tensor, folder: str | Path, prefix: str = "sample", progress: bool = False,
                overwrite: bool = False) -> list[Path]:
    """One PNG per image: folder/prefix_00000.png, ... (`progress`: a progress bar on stderr).
    Each file is written atomically, and the folder holds INCOMPLETE_MARKER until the last one is
    written: a set cut short (Ctrl-C, kill -9, a full disk) says so. A folder of earlier pictures
    is refused unless `overwrite`, which removes those the new set does not replace."""
    folder = check_images_folder(folder, prefix, overwrite)
    earlier = earlier_pictures(folder, prefix)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from None
    atomic_write(folder / INCOMPLETE_MARKER, lambda tmp: tmp.write_text(
        f"ganforge is writing {len(images)} pictures here; this file is removed once all are written\n"))
    pixels = to_uint8(images.cpu())
    paths: list[Path] = []
    try:
        for i, image in progress_bar(enumerate(pixels), len(pixels), "writing pictures", "image", progress):
            path = folder / f"{prefix}_{i:05d}.png"
            picture = to_pil(image)
            atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))
            paths.append(path)
    except BaseException:
        if not paths:  # nothing of the new set was written: nothing to mark incomplete
            (folder / INCOMPLETE_MARKER).unlink(missing_ok=True)
        raise
    for stale in set(earlier) - set(paths):
        stale.unlink(missing_ok=True)
    (folder / INCOMPLETE_MARKER).unlink()
    return paths


def save_image(image: torch.Tensor, path: str | Path) -> Path:
    """One (C, H, W) or (1, C, H, W) image in [-1, 1] as a PNG at its own size (atomic)."""
    picture = to_pil(to_uint8(image.reshape(-1, *image.shape[-3:])[:1].cpu())[0])
    atomic_write(Path(path), lambda tmp: picture.save(tmp, format="PNG"))
    return Path(path)


def save_npy(images: torch.Tensor, path: str | Path) -> Path:
    """(N, C, H, W) float32 array in [-1, 1]."""
    return save_array(images.detach().cpu().float().numpy(), path)


def save_array(array: np.ndarray, path: str | Path) -> Path:
    """One array as a .npy file (atomic), under exactly the name given."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # np.save given a name would add ".npy" to one that lacks it
            np.save(fh, array)

    atomic_write(Path(path), write)
    return Path(path)


def load_image(path: str | Path, shape: tuple[int, int, int], what: str = "image", resize: bool = False) -> torch.Tensor:
    """`fit_image` without its note."""
    return fit_image(path, shape, what, resize)[0]


def fit_image(path: str | Path, shape: tuple[int, int, int], what: str = "image",
              resize: bool = False) -> tuple[torch.Tensor, str | None]:
    """One picture file as (C, H, W) float in [-1, 1] of the model's `shape` (C, H, W), and a
    one-line note of what was changed to fit it (None when nothing was). A model works at its own
    size: a picture of another size is an error naming `resize` (refused from its header, before
    a pixel is decoded), or with `resize` is scaled and centre-cropped as training pictures are.
    Colour pictures for a grayscale model become luma ("L"), gray ones for a colour model RGB."""
    channels, height, width = shape
    picture = upright_8bit(_open_picture(path, what, None if resize else (width, height), "the model needs",
                                         hint=" (--resize scales it to that)"))
    mode = {1: "L", 3: "RGB"}[channels]
    found = {"L": 1, "LA": 1, "RGB": 3, "RGBA": 3, "P": 3}.get(picture.mode)
    if found is None:
        raise InputError(f"{path}: {what} has mode {picture.mode}, expected grayscale (L) or colour (RGB)")
    changes = []
    if found != channels:
        changes.append("converted from colour to grayscale" if channels == 1 else "converted from grayscale to RGB")
    picture = picture.convert(mode)
    if picture.size != (width, height):
        changes.append(f"resized from {picture.width}x{picture.height} to {width}x{height}"
                       + (" (short side scaled, centre cropped)" if picture.width * height != picture.height * width
                          else ""))
        picture = resize_center_crop(picture, height) if height == width else \
            picture.resize((width, height), Image.Resampling.BICUBIC)
    array = np.asarray(picture, dtype=np.uint8)
    array = array[None] if channels == 1 else array.transpose(2, 0, 1)
    note = f"{path}: {what} {' and '.join(changes)} for the model" if changes else None
    return to_signed(torch.from_numpy(array.copy())), note


def read_picture(path: str | Path, what: str = "picture") -> Image.Image:
    """A picture file decoded as it is (at most open_image's MAX_PIXELS), InputError naming `what` otherwise."""
    return _open_picture(path, what, None, "")


def load_mask(path: str | Path, size: tuple[int, int]) -> torch.Tensor:
    """A mask picture as (H, W) bool, True where pixels are missing (white / non-zero), which
    must be `size` (H, W) and mark some but not all pixels."""
    picture = _open_picture(path, "mask", (size[1], size[0]), "the image is")
    hole = torch.from_numpy(np.asarray(picture.convert("L")) > 127)
    return check_mask(hole, size, str(path))


def check_mask(hole: torch.Tensor, size: tuple[int, int], name: str = "mask") -> torch.Tensor:
    """(H, W) bool hole (True = missing) of the right size, neither empty nor everything."""
    if hole.shape != size:
        raise InputError(f"{name}: mask is {tuple(hole.shape)}, the image is {size}")
    if not bool(hole.any()):
        raise InputError(f"{name}: mask is empty (no missing pixels: white marks the hole)")
    if bool(hole.all()):
        raise InputError(f"{name}: mask covers the whole image (nothing known to fill from)")
    return hole.bool()


@contextlib.contextmanager
def _reading(path: str | Path, what: str) -> Iterator[None]:
    """Pillow's errors while reading the picture at `path` as one-line InputErrors (ours pass as they are)."""
    try:
        yield
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{path}: {what} file not found") from None
    except (OSError, SyntaxError, ValueError) as exc:  # ValueError: a chunk past Pillow's limits
        raise InputError(f"{path}: cannot read {what} ({exc})") from None


def picture_size(path: str | Path, what: str = "image") -> tuple[int, int]:
    """(width, height) of the picture at `path`, from its header (no pixel is decoded)."""
    with _reading(path, what), open_image(path, what, InputError) as picture:
        return picture.size


def _open_picture(path: str | Path, what: str, size: tuple[int, int] | None, expected: str,
                  hint: str = "") -> Image.Image:
    """The picture at `path`, decoded only once its header showed it is `size` (W, H; None: any): a
    picture of another size (a decompression bomb among them) is refused before a pixel is decoded."""
    with _reading(path, what):
        picture = open_image(path, what, InputError)
        if size is not None and picture.size != size:
            picture.close()
            raise InputError(f"{path}: {what} is {picture.width}x{picture.height}, {expected} {size[0]}x{size[1]}"
                             f"{hint}")
        picture.load()
    return picture
