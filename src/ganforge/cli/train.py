"""`ganforge train`: build a RunConfig from flags (and an optional JSON file), then train."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ganforge.config import DATASETS, PRECISIONS, RunConfig
from ganforge.presets import PRESETS

# flag name -> (config section, field). Flags left unset keep the config file's or default value.
FLAG_FIELDS = {
    "dataset": ("data", "dataset"), "data": ("data", "path"), "image_size": ("data", "image_size"),
    "channels": ("data", "channels"), "skip_bad": ("data", "skip_bad"), "limit": ("data", "limit"),
    "arch": ("model", "arch"), "latent_dim": ("model", "latent_dim"), "width": ("model", "width"),
    "dropout": ("model", "dropout"), "num_classes": ("model", "num_classes"), "class_head": ("model", "class_head"),
    "mapping_depth": ("model", "mapping_depth"), "noise_inputs": ("model", "noise_inputs"),
    "sync_bn": ("train", "sync_bn"), "compile": ("train", "compile"),
    "lr": ("optim", ("lr_g", "lr_d")), "lr_g": ("optim", "lr_g"), "lr_d": ("optim", "lr_d"),
    "beta1": ("optim", "beta1"), "beta2": ("optim", "beta2"),
    "loss": ("train", "loss"), "penalty": ("train", "penalty"), "penalty_weight": ("train", "penalty_weight"),
    "penalty_every": ("train", "penalty_every"), "clip": ("train", "clip"),
    "label_smoothing": ("train", "label_smoothing"), "ema_decay": ("train", "ema_decay"),
    "mode_seeking": ("train", "mode_seeking"),
    "spectral_norm": ("model", "spectral_norm"), "augment": ("train", "augment"),
    "attention_res": ("model", "attention_res"), "batch_size": ("train", "batch_size"), "d_steps": ("train", "d_steps"),
    "accumulate": ("train", "accumulate"),
    "steps": ("train", "steps"), "epochs": ("train", "epochs"), "minutes": ("train", "minutes"),
    "seed": ("train", "seed"), "device": ("train", "device"), "precision": ("train", "precision"),
    "channels_last": ("train", "channels_last"), "log_every": ("train", "log_every"),
    "sample_every": ("train", "sample_every"), "checkpoint_every": ("train", "checkpoint_every"),
    "keep_checkpoints": ("train", "keep_checkpoints"), "out": ("train", "out_dir"), "name": ("train", "run_name"),
    "eval_every": ("train", "eval_every"), "eval_n": ("train", "eval_n"), "best_metric": ("train", "best_metric"),
}
STOP_FLAGS = ("steps", "epochs", "minutes")
BOOLEAN_FLAGS = ("skip_bad",)  # an absent switch keeps the config file's value


def build_config(config_file: Path | None, flags: dict[str, Any], preset: str | None = None) -> RunConfig:
    """Defaults (or the config file), then the preset, then the flags the user gave."""
    raw = RunConfig.load(config_file).to_dict() if config_file else RunConfig().to_dict()
    if preset is not None:
        raw = PRESETS.get(preset).apply(raw)
    if any(flags.get(name) is not None for name in STOP_FLAGS):
        for name in STOP_FLAGS:  # a stop flag on the command line replaces all saved ones
            raw["train"][name] = None
    for flag, value in flags.items():
        if value is None or value is False and flag in BOOLEAN_FLAGS:
            continue
        section, fields = FLAG_FIELDS[flag]
        for field in (fields,) if isinstance(fields, str) else fields:
            raw[section][field] = value
    config = RunConfig.from_dict(raw, source="command line")
    for flag, needs, present in (("penalty_weight", "--penalty", config.train.penalty),
                                 ("penalty_every", "--penalty", config.train.penalty),
                                 ("eval_n", "--eval-every", config.train.eval_every),
                                 ("best_metric", "--eval-every", config.train.eval_every)):
        if flags.get(flag) is not None and present is None:
            raise click.UsageError(f"--{flag.replace('_', '-')} has no effect without {needs}")
    return config


@click.command(epilog="""\b
Stops at the first of --steps, --epochs, --minutes reached (default: 5 epochs).
Several processes: torchrun --nproc_per_node N -m ganforge.cli.main train ... (--batch-size is global).
Ctrl-C saves a checkpoint and exits; --resume continues exactly where it stopped.
Writes RUN/samples.png, RUN/training_curves.png, RUN/metrics.jsonl, RUN/checkpoints/step_*/.""")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON config to start from (as saved in a run folder); flags override it.")
@click.option("--preset", type=click.Choice(PRESETS.names()), help="Start from a named configuration (ganforge presets).")
@click.option("--resume", type=click.Path(exists=True, path_type=Path),
              help="Continue a run folder (or a checkpoint folder) exactly; takes new stop flags only.")
@click.option("--dataset", type=click.Choice(DATASETS), help="Training data [mnist].")
@click.option("--data", help="Image folder (--dataset folder) or folder of MNIST IDX files.")
@click.option("--image-size", type=int, help="Resolution: 28 or a power of two >= 16 [28].")
@click.option("--channels", type=click.IntRange(1, 3), help="1 = grayscale, 3 = RGB [1].")
@click.option("--skip-bad", is_flag=True, default=False, help="Skip unreadable images instead of stopping.")
@click.option("--limit", type=click.IntRange(min=1), help="Use only the first N images.")
@click.option("--arch", help="Model family: dcgan, resnet (SNGAN style) or stylegan (StyleGAN2-lite) [dcgan].")
@click.option("--num-classes", type=click.IntRange(min=0),
              help="Class-conditional G and D with this many classes (resnet, stylegan) [0: off].")
@click.option("--class-head", type=click.Choice(["projection", "acgan"]),
              help="How a conditional D uses labels: projection or an AC-GAN classifier [projection].")
@click.option("--mapping-depth", type=click.IntRange(min=1), help="stylegan: mapping network layers [4].")
@click.option("--noise-inputs/--no-noise-inputs", default=None, help="stylegan: per-pixel noise inputs [on].")
@click.option("--sync-bn/--no-sync-bn", default=None,
              help="Several processes (torchrun): BatchNorm over the global batch; CUDA only [off].")
@click.option("--attention-res", type=click.IntRange(min=4), help="resnet: self-attention at this resolution.")
@click.option("--latent-dim", type=click.IntRange(min=1), help="Latent size [100].")
@click.option("--width", type=click.IntRange(min=1), help="Base channel width [64].")
@click.option("--dropout", type=float, help="Discriminator dropout, e.g. 0.3 [0].")
@click.option("--loss", help="nonsaturating (default), minimax, hinge, least-squares, relativistic, wasserstein.")
@click.option("--penalty", help="Gradient penalty on D: gp (WGAN-GP) or r1.")
@click.option("--penalty-weight", type=float, help="lambda of gp / gamma of r1 [10].")
@click.option("--penalty-every", type=click.IntRange(min=1), help="Lazy penalty: every k steps, weighted by k [1].")
@click.option("--clip", type=float, help="WGAN weight clipping of D to [-c, c].")
@click.option("--augment", help="DiffAugment policy for D's inputs, e.g. color,translation,cutout [off].")
@click.option("--label-smoothing", type=float, help="One-sided: D's real target is 1 - s, e.g. 0.1 [0].")
@click.option("--mode-seeking", type=float,
              help="Weight of MSGAN's mode-seeking term in G's loss, against within-class collapse, e.g. 1 [0].")
@click.option("--ema-decay", type=float, help="EMA of G's weights for sampling/evaluation, e.g. 0.999 [off].")
@click.option("--spectral-norm/--no-spectral-norm", default=None, help="Spectral norm in D (drops its BatchNorm) [off].")
@click.option("--lr", type=float, help="Learning rate of both players [2e-4].")
@click.option("--lr-g", type=float, help="Generator learning rate.")
@click.option("--lr-d", type=float, help="Discriminator learning rate.")
@click.option("--beta1", type=float, help="Adam beta1 [0.5].")
@click.option("--beta2", type=float, help="Adam beta2 [0.999].")
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size [64].")
@click.option("--d-steps", type=click.IntRange(min=1), help="Discriminator updates per generator update [1].")
@click.option("--accumulate", type=click.IntRange(min=1),
              help="Gradient accumulation: split each batch into K micro-batches (same update, less memory) [1].")
@click.option("--steps", type=click.IntRange(min=1), help="Stop after N generator steps.")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True), help="Stop after N passes over the data.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), help="Stop after N minutes.")
@click.option("--seed", type=int, help="Seed of weights, batches and noise [0].")
@click.option("--device", help="cpu, cuda, cuda:1, mps [cpu].")
@click.option("--precision", type=click.Choice(PRECISIONS),
              help="fp32, bf16 autocast, fp16 autocast + loss scaling, or auto (bf16 where native) [fp32].")
@click.option("--compile/--no-compile", "compile", default=None,
              help="torch.compile G and D (falls back to eager where it cannot) [off].")
@click.option("--channels-last/--no-channels-last", default=None, help="NHWC memory format [on].")
@click.option("--log-every", type=click.IntRange(min=1), help="Steps between metrics lines [50].")
@click.option("--sample-every", type=click.IntRange(min=1), help="Steps between sample grids [500].")
@click.option("--checkpoint-every", type=click.IntRange(min=1), help="Steps between checkpoints [1000].")
@click.option("--keep-checkpoints", type=click.IntRange(min=1), help="Checkpoints kept [2].")
@click.option("--eval-every", type=click.IntRange(min=1),
              help="Evaluate every N steps (FD/KID/IS, MNIST-shaped data); keeps RUN/best/.")
@click.option("--eval-n", type=click.IntRange(min=10), help="Samples per evaluation [2000].")
@click.option("--best-metric", type=click.Choice(["fd", "kid", "is"]), help="Metric that picks RUN/best [fd].")
@click.option("--out", help="Folder that holds run folders [runs].")
@click.option("--name", help="Run folder name [<dataset>-<arch>-<time>].")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train(config_file: Path | None, preset: str | None, resume: Path | None, no_progress: bool, **flags: Any) -> None:
    """Train a GAN and write a run folder (samples, curves, metrics, checkpoints)."""
    from ganforge import training
    from ganforge.evaluation import periodic_evaluator

    if resume is not None:
        extra = sorted(f"--{k.replace('_', '-')}" for k, v in flags.items()
                       if v is not None and not (k in BOOLEAN_FLAGS and v is False) and k not in STOP_FLAGS)
        if extra or config_file or preset:
            raise click.UsageError(f"--resume continues the saved config; only --steps/--epochs/--minutes "
                                   f"may be given with it, not {', '.join(extra) or '--config'}")
        run_dir = training.resume(resume, flags["steps"], flags["epochs"], flags["minutes"],
                                  progress=not no_progress, evaluator_factory=periodic_evaluator)
    else:
        config = build_config(config_file, flags, preset)
        run_dir = training.train(config, progress=not no_progress, evaluator_factory=periodic_evaluator)
    report_run(run_dir)


def report_run(run_dir: Path) -> None:
    from ganforge.checkpoint import find_checkpoint

    click.echo(f"run folder: {run_dir}")
    rows = [("samples", run_dir / "samples.png"), ("curves", run_dir / "training_curves.png"),
            ("metrics", run_dir / "metrics.jsonl"), ("checkpoint", find_checkpoint(run_dir))]
    if (run_dir / "evaluations.jsonl").is_file():
        rows += [("evaluations", run_dir / "evaluations.jsonl"), ("eval curves", run_dir / "evaluation_curves.png"),
                 ("best", find_checkpoint(run_dir / "best"))]
    for label, path in rows:
        click.echo(f"  {label + ':':<13}{path}")



@click.command()
def presets() -> None:
    """List the named configurations for `ganforge train --preset`."""
    for name in PRESETS.names():
        preset = PRESETS.get(name)
        settings = ", ".join(f"{k}={v}" for values in preset.overrides.values() for k, v in values.items())
        click.echo(f"{name}\n  {preset.description}\n  sets: {settings}")
