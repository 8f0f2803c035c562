"""What a run folder holds, and the two things done to one as a whole: naming a new one, and
forgetting everything past a step when a run restarts from an earlier checkpoint.

    RUN/config.json  metrics.jsonl  evaluations.jsonl  samples.png  samples/  training_curves.png
        evaluation_curves.png  checkpoints/step_*/  best/step_*/  .lock

A process training in a run folder holds an OS lock on RUN/.lock (flock): a second process gets
a one-line error instead of interleaving the logs, and the lock dies with its process, so even
`kill -9` never leaves a stale one.
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from ganforge.config import RunConfig, flag
from ganforge.errors import ConfigError, RunFolderError
from ganforge.io import checkpoint as ckpt
from ganforge.io.atomic import check_writable, write_error
from ganforge.io.jsonl import MetricsLog

METRICS_FILE = "metrics.jsonl"
EVALUATIONS_FILE = "evaluations.jsonl"
BEST_DIR = "best"
LOCK_FILE = ".lock"

log = logging.getLogger(__name__)

try:  # POSIX advisory locks; elsewhere run folders are not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def new_run_dir(config: RunConfig) -> Path:
    """out_dir/run_name, or out_dir/<dataset>-<arch>-<timestamp> when no name is given, checked
    writable. Whether it may hold a new run is decided under its lock: `claim_new_run`."""
    t = config.train
    name = t.run_name or f"{config.data.dataset}-{config.model.arch}-{datetime.now():%Y%m%d-%H%M%S}"
    check_writable(t.out_dir, folder=True, what=flag("train.out_dir"))
    return check_writable(Path(t.out_dir) / name, folder=True, what="run folder")


def kept_checkpoints(run_dir: Path) -> list[Path]:
    """The finished work of a run folder: its checkpoints in checkpoints/ and best/."""
    return [c for folder in (ckpt.CHECKPOINTS_DIR, BEST_DIR) for c in ckpt.list_checkpoints(run_dir / folder)]


@contextmanager
def claim_new_run(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir`'s lock for a new run, refusing a folder that holds checkpoints (in
    checkpoints/ or best/): the lock is taken before that decision, so of two processes started
    with the same name the second stops here, before it can delete the first one's work. A folder
    made here that holds only its lock file when the body fails (bad data, say) is removed again."""
    made = not run_dir.exists()
    top = run_dir  # the outermost folder made for it (--out's too, when new)
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    with run_lock(run_dir):
        kept = sorted({f"{c.parent.name}/" for c in kept_checkpoints(run_dir)})
        if kept:
            raise ConfigError(f"{run_dir}: run folder already has checkpoints (in {' and '.join(kept)}); "
                              f"use --resume {run_dir} or another {flag('train.run_name')}")
        try:
            yield
        except BaseException:
            if made and [p.name for p in run_dir.iterdir()] == [LOCK_FILE]:
                shutil.rmtree(run_dir, ignore_errors=True)
                for folder in run_dir.relative_to(top.parent).parents[:-1]:  # empty ones only: others may use them
                    try:
                        (top.parent / folder).rmdir()
                    except OSError:
                        break
            raise


def forget_after(run_dir: Path, step: int) -> None:
    """Drop log records and checkpoints past `step`: resuming from an older checkpoint starts a
    new timeline from there, and a fresh run (step 0) must not mix with a failed one's files."""
    for name in (METRICS_FILE, EVALUATIONS_FILE):
        MetricsLog(run_dir / name).truncate_after(step)
    for checkpoint in newer_checkpoints(run_dir, step):
        ckpt.remove_checkpoint(checkpoint)


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold RUN/.lock while inside; RunFolderError when another process holds it, DataError when
    the folder cannot be made or written. Re-entrant within one process: an inner hold of a lock
    this process holds changes nothing (flock locks belong to the open file, so closing the inner
    handle leaves the outer lock held)."""
    check_writable(run_dir, folder=True, what="run folder")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        handle = open(run_dir / LOCK_FILE, "a+")
    except OSError as exc:
        raise write_error(run_dir / LOCK_FILE, exc, RunFolderError) from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                if holder == str(os.getpid()):  # this process holds it already (train holds it around fit)
                    yield
                    return
                raise RunFolderError(f"{run_dir}: a ganforge process (pid {holder}) is training in this run folder; "
                                     f"wait for it to stop, or train with another {flag('train.run_name')}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def remove_leftovers(run_dir: Path) -> list[Path]:
    """Delete the temporary folders an interrupted save or delete left in checkpoints/ and best/
    (`.tmp-step_*`, `.tmp-delete-step_*`); call it while holding the run lock."""
    removed = []
    for folder in (run_dir / ckpt.CHECKPOINTS_DIR, run_dir / BEST_DIR):
        if folder.is_dir():
            for leftover in sorted(folder.glob(".tmp-*")):
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
                removed.append(leftover)
    if removed:
        log.info("removed %d unfinished checkpoint folder(s) left by an interrupted save: %s", len(removed),
                 ", ".join(p.name for p in removed))
    return removed


def newer_checkpoints(run_dir: Path, step: int) -> list[Path]:
    """Checkpoints in checkpoints/ and best/ past `step` (what resuming at `step` would delete)."""
    return [c for folder in (run_dir / ckpt.CHECKPOINTS_DIR, run_dir / BEST_DIR)
            for c in ckpt.list_checkpoints(folder) if ckpt.read_meta(c, verify=False)["step"] > step]
