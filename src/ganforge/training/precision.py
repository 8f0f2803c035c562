"""`--precision auto`: bf16 where it is faster for this model, batch and device, fp32 where not.

bf16 halves the arithmetic's cost only where the matrix units do the work; for small networks
and batches a step is mostly overhead, and bf16's casts make it slower (docs/benchmarks.md: 0.93x
at 16 px, width 8, batch 8 on this project's CPU; on an H200 at batch 64 too). So where bf16 is
available at all, `auto` times G and D's forward and backward at the run's batch size in both
precisions, alternating, and keeps the faster. The networks are left as they were: no optimiser
step, BatchNorm statistics, spectral-norm vectors and the RNG restored, gradients cleared.
"""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

from ganforge.device import autocast
from ganforge.models import generate
from ganforge.training.step import critic

CANDIDATES = ("fp32", "bf16")


@contextmanager
def untouched(*networks: nn.Module) -> Iterator[None]:
    """Run throwaway passes: buffers and the global RNG restored, gradients cleared afterwards."""
    buffers = [(b, b.detach().clone()) for net in networks for b in net.buffers()]
    cpu_rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
        torch.set_rng_state(cpu_rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
        for net in networks:
            net.zero_grad(set_to_none=True)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_passes(generator: nn.Module, discriminator: nn.Module, batch_size: int, latent_dim: int,
                num_classes: int, image_shape: tuple[int, int, int], device: torch.device,
                memory_format: torch.memory_format = torch.contiguous_format,
                repeats: int = 3) -> dict[str, float]:
    """Median seconds of one forward and backward of G and D (D on a real-like and a generated
    batch, as a step runs it) in each candidate precision; one untimed warm-up pass each, then
    `repeats` rounds alternating the precisions so that drift in the machine's speed hits both."""
    rng = torch.Generator().manual_seed(0)
    z = torch.randn(batch_size, latent_dim, generator=rng).to(device)
    real = (torch.rand(batch_size, *image_shape, generator=rng) * 2 - 1).to(device, memory_format=memory_format)
    labels = torch.zeros(batch_size, dtype=torch.int64, device=device) if num_classes else None
    times: dict[str, list[float]] = {name: [] for name in CANDIDATES}

    def one_pass(precision: str) -> float:
        _sync(device)
        started = time.perf_counter()
        with autocast(precision, device):
            fake = generate(generator, z, labels).contiguous(memory_format=memory_format)
            loss = sum(critic(discriminator, x, labels)[0].float().mean() for x in (real, fake))
        loss.backward()
        _sync(device)
        return time.perf_counter() - started

    with untouched(generator, discriminator):
        for timed in (False,) + (True,) * repeats:
            for precision in CANDIDATES:
                seconds = one_pass(precision)
                if timed:
                    times[precision].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}


def faster(times: dict[str, float], margin: float = 0.05) -> str:
    """bf16 only when it is at least `margin` faster than fp32 (within that, fp32's exactness wins)."""
    return "bf16" if times["bf16"] < (1 - margin) * times["fp32"] else "fp32"
