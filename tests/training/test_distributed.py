"""Data-parallel training on 2 CPU processes (gloo), launched with torchrun."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganforge.training.distributed import Distributed

WORKER = Path(__file__).with_name("ddp_worker.py")


def launch(out: Path, steps: int, processes: int, resume: Path | None = None, accumulate: int = 1) -> None:
    out.mkdir(parents=True, exist_ok=True)
    args = [str(WORKER), str(out), str(steps)] + ([str(resume)] if resume else [])
    args += [str(accumulate)] if accumulate > 1 else []
    if processes > 1:
        args = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"] + args
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def weights(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, weights_only=True)
    state.pop("world_size")
    return state


def assert_close(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    worst = max(float((a[k].double() - b[k].double()).abs().max()) for k in a)
    assert worst <= atol, worst


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    launch(root / "two", 4, processes=2)
    launch(root / "one", 4, processes=1)
    return root


def test_ranks_hold_identical_weights(runs):
    a, b = weights(runs / "two" / "rank0.pt"), weights(runs / "two" / "rank1.pt")
    assert_close(a, b, atol=0.0)


def test_two_processes_match_one_with_the_same_global_batch(runs):
    # Same data, latents and global batch; only the order of floating-point sums differs
    # (all-reduce of two half-batch means vs one mean), so the weights agree to ~1e-6.
    assert_close(weights(runs / "two" / "rank0.pt"), weights(runs / "one" / "rank0.pt"), atol=1e-4)


def test_only_rank_zero_writes_and_logs_once_per_step(runs):
    run = runs / "two" / "run"
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_00000002", "step_00000004"]


def test_resume_under_a_different_world_size(runs, tmp_path):
    launch(tmp_path, 2, processes=2)
    launch(tmp_path, 4, processes=1, resume=tmp_path / "run")
    assert_close(weights(tmp_path / "rank0.pt"), weights(runs / "one" / "rank0.pt"), atol=1e-4)


def test_gradient_accumulation_on_two_processes(runs, tmp_path):
    # Each rank splits its 4 images into 2 micro-batches and all-reduces once per update (no_sync
    # on the first): same weights on both ranks, and those of the plain single-process run.
    launch(tmp_path, 4, processes=2, accumulate=2)
    a, b = weights(tmp_path / "rank0.pt"), weights(tmp_path / "rank1.pt")
    assert_close(a, b, atol=0.0)
    assert_close(a, weights(runs / "one" / "rank0.pt"), atol=1e-4)


def test_shard_is_the_distributed_sampler_split():
    batch = torch.arange(8)
    parts = [Distributed(rank, 2).shard(batch).tolist() for rank in (0, 1)]
    assert parts == [[0, 2, 4, 6], [1, 3, 5, 7]]
    assert Distributed().shard(batch) is batch
