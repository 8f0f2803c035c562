"""Data-parallel training on torch.distributed: launch with `torchrun`, ganforge reads the
environment it sets (WORLD_SIZE, RANK, LOCAL_RANK) and joins the process group (NCCL for CUDA
devices, gloo on CPU).

How the work is split: every rank draws the same global batch (the same permutation, seeded by
(seed, epoch)) and the same global latents, and keeps its slice `global[rank::world]`, exactly the
indices torch's DistributedSampler gives a rank. Gradients are averaged across ranks by
DistributedDataParallel, so a run on N ranks with global batch B follows the single-process run
with batch B (BatchNorm statistics aside: they are per rank unless --sync-bn, which needs CUDA).
Because batches are a function of (seed, global batch index), a checkpoint resumes under any
world size that divides the batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ganforge.errors import ConfigError, TrainingDiverged


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes logs, samples, evaluations and checkpoints."""
        return self.rank == 0

    def shard(self, batch: torch.Tensor | None) -> torch.Tensor | None:
        """This rank's slice of a global batch: rows rank, rank + world, ..."""
        return batch if batch is None or not self.enabled else batch[self.rank::self.world_size]


def from_environment() -> Distributed:
    """The launch torchrun described (single process when WORLD_SIZE is unset or 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    return Distributed(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def setup(context: Distributed, device: torch.device) -> torch.device:
    """Join the process group; CUDA ranks get their own GPU (cuda:LOCAL_RANK)."""
    if not context.enabled:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", context.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def teardown(context: Distributed) -> None:
    if context.enabled and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def check_batch(context: Distributed, batch_size: int, accumulate: int = 1) -> None:
    if context.enabled and batch_size % context.world_size:
        raise ConfigError(f"train.batch_size (--batch-size) {batch_size} must be divisible by the number of "
                          f"processes ({context.world_size}): it is the global batch")
    if batch_size // context.world_size < accumulate:
        raise ConfigError(f"train.accumulate (--accumulate) {accumulate} exceeds the "
                          f"{batch_size // context.world_size} images each of the {context.world_size} "
                          f"processes gets per batch")


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """The mean of a tensor over all ranks (an all-reduce; every rank gets it)."""
    total = value.detach().clone()
    dist.all_reduce(total)
    return total / dist.get_world_size()


@torch.no_grad()
def check_replicas_identical(context: Distributed, modules: dict[str, torch.nn.Module]) -> None:
    """All ranks must hold the same parameters (DDP keeps them so); compare exact checksums.
    Buffers may differ: BatchNorm statistics and StyleGAN's w_avg are updated from each rank's
    own slice after DDP broadcasts rank 0's at every forward, and rank 0's are saved."""
    if not context.enabled:
        return
    for name, module in modules.items():
        flat = torch.cat([p.detach().double().flatten() for p in module.parameters()])
        weights = torch.arange(1, len(flat) + 1, dtype=torch.float64, device=flat.device).remainder(97)
        checksum = torch.stack([flat.sum(), flat.abs().sum(), (flat * weights).sum()])
        gathered = [torch.empty_like(checksum) for _ in range(context.world_size)]
        dist.all_gather(gathered, checksum)
        if any(not torch.equal(gathered[0], other) for other in gathered[1:]):
            raise TrainingDiverged(f"{name}: the ranks' weights differ; the data-parallel replicas went out of sync")


def sync_batchnorm(module: torch.nn.Module, context: Distributed, device: torch.device,
                   enabled: bool) -> torch.nn.Module:
    """BatchNorm layers replaced by SyncBatchNorm (statistics over the global batch); the state
    dict keys stay the same, so checkpoints load into plain BatchNorm."""
    if not enabled:
        return module
    if device.type != "cuda":
        raise ConfigError("--sync-bn needs CUDA devices (torch's SyncBatchNorm has no CPU kernel)")
    return torch.nn.SyncBatchNorm.convert_sync_batchnorm(module) if context.enabled else module


def wrap(module: torch.nn.Module, context: Distributed, device: torch.device) -> torch.nn.Module:
    """DistributedDataParallel around `module` when running on several processes."""
    if not context.enabled:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)
