"""Training throughput: ganforge's trainer against a plain PyTorch DCGAN loop, in one run.

    python benchmarks/train_throughput.py [--steps 60] [--repeats 3] [--more] [--skip bf16,fp16]

The plain loop is the usual tutorial loop (pytorch/examples dcgan style): a DataLoader over a
TensorDataset, BCEWithLogitsLoss with label tensors, two discriminator backward passes, a
generator step that also computes D's weight gradients, Adam with default options. Both use
the same DCGAN modules, batch 64, both threads. ganforge's figure is what its own trainer
logs in metrics.jsonl (data, step and bookkeeping included), over the steps after warm-up.
Prints a table of images/s and the ratio to the plain loop measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ganforge.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ganforge.data import ImageTensorDataset
from ganforge.models import build_discriminator, build_generator
from ganforge.training import Trainer

BATCH = 64
WARMUP = 10


def fake_data(n: int, channels: int, size: int) -> ImageTensorDataset:
    """Random pixels: throughput does not depend on image content."""
    images = torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return ImageTensorDataset(images)


def textbook_step(net_g: nn.Module, net_d: nn.Module, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                  criterion: nn.Module, real: torch.Tensor, latent_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the tutorial loop: D on reals then fakes (two backward passes), G's update through
    D (which also computes D's weight gradients); returns (D's loss, G's loss)."""
    batch, device = real.shape[0], real.device
    net_d.zero_grad()
    label = torch.full((batch,), 1.0, device=device)
    err_real = criterion(net_d(real), label)
    err_real.backward()
    fake = net_g(torch.randn(batch, latent_dim, 1, 1, device=device))
    label.fill_(0.0)
    err_fake = criterion(net_d(fake.detach()), label)
    err_fake.backward()
    opt_d.step()
    net_g.zero_grad()
    label.fill_(1.0)
    err_g = criterion(net_d(fake), label)
    err_g.backward()
    opt_g.step()
    return err_real + err_fake, err_g


def plain_loop(config: RunConfig, dataset: ImageTensorDataset, steps: int) -> float:
    """images/s of the textbook loop over `steps` steps after warm-up."""
    netG = build_generator(config.model, config.data, seed=0)
    netD = build_discriminator(config.model, config.data, seed=1)
    criterion = nn.BCEWithLogitsLoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = DataLoader(TensorDataset(dataset.images.float() / 127.5 - 1), batch_size=BATCH, shuffle=True, drop_last=True)
    done, start = 0, None
    while True:
        for (real,) in loader:
            if done == WARMUP:
                start = time.perf_counter()
            if done == WARMUP + steps:
                return steps * BATCH / (time.perf_counter() - start)
            textbook_step(netG, netD, optG, optD, criterion, real, config.model.latent_dim)
            done += 1


def ganforge_loop(config: RunConfig, dataset: ImageTensorDataset, steps: int) -> float:
    """images/s that ganforge's trainer logs for the `steps` steps after warm-up."""
    with tempfile.TemporaryDirectory() as tmp:
        t = config.train
        config.train = TrainConfig(steps=WARMUP + steps, batch_size=BATCH, log_every=WARMUP, seed=0,
                                   sample_every=10**6, checkpoint_every=10**6, precision=t.precision,
                                   channels_last=t.channels_last, compile=t.compile, out_dir=tmp)
        trainer = Trainer(config, Path(tmp) / "run", dataset=dataset, progress=False)
        # log_every=WARMUP: the first record is warm-up, the rest cover the measured steps.
        trainer.config.train.log_every = WARMUP
        trainer.fit()
        records = [r for r in map(json.loads, (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines())
                   if "health" not in r]
        measured = records[1:]
        total_steps = sum(r["step"] - p["step"] for p, r in zip(records, measured))
        seconds = sum((r["step"] - p["step"]) * BATCH / r["images_per_s"] for p, r in zip(records, measured))
        return total_steps * BATCH / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="measured steps per run (after 10 warm-up)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats; the median is shown")
    parser.add_argument("--sizes", default="28x1,64x3", help="resolution x channels, comma separated")
    parser.add_argument("--more", action="store_true", help="also fp16 (loss scaling) and torch.compile rows")
    parser.add_argument("--skip", default="", help="comma-separated words: leave out rows whose name has one "
                        "(e.g. bf16,fp16 on a CPU without native bf16, where they are ~10x slower)")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, "
          f"{args.steps} steps x {args.repeats} repeats (median)\n")
    print(f"| images | loop | images/s | vs plain |")
    print(f"|---|---|---:|---:|")
    for spec in args.sizes.split(","):
        size, channels = (int(v) for v in spec.split("x"))
        data = DataConfig(dataset="folder", path="-", image_size=size, channels=channels)
        dataset = fake_data(BATCH * 20, channels, size)
        variants = {
            "plain PyTorch loop": None,
            "ganforge fp32": ("fp32", False, False),
            "ganforge fp32 + channels_last": ("fp32", True, False),
            "ganforge bf16 autocast": ("bf16", False, False),
            "ganforge bf16 + channels_last": ("bf16", True, False),
        }
        if args.more:  # compilation happens in the warm-up steps, which are not measured
            variants.update({"ganforge fp16 + loss scaling + channels_last": ("fp16", True, False),
                             "ganforge fp32 + channels_last + torch.compile": ("fp32", True, True),
                             "ganforge bf16 + channels_last + torch.compile": ("bf16", True, True)})
        skip = [word for word in args.skip.split(",") if word]
        variants = {name: option for name, option in variants.items()
                    if option is None or not any(word in name for word in skip)}
        results: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, option in variants.items():
                config = RunConfig(data=data, model=ModelConfig(), train=TrainConfig(steps=1))
                if option is None:
                    results[name].append(plain_loop(config, dataset, args.steps))
                else:
                    config.train.precision, config.train.channels_last, config.train.compile = option
                    results[name].append(ganforge_loop(config, dataset, args.steps))
                print(f"  measured {size}x{size}x{channels} {name}: {results[name][-1]:,.0f} images/s",
                      file=sys.stderr, flush=True)
        base = statistics.median(results["plain PyTorch loop"])
        for name, values in results.items():
            rate = statistics.median(values)
            print(f"| {size}x{size}x{channels} | {name} | {rate:,.0f} | {rate / base:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
