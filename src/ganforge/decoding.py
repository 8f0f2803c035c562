"""The decoding gate: every picture, JSON document and array file ganforge reads from a user passes
here, and whatever the bytes hold ends in a value or in one `GanforgeError` naming the file.

Bounds are checked from headers, before the costly part: a picture's declared size and shape
(pixels, sides and aspect ratio, so that neither decoding nor resizing can blow up), a .npy's
declared shape against the bytes it holds, an .npz's declared sizes. Decoders' own failures
(Pillow's text-chunk limit, JSON nested past Python's recursion limit, text that is not UTF-8, an
empty or truncated array file, a broken zip, a pickle in a weights-only file) become one line.
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import numpy as np
import torch
from PIL import Image

from ganforge.errors import DataError, GanforgeError

# The most pixels a picture file may declare: 8192 x 8192 (64 Mi pixels; 192 MiB decoded as RGB).
# Training resizes pictures to at most 1024 px and the models' own pictures are smaller still, so
# this is generous; it refuses decompression bombs (a few KB declaring 20000 x 20000) from their
# header, before a pixel is decoded. Pillow's own limit (MAX_IMAGE_PIXELS, ~89 M) only warns.
MAX_PIXELS = 8192 * 8192
# Resizing scales the short side to the training size, so a picture's cost is its aspect ratio
# times the output: 1,000,000 x 1 passes MAX_PIXELS yet would resize to 64,000,000 x 64. Longer than
# MAX_ASPECT : 1 is refused (a 16:1 panorama still reads; its centre crop is all that is used).
MAX_ASPECT = 16
# JSON files ganforge reads (configs, meta.json, lists of indices) are kilobytes; this bounds what
# is read into memory for one.
MAX_JSON_BYTES = 64 << 20


def open_image(path: str | Path, what: str = "image", error: type[GanforgeError] = DataError) -> Image.Image:
    """A picture file opened lazily (header read, no pixel decoded yet: call .load()), refused with
    `error` when it declares more than MAX_PIXELS pixels or a side MAX_ASPECT times the other, or
    when its header chunks cannot be read (a text or colour-profile chunk that decompresses past
    Pillow's limit). A missing file or bytes that are no picture raise what Pillow raises."""
    limit = f"at most {MAX_PIXELS:,} (8192x8192) are read"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, with a clearer message
        try:
            picture = Image.open(path)
        except Image.DecompressionBombError:  # over twice Pillow's limit: Pillow refuses to open it
            raise error(f"{path}: {what} declares over {2 * Image.MAX_IMAGE_PIXELS:,} pixels; {limit}") from None
        except ValueError as exc:  # PngImagePlugin: "Decompressed data too large for ...MAX_TEXT_CHUNK"
            raise error(f"{path}: cannot read {what} ({first_line(exc)})") from None
    width, height = picture.size
    if width * height > MAX_PIXELS:
        picture.close()
        raise error(f"{path}: {what} declares {width}x{height} pixels; {limit}")
    if max(width, height) > MAX_ASPECT * max(1, min(width, height)):
        picture.close()
        raise error(f"{path}: {what} is {width}x{height} pixels, longer than {MAX_ASPECT}:1; "
                    f"pictures of at most {MAX_ASPECT}:1 are read")
    return picture


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def parse_json(data: str | bytes, source: str | Path, error: type[GanforgeError] = DataError) -> Any:
    """The JSON value in `data` (UTF-8 bytes or text); `error` naming `source` when it is not UTF-8,
    not JSON, or nested deeper than Python's parser recurses."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray, memoryview)) else data
    except UnicodeDecodeError as exc:
        raise error(f"{source}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise error(f"{source}: JSON nested too deeply to read") from None


def read_json(path: str | Path, error: type[GanforgeError] = DataError, what: str = "file") -> Any:
    """The JSON value in the file at `path`, through `parse_json`; `error` when it is missing,
    unreadable or over MAX_JSON_BYTES."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_JSON_BYTES + 1)
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot read {what} ({exc.strerror or first_line(exc)})") from None
    if len(data) > MAX_JSON_BYTES:
        raise error(f"{path}: over {MAX_JSON_BYTES >> 20} MiB; not a {what} ganforge reads")
    return parse_json(data, path, error)


def array_shape(path: str | Path, error: type[GanforgeError] = DataError, what: str = "array") -> tuple[int, ...]:
    """The shape a .npy file declares, read from its header alone and checked against the bytes
    the file holds (as `load_array` checks it)."""
    with _npy(path, error, what) as (_, shape):
        return shape


def load_array(path: str | Path, error: type[GanforgeError] = DataError, what: str = "array") -> np.ndarray:
    """The array in a .npy file (no pickles), its declared shape checked against the bytes it
    holds before any is read."""
    with _npy(path, error, what) as (fh, _):
        fh.seek(0)
        return np.load(fh, allow_pickle=False)


@contextmanager
def _npy(path: str | Path, error: type[GanforgeError], what: str) -> Iterator[tuple[BinaryIO, tuple[int, ...]]]:
    """(the open file, its declared shape) once the header is read and checked; numpy's failures
    while inside become `error` too."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                raise error(f"{path}: empty file (0 bytes), not a .npy {what}")
            version = np.lib.format.read_magic(fh)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise error(f"{path}: .npy format {version[0]}.{version[1]}; versions 1.0 and 2.0 are read")
            shape, _, dtype = read_header(fh)
            declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if not dtype.hasobject and declared > size - fh.tell():
                raise error(f"{path}: declares a {'x'.join(map(str, shape)) or 'scalar'} {dtype} array "
                            f"({declared:,} bytes) but holds {size - fh.tell():,}")
            yield fh, tuple(shape)
    except GanforgeError:
        raise
    except FileNotFoundError:
        raise error(f"{path}: {what} file not found") from None
    except (OSError, ValueError, EOFError, TypeError) as exc:
        raise error(f"{path}: cannot read .npy {what} ({first_line(exc)})") from None


def load_arrays(path: str | Path, error: type[GanforgeError] = DataError, what: str = "arrays",
                max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Every array of an .npz file (no pickles), read in full here so that a broken member fails
    here; `max_bytes` bounds the sizes its members declare (checked before any is inflated)."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise error(f"{path}: empty file (0 bytes), not an .npz of {what}")
        with zipfile.ZipFile(path) as archive:
            declared = sum(member.file_size for member in archive.infolist())
        if max_bytes is not None and declared > max_bytes:
            raise error(f"{path}: its arrays declare {declared:,} bytes; at most {max_bytes:,} are read")
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except GanforgeError:
        raise
    except FileNotFoundError:
        raise error(f"{path}: {what} file not found") from None
    except zipfile.BadZipFile as exc:
        raise error(f"{path}: not an .npz archive ({first_line(exc)})") from None
    except (OSError, ValueError, EOFError, KeyError, TypeError, zlib.error) as exc:
        raise error(f"{path}: cannot read .npz {what} ({first_line(exc)})") from None


def load_tensors(path: str | Path, error: type[GanforgeError] = DataError, what: str = "state") -> Any:
    """torch.load(path, weights_only=True): tensors, numbers, strings and containers of them, never
    code; `error` in one line for anything else (torch's several-line advice and its pickle-protocol
    warning are not passed on)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Detected pickle protocol 4 ...": a plain pickle, refused below
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise error(f"{path}: {what} file not found") from None
    except pickle.UnpicklingError as exc:
        if not _starts_like_a_pickle(path):  # bytes that are no pickle at all: a damaged file
            raise error(f"{path}: unreadable {what} (neither a torch file nor a pickle)") from None
        raise error(f"{path}: holds pickled Python objects, not only tensors and numbers (read with "
                    f"weights_only=True, so none was run); not a {what} ganforge wrote") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise error(f"{path}: unreadable {what} ({first_line(exc)})") from None


def _starts_like_a_pickle(path: str | Path) -> bool:
    """A pickle of protocol 2 or later opens with PROTO (0x80) and the protocol number."""
    with open(path, "rb") as handle:
        head = handle.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5
