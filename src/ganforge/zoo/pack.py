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
from ganforge.zoo import CARD_FILE, WEIGHTS_FILE


def pack(source: str | Path, dest: Path, card_fields: dict[str, Any]) -> Path:
    """Write checkpoint `source`'s sampling generator (EMA when kept) as a zoo model folder `dest`:
    float16 weights, its config, a meta.json with hashes, and card.json (card_fields plus the
    weights' file, SHA-256, size and dtype). The folder is built aside and renamed into place."""
    source_ckpt = ckpt.find_checkpoint(source)
    meta = ckpt.read_meta(source_ckpt)
    kept = "generator_ema" if (source_ckpt / "generator_ema.safetensors").is_file() else "generator"
    state = load_file(str(source_ckpt / f"{kept}.safetensors"))
    # Float tensors to float16 (half the bytes; sampling upcasts them on load); integer buffers
    # (BatchNorm's counter) as they are.
    half = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    overflow = [k for k, v in half.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if overflow:
        raise CheckpointError(f"{source_ckpt}: {overflow[0]} does not fit in float16 (or is not finite)")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".tmp-{dest.name}-"))
    try:
        shutil.copyfile(source_ckpt / "config.json", tmp / "config.json")
        save_file(half, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        files = {name: sha256_file(tmp / name) for name in ("config.json", WEIGHTS_FILE)}
        zoo_meta = {"package": "ganforge", "version": meta["version"], "format_version": meta["format_version"],
                    "step": meta["step"], "modules": [kept], "files": files, "zoo": dest.name,
                    "source_files": {kept + ".safetensors": meta.get("files", {}).get(kept + ".safetensors")}}
        (tmp / "meta.json").write_text(json.dumps(zoo_meta, indent=2) + "\n")
        weights = {"file": WEIGHTS_FILE, "sha256": files[WEIGHTS_FILE],
                   "bytes": (tmp / WEIGHTS_FILE).stat().st_size, "dtype": "float16",
                   "parameters": sum(v.numel() for k, v in state.items() if v.is_floating_point()),
                   "step": meta["step"], "from": kept}
        full = {"name": dest.name, **card_fields, "weights": weights}
        (tmp / CARD_FILE).write_text(json.dumps(full, indent=2) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def update_card(folder: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Merge `fields` into the card of the zoo model folder `folder` (its weights untouched)."""
    path = Path(folder) / CARD_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return data
