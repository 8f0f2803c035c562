"""The model zoo: trained generators that ship inside the package, usable wherever a run folder is.

    zoo/models/NAME/
      config.json                 the RunConfig the model was trained with
      generator_ema.safetensors   its generator's weights in float16 (the EMA weights when kept)
      discriminator.safetensors   its discriminator in float16 (restoration uses it as a prior)
      meta.json                   a checkpoint's meta: step, and the SHA-256 of the two files above
      card.json                   the model card: data, recipe, training time, metrics with their
                                  protocol and the real-vs-real floor, the reproduce command,
                                  and the weights' SHA-256 and size

A zoo model folder is an ordinary checkpoint folder, so everything that reads checkpoints reads it;
`resolve` turns a name into it. Nothing is downloaded: the weights are package data (about 1-5 MB
each in float16; docs/models.md says why they ship in the wheel). Before a zoo model is used its
weights' SHA-256 is checked against the card's (and meta.json's against every file), so a damaged
install is named in one line rather than sampled from. This module imports no torch (listing the
zoo and completing names stay instant); `ganforge.zoo.pack` writes zoo folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganforge.errors import CheckpointError
from ganforge.hashing import sha256_file

MODELS_DIR = Path(__file__).parent / "models"
CARD_FILE = "card.json"
WEIGHTS_FILE = "generator_ema.safetensors"  # what ganforge.load samples from when present
DISCRIMINATOR_FILE = "discriminator.safetensors"  # the prior of `ganforge restore`


def names() -> list[str]:
    """The zoo's model names, sorted."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / CARD_FILE).is_file())


def is_name(text: str | Path) -> bool:
    return str(text) in names()


def card(name: str) -> dict[str, Any]:
    """The model card of zoo model `name` (see docs/models.md)."""
    folder = _folder(name)
    path = folder / CARD_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable model card ({exc}); reinstall ganforge") from None
    if not isinstance(data, dict) or data.get("name") != name:
        raise CheckpointError(f"{path}: not the card of {name!r}; reinstall ganforge")
    return data


def checkpoint(name: str) -> Path:
    """The checkpoint folder of zoo model `name`, its weight files checked against the card's SHA-256."""
    folder = _folder(name)
    weights = card(name).get("weights", {})
    expected = weights.get("files") or {WEIGHTS_FILE: weights.get("sha256")}
    for file, sha256 in expected.items():
        path = folder / file
        if not path.is_file():
            raise CheckpointError(f"{path}: missing from the installed zoo model {name!r}; reinstall ganforge")
        if sha256_file(path) != sha256:
            raise CheckpointError(f"{path}: damaged (its SHA-256 differs from the model card's); reinstall ganforge")
    return folder


def resolve(source: str | Path) -> Path:
    """A path that exists, as it is; else a zoo model's checkpoint folder. A name that is neither
    is refused in one line that lists the zoo. A folder of the same name as a zoo model wins."""
    path = Path(source)
    if path.exists():
        return path
    if is_name(source):
        return checkpoint(str(source))
    listed = ", ".join(names()) or "none installed"
    raise CheckpointError(f"{source}: no such run or checkpoint folder, and not a zoo model ({listed}; "
                          "ganforge models lists them)")


def _folder(name: str) -> Path:
    if not is_name(name):
        raise CheckpointError(f"{name!r} is not a zoo model; choose one of: {', '.join(names()) or 'none installed'}")
    return MODELS_DIR / name


def render_card(data: dict[str, Any]) -> str:
    """A card as Markdown: the text of `ganforge models NAME` and of docs/models.md."""
    lines = [f"## {data['name']}", "", data.get("summary", ""), ""]
    data_info = data.get("data", {})
    lines += [f"- **Data**: {data_info.get('name', '?')} ({data_info.get('size', '?')}); "
              f"licence: {data_info.get('licence', '?')}",
              f"- **Recipe**: {data.get('recipe', '?')}"]
    training = data.get("training", {})
    if training:
        lines.append(f"- **Training**: {training.get('steps', '?'):,} generator steps, "
                     f"{training.get('cpu_minutes', '?')} min on {training.get('machine', '?')} "
                     f"({training.get('date', '?')})")
    weights = data.get("weights", {})
    lines.append(f"- **Weights**: {weights.get('dtype')}, {weights.get('bytes', 0) / 1e6:.2f} MB in all; the generator "
                 f"has {weights.get('parameters', 0):,} parameters (from `{weights.get('from')}` at step "
                 f"{weights.get('step')}); SHA-256:")
    for file, sha256 in (weights.get("files") or {weights.get("file"): weights.get("sha256")}).items():
        lines.append(f"  - `{file}` `{sha256}`")
    lines.append("")
    evaluation = data.get("evaluation")
    if evaluation:
        protocol = evaluation.get("protocol", {})
        described = ", ".join(f"{k} {v}" for k, v in protocol.items())
        lines += [f"**Metrics** (`{evaluation.get('command', '')}`; {described}):", "",
                  "| metric | model | real vs real |", "|---|---:|---:|"]
        for row in evaluation.get("rows", []):
            model, floor = row.get("model"), row.get("floor")
            lines.append(f"| {row['metric']} | {_fmt(model)} | {_fmt(floor)} |")
        lines.append("")
    headline = data.get("headline")
    if headline:
        lines += [f"**Headline**: {headline['metric']} = {_fmt(headline['value'])} "
                  f"(n={headline.get('n')}, seed {headline.get('seed')}; the test reproduces it within "
                  f"{headline.get('tolerance')})", ""]
    if data.get("goals"):
        lines += ["**Goals**: " + "; ".join(data["goals"]), ""]
    if data.get("reproduce"):
        lines += ["**Reproduce**:", "", "```bash", *data["reproduce"], "```", ""]
    figures = data.get("figures", {})
    for label, path in figures.items():
        lines.append(f"![{data['name']} {label}]({path})")
    if data.get("notes"):
        lines += ["", data["notes"]]
    return "\n".join(lines).rstrip() + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    return "" if value is None else str(value)

