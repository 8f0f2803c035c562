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
