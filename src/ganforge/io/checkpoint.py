"""Checkpoint folders: safe to load without the code that trained them, and written atomically.

    step_00001000/
      config.json            the RunConfig
      generator.safetensors  discriminator.safetensors   (weights and buffers)
      trainer_state.pt       optimizers, step, RNG states (tensors and plain types only;
                             loaded with weights_only=True, so no code is unpickled)
      meta.json              package and format version, step, SHA-256 of every file; written last

A checkpoint is written to a hidden temporary folder and renamed into place, so a crash or
interrupt leaves either the complete folder or none. The newest `step_*` folder of a run's
`checkpoints/` is its latest checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ganforge.config import RunConfig
from ganforge.decoding import load_tensors, parse_json, read_json
from ganforge.errors import CheckpointError
from ganforge.hashing import sha256_file
from ganforge.io.atomic import atomic_write, torch_bytes, write_error
from ganforge.version import __version__

FORMAT_VERSION = 1
TRAINER_STATE_KEYS = ("step", "opt_g", "opt_d", "latent_rng", "torch_rng")  # what resuming needs
CHECKPOINTS_DIR = "checkpoints"
_PREFIX = "step_"


def checkpoint_name(step: int) -> str:
    return f"{_PREFIX}{step:08d}"


def save_checkpoint(folder: Path, step: int, config: RunConfig, modules: dict[str, nn.Module],
                    trainer_state: dict[str, Any] | None = None, keep: int | None = None) -> Path:
    """Write `folder/step_XXXXXXXX` atomically and keep only the newest `keep` checkpoints."""
    target = folder / checkpoint_name(step)
    if target.is_dir():  # the state at a given step is unique, so it is already saved
        return target
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".tmp-{target.name}-"))
        tmp.chmod(0o755)  # mkdtemp makes 0700; checkpoints are ordinary shared files
        config.save(tmp / "config.json")
        for name, module in modules.items():
            state = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
            save_file(state, str(tmp / f"{name}.safetensors"), metadata={"format": "pt"})
        if trainer_state is not None:
            (tmp / "trainer_state.pt").write_bytes(torch_bytes(trainer_state))
        # A content hash per file, checked when the checkpoint is read (read_meta).
        files = {child.name: sha256_file(child) for child in sorted(tmp.iterdir())}
        meta = {"package": "ganforge", "version": __version__, "format_version": FORMAT_VERSION,
                "step": step, "modules": sorted(modules), "files": files}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        _fsync_dir(tmp)
        os.replace(tmp, target)
        _fsync_dir(folder)
    except (OSError, SafetensorError) as exc:  # disk full, read-only folder: older checkpoints are untouched
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise write_error(target, exc, CheckpointError, "; the previous checkpoints are intact") from None
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    if keep is not None:
        for old in list_checkpoints(folder)[:-keep]:
            remove_checkpoint(old)
    return target


def remove_checkpoint(checkpoint: Path) -> None:
    """Rename out of the step_* namespace first, so an interrupted delete never leaves a
    half-removed folder that still looks complete."""
    doomed = checkpoint.with_name(f".tmp-delete-{checkpoint.name}-{os.getpid()}")
    os.replace(checkpoint, doomed)
    shutil.rmtree(doomed)


def _fsync_dir(path: Path) -> None:
    for child in path.iterdir():
        if child.is_file():
            with open(child, "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith(_PREFIX)
                  and (p / "meta.json").is_file())


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint folder, a folder of step_* checkpoints (such as RUN/best), or a run folder
    (-> its latest checkpoint)."""
    path = Path(path)
    if (path / "meta.json").is_file():
        return path
    if not path.exists():
        raise CheckpointError(f"{path}: no such run or checkpoint folder")
    found = list_checkpoints(path) or list_checkpoints(path / CHECKPOINTS_DIR)
    if not found:
        raise CheckpointError(f"{path}: not a checkpoint (no meta.json) and no checkpoints/step_* inside")
    return found[-1]


def read_meta(checkpoint: Path, verify: bool = True) -> dict[str, Any]:
    """meta.json of a checkpoint, checked: a ganforge checkpoint of a format this version reads,
    with a step; with `verify`, every file it lists still has the SHA-256 recorded at save time
    (checkpoints written before hashes were recorded are read as they are)."""
    path = checkpoint / "meta.json"
    meta = read_json(path, CheckpointError, "meta.json")
    if not isinstance(meta, dict) or meta.get("package") != "ganforge" or not isinstance(meta.get("format_version"), int):
        raise CheckpointError(f"{checkpoint}: meta.json does not describe a ganforge checkpoint")
    if meta["format_version"] > FORMAT_VERSION:
        raise CheckpointError(f"{checkpoint}: format {meta['format_version']} is newer than this ganforge "
                              f"reads ({FORMAT_VERSION}); upgrade ganforge")
    step = meta.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(f"{path}: 'step' must be a whole number >= 0, got {step!r}")
    files = meta.get("files", {})
    if not isinstance(files, dict):
        raise CheckpointError(f"{path}: 'files' must map file names to SHA-256 sums")
    if verify:
        for name, expected in files.items():
            if not (checkpoint / name).is_file():
                raise CheckpointError(f"{checkpoint / name}: missing (listed in meta.json)")
            if sha256_file(checkpoint / name) != expected:
                raise CheckpointError(f"{checkpoint / name}: damaged (its SHA-256 differs from the one recorded "
                                      "in meta.json when it was saved)")
    return meta


def read_config(checkpoint: Path) -> RunConfig:
    return RunConfig.load(checkpoint / "config.json")


def load_module_state(checkpoint: Path, name: str, module: nn.Module) -> nn.Module:
    """Load `name`.safetensors into `module` (strict: every key must match)."""
    path = checkpoint / f"{name}.safetensors"
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    listed = read_meta(checkpoint, verify=False).get("files")
    if listed and path.name not in listed:  # added after the save: its content was never hashed, so never checked
        raise CheckpointError(f"{path}: not listed in meta.json (no content hash was recorded for it); a checkpoint "
                              "loads only the files it was saved with: remove it")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path}: unreadable safetensors file ({exc})") from None
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(f"{path}: does not fit the configured model ({first})") from None
    return module


def load_trainer_state(checkpoint: Path) -> dict[str, Any]:
    path = checkpoint / "trainer_state.pt"
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (this checkpoint cannot be resumed)")
    state = load_tensors(path, CheckpointError, "trainer state")
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: trainer state must be a dictionary, got {type(state).__name__}")
    step = state.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(f"{path}: 'step' must be a whole number >= 0, got {step!r}")
    missing = [key for key in TRAINER_STATE_KEYS if key not in state]
    if missing:
        raise CheckpointError(f"{path}: trainer state lacks {', '.join(missing)} (this checkpoint cannot be resumed)")
    return state


def save_network(path: Path, module: nn.Module, config: dict[str, Any]) -> Path:
    """One stand-alone network (an inversion encoder, an inpainting or segmentation net) as a
    .safetensors file whose metadata holds the constructor arguments `config`; written atomically."""
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    atomic_write(Path(path), lambda tmp: save_file(state, str(tmp), metadata={"config": json.dumps(config)}))
    return Path(path)


def load_network(path: Path, build: Any) -> tuple[nn.Module, dict[str, Any]]:
    """(build(**config) with the saved weights, config) from a file written by save_network."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: network file not found")
    try:
        with safe_open(str(path), "pt") as handle:
            config = parse_json((handle.metadata() or {})["config"], f"{path}: metadata 'config'", CheckpointError)
        module = build(**config)
        module.load_state_dict(load_file(str(path)))
    except (SafetensorError, KeyError, TypeError, RuntimeError, json.JSONDecodeError, OSError) as exc:
        raise CheckpointError(f"{path}: not a ganforge network file ({type(exc).__name__}: {exc})") from None
    return module, config


def run_folder(path: str | Path) -> Path:
    """The run folder of a run folder or of one of its checkpoint folders (RUN/checkpoints/step_*
    or RUN/best/step_*): where networks trained on a run (encoder, inpainter) are kept."""
    path = Path(path)
    if (path / "meta.json").is_file():
        return path.parent.parent
    return path
