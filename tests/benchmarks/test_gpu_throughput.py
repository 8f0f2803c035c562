"""benchmarks/gpu_throughput.py's CPU path: the same code its GPU table runs, at a tiny size."""

import re

import pytest
import torch

from benchmarks.gpu_throughput import FlopCount, fake_data, flops_per_image, main
from ganforge.config import DataConfig, ModelConfig, RunConfig, TrainConfig


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_without_a_gpu_it_says_so(capsys):
    assert main([]) == 1
    assert "no CUDA device here" in capsys.readouterr().err


def _config(batch: int, **train) -> RunConfig:
    data = DataConfig(dataset="folder", path="-", image_size=16, channels=3)
    model = ModelConfig(arch="resnet", width=8, latent_dim=8, spectral_norm=True)
    return RunConfig(data=data, model=model, train=TrainConfig(steps=1, batch_size=batch, **train))


def test_flop_count_agrees_with_torchs_counter():
    from torch.utils.flop_counter import FlopCounterMode

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 14 * 14, 5))
    x = torch.randn(4, 3, 16, 16)
    with FlopCounterMode(display=False) as reference:
        net(x).sum().backward()
    with FlopCount() as ours:
        net(x).sum().backward()
    # by hand: conv 2*4*8*14*14*27, linear 2*4*1568*5; backward: twice each (weights, inputs) but
    # the conv's input gradient, which nothing needs
    by_hand = 3 * 2 * 4 * 1568 * 5 + 2 * 2 * 4 * 8 * 14 * 14 * 27
    assert ours.total == reference.get_total_flops() == by_hand


def test_flops_per_image():
    data = fake_data(64, 3, 16)
    plain = flops_per_image(_config(8), data)
    assert plain > 1e6 and flops_per_image(_config(16), data) == pytest.approx(plain, rel=1e-12)  # per image
    every_step = flops_per_image(_config(8, penalty="r1", penalty_every=1), data)
    assert every_step > plain * 1.2  # R1 adds a double backward through D
    # A lazy penalty every 4 steps counts one penalised step and three plain ones.
    lazy = flops_per_image(_config(8, penalty="r1", penalty_every=4), data)
    assert lazy == pytest.approx((every_step + 3 * plain) / 4, rel=1e-12)


@pytest.mark.slow
def test_quick_table_on_the_cpu(capsys):
    assert main(["--device", "cpu", "--quick", "--steps", "5"]) == 0
    out = capsys.readouterr().out
    assert "| 8 | textbook loop |" in out and "| 8 | ganforge --compile (fp32 + channels_last) |" in out
    assert re.search(r"\| 8 \| ganforge --precision auto \((fp32|bf16)\) \|", out)  # what the timing picked
    for preset in ("dcgan", "sngan", "wgan-gp", "cond-sngan", "stylegan2-lite"):
        assert f"| {preset} | fp32 |" in out
