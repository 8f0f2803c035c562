"""Milliseconds per update of the semi-supervised K+1 GAN (Salimans et al. 2016, MNIST), one CPU
thread: ganforge's `train_semi_supervised` in fp32 and bf16 against the same update written
plainly (torch's weight_norm parametrization, D called once per batch kind, multi-tensor Adam),
measured in the same run, alternating. Also where the time goes: matrix products, Gaussian
noise and the rest, from torch's profiler over ganforge's fp32 update.

    OMP_NUM_THREADS=1 python benchmarks/semi_supervised_speed.py [--updates 150] [--repeats 3]

Random 784-pixel data stands in for MNIST (the speed does not depend on the pixels). Run it
alone: on 2 cores a second job takes half the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from ganforge.apps.semi_supervised import (Settings, feature_matching_loss, supervised_loss,
                                           train_semi_supervised, unsupervised_loss)
from ganforge.models.mlp import MLPImageGenerator

BATCH = 100
# One update's matrix products (forward and backward), counted by hand from the layer sizes:
# D (784-1000-500-250-250-250-10) on 300 rows with weight and input gradients (none for the
# image), G (100-500-500-784) forward; then G forward and backward on 100 rows, D forward on 200
# rows and its input gradients on 100.
D_SIZES, G_SIZES = (784, 1000, 500, 250, 250, 250, 10), (100, 500, 500, 784)


def update_flops() -> float:
    d = [a * b for a, b in zip(D_SIZES, D_SIZES[1:])]
    g = [a * b for a, b in zip(G_SIZES, G_SIZES[1:])]
    d_step = 2 * 300 * (2 * sum(d) + sum(d[1:])) + 2 * BATCH * sum(g)
    g_step = 2 * BATCH * (sum(g) + sum(g) + sum(g[1:])) + 2 * 2 * BATCH * sum(d) + 2 * BATCH * sum(d)
    return d_step + g_step


class PlainDiscriminator(nn.Module):
    """The paper's D written the usual way: a noise layer and a weight-normalised Linear each."""

    def __init__(self) -> None:
        super().__init__()
        self.linears = nn.ModuleList(weight_norm(nn.Linear(a, b)) for a, b in zip(D_SIZES, D_SIZES[1:]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = x
        for i, linear in enumerate(self.linears):
            x = linear(x + torch.randn_like(x) * (0.3 if i == 0 else 0.5))
            if i < len(self.linears) - 1:
                x = F.relu(x)
                features = x
        return x, features


def plain_ms(images: torch.Tensor, labels: torch.Tensor, updates: int) -> float:
    torch.manual_seed(0)
    d, g = PlainDiscriminator(), MLPImageGenerator(100, 784)
    opt_d = torch.optim.Adam(d.parameters(), 3e-3, betas=(0.5, 0.999), foreach=True)
    opt_g = torch.optim.Adam(g.parameters(), 3e-3, betas=(0.5, 0.999), foreach=True)

    def update() -> None:
        pick = torch.randint(len(images), (3, BATCH))
        with torch.no_grad():
            fake = g(torch.rand(BATCH, 100))
        logits_lab, logits_u, logits_g = d(images[pick[0]])[0], d(images[pick[1]])[0], d(fake)[0]
        loss_d = supervised_loss(logits_lab, labels[pick[0]]) + 0.5 * unsupervised_loss(logits_u, logits_g)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        d.requires_grad_(False)
        with torch.no_grad():
            real_features = d(images[pick[2]])[1]
        loss_g = feature_matching_loss(real_features, d(g(torch.rand(BATCH, 100)))[1])
        d.requires_grad_(True)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    for _ in range(10):
        update()
    started = time.perf_counter()
    for _ in range(updates):
        update()
    return 1000 * (time.perf_counter() - started) / updates


def ganforge_ms(images: torch.Tensor, labels: torch.Tensor, updates: int, precision: str) -> float:
    """The run's own timing (its loop, not the data-dependent initialisation before it)."""
    settings = Settings(labels_per_class=10, epochs=updates * BATCH / len(images), precision=precision)
    result = train_semi_supervised(images, labels, images[:100], labels[:100], settings, evaluations=1)
    return 1000 * result.seconds / result.steps


def breakdown(images: torch.Tensor, labels: torch.Tensor, updates: int) -> dict[str, float]:
    from torch.profiler import profile

    settings = Settings(labels_per_class=10, epochs=updates * BATCH / len(images), precision="fp32")
    with profile() as prof:
        result = train_semi_supervised(images, labels, images[:100], labels[:100], settings, evaluations=1)
    totals = {"matrix products": 0.0, "Gaussian noise": 0.0}
    for event in prof.key_averages():
        if event.key in ("aten::mm", "aten::addmm"):
            totals["matrix products"] += event.self_cpu_time_total
        elif event.key == "aten::normal_":
            totals["Gaussian noise"] += event.self_cpu_time_total
    per_update = {name: us / 1000 / result.steps for name, us in totals.items()}
    per_update["everything else"] = 1000 * result.seconds / result.steps - sum(per_update.values())
    return per_update


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    generator = torch.Generator().manual_seed(0)
    images, labels = torch.rand(6000, 784, generator=generator), torch.arange(6000) % 10
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); {args.updates} updates after 10 "
          f"of warm-up, median of {args.repeats} alternating repeats; {update_flops() / 1e9:.2f} GFLOP per update")
    rows: dict[str, list[float]] = {"plain PyTorch (fp32)": [], "ganforge fp32": [], "ganforge --precision bf16": []}
    plain_ms(images, labels, 10)  # warm-up: oneDNN builds its kernels on first use
    for precision in ("fp32", "bf16"):
        ganforge_ms(images, labels, 10, precision)
    for _ in range(args.repeats):
        rows["plain PyTorch (fp32)"].append(plain_ms(images, labels, args.updates))
        rows["ganforge fp32"].append(ganforge_ms(images, labels, args.updates, "fp32"))
        rows["ganforge --precision bf16"].append(ganforge_ms(images, labels, args.updates, "bf16"))
    base = statistics.median(rows["plain PyTorch (fp32)"])
    print("\n| update | ms per update | GFLOP/s | vs plain |\n|---|---:|---:|---:|")
    for name, values in rows.items():
        ms = statistics.median(values)
        print(f"| {name} | {ms:.1f} | {update_flops() / ms / 1e6:.0f} | {base / ms:.2f}x |")
    print("\nganforge fp32, where an update's time goes (torch profiler, self time):")
    for name, ms in breakdown(images, labels, args.updates).items():
        print(f"  {name}: {ms:.1f} ms")


if __name__ == "__main__":
    main()
