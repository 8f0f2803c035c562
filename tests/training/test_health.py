"""Health checks: each provoked on a tiny model (and the thresholds on hand-made records); healthy
runs stay silent."""

import json
import logging
from dataclasses import replace

import pytest
import torch

from ganforge.cli.main import main
from ganforge.config import HEALTH_CHECKS, parse_stop_on
from ganforge.errors import ConfigError, TrainingUnhealthy
from ganforge.training import train
from ganforge.training.health import ADVICE, PATIENCE, DiversityProbe, HealthMonitor, gradient_norm
from tests.conftest import tiny_config


def record(step, loss_d=1.0, loss_g=1.0, d_real=0.6, d_fake=0.4, **extra):
    return {"step": step, "loss_d": loss_d, "loss_g": loss_g, "d_real": d_real, "d_fake": d_fake, **extra}


def fired(monitor, records):
    return [(e.check, e.step) for r in records for e in monitor.observe(r)]


# ------------------------------------------------------------------------------ the thresholds
def test_domination_needs_patience_and_fires_once_per_episode():
    monitor = HealthMonitor()
    dominated = dict(d_real=0.99, d_fake=0.01, loss_g=7.0)
    assert fired(monitor, [record(1, **dominated), record(2, **dominated)]) == []  # PATIENCE = 3
    assert fired(monitor, [record(3, **dominated), record(4, **dominated)]) == [("d-domination", 3)]
    assert fired(monitor, [record(5), record(6, **dominated), record(7, **dominated), record(8, **dominated)]) == \
        [("d-domination", 8)]  # cleared at step 5, so it may fire again
    assert fired(HealthMonitor(), [record(s, d_real=0.99, d_fake=0.06) for s in range(5)]) == []  # 0.06 > 0.05


def test_gradient_and_loss_checks():
    grads = [1.0, 1.2, 0.8] + [0.015] * PATIENCE  # early median 1.0; 1.5% of it
    assert fired(HealthMonitor(), [record(s, grad_g=g) for s, g in enumerate(grads)]) == [("vanishing-gradients", 5)]
    assert fired(HealthMonitor(), [record(s, grad_g=g) for s, g in enumerate([1.0] * 3 + [0.03] * 5)]) == []
    grads = [1.0, 1.0, 1.0] + [150.0] * PATIENCE
    assert fired(HealthMonitor(), [record(s, grad_d=g) for s, g in enumerate(grads)]) == [("exploding-gradients", 5)]
    losses = [0.5, 0.7, 0.6] + [250.0] * PATIENCE
    assert fired(HealthMonitor(), [record(s, loss_d=v) for s, v in enumerate(losses)]) == [("divergence", 5)]
    # Large but not 10x its start (a wasserstein critic that started large) is no divergence.
    assert fired(HealthMonitor(), [record(s, loss_d=v) for s, v in enumerate([30.0] * 3 + [250.0] * 5)]) == []


def test_mode_collapse_only_after_diversity_was_reached():
    fresh = [0.05, 0.07, 0.1, 0.1, 0.12]  # a fresh generator: alike samples, nothing to report
    assert fired(HealthMonitor(), [record(s, diversity=d) for s, d in enumerate(fresh)]) == []
    series = [0.1, 0.4, 0.6, 0.8, 0.35, 0.3, 0.3]  # best 0.8, then below 0.4 three times
    assert fired(HealthMonitor(), [record(s, diversity=d) for s, d in enumerate(series)]) == [("mode-collapse", 6)]


@pytest.mark.parametrize("metric, higher, values, expected", [
    ("fd", False, [50, 40, 41, 42, 40.5], [("no-progress", 4)]),
    ("fd", False, [50, 40, 41, 39, 42, 43], []),
    ("is", True, [2, 5, 4.9, 5, 4], [("no-progress", 4)]),
])
def test_no_progress(metric, higher, values, expected):
    monitor = HealthMonitor(metric, higher)
    events = [(e.check, e.step) for step, v in enumerate(values) for e in monitor.observe_evaluation(step, {metric: v})]
    assert events == expected


def test_every_check_has_advice_and_stop_on_names_them():
    assert tuple(ADVICE) == HEALTH_CHECKS
    assert parse_stop_on("d-domination, mode-collapse") == ("d-domination", "mode-collapse")
    assert parse_stop_on("all") == HEALTH_CHECKS and parse_stop_on(None) == ()
    with pytest.raises(ConfigError, match=r"\(--stop-on\): unknown check d-win .choose from d-domination"):
        parse_stop_on("d-win")


def test_probe_numbers():
    net = torch.nn.Linear(3, 2)
    assert gradient_norm(net) is None
    net.weight.grad, net.bias.grad = torch.full((2, 3), 2.0), torch.zeros(2)
    assert gradient_norm(net) == pytest.approx(24 ** 0.5)
    real = torch.rand(8, 1, 4, 4) * 2 - 1
    copies = DiversityProbe(real, (real, None))
    same = torch.nn.Identity()
    assert copies(same) == pytest.approx(1.0)  # the "generator" returns the real images
    constant = DiversityProbe(real, (torch.zeros(8, 1, 4, 4), None))
    assert constant(same) == 0.0


# ---------------------------------------------------------------------- provoked on tiny runs
def tiny_run(tmp_path, optim=None, **train_settings):
    config = tiny_config(tmp_path, steps=train_settings.pop("steps", 200), log_every=10, sample_every=10**6,
                         checkpoint_every=10**6, **train_settings)
    if optim:
        config = replace(config, optim=replace(config.optim, **optim))
    return config


def events_of(run):
    return [(r["health"], r["step"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if "health" in r]


def test_a_healthy_tiny_run_is_silent(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        run = train(tiny_run(tmp_path, steps=300), progress=False)
    assert events_of(run) == [] and "health" not in caplog.text
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"grad_g", "grad_d", "diversity"} <= set(last)


def test_a_winning_discriminator_is_named(tmp_path, caplog):
    # The generator barely learns (lr 1e-6) while D learns fast: D(x) -> 1, D(G(z)) -> 0.
    with caplog.at_level(logging.WARNING):
        run = train(tiny_run(tmp_path, optim={"lr_g": 1e-6, "lr_d": 2e-3}), progress=False)
    assert [check for check, _ in events_of(run)] == ["d-domination"]
    assert "health: d-domination at step" in caplog.text and "--preset dcgan-sn" in caplog.text


def test_saturating_loss_vanishes_and_exploding_critic_diverges(tmp_path):
    minimax = train(tiny_run(tmp_path / "a", optim={"lr_g": 1e-6, "lr_d": 2e-3}, loss="minimax", steps=300),
                    progress=False)
    assert "vanishing-gradients" in [check for check, _ in events_of(minimax)]
    # A Wasserstein critic with a useless clip (100) runs away.
    wild = train(tiny_run(tmp_path / "b", optim={"lr_d": 1e-2}, loss="wasserstein", clip=100.0), progress=False)
    checks = [check for check, _ in events_of(wild)]
    assert "divergence" in checks and "exploding-gradients" in checks


def test_collapse_is_seen_in_the_samples(tmp_path, monkeypatch):
    # From step 130 the generator ignores its latent: every sample is the same picture. (At lr
    # 1e-3 the tiny generator's sample diversity passes 0.5 of the real images' by then.)
    from ganforge.training import trainer as trainer_module

    original = trainer_module.Trainer._build_players

    def build(self):
        original(self)

        def same_latent(module, args):
            if self.step >= 130:
                z = args[0]
                return (z.mean(0, keepdim=True).expand_as(z), *args[1:])
        self.generator.register_forward_pre_hook(same_latent)

    monkeypatch.setattr(trainer_module.Trainer, "_build_players", build)
    run = train(tiny_run(tmp_path, optim={"lr_g": 1e-3, "lr_d": 1e-3}), progress=False)
    collapses = [step for check, step in events_of(run) if check == "mode-collapse"]
    assert len(collapses) == 1 and 130 < collapses[0] <= 130 + 10 * PATIENCE


def test_stalled_evaluations_and_stop_on(tmp_path):
    class Flat:
        higher_is_better = {"fd": False}

        def __call__(self, generator):
            return {"fd": 10.0}

    config = tiny_run(tmp_path, steps=100, eval_every=10, stop_on="no-progress")
    with pytest.raises(TrainingUnhealthy, match="stopped by --stop-on: no-progress at step 40: fd 10, best 10"):
        train(config, progress=False, evaluator_factory=lambda config, device: Flat())
    run = next((tmp_path / "runs").iterdir())
    assert events_of(run) == [("no-progress", 40)]
    assert (run / "checkpoints" / "step_00000040").is_dir()  # stopped at once, after a checkpoint


def test_stop_on_from_the_cli(tmp_path, capsys):
    code = main(["train", "--dataset", "shapes", "--image-size", "16", "--channels", "3", "--limit", "64",
                 "--width", "8", "--latent-dim", "8", "--batch-size", "8", "--steps", "300", "--log-every", "10",
                 "--lr-g", "1e-6", "--lr-d", "2e-3", "--stop-on", "d-domination", "--out", str(tmp_path),
                 "--name", "r", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "stopped by --stop-on: d-domination at step" in err
    assert len([line for line in err.splitlines() if line.startswith("ganforge: error")]) == 1
    steps = [r["step"] for r in map(json.loads, (tmp_path / "r" / "metrics.jsonl").read_text().splitlines())]
    assert max(steps) < 300  # stopped early
    assert main(["train", "--stop-on", "d-win", "--steps", "1"]) == 2
    assert "(--stop-on): unknown check d-win" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("preset, steps, every", [(None, 300, 20), ("sngan", 150, 10)])
def test_healthy_mnist_runs_raise_nothing(tmp_path, preset, steps, every, caplog):
    """The MNIST default (DCGAN) and a stabilised preset (at width 32 to keep the test short),
    15 log records each: no warning."""
    pytest.importorskip("mnist")
    args = ["train", "--steps", str(steps), "--log-every", str(every), "--limit", "8192", "--width", "32",
            "--out", str(tmp_path), "--name", "m", "--no-progress"] + (["--preset", preset] if preset else [])
    with caplog.at_level(logging.WARNING):
        assert main(args) == 0
    assert events_of(tmp_path / "m") == [] and "health" not in caplog.text
