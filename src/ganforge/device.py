"""Where and in what precision tensors are computed: device and precision choice.

Everything here answers a question about the machine (is CUDA there, does this CPU compute
bf16 natively, does torch.compile work), so the loading, sampling, evaluation and training
code all ask here rather than each other.
"""

from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any, ContextManager

import torch

from ganforge.errors import ConfigError

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
MEMORY_SHARE = 0.5  # of the machine's physical memory one in-memory array (a dataset, samples) may take
DEVICE_DATA_SHARE = 0.25  # of an accelerator's free memory a training set may take to live there


def memory_budget() -> int:
    """Bytes one in-memory array (a decoded dataset, a batch of samples) may take: half of this
    machine's physical memory, leaving room for the model and the rest (8 GiB where it is unknown)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * MEMORY_SHARE)
    except (AttributeError, ValueError, OSError):
        return 8 << 30


def memory_shortfall(nbytes: int) -> str | None:
    """None when `nbytes` fit in `memory_budget()`; else what to say ("need 71.5 GiB of memory, more
    than the 11.7 GiB (half of this machine's) ganforge holds at once")."""
    budget = memory_budget()
    if nbytes <= budget:
        return None
    return (f"need {_size(nbytes)} of memory, more than the {_size(budget)} (half of this machine's) "
            "ganforge holds at once")


def _size(nbytes: int) -> str:
    value, unit = float(nbytes), "bytes"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def data_placement(nbytes: int, device: torch.device, free_bytes: int | None = None) -> str:
    """Where a training set of `nbytes` lives while training on `device`: "device" (copied there
    once; batches are gathered there, no copy per step) when it takes at most DEVICE_DATA_SHARE of
    the accelerator's free memory (`free_bytes`, asked of CUDA when None), "pinned" (page-locked
    host memory: each batch's copy runs asynchronously) for a larger set on CUDA, else "host"."""
    if device.type != "cuda":
        return "host"
    if free_bytes is None:
        free_bytes, _ = torch.cuda.mem_get_info(device)
    return "device" if nbytes <= DEVICE_DATA_SHARE * free_bytes else "pinned"


def resolve_device(name: str | torch.device) -> torch.device:
    """A torch.device from a user string, with a clear error when it is not available."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device: unknown device {name!r} (try cpu, cuda, cuda:1, mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"--device {name}: MPS is not available on this machine")
    return device


def cpu_has_native_bf16() -> bool:
    """Whether the CPU advertises AVX-512 BF16 or AMX BF16 (Linux /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" -> "bf16" on CUDA GPUs and CPUs that compute it natively, else "fp32"."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


def random_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The global random streams a run on `device` draws from (torch's CPU stream; the GPU's too on
    CUDA, where noise and dropout draw from it), for a checkpoint to save."""
    state = {"torch_rng": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    return state


def restore_random_state(state: dict[str, Any], device: torch.device) -> None:
    """Sets the streams `random_state` saved; the GPU's only where it was saved and this run is on CUDA."""
    torch.set_rng_state(state["torch_rng"])
    if device.type == "cuda" and "cuda_rng" in state:
        torch.cuda.set_rng_state(state["cuda_rng"], device)


def autocast(precision: str, device: torch.device) -> ContextManager:
    """bf16 / fp16 autocast for those (resolved) precisions, else nothing."""
    if precision in ("bf16", "fp16"):
        return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
    return nullcontext()


def grad_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler | None:
    """A loss scaler for fp16 (its range is small), None otherwise."""
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None


def compile_available(device: torch.device) -> bool:
    """Whether torch.compile works here (it needs a C++ compiler on CPU, Triton on CUDA): compiles
    a one-line function once; on failure logs why and training runs eagerly."""
    try:
        torch.compile(lambda x: x * 2 + 1)(torch.ones(2, device=device))
        return True
    except Exception as exc:  # noqa: BLE001 - any backend failure means "not here"; said in the log
        log.warning("--compile: torch.compile is not usable here (%s: %s); training without it",
                    type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return False
