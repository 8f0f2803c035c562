"""FastGAN through the library: D's reconstruction loss is part of its training."""

import json
import math

import torch
from safetensors.torch import load_file

from ganforge.config import build_config
from ganforge.io import checkpoint as ckpt
from ganforge.models import build_discriminator
from ganforge.training import Trainer, train


def tiny_fastgan(tmp_path, **overrides):
    return build_config(preset="fastgan", overrides={
        "data.dataset": "shapes", "data.image_size": 16, "data.channels": 3, "data.limit": 32,
        "model.width": 4, "model.latent_dim": 8, "train.batch_size": 8, "train.steps": 2, "train.log_every": 1,
        "train.out_dir": str(tmp_path), "train.run_name": "fastgan", **overrides})


def test_two_steps_train_the_decoders_with_finite_losses(tmp_path):
    config = tiny_fastgan(tmp_path, **{"train.augment": "ada", "train.ada_kimg": 0.01})
    run = train(config, progress=False)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 2
    assert all(math.isfinite(r[k]) for r in records for k in ("loss_d", "loss_g", "ada_p", "ada_rt"))
    start = build_discriminator(config.model, config.data, seed=config.train.seed + 1).state_dict()
    trained = load_file(str(ckpt.find_checkpoint(run) / "discriminator.safetensors"))
    decoders = [k for k in trained if k.startswith(("decode_whole.", "decode_part.")) and "weight" in k]
    assert decoders and all(not torch.equal(trained[k], start[k]) for k in decoders)


def test_the_reconstruction_loss_is_added_to_d_loss(tmp_path, monkeypatch):
    from ganforge.training import trainer as trainer_module

    trainer = Trainer(tiny_fastgan(tmp_path), tmp_path / "run", progress=False)
    calls = []

    def counted(outputs):
        calls.append(outputs)
        return trainer_module.SELF_SUPERVISED.get("reconstruction")(outputs)

    trainer.auxiliary = counted
    trainer.fit()
    assert len(calls) == 2  # one D update per step, on the real images only
    whole, part = calls[0]["reconstructions"]
    assert whole.shape == part.shape == (8, 3, 8, 8) and whole.requires_grad
