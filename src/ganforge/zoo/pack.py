"""Packing a trained checkpoint into a zoo model folder (scripts/zoo.py uses it)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ganforge.errors import CheckpointError
from ganforge.hashing import sha256_file
from ganforge.io import checkpoint as ckpt
from ganforge.zoo import CARD_FILE, DISCRIMINATOR_FILE, WEIGHTS_FILE


def pack(source: str | Path, dest: Path, card_fields: dict[str, Any]) -> Path:
    """Write checkpoint `source` as a zoo model folder `dest`: its sampling generator (EMA when
    kept) as generator_ema.safetensors and its discriminator (the prior of `ganforge restore`),
    both in float16, its config, a meta.json with hashes, and card.json (card_fields plus the
    weights' files, SHA-256 sums, size and dtype). The folder is built aside and renamed into place."""
    source_ckpt = ckpt.find_checkpoint(source)
    meta = ckpt.read_meta(source_ckpt)
    kept = "generator_ema" if (source_ckpt / "generator_ema.safetensors").is_file() else "generator"
    parts = {WEIGHTS_FILE: _half(source_ckpt, kept)}
    if (source_ckpt / DISCRIMINATOR_FILE).is_file():
        parts[DISCRIMINATOR_FILE] = _half(source_ckpt, "discriminator")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".tmp-{dest.name}-"))
    try:
        shutil.copyfile(source_ckpt / "config.json", tmp / "config.json")
        for name, state in parts.items():
            save_file(state, str(tmp / name), metadata={"format": "pt"})
        files = {name: sha256_file(tmp / name) for name in ("config.json", *parts)}
        zoo_meta = {"package": "ganforge", "version": meta["version"], "format_version": meta["format_version"],
                    "step": meta["step"], "modules": [name.removesuffix(".safetensors") for name in parts],
                    "files": files, "zoo": dest.name}
        (tmp / "meta.json").write_text(json.dumps(zoo_meta, indent=2) + "\n")
        state = parts[WEIGHTS_FILE]
        weights = {"file": WEIGHTS_FILE, "sha256": files[WEIGHTS_FILE],
                   "bytes": sum((tmp / name).stat().st_size for name in parts), "dtype": "float16",
                   "parameters": sum(v.numel() for v in state.values() if v.is_floating_point()),
                   "step": meta["step"], "from": kept, "files": {name: files[name] for name in parts}}
        full = {"name": dest.name, **card_fields, "weights": weights}
        (tmp / CARD_FILE).write_text(json.dumps(full, indent=2) + "\n")
        tmp.chmod(0o755)  # mkdtemp makes 0700: these are ordinary package files
        for child in tmp.iterdir():
            child.chmod(0o644)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _half(checkpoint: Path, module: str) -> dict[str, torch.Tensor]:
    """A module's saved state with float tensors in float16 (half the bytes; loading upcasts them)
    and integer buffers (BatchNorm's counter) as they are; refused if a value overflows float16."""
    state = load_file(str(checkpoint / f"{module}.safetensors"))
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    overflow = [k for k, v in half.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if overflow:
        raise CheckpointError(f"{checkpoint}: {module} {overflow[0]} does not fit in float16 (or is not finite)")
    return half


def update_card(folder: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Merge `fields` into the card of the zoo model folder `folder` (its weights untouched)."""
    path = Path(folder) / CARD_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return data
