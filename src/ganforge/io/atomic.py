"""Atomic file writes, and the one check of where an output goes.

Readers see the old file or the whole new one, never half of one. Every command that writes runs
`check_writable` on each output path before any work (and `atomic_write` checks the target again),
so that a typo, a read-only place, a device or a full disk costs one line, not minutes of work or
a replaced /dev/null.
"""

from __future__ import annotations

import io
import os
import stat
import uuid
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError

from ganforge.errors import DataError, GanforgeError

# What a path can be besides a regular file or folder; ganforge writes none of these.
_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))


def special_kind(path: str | Path) -> str | None:
    """'a character device' (block device, pipe, socket) when `path` is one or a symbolic link to
    one; None for a regular file, a folder, or nothing there yet."""
    try:
        mode = os.stat(path).st_mode  # follows symbolic links: what a write would reach
    except (OSError, ValueError):
        return None
    return next((kind for test, kind in _SPECIAL if test(mode)), None)


def write_error(path: str | Path, exc: BaseException, error: type[GanforgeError] = DataError,
                note: str = "") -> GanforgeError:
    """`error` saying in one line that `path` could not be written and why (a full disk, a
    read-only place: the OS's words, not a traceback)."""
    reason = os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else \
        (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return error(f"{path}: could not be written ({reason}){note}")


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call write(tmp_path) and rename the result onto `path`, so readers never see half a file.
    A device or a link to one is never replaced; a failed write (a full disk) leaves no temporary
    file and raises a one-line DataError naming `path`."""
    path = Path(path)
    kind = special_kind(path)
    if kind is not None:
        raise DataError(f"{path}: is {kind}, not a regular file; ganforge does not replace it")
    # A plain new file (not mkstemp) so the result gets the usual umask permissions.
    tmp = path.parent / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(Path(tmp))
        os.replace(tmp, path)
    except (OSError, SafetensorError) as exc:
        Path(tmp).unlink(missing_ok=True)
        raise write_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text))


def atomic_write_bytes(path: Path, data: bytes | memoryview) -> None:
    """Write `data` to `path` atomically."""
    atomic_write(path, lambda tmp: tmp.write_bytes(data))


def torch_bytes(obj: Any) -> memoryview:
    """`obj` as torch.save writes it, in memory: written out by Python, a full disk is an OSError
    naming ENOSPC (torch's own file writer reports it as an 'unexpected pos' RuntimeError)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getbuffer()


def check_writable(path: str | Path, folder: bool = False, what: str = "") -> Path:
    """`path` if a file (with `folder`: a folder) can be written there, creating missing folders on
    the way; else a one-line DataError naming `what` (a flag) and the path. Called before computing
    what will be written, so that minutes of work are not lost to a typo, a read-only place or a
    device: a character device (such as /dev/null), a pipe or a link to one is refused, never
    replaced by a regular file."""
    path = Path(path)
    name = f"{what} {path}".strip()
    kind = special_kind(path)
    if kind is not None:
        link = " (through a symbolic link)" if path.is_symlink() else ""
        raise DataError(f"{name}: is {kind}{link}, not a regular {'folder' if folder else 'file'}; "
                        "ganforge writes only regular files and folders")
    if path.exists() and path.is_dir() != folder:
        raise DataError(f"{name}: is an existing {'file, not a folder' if folder else 'folder, not a file'}")
    existing = path if folder and path.is_dir() else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the folders that will be created
    if not existing.is_dir():
        raise DataError(f"{name}: {existing} is a file, not a folder")
    if _read_only_mount(existing):
        raise DataError(f"{name}: the folder {existing} is on a read-only file system")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"{name}: the folder {existing} is not writable")
    return path


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False
