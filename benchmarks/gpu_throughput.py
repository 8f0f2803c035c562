"""Training throughput where GANs are trained: the textbook loop and ganforge side by side on a
CUDA device, and every preset's images/s and achieved arithmetic rate.

    python -m benchmarks.gpu_throughput                      # cuda: the whole table (not yet run on a GPU)
    python -m benchmarks.gpu_throughput --device cpu --presets-only   # the preset rows on this CPU
    python -m benchmarks.gpu_throughput --device cpu --quick          # every row at a tiny size (tests)

Rows, each measured over --steps steps after warm-up (compilation happens in the warm-up):
- 64x64x3 DCGAN (width 64) at batch 64, 256 and 1024: the textbook loop (pytorch/examples' dcgan
  written plainly: fp32, cuDNN's default TF32 convolutions, the data already on the device,
  `.item()` of both losses each step), then ganforge's trainer in fp32 + channels_last, bf16 +
  channels_last, `--precision auto` and `--compile`; img/s and the ratio to the textbook loop.
- every preset at the size it is made for (MNIST's 28x28x1; cond-sngan with its 10 classes),
  batch 64, ganforge fp32 and auto: img/s, FLOPs per image of one training step (torch's
  flop counter: convolutions and matrix products, forward and backward, the lazy penalty's
  steps averaged in) and GFLOP/s achieved.

Without a CUDA device and without --device it exits with a message (status 1).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ganforge.config import DataConfig, ModelConfig, RunConfig, TrainConfig, build_config
from ganforge.data import ImageTensorDataset
from ganforge.models import build_discriminator, build_generator
from ganforge.presets import PRESETS
from ganforge.training import Trainer
from ganforge.training.batches import BatchStream
from ganforge.training.step import train_step

from benchmarks.train_throughput import textbook_step

WARMUP = 5


def fake_data(n: int, channels: int, size: int, classes: int = 0) -> ImageTensorDataset:
    """Random pixels (throughput does not depend on content), labelled i mod classes when asked."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)
    labels = torch.arange(n) % classes if classes else None
    return ImageTensorDataset(images, labels, [str(k) for k in range(classes)] if classes else None)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def textbook_loop(config: RunConfig, batch: int, steps: int, device: torch.device) -> float:
    """images/s of the plain DCGAN loop: BCE with label tensors, two D backward passes, G's step
    through D, Adam with default options, the losses read with .item() every step."""
    net_g = build_generator(config.model, config.data, seed=0).to(device)
    net_d = build_discriminator(config.model, config.data, seed=1).to(device)
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d = config.data
    data = torch.rand(max(4 * batch, 256), d.channels, d.image_size, d.image_size, device=device) * 2 - 1
    latent = config.model.latent_dim
    start = 0.0
    for done in range(WARMUP + steps):
        if done == WARMUP:
            synchronize(device)
            start = time.perf_counter()
        real = data[torch.randint(len(data), (batch,), device=device)]
        err_d, err_g = textbook_step(net_g, net_d, opt_g, opt_d, criterion, real, latent)
        _ = err_d.item(), err_g.item()  # what the tutorial prints
    synchronize(device)
    return steps * batch / (time.perf_counter() - start)


def ganforge_rate(config: RunConfig, dataset: ImageTensorDataset, steps: int) -> tuple[float, str]:
    """(images/s that ganforge's trainer logs over `steps` steps after warm-up, the precision it
    trained in: `--precision auto` picks by timing)."""
    with tempfile.TemporaryDirectory() as tmp:
        config.train = replace(config.train, steps=WARMUP + steps, epochs=None, minutes=None, log_every=WARMUP,
                               sample_every=10**6, checkpoint_every=10**6, health=False, out_dir=tmp)
        trainer = Trainer(config, Path(tmp) / "run", dataset=dataset, progress=False)
        trainer.fit()
        records = [json.loads(line) for line in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()]
        records = [r for r in records if "health" not in r]  # the first record is the warm-up
        per_step = config.train.batch_size * config.train.d_steps
        pairs = list(zip(records, records[1:]))
        images = sum((r["step"] - p["step"]) * per_step for p, r in pairs)
        return images / sum((r["step"] - p["step"]) * per_step / r["images_per_s"] for p, r in pairs), trainer.precision


class FlopCount(TorchDispatchMode):
    """Sums torch.utils.flop_counter's formulas over the ops that run (convolutions and matrix
    products, forward and backward). FlopCounterMode itself also tracks modules with backward
    hooks, which refuse the double backward of a gradient penalty."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def flops_per_image(config: RunConfig, dataset: ImageTensorDataset) -> float:
    """Floating-point operations of one training step per real image, averaged over a lazy
    penalty's interval (torch.utils.flop_counter: convolutions and matrix products)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = replace(config, train=replace(config.train, steps=1, compile=False, out_dir=tmp))
        trainer = Trainer(config, Path(tmp) / "run", dataset=dataset, progress=False)
        t = config.train
        batches = BatchStream(dataset, t.batch_size, 0, trainer.device, with_labels=trainer.num_classes > 0,
                              memory_format=trainer.memory_format)
        players = trainer.players()
        with_penalty, without_penalty = trainer.step_options()
        counts = []
        for options in ((with_penalty, without_penalty) if trainer.penalty is not None else (without_penalty,)):
            with FlopCount() as counter:
                train_step(players, options, [next(batches) for _ in range(t.d_steps)], trainer.noise)
            counts.append(counter.total)
        total = counts[0] if len(counts) == 1 else (counts[0] + (t.penalty_every - 1) * counts[1]) / t.penalty_every
        return total / (t.batch_size * t.d_steps)


def dcgan_rows(device: torch.device, batches: list[int], steps: int, size: int, width: int, repeats: int) -> None:
    data = DataConfig(dataset="folder", path="-", image_size=size, channels=3)
    model = ModelConfig(width=width)
    variants = {"ganforge fp32 + channels_last": dict(precision="fp32"),
                "ganforge bf16 + channels_last": dict(precision="bf16"),
                "ganforge --precision auto": dict(precision="auto"),
                "ganforge --compile (fp32 + channels_last)": dict(precision="fp32", compile=True)}
    print(f"\n{size}x{size}x3 DCGAN, width {width}, {steps} steps after {WARMUP} warm-up, median of {repeats}\n")
    print("| batch | loop | images/s | vs textbook |")
    print("|---:|---|---:|---:|")
    for batch in batches:
        dataset = fake_data(max(4 * batch, 256), 3, size)
        results: dict[str, list[float]] = {"textbook loop": [], **{name: [] for name in variants}}
        picked: dict[str, set[str]] = {name: set() for name in results}
        for _ in range(repeats):
            config = RunConfig(data=data, model=model, train=TrainConfig(steps=1))
            results["textbook loop"].append(textbook_loop(config, batch, steps, device))
            for name, options in variants.items():
                train = TrainConfig(steps=1, batch_size=batch, device=str(device), channels_last=True, **options)
                rate, precision = ganforge_rate(RunConfig(data=data, model=model, train=train), dataset, steps)
                results[name].append(rate)
                picked[name].add(precision)
                print(f"  measured batch {batch} {name}: {rate:,.0f} images/s", file=sys.stderr, flush=True)
        base = statistics.median(results["textbook loop"])
        for name, values in results.items():
            rate = statistics.median(values)
            shown = f"{name} ({'/'.join(sorted(picked[name]))})" if "auto" in name else name
            print(f"| {batch} | {shown} | {rate:,.0f} | {rate / base:.2f}x |", flush=True)


def preset_rows(device: torch.device, steps: int, size: int, channels: int, width: int | None) -> None:
    print(f"\nPresets at {size}x{size}x{channels}{f', width {width}' if width else ''}, batch 64, "
          f"{steps} steps after {WARMUP} warm-up\n")
    print("| preset | precision | images/s | MFLOP per image (step) | GFLOP/s |")
    print("|---|---|---:|---:|---:|")
    for name in PRESETS.names():
        overrides = {"data.image_size": size, "data.channels": channels, "train.steps": 1,
                     "train.device": str(device), **({"model.width": width} if width else {})}
        config = build_config(preset=name, overrides=overrides)
        dataset = fake_data(256, channels, size, config.model.num_classes)
        flops = flops_per_image(config, dataset)
        for precision in ("fp32", "auto"):
            rate, used = ganforge_rate(replace(config, train=replace(config.train, precision=precision)), dataset, steps)
            shown = precision if precision == "fp32" else f"auto ({used})"
            print(f"| {name} | {shown} | {rate:,.0f} | {flops / 1e6:,.1f} | {rate * flops / 1e9:,.1f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="cuda, cuda:1, cpu [cuda when present]")
    parser.add_argument("--steps", type=int, default=30, help="measured steps per row")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--batches", default="64,256,1024")
    parser.add_argument("--presets-only", action="store_true")
    parser.add_argument("--quick", action="store_true", help="every row at 16 px, width 8, batch 8 (a test of the script)")
    args = parser.parse_args(argv)
    if args.device is None:
        if not torch.cuda.is_available():
            print("gpu_throughput: no CUDA device here; run it where there is one, or pass --device cpu",
                  file=sys.stderr)
            return 1
        args.device = "cuda"
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {name}")
    if args.quick:
        dcgan_rows(device, [8], args.steps, 16, 8, args.repeats)
        preset_rows(device, args.steps, 16, 3, 8)
        return 0
    if not args.presets_only:
        dcgan_rows(device, [int(b) for b in args.batches.split(",")], args.steps, 64, 64, args.repeats)
    preset_rows(device, args.steps, 28, 1, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
