"""Atomic file writes: readers see the old file or the whole new one, never half of one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable

from ganforge.errors import DataError


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call write(tmp_path) and rename the result onto `path`, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A plain new file (not mkstemp) so the result gets the usual umask permissions.
    tmp = path.parent / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}"
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text))


def check_writable(path: str | Path, folder: bool = False, what: str = "") -> Path:
    """`path` if a file (with `folder`: a folder) can be written there, creating missing folders on
    the way; else a one-line DataError naming `what` (a flag) and the path. Called before computing
    what will be written, so that minutes of work are not lost to a typo."""
    path = Path(path)
    name = f"{what} {path}".strip()
    if path.exists() and path.is_dir() != folder:
        raise DataError(f"{name}: is an existing {'file, not a folder' if folder else 'folder, not a file'}")
    existing = path if folder and path.is_dir() else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the folders that will be created
    if not existing.is_dir():
        raise DataError(f"{name}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"{name}: the folder {existing} is not writable")
    return path
