import json
import os
import signal

import numpy as np
import pytest
import torch

import ganforge
from ganforge.io import checkpoint as ckpt
from ganforge.data import ImageTensorDataset
from ganforge.errors import CheckpointError, ConfigError, DataError, RunFolderError, TrainingDiverged
from ganforge.losses import LOSSES, AdversarialLoss, discriminator_loss_bce, generator_loss_nonsaturating
from ganforge.presets import PRESETS
from ganforge.training import Trainer, resume, train
from ganforge.training import trainer as trainer_module
from tests.conftest import tiny_config


def weights(run_dir, step=None):
    path = run_dir / "checkpoints" / ckpt.checkpoint_name(step) if step else ckpt.find_checkpoint(run_dir)
    from safetensors.torch import load_file
    return {name: load_file(str(path / f"{name}.safetensors")) for name in ("generator", "discriminator")}


def test_run_folder_contents(tiny):
    run = train(tiny, progress=False)
    assert run.name == "tiny"
    names = {p.name for p in run.iterdir()}
    assert {"config.json", "metrics.jsonl", "samples.png", "training_curves.png", "samples", "checkpoints"} <= names
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    for r in records:
        assert {"loss_d", "loss_g", "d_real", "d_fake", "images_per_s"} <= set(r)
        assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1 and r["images_per_s"] > 0
    assert [p.name for p in ckpt.list_checkpoints(run / "checkpoints")] == ["step_00000003", "step_00000006"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_00000003.png", "step_00000006.png"]
    checkpoint = ckpt.find_checkpoint(run)
    assert sorted(p.name for p in checkpoint.iterdir()) == [
        "config.json", "discriminator.safetensors", "generator.safetensors", "meta.json", "trainer_state.pt"]
    meta = json.loads((checkpoint / "meta.json").read_text())
    assert meta["version"] == ganforge.__version__ and meta["format_version"] == ckpt.FORMAT_VERSION
    assert meta["step"] == 6


def test_training_moves_the_weights(tiny):
    run = train(tiny, progress=False)
    first, last = weights(run, 3), weights(run, 6)
    assert any(not torch.equal(first["generator"][k], last["generator"][k]) for k in first["generator"])


def test_same_seed_same_run(tmp_path):
    a = train(tiny_config(tmp_path / "a"), progress=False)
    b = train(tiny_config(tmp_path / "b"), progress=False)
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa["generator"][k], wb["generator"][k]) for k in wa["generator"])
    c = train(tiny_config(tmp_path / "c", seed=1), progress=False)
    assert not torch.equal(weights(c)["generator"]["net.0.weight"], wa["generator"]["net.0.weight"])


@pytest.mark.parametrize("d_steps, model", [
    (1, None), (2, None),
    (1, {"arch": "resnet", "num_classes": 3}),  # conditional BN + projection D; labels in the batch stream
    (1, {"arch": "stylegan", "num_classes": 3, "class_head": "acgan"}),  # noise inputs, w_avg, AC-GAN head
])
def test_resume_is_exact(tmp_path, d_steps, model):
    # 8 steps straight == 4 steps, stop, resume, 4 more: every weight, buffer and Adam moment.
    straight = train(tiny_config(tmp_path / "a", model, steps=8, d_steps=d_steps), progress=False)
    half = train(tiny_config(tmp_path / "b", model, steps=4, d_steps=d_steps), progress=False)
    resumed = resume(half, steps=8, progress=False)
    assert resumed == half
    wa, wb = weights(straight), weights(resumed)
    for net in wa:
        assert wa[net].keys() == wb[net].keys()
        for key in wa[net]:
            assert torch.equal(wa[net][key], wb[net][key]), (net, key)
    sa = ckpt.load_trainer_state(ckpt.find_checkpoint(straight))
    sb = ckpt.load_trainer_state(ckpt.find_checkpoint(resumed))
    for opt in ("opt_g", "opt_d"):
        for i, state in sa[opt]["state"].items():
            assert torch.equal(state["exp_avg_sq"], sb[opt]["state"][i]["exp_avg_sq"])
    steps = [json.loads(line)["step"] for line in (resumed / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8]


def test_resume_rewinds_the_metrics_log(tmp_path):
    run = train(tiny_config(tmp_path, steps=6), progress=False)
    resume(run / "checkpoints" / "step_00000003", steps=4, progress=False, discard_newer=True)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4]


def test_epochs_count_batches(tmp_path):
    # 64 images, batch 8 -> 8 steps per epoch; 1.5 epochs -> 12 steps.
    config = tiny_config(tmp_path, steps=None, epochs=1.5)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    assert trainer.total_steps() == 12


def test_lr_decay_falls_linearly_to_the_last_step(tmp_path):
    # 6 steps, decay from step 2: scales 1, 1, 4/4, 3/4, 2/4, 1/4; logged as lr_scale (window means of 2).
    config = tiny_config(tmp_path, steps=6)
    config.optim.lr_decay_from, config.optim.lr_d = 2, 4e-4
    trainer = Trainer(config, tmp_path / "run", progress=False)
    assert [trainer.lr_scale(s) for s in range(6)] == [1, 1, 1, 0.75, 0.5, 0.25]
    run = trainer.fit()
    trainer.close()
    assert [g["lr"] for g in trainer.opt_g.param_groups] == [pytest.approx(2e-4 * 0.25)]
    assert [g["lr"] for g in trainer.opt_d.param_groups] == [pytest.approx(4e-4 * 0.25)]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr_scale"] for r in records] == [1.0, 0.875, 0.375]
    assert "lr_scale" not in json.loads((train(tiny_config(tmp_path / "b", steps=2), progress=False)
                                         / "metrics.jsonl").read_text().splitlines()[0])


def test_top_k_fraction_shrinks_each_epoch_to_its_floor(tmp_path):
    # 64 images, batch 8 -> 8 steps per epoch; decay 0.5 per epoch, floor 0.3: 1, 0.5, 0.3, 0.3.
    config = tiny_config(tmp_path, steps=4, log_every=1, top_k=0.3, top_k_decay=0.5)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    assert [trainer.top_k_fraction(s) for s in (0, 7, 8, 15, 16, 40)] == [1, 1, 0.5, 0.5, 0.3, 0.3]
    run = trainer.fit()
    trainer.close()
    assert [json.loads(line)["top_k"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [1, 1, 1, 1]
    plain = Trainer(tiny_config(tmp_path / "b"), tmp_path / "b" / "run", progress=False)
    assert plain.top_k_fraction(1000) == 1.0


def test_top_k_reaches_the_game(tmp_path, monkeypatch):
    seen = []
    real_step = trainer_module.train_step
    monkeypatch.setattr(trainer_module, "train_step", lambda players, rules, *a: seen.append(rules.top_k)
                        or real_step(players, rules, *a))
    config = tiny_config(tmp_path, steps=10, top_k=0.5, top_k_decay=0.5)
    train(config, progress=False)
    assert seen == [1.0] * 8 + [0.5] * 2  # the ninth step starts the second epoch


def test_lr_decay_needs_a_last_step_before_it(tmp_path):
    with pytest.raises(ConfigError, match="--lr-decay-from needs --steps or --epochs"):
        config = tiny_config(tmp_path, steps=None, minutes=1.0)
        config.optim.lr_decay_from = 2
        config.validate()
    config = tiny_config(tmp_path, steps=6)
    config.optim.lr_decay_from = 6
    with pytest.raises(ConfigError, match=r"lr-decay-from.*\(6\) must be below .*steps.*\(6\)"):
        config.validate()
    config = tiny_config(tmp_path, steps=None, epochs=1.5)  # 12 steps, known once the data is
    config.optim.lr_decay_from = 12
    with pytest.raises(ConfigError, match=r"\(12\) must be below the run's last step \(12, from --steps / --epochs\)"):
        Trainer(config, tmp_path / "run", progress=False)


def test_a_plateaued_run_resumed_with_lr_decay_is_the_run_started_with_it(tmp_path):
    # 4 steps without decay, then resumed to 8 with decay from step 4 == 8 steps straight with it.
    config = tiny_config(tmp_path / "a", steps=8)
    config.optim.lr_decay_from = 4
    straight = train(config, progress=False)
    half = train(tiny_config(tmp_path / "b", steps=4), progress=False)
    with pytest.raises(ConfigError, match="--lr-decay-from 3 is before the run's step 4"):
        resume(half, steps=8, lr_decay_from=3, progress=False)
    resumed = resume(half, steps=8, lr_decay_from=4, progress=False)
    wa, wb = weights(straight), weights(resumed)
    assert all(torch.equal(wa[net][k], wb[net][k]) for net in wa for k in wa[net])
    assert ckpt.read_config(ckpt.find_checkpoint(resumed)).optim.lr_decay_from == 4
    # The decay is under way since step 4: a new last step or start would change the rates of steps made.
    with pytest.raises(ConfigError, match="decayed since step 4 towards 0 at step 8; a new last step \\(10\\)"):
        resume(resumed, steps=10, progress=False)
    with pytest.raises(ConfigError, match="decayed since step 4; --lr-decay-from 9 would change them"):
        resume(resumed, steps=10, lr_decay_from=9, progress=False)


def test_nan_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    config = tiny_config(tmp_path, steps=20, log_every=5, checkpoint_every=5)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    calls = {"n": 0}

    def poisoned(real_logits, fake_logits):
        calls["n"] += 1
        loss = discriminator_loss_bce(real_logits, fake_logits)
        return loss * float("nan") if calls["n"] >= 7 else loss

    trainer.loss = AdversarialLoss(poisoned, generator_loss_nonsaturating)
    with pytest.raises(TrainingDiverged) as info:
        trainer.fit()
    message = str(info.value)
    assert "between steps 6 and 10" in message and "step_00000005" in message and "\n" not in message
    found = ckpt.list_checkpoints(tmp_path / "run" / "checkpoints")
    assert [p.name for p in found] == ["step_00000005"]
    assert all(torch.isfinite(v).all() for v in weights(tmp_path / "run")["generator"].values())
    assert (tmp_path / "run" / "training_curves.png").is_file()


def test_ctrl_c_saves_and_resumes(tmp_path, monkeypatch):
    real_step, calls = trainer_module.train_step, {"n": 0}
    handler_before = signal.getsignal(signal.SIGINT)  # default_int_handler, or SIG_IGN in a background job

    def step_then_interrupt(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)  # arrives mid-step; the step still completes
        return real_step(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "train_step", step_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(tmp_path / "a", steps=8, checkpoint_every=100), progress=False)
    run = tmp_path / "a" / "runs" / "tiny"
    assert ckpt.find_checkpoint(run).name == "step_00000003"
    assert signal.getsignal(signal.SIGINT) is handler_before  # handler restored
    monkeypatch.setattr(trainer_module, "train_step", real_step)
    resumed = resume(run, steps=8, progress=False)
    straight = train(tiny_config(tmp_path / "b", steps=8), progress=False)
    assert torch.equal(weights(resumed)["generator"]["net.0.weight"], weights(straight)["generator"]["net.0.weight"])


def test_crash_while_saving_leaves_no_partial_checkpoint(tiny, monkeypatch):
    run = train(tiny, progress=False)
    trainer = Trainer(tiny, run, progress=False)
    trainer.load_checkpoint(ckpt.find_checkpoint(run))
    trainer.step = 99

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "save_file", broken_save)
    with pytest.raises(CheckpointError, match="step_00000099: could not be written \\(disk full\\); the previous"):
        trainer.save_checkpoint()
    assert [p.name for p in (run / "checkpoints").iterdir()] and not any(
        p.name.startswith(".tmp") or p.name == "step_00000099" for p in (run / "checkpoints").iterdir())
    assert ckpt.find_checkpoint(run).name == "step_00000006"


def test_existing_run_is_not_overwritten(tiny):
    train(tiny, progress=False)
    with pytest.raises(ConfigError, match=r"already has checkpoints \(in checkpoints/\); use --resume"):
        train(tiny, progress=False)


def test_dataset_smaller_than_a_batch(tmp_path):
    config = tiny_config(tmp_path, batch_size=128)
    with pytest.raises(DataError, match="64 images, fewer than one batch"):
        train(config, progress=False)


def test_unavailable_device(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        train(tiny_config(tmp_path, device="cuda"), progress=False)
    with pytest.raises(ConfigError, match="unknown device 'gpu0'"):
        train(tiny_config(tmp_path, device="gpu0"), progress=False)


def test_bf16_training_stays_finite_and_close_to_fp32(tmp_path):
    a = train(tiny_config(tmp_path / "a", steps=2, precision="fp32"), progress=False)
    b = train(tiny_config(tmp_path / "b", steps=2, precision="bf16"), progress=False)
    wa, wb = weights(a)["generator"], weights(b)["generator"]
    for key in wa:
        assert torch.isfinite(wb[key]).all()
    # Two Adam steps of lr 2e-4 move each weight by at most ~4e-4, in either precision.
    assert (wa["net.0.weight"] - wb["net.0.weight"]).abs().max() < 1e-3


class ScriptedEvaluator:
    """Returns a scripted FD per call, so the best checkpoint is known in advance."""

    higher_is_better = {"fd": False, "is": True}

    def __init__(self, values):
        self.values = list(values)

    def __call__(self, generator):
        assert not generator.training  # evaluated in eval mode
        fd = self.values.pop(0)
        return {"fd": fd, "is": 10 - fd}


def test_periodic_evaluation_keeps_the_best_checkpoint(tmp_path):
    config = tiny_config(tmp_path, steps=8, eval_every=2)
    run = train(config, progress=False, evaluator_factory=lambda c, d: ScriptedEvaluator([5.0, 3.0, 4.0, 3.5]))
    records = [json.loads(line) for line in (run / "evaluations.jsonl").read_text().splitlines()]
    assert [(r["step"], r["fd"]) for r in records] == [(2, 5.0), (4, 3.0), (6, 4.0), (8, 3.5)]
    best = ckpt.find_checkpoint(run / "best")
    assert best.name == "step_00000004" and len(ckpt.list_checkpoints(run / "best")) == 1
    assert ckpt.load_trainer_state(best)["best"] == {"value": 3.0, "step": 4}
    assert (run / "evaluation_curves.png").is_file()
    assert ganforge.load(run / "best").step == 4


def test_best_metric_direction_and_resume(tmp_path):
    config = tiny_config(tmp_path, steps=4, eval_every=2, best_metric="is")
    run = train(config, progress=False, evaluator_factory=lambda c, d: ScriptedEvaluator([5.0, 3.0]))
    assert ckpt.find_checkpoint(run / "best").name == "step_00000004"  # IS 7 > 5
    # The resumed run remembers the best so far: a worse evaluation does not replace it.
    resume(run, steps=6, progress=False, evaluator_factory=lambda c, d: ScriptedEvaluator([9.0]))
    assert ckpt.find_checkpoint(run / "best").name == "step_00000004"


def test_eval_every_needs_an_evaluator(tmp_path):
    with pytest.raises(ConfigError, match="--eval-every needs an evaluator"):
        train(tiny_config(tmp_path, eval_every=2), progress=False, evaluator_factory=None)
    with pytest.raises(ConfigError, match="best_metric"):
        train(tiny_config(tmp_path, eval_every=2, best_metric="kid"), progress=False,
              evaluator_factory=lambda c, d: ScriptedEvaluator([1.0]))


@pytest.mark.parametrize("loss", LOSSES.names())
def test_every_registered_loss_trains(tmp_path, loss):
    extra = {"clip": 0.01} if LOSSES.get(loss).needs_lipschitz else {}
    run = train(tiny_config(tmp_path, steps=3, loss=loss, **extra), progress=False)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["loss_d"]) and np.isfinite(r["loss_g"]) for r in records)
    assert ganforge.load(run).sample(2).shape == (2, 3, 16, 16)


def test_wasserstein_needs_a_constraint(tmp_path):
    with pytest.raises(ConfigError, match="needs a Lipschitz constraint"):
        train(tiny_config(tmp_path, loss="wasserstein"), progress=False)


def test_weight_clipping_bounds_the_critic(tmp_path):
    run = train(tiny_config(tmp_path, steps=2, loss="wasserstein", clip=0.01), progress=False)
    critic = ganforge.load(run).load_discriminator()
    assert max(p.abs().max().item() for p in critic.parameters()) <= 0.01  # buffers (BN statistics) are not weights


@pytest.mark.parametrize("penalty, every", [("gp", 1), ("r1", 2)])
def test_penalties_train_and_resume_exactly(tmp_path, penalty, every):
    kw = dict(loss="wasserstein" if penalty == "gp" else "nonsaturating", penalty=penalty, penalty_every=every,
              model={"arch": "resnet"} if penalty == "gp" else None)
    straight = train(tiny_config(tmp_path / "a", steps=4, **kw), progress=False)
    half = train(tiny_config(tmp_path / "b", steps=2, **kw), progress=False)
    resumed = resume(half, steps=4, progress=False)
    wa, wb = weights(straight)["discriminator"], weights(resumed)["discriminator"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_lazy_penalty_schedule(tmp_path):
    trainer = Trainer(tiny_config(tmp_path, penalty="r1", penalty_weight=5.0, penalty_every=4), tmp_path / "r",
                      progress=False)
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 1))
    real = torch.randn(2, 3, 16, 16)
    from ganforge.losses import r1_penalty

    trainer.step = 8
    assert trainer.scheduled_penalty()(critic, real, real).item() == pytest.approx(20 * r1_penalty(critic, real).item())
    trainer.step = 9
    assert trainer.scheduled_penalty() is None


def test_the_game_gets_the_class_weight(tmp_path):
    config = tiny_config(tmp_path, model={"num_classes": 3, "class_head": "projection+acgan"}, class_weight=0.3)
    with_penalty, without = Trainer(config, tmp_path / "r", progress=False).step_options()
    assert with_penalty.class_weight == without.class_weight == 0.3


def test_ema_generator_is_saved_sampled_and_resumed(tmp_path):
    config = tiny_config(tmp_path / "a", steps=4, ema_decay=0.5)
    straight = train(config, progress=False)
    saved = weights(straight)
    from safetensors.torch import load_file

    ema = load_file(str(ckpt.find_checkpoint(straight) / "generator_ema.safetensors"))
    assert not torch.equal(ema["net.0.weight"], saved["generator"]["net.0.weight"])
    gan = ganforge.load(straight)  # samples come from the EMA weights
    assert torch.equal(gan.generator.state_dict()["net.0.weight"], ema["net.0.weight"])
    half = train(tiny_config(tmp_path / "b", steps=2, ema_decay=0.5), progress=False)
    resumed = resume(half, steps=4, progress=False)
    ema_resumed = load_file(str(ckpt.find_checkpoint(resumed) / "generator_ema.safetensors"))
    assert all(torch.equal(ema[k], ema_resumed[k]) for k in ema)


def test_spectral_norm_and_label_smoothing_train(tmp_path):
    config = tiny_config(tmp_path, steps=2, label_smoothing=0.1)
    config.model.spectral_norm = True
    run = train(config, progress=False)
    assert "net.0.parametrizations.weight.original" in weights(run)["discriminator"]
    assert ganforge.load(run).load_discriminator()(torch.zeros(1, 3, 16, 16)).shape == (1,)
    with pytest.raises(ConfigError, match="--label-smoothing works with the BCE losses"):
        train(tiny_config(tmp_path / "h", loss="hinge", label_smoothing=0.1), progress=False)


def test_diffaugment_trains_and_resumes_exactly(tmp_path):
    kw = dict(augment="color,translation,cutout")
    straight = train(tiny_config(tmp_path / "a", steps=4, **kw), progress=False)
    resumed = resume(train(tiny_config(tmp_path / "b", steps=2, **kw), progress=False), steps=4, progress=False)
    assert torch.equal(weights(straight)["generator"]["net.0.weight"], weights(resumed)["generator"]["net.0.weight"])
    plain = train(tiny_config(tmp_path / "c", steps=4), progress=False)
    assert not torch.equal(weights(straight)["generator"]["net.0.weight"], weights(plain)["generator"]["net.0.weight"])


def test_gp_needs_a_discriminator_without_batchnorm(tmp_path):
    with pytest.raises(ConfigError, match="--penalty gp needs a discriminator without BatchNorm"):
        tiny_config(tmp_path, loss="wasserstein", penalty="gp")
    tiny_config(tmp_path, model={"spectral_norm": True}, loss="wasserstein", penalty="gp")


def test_resuming_from_an_older_checkpoint_starts_a_new_timeline(tmp_path):
    run = train(tiny_config(tmp_path, steps=6), progress=False)
    with pytest.raises(RunFolderError, match=r"would delete the newer checkpoint\(s\) checkpoints/step_00000006"):
        resume(run / "checkpoints" / "step_00000003", steps=4, progress=False)
    assert [p.name for p in ckpt.list_checkpoints(run / "checkpoints")] == ["step_00000003", "step_00000006"]
    resume(run / "checkpoints" / "step_00000003", steps=4, progress=False, discard_newer=True)
    assert [p.name for p in ckpt.list_checkpoints(run / "checkpoints")] == ["step_00000003", "step_00000004"]


def test_a_fresh_run_in_a_failed_runs_folder_starts_clean(tmp_path):
    config = tiny_config(tmp_path, steps=2)
    run_dir = tmp_path / "runs" / "tiny"
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.jsonl").write_text('{"step": 50, "loss_d": 1, "loss_g": 1, "d_real": 0.5, "d_fake": 0.5}\n')
    train(config, progress=False)
    assert [json.loads(x)["step"] for x in (run_dir / "metrics.jsonl").read_text().splitlines()] == [2]


def test_weights_that_became_nan_are_never_saved(tmp_path):
    trainer = Trainer(tiny_config(tmp_path, steps=2), tmp_path / "run", progress=False)
    with torch.no_grad():
        next(trainer.generator.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="generator weights became NaN/Inf"):
        trainer.save_checkpoint()
    assert not ckpt.list_checkpoints(tmp_path / "run" / "checkpoints")


def test_corrupt_checkpoint_files_are_one_line_errors(tiny):
    from ganforge.errors import CheckpointError

    run = train(tiny, progress=False)
    checkpoint = ckpt.find_checkpoint(run)
    (checkpoint / "generator.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=r"generator.safetensors: damaged \(its SHA-256 differs"):
        ganforge.load(checkpoint)
    meta = json.loads((checkpoint / "meta.json").read_text())
    del meta["files"]  # as a checkpoint written before hashes were recorded
    (checkpoint / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="unreadable safetensors file"):
        ganforge.load(checkpoint)
    (checkpoint / "trainer_state.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="unreadable trainer state"):
        ckpt.load_trainer_state(checkpoint)


def test_conditional_training_checks_the_labels_and_draws_one_column_per_class(tmp_path):
    from PIL import Image

    with pytest.raises(ConfigError, match="use --num-classes 3"):
        Trainer(tiny_config(tmp_path, {"arch": "resnet", "num_classes": 10}), tmp_path / "r", progress=False)
    unlabelled = ImageTensorDataset(torch.zeros(16, 3, 16, 16, dtype=torch.uint8))
    with pytest.raises(ConfigError, match="needs labelled images"):
        Trainer(tiny_config(tmp_path, {"arch": "resnet", "num_classes": 3}), tmp_path / "r", dataset=unlabelled,
                progress=False)
    trainer = Trainer(tiny_config(tmp_path, {"arch": "resnet", "num_classes": 3}, steps=2), tmp_path / "r",
                      progress=False)
    assert trainer.fixed_labels[:7].tolist() == [0, 1, 2, 0, 1, 2, 0]
    run = trainer.fit()
    # 3 classes -> 6 columns (two per class), 10 rows of 16 px images, 2 px padding, upscaled x4.
    assert Image.open(run / "samples.png").size == ((6 * 18 + 2) * 4, (10 * 18 + 2) * 4)



def test_fp16_with_loss_scaling_trains_and_resumes_exactly(tmp_path):
    straight = train(tiny_config(tmp_path / "a", steps=4, precision="fp16"), progress=False)
    half = train(tiny_config(tmp_path / "b", steps=2, precision="fp16"), progress=False)
    resumed = resume(half, steps=4, progress=False)
    wa, wb = weights(straight), weights(resumed)
    assert all(torch.equal(wa[n][k], wb[n][k]) for n in wa for k in wa[n])
    state = ckpt.load_trainer_state(ckpt.find_checkpoint(resumed))
    assert len(state["scalers"]) == 2 and state["scalers"][0]["scale"] > 0


def test_compile_falls_back_to_eager_with_a_message(tmp_path, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler found")

    monkeypatch.setattr(torch, "compile", broken)
    trainer = Trainer(tiny_config(tmp_path, steps=1, compile=True), tmp_path / "r", progress=False)
    assert trainer.train_generator is trainer.generator
    assert "torch.compile is not usable here (RuntimeError: no C++ compiler found)" in caplog.text
    trainer.fit()


class CompiledButBroken(torch.nn.Module):
    """What a compiled network that fails in its first step looks like to the trainer."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, *args, **kwargs):
        raise RuntimeError("expected size 512==512, stride 16==1 at dim=1\nwhile executing convolution_backward")


def metrics_losses(run_dir):
    return [(r["loss_d"], r["loss_g"]) for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
            if "loss_d" in r]


@pytest.mark.parametrize("compiled", ["broken", "working"])
def test_a_compiled_step_is_tried_first(tmp_path, monkeypatch, caplog, compiled):
    # Broken: one warning, then the run trains in eager mode. Working (here the identity): the
    # trial leaves weights, BatchNorm statistics and gradients as they were. Either way the
    # losses equal those of a run without --compile.
    wrap = CompiledButBroken if compiled == "broken" else (lambda module: module)
    monkeypatch.setattr(torch, "compile", lambda fn, *a, **k: wrap(fn) if isinstance(fn, torch.nn.Module) else fn)
    eager = train(tiny_config(tmp_path / "e", steps=4, log_every=1), progress=False)
    reference = Trainer(tiny_config(tmp_path / "x", steps=4), tmp_path / "x" / "r", progress=False)
    trainer = Trainer(tiny_config(tmp_path / "c", steps=4, log_every=1, compile=True), tmp_path / "c" / "r",
                      progress=False)
    if compiled == "broken":
        assert trainer.train_generator is trainer.generator
        assert caplog.text.count("--compile: the compiled networks failed on a trial step (RuntimeError: expected "
                                 "size 512==512, stride 16==1 at dim=1); training in eager mode") == 1
    for mine, theirs in ((trainer.generator, reference.generator), (trainer.discriminator, reference.discriminator)):
        for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
            assert torch.equal(a, b), name
        assert all(p.grad is None for p in mine.parameters())
    assert metrics_losses(trainer.fit()) == metrics_losses(eager)


def test_spectral_norm_iterates_once_per_discriminator_update(tmp_path, monkeypatch):
    from ganforge.models.spectral import PowerIteration

    calls = []
    real_call = PowerIteration.__call__
    monkeypatch.setattr(PowerIteration, "__call__", lambda self: calls.append(1) or real_call(self))
    config = tiny_config(tmp_path, steps=3, d_steps=2, model={"arch": "resnet", "spectral_norm": True})
    trainer = Trainer(config, tmp_path / "run", progress=False)
    u = {k: v.clone() for k, v in trainer.discriminator.state_dict().items() if k.endswith("._u") and v.numel() > 1}
    trainer.fit()
    assert len(calls) == 6 and len(trainer.power_iteration) == len(u) + 1  # + the 1-output layer's u = [1]
    assert all(not torch.equal(trainer.discriminator.state_dict()[k], v) for k, v in u.items())


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS.names())
def test_real_compile_matches_eager_on_cpu(tmp_path, caplog, preset):
    """--compile trains every preset on the CPU, without falling back, with the losses of eager mode
    over the first steps (inductor drawing random numbers like eager, for StyleGAN's noise inputs
    and the mode-seeking latents). What made that possible (torch 2.13): spectral norm's power
    iteration runs outside D's forward (`ganforge.models.spectral`), and gradient penalties, whose
    backward is differentiated again, run through the eager D."""
    from ganforge.config import build_config
    from ganforge.device import compile_available

    if not compile_available(torch.device("cpu")):
        pytest.skip("torch.compile is not usable here (no C++ compiler)")
    tiny = {"data.dataset": "shapes", "data.image_size": 16, "data.channels": 3, "data.limit": 64,
            "model.width": 8, "model.latent_dim": 8, "train.batch_size": 8, "train.steps": 3,
            "train.log_every": 1, "train.sample_every": 100, "train.checkpoint_every": 100}
    if "num_classes" in PRESETS.get(preset).overrides["model"]:
        tiny["model.num_classes"] = 3  # the shapes' classes
    runs = {}
    for mode in ("compiled", "eager"):
        config = build_config(preset=preset, overrides={**tiny, "train.compile": mode == "compiled",
                                                         "train.out_dir": str(tmp_path / mode)})
        with caplog.at_level("WARNING"), torch._inductor.config.patch(fallback_random=True):
            runs[mode] = metrics_losses(train(config, progress=False))
    fallbacks = caplog.text.count("--compile: the compiled networks failed on a trial step")
    assert fallbacks == 0 and "torch.compile is not usable" not in caplog.text
    for (cd, cg), (ed, eg) in zip(runs["compiled"], runs["eager"], strict=True):
        assert cd == pytest.approx(ed, rel=1e-3, abs=1e-5) and cg == pytest.approx(eg, rel=1e-3, abs=1e-5)


def test_sigterm_saves_like_ctrl_c(tmp_path, monkeypatch):
    real_step, calls = trainer_module.train_step, {"n": 0}

    def step_then_terminate(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # what Slurm / Kubernetes send before killing
        return real_step(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "train_step", step_then_terminate)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(tmp_path, steps=8, checkpoint_every=100), progress=False)
    assert ckpt.find_checkpoint(tmp_path / "runs" / "tiny").name == "step_00000002"
