import pytest
import torch

from ganforge import device as d
from ganforge.errors import ConfigError


def test_precision_resolution(monkeypatch):
    cpu = torch.device("cpu")
    assert d.resolve_precision("fp32", cpu) == "fp32" and d.resolve_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr(d, "cpu_has_native_bf16", lambda: False)
    assert d.resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(d, "cpu_has_native_bf16", lambda: True)
    assert d.resolve_precision("auto", cpu) == "bf16"
    with pytest.raises(ConfigError, match="precision must be one of"):
        d.resolve_precision("fp8", cpu)


def test_resolve_device():
    assert d.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="unknown device 'gpu0'"):
        d.resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            d.resolve_device("cuda")


def test_autocast_and_scaler_follow_precision():
    cpu = torch.device("cpu")
    with d.autocast("bf16", cpu):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with d.autocast("fp32", cpu):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    assert d.grad_scaler("fp32", cpu) is None and d.grad_scaler("bf16", cpu) is None
    assert isinstance(d.grad_scaler("fp16", cpu), torch.amp.GradScaler)


def test_data_placement():
    from ganforge.device import DEVICE_DATA_SHARE, data_placement

    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    assert data_placement(10**12, cpu) == "host" and data_placement(1, cpu) == "host"  # CPU: never copied
    free = 80 << 30
    assert data_placement(int(DEVICE_DATA_SHARE * free), gpu, free_bytes=free) == "device"
    assert data_placement(int(DEVICE_DATA_SHARE * free) + 1, gpu, free_bytes=free) == "pinned"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batches_live_on_the_gpu_when_they_fit():
    from ganforge.data import ImageTensorDataset
    from ganforge.training.batches import BatchStream

    images = torch.randint(0, 256, (64, 1, 8, 8), dtype=torch.uint8)
    stream = BatchStream(ImageTensorDataset(images), 16, seed=0, device=torch.device("cuda"))
    on_cpu = BatchStream(ImageTensorDataset(images), 16, seed=0, device=torch.device("cpu"))
    assert stream.placement == "device" and stream.images.is_cuda
    for _ in range(5):  # the same batches as on the CPU, across an epoch boundary
        assert torch.equal(next(stream)[0].cpu(), next(on_cpu)[0])


def test_random_state_round_trips_the_streams_a_run_draws_from():
    cpu = torch.device("cpu")
    saved = d.random_state(cpu)
    assert set(saved) == {"torch_rng"}  # no GPU stream on a CPU run
    first = torch.randn(5)
    torch.randn(3)
    d.restore_random_state(saved, cpu)
    assert torch.equal(torch.randn(5), first)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_random_state_saves_the_gpu_stream_on_cuda():
    gpu = torch.device("cuda", 0)
    saved = d.random_state(gpu)
    first = torch.randn(5, device=gpu)
    d.restore_random_state(saved, gpu)
    assert set(saved) == {"torch_rng", "cuda_rng"} and torch.equal(torch.randn(5, device=gpu), first)
