import logging

import pytest
import torch

from ganforge import device as device_module
from ganforge.models import build_discriminator, build_generator
from ganforge.training import Trainer
from ganforge.training import trainer as trainer_module
from ganforge.training.precision import faster, time_passes
from tests.conftest import tiny_config


def test_faster_keeps_fp32_unless_bf16_wins_by_the_margin():
    assert faster({"fp32": 1.0, "bf16": 0.5}) == "bf16"
    assert faster({"fp32": 1.0, "bf16": 0.96}) == "fp32"  # within 5%: fp32's exactness wins
    assert faster({"fp32": 1.0, "bf16": 1.3}) == "fp32"
    assert faster({"fp32": 1.0, "bf16": 0.9}, margin=0.2) == "fp32"


@pytest.mark.parametrize("model", [{}, {"arch": "resnet", "spectral_norm": True}])
def test_timing_passes_leaves_the_networks_and_the_rng_as_they_were(tmp_path, model):
    config = tiny_config(tmp_path, model=model)
    g, d = build_generator(config.model, config.data, seed=0), build_discriminator(config.model, config.data, seed=1)
    before = [{k: v.clone() for k, v in net.state_dict().items()} for net in (g, d)]
    rng = torch.get_rng_state()
    times = time_passes(g, d, 8, config.model.latent_dim, 0, (3, 16, 16), torch.device("cpu"), repeats=2)
    assert set(times) == {"fp32", "bf16"} and all(t > 0 for t in times.values())
    for net, saved in zip((g, d), before):
        for key, value in net.state_dict().items():  # weights, BatchNorm statistics, spectral-norm vectors
            assert torch.equal(value, saved[key]), key
        assert all(p.grad is None for p in net.parameters())
    assert torch.equal(torch.get_rng_state(), rng)


def test_auto_precision_measures_where_bf16_is_native_and_says_what_it_picked(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: True)
    for scripted, expected in (({"fp32": 0.010, "bf16": 0.004}, "bf16"), ({"fp32": 0.010, "bf16": 0.012}, "fp32")):
        monkeypatch.setattr(trainer_module, "time_passes", lambda *a, times=scripted, **k: times)
        with caplog.at_level(logging.INFO, logger="ganforge.training.trainer"):
            caplog.clear()
            trainer = Trainer(tiny_config(tmp_path, precision="auto"), tmp_path / expected, progress=False)
        assert trainer.precision == expected
        assert f"--precision auto: {expected} (G and D forward and backward at batch 8: fp32 10.0 ms" in caplog.text
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: False)  # no bf16 instructions: no timing
    monkeypatch.setattr(trainer_module, "time_passes", lambda *a, **k: pytest.fail("timed without bf16"))
    assert Trainer(tiny_config(tmp_path, precision="auto"), tmp_path / "plain", progress=False).precision == "fp32"
    assert Trainer(tiny_config(tmp_path, precision="bf16"), tmp_path / "asked", progress=False).precision == "bf16"
