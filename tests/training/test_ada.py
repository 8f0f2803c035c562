"""ADA's controller (Karras et al. 2020, section 3): p follows r_t = E[sign(D(real))] towards a target."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from ganforge.config import build_config
from ganforge.errors import ConfigError
from ganforge.io import checkpoint as ckpt
from ganforge.losses import LOSSES
from ganforge.training import resume, train
from ganforge.training.ada import AdaptiveProbability
from ganforge.training.step import Players, StepOptions, train_step
from tests.conftest import tiny_config

LOGITS = torch.tensor([2.0, -1.0, 3.0, 0.5])  # signs 1, -1, 1, 1: r_t = 0.5


def test_one_adjustment_by_hand():
    # r_t = 0.5 < target 0.6: p falls by batch * N / (kimg * 1000) = 4 * 1 / 16 = 0.25.
    ada = AdaptiveProbability(batch_size=4, target=0.6, kimg=0.016, interval=1, p=0.5)
    ada.observe(LOGITS.sign().mean())
    assert ada.rt == 0.5 and ada.p == 0.25 and ada.speed == 0.25
    ada.observe(torch.tensor([1.0, 1.0, 1.0, -1.0]).sign().mean())  # r_t = 0.5 again: 0.25 -> 0
    assert ada.rt == 0.5 and ada.p == 0.0
    ada.observe(torch.ones(4).sign().mean())  # r_t = 1 > 0.6: p rises by as much
    assert ada.rt == 1.0 and ada.p == 0.25


def test_p_is_clamped_to_0_and_1():
    # kimg 0.001: a step of 4 * 1 / 1 = 4, far past either end.
    ada = AdaptiveProbability(batch_size=4, target=0.6, kimg=0.001, interval=1, p=0.5)
    ada.observe(LOGITS.sign().mean())
    assert ada.p == 0.0
    ada.observe(LOGITS.sign().mean())
    assert ada.p == 0.0
    ada.observe(torch.ones(()))
    assert ada.p == 1.0
    ada.observe(torch.ones(()))
    assert ada.p == 1.0


def test_r_t_equal_to_the_target_leaves_p():
    ada = AdaptiveProbability(batch_size=4, target=0.5, kimg=0.016, interval=1, p=0.5)
    ada.observe(LOGITS.sign().mean())
    assert ada.rt == 0.5 and ada.p == 0.5


def test_adjusts_every_interval_updates_on_their_mean():
    ada = AdaptiveProbability(batch_size=8, target=0.6, kimg=0.064, interval=4, p=0.0)  # step 8 * 4 / 64 = 0.5
    assert math.isnan(ada.rt)
    for s in (1.0, 1.0, 0.5):
        ada.observe(torch.tensor(s))
        assert ada.p == 0.0 and math.isnan(ada.rt)
    ada.observe(torch.tensor(0.0))  # mean of 1, 1, 0.5, 0 = 0.625 > 0.6
    assert ada.rt == 0.625 and ada.p == 0.5
    for s in (0.5, 0.5, 0.5, 0.5):
        ada.observe(torch.tensor(s))
    assert ada.rt == 0.5 and ada.p == 0.0
    # The paper's defaults: batch 64, 4 updates, 500 kimg -> 0 to 1 in 500,000 images.
    assert AdaptiveProbability(batch_size=64).speed * (500_000 / (64 * 4)) == pytest.approx(1.0)


def test_state_round_trip_mid_interval():
    a = AdaptiveProbability(batch_size=4, kimg=0.05, p=0.2)
    signs = [torch.tensor(v) for v in (0.5, 1.0, 0.25, 1.0, 0.75, -0.5, 1.0, 1.0)]
    for s in signs[:6]:  # one adjustment and 2 updates pending
        a.observe(s)
    b = AdaptiveProbability(batch_size=4, kimg=0.05)
    b.load_state_dict(a.state_dict())
    for s in signs[6:]:
        a.observe(s)
        b.observe(s)
    assert (a.p, a.rt) == (b.p, b.rt) and a.rt == (0.75 - 0.5 + 1.0 + 1.0) / 4


class FirstPixel(nn.Module):
    """A critic whose logit is the image's first pixel times a weight (1 at the start)."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, images):
        return images[:, 0, 0, 0] * self.scale


def test_the_step_reports_sign_of_d_real_after_each_d_update():
    real = torch.zeros(4, 1, 2, 2)
    real[:, 0, 0, 0] = LOGITS
    g = nn.Sequential(nn.Linear(2, 4), nn.Unflatten(1, (1, 2, 2)))
    d = FirstPixel()
    seen = []
    players = Players(g, d, torch.optim.SGD(g.parameters(), 0.1), torch.optim.SGD(d.parameters(), 0.1))
    options = StepOptions(LOSSES.get("hinge"), observe_real=seen.append)
    train_step(players, options, [(real, None), (real, None)], lambda n: (torch.randn(n, 2), None))
    assert [float(s) for s in seen] == [0.5, 0.5]  # one per D update, from D's logits before its update


def test_ada_trains_logs_p_and_r_t_and_resumes_exactly(tmp_path):
    # p starts at 0.5 and moves 8 * 4 / 128 = 0.25 every 4 updates (exact in binary).
    kw = dict(augment="ada", augment_p=0.5, ada_kimg=0.128, log_every=1)
    straight = train(tiny_config(tmp_path / "a", steps=6, **kw), progress=False)
    half = train(tiny_config(tmp_path / "b", steps=3, **kw), progress=False)  # 3 updates pending
    resumed = resume(half, steps=6, progress=False)
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert all(r["ada_rt"] * 8 == round(r["ada_rt"] * 8) and -1 <= r["ada_rt"] <= 1 for r in records)  # batch 8
    r_t = sum(r["ada_rt"] for r in records[:4]) / 4  # one D update per step, logged every step
    moved = 0.5 + math.copysign(0.25, r_t - 0.6) if r_t != 0.6 else 0.5
    assert [r["ada_p"] for r in records] == [0.5, 0.5, 0.5, moved, moved, moved]
    continued = [json.loads(line) for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert records == [{**r, "time": a["time"], "images_per_s": a["images_per_s"]} for r, a in zip(continued, records)]
    for name in ("generator", "discriminator"):
        a = load_file(str(ckpt.find_checkpoint(straight) / f"{name}.safetensors"))
        b = load_file(str(ckpt.find_checkpoint(resumed) / f"{name}.safetensors"))
        assert all(torch.equal(a[k], b[k]) for k in a), name
    sa = ckpt.load_trainer_state(ckpt.find_checkpoint(straight))["ada"]
    sb = ckpt.load_trainer_state(ckpt.find_checkpoint(resumed))["ada"]
    assert sa["p"] == sb["p"] and sa["updates"] == sb["updates"] == 2 and torch.equal(sa["signs"], sb["signs"])
    assert (straight / "training_curves.png").is_file()


def test_fixed_p_and_the_flags():
    config = build_config(overrides={"train.augment": "color,cutout", "train.augment_p": 0.3, "train.steps": 2})
    assert config.train.augment_p == 0.3
    with pytest.raises(ConfigError, match="--augment-p has no effect without --augment"):
        build_config(overrides={"train.augment_p": 0.3, "train.steps": 2})
    with pytest.raises(ConfigError, match="ada-target"):
        build_config(overrides={"train.augment": "ada", "train.ada_target": 1.0, "train.steps": 2})
    with pytest.raises(ConfigError, match="augment-p"):
        build_config(overrides={"train.augment": "ada", "train.augment_p": 1.5, "train.steps": 2})


def test_a_fixed_p_changes_training_and_p_0_does_not(tmp_path):
    def g_weights(run):
        return load_file(str(ckpt.find_checkpoint(run) / "generator.safetensors"))["net.0.weight"]

    plain = g_weights(train(tiny_config(tmp_path / "a", steps=2), progress=False))
    never = g_weights(train(tiny_config(tmp_path / "b", steps=2, augment="ada", augment_p=0.0,
                                        ada_kimg=1e6), progress=False))
    fixed = g_weights(train(tiny_config(tmp_path / "c", steps=2, augment="color", augment_p=0.5), progress=False))
    assert torch.equal(plain, never)  # p stays 0: images unchanged, no draws from the ops
    assert not torch.equal(plain, fixed)
