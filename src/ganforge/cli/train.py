"""`ganforge train`: options generated from the run schema (`ganforge.config`), then train.

Every setting of `RunConfig` becomes one option here: its flag, help, default, choices and bounds
come from the field's `Setting`; nothing about a setting is written in this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from ganforge.cli import echo
from ganforge.cli.options import Float, Int
from ganforge.config import (SHORTCUTS, STOP_FIELDS, build_config, implied_preset, nearest_resolution, schema,
                             schema_field)
from ganforge.data.image_folder import inspect_image_folder
from ganforge.io.checkpoint import find_checkpoint
from ganforge.presets import COLOUR_DEFAULT, COLOUR_MIN_SIZE, PRESETS
from ganforge.schema import SchemaField
from ganforge.training import resume as resume_run
from ganforge.training import train as train_run

EPILOG = f"""\b
Which recipe: grayscale images and images under {COLOUR_MIN_SIZE} px (MNIST, Fashion-MNIST) start from the
classic DCGAN (the defaults shown above); colour images of {COLOUR_MIN_SIZE} px and more (--channels 3: folders,
shapes, scenes, emoji) from --preset {COLOUR_DEFAULT}: the classic DCGAN's discriminator wins outright
there, and this recipe made the most recognisable emoji per CPU-minute (docs/training.md, "A real
colour set: emoji"). A named --preset or --config replaces that choice; flags override either.
--dataset folder without --channels / --image-size reads them from the pictures (colour or gray; the
supported size nearest theirs) and says so in one line.
\b
Stops at the first of --steps, --epochs, --minutes reached (default: 5 epochs).
Several processes: torchrun --nproc_per_node N -m ganforge.cli.main train ... (--batch-size is global).
Ctrl-C or SIGTERM saves a checkpoint and exits; --resume continues exactly where it stopped.
Writes RUN/samples.png, RUN/training_curves.png, RUN/metrics.jsonl, RUN/checkpoints/step_*/."""


def _default_text(entry: SchemaField) -> str:
    if entry.setting.default_text is not None:
        return entry.setting.default_text
    value = entry.default
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _click_type(entry: SchemaField) -> Any:
    s = entry.setting
    if entry.choices is not None:
        return click.Choice(entry.choices)
    if entry.type in (int, float):
        kind = Int if entry.type is int else Float
        return kind(min=s.low, max=s.high if s.high is not None else s.most, min_open=s.low_open,
                    max_open=s.high_open)
    return entry.type


def _param_name(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def schema_options(command: Callable) -> Callable:
    """Decorate `command` with one click option per schema setting and shortcut (unset: None)."""
    for entry in reversed(schema()):
        help_text = f"{entry.setting.help}  [default: {_default_text(entry)}]"
        if entry.type is bool:
            name = entry.flag.removeprefix("--")
            option = click.option(f"{entry.flag}/--no-{name}", _param_name(entry.flag), default=None, help=help_text)
        else:
            option = click.option(entry.flag, _param_name(entry.flag), type=_click_type(entry), help=help_text)
        command = option(command)
    for flag, shortcut in SHORTCUTS.items():
        command = click.option(flag, _param_name(flag), type=_click_type(schema_field(shortcut.keys[0])),
                               help=f"{shortcut.help} Sets {', '.join(shortcut.keys)}.")(command)
    return command


def overrides_from_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """Click's values of the generated options -> {config key: value} for the flags given."""
    out: dict[str, Any] = {}
    for flag, shortcut in SHORTCUTS.items():
        value = flags.get(_param_name(flag))
        if value is not None:
            out.update({key: value for key in shortcut.keys})
    for entry in schema():
        value = flags.get(_param_name(entry.flag))
        if value is not None:
            out[entry.key] = value
    return out


@click.command(epilog=EPILOG)
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON config to start from (as saved in a run folder); flags override it.")
@click.option("--preset", type=click.Choice(PRESETS.names()), help="Start from a named configuration (ganforge presets).")
@click.option("--resume", type=click.Path(exists=True, path_type=Path),
              help="Continue a run folder (or a checkpoint folder) exactly; takes new stop flags only.")
@click.option("--discard-newer", is_flag=True,
              help="With --resume CHECKPOINT older than the run's latest: start a new timeline from it, deleting "
                   "the newer checkpoints and log lines (refused otherwise).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@schema_options
def train(config_file: Path | None, preset: str | None, resume: Path | None, discard_newer: bool, no_progress: bool,
          **flags: Any) -> None:
    """Train a GAN and write a run folder (samples, curves, metrics, checkpoints)."""
    overrides = overrides_from_flags(flags)
    if resume is not None:
        stops = {f"train.{name}" for name in STOP_FIELDS}
        extra = sorted({f"--{name.replace('_', '-')}" for name, value in flags.items() if value is not None}
                       - {f"--{name}" for name in STOP_FIELDS} - {"--lr-decay-from"})
        if extra or config_file or preset:
            raise click.UsageError(f"--resume continues the saved config; only --steps/--epochs/--minutes "
                                   f"and --lr-decay-from may be given with it, not {', '.join(extra) or '--config'}")
        given = {key.split(".", 1)[1]: overrides.get(key) for key in sorted(stops)}
        run_dir = resume_run(resume, given["steps"], given["epochs"], given["minutes"], progress=not no_progress,
                             discard_newer=discard_newer, lr_decay_from=overrides.get("optim.lr_decay_from"))
    else:
        if discard_newer:
            raise click.UsageError("--discard-newer goes with --resume")
        overrides.update(folder_shape(config_file, overrides))
        config = build_config(config_file, preset, overrides)
        implied = implied_preset(config_file, preset, overrides)
        if implied is not None and preset is None:
            echo(f"colour images at {config.data.image_size} px: starting from --preset {implied}, the "
                       f"measured default for colour data (--preset dcgan for the classic DCGAN)")
        run_dir = train_run(config, progress=not no_progress)
    report_run(run_dir)


def folder_shape(config_file: Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """--dataset folder (without --config, which holds them): the channels and resolution of the
    folder's pictures for whichever of --channels / --image-size is not given, said in one line."""
    missing = [key for key in ("data.channels", "data.image_size") if key not in overrides]
    if config_file is not None or overrides.get("data.dataset") != "folder" or not overrides.get("data.path") \
            or not missing:
        return {}
    root = overrides["data.path"]
    shape = inspect_image_folder(root, overrides.get("data.limit"), bool(overrides.get("data.skip_bad")))
    picked = {key: value for key, value in (("data.channels", shape.channels),
                                            ("data.image_size", nearest_resolution(shape.size))) if key in missing}
    flags = " ".join(f"--{key.split('.')[1].replace('_', '-')} {value}" for key, value in picked.items())
    size = picked.get("data.image_size")
    why = "" if size is None else (
        f" (the supported resolution nearest {shape.size} px: pictures are resized and centre-cropped to {size}x{size})"
        if size != shape.size else "")
    echo(f"{root}: {shape.describe()} -> {flags}{why}; --channels / --image-size choose otherwise")
    return picked


def report_run(run_dir: Path) -> None:
    echo(f"run folder: {run_dir}")
    rows = [("samples", run_dir / "samples.png"), ("curves", run_dir / "training_curves.png"),
            ("metrics", run_dir / "metrics.jsonl"), ("checkpoint", find_checkpoint(run_dir))]
    if (run_dir / "evaluations.jsonl").is_file():
        rows += [("evaluations", run_dir / "evaluations.jsonl"), ("eval curves", run_dir / "evaluation_curves.png"),
                 ("best", find_checkpoint(run_dir / "best"))]
    for label, path in rows:
        echo(f"  {label + ':':<13}{path}")


@click.command()
def presets() -> None:
    """List the named configurations for `ganforge train --preset`."""
    for name in PRESETS.names():
        preset = PRESETS.get(name)
        settings = ", ".join(f"{k}={v}" for values in preset.overrides.values() for k, v in values.items())
        echo(f"{name}\n  {preset.description}\n  sets: {settings}")
