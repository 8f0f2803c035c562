import json
import subprocess
import sys

import pytest
import torch

import ganforge
from ganforge.errors import CheckpointError
from ganforge.training import train


@pytest.fixture
def run(tiny):
    return train(tiny, progress=False)


def test_load_and_sample(run, tiny):
    gan = ganforge.load(run)
    assert gan.step == 6 and gan.config == tiny and gan.checkpoint.name == "step_00000006"
    images = gan.sample(5, seed=3)
    assert images.shape == (5, 3, 16, 16) and images.min() >= -1 and images.max() <= 1
    assert torch.equal(images, gan.sample(5, seed=3))
    assert not torch.equal(images, gan.sample(5, seed=4))
    # Batching does not change the result: eval-mode BatchNorm treats images independently.
    assert torch.allclose(images, gan.sample(5, seed=3, batch_size=2), atol=1e-6)
    assert not gan.generator.training


def test_load_matches_the_trained_generator(run):
    from ganforge.training import Trainer

    trainer = Trainer(ganforge.load(run).config, run, progress=False)
    trainer.load_checkpoint(ganforge.load(run).checkpoint)
    z = torch.randn(4, 8)
    trainer.generator.eval()
    with torch.no_grad():
        assert torch.equal(trainer.generator(z), ganforge.load(run).generate(z))


def test_load_a_specific_checkpoint_and_discriminator(run):
    gan = ganforge.load(run / "checkpoints" / "step_00000003")
    assert gan.step == 3
    logits = gan.load_discriminator()(gan.sample(4))
    assert logits.shape == (4,)


def test_loading_needs_no_training_code(run):
    code = ("import sys, ganforge; gan = ganforge.load(sys.argv[1]); gan.sample(2); "
            "bad = [m for m in sys.modules if m.startswith(('ganforge.training', 'ganforge.data'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code, str(run)], check=True)


def test_bad_checkpoints(tmp_path, run):
    with pytest.raises(CheckpointError, match="no such run or checkpoint folder"):
        ganforge.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoints/step_"):
        ganforge.load(tmp_path / "empty")
    checkpoint = ganforge.load(run).checkpoint
    meta = checkpoint / "meta.json"
    meta.write_text(meta.read_text().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(CheckpointError, match="format 99 is newer"):
        ganforge.load(checkpoint)
    meta.write_text("{")
    with pytest.raises(CheckpointError, match="meta.json: not valid JSON"):
        ganforge.load(checkpoint)


def test_weights_that_do_not_fit_the_config(run):
    checkpoint = run / "checkpoints" / "step_00000003"
    config = checkpoint / "config.json"
    config.write_text(config.read_text().replace('"width": 8', '"width": 16'))
    with pytest.raises(CheckpointError, match=r"config.json: damaged \(its SHA-256 differs"):
        ganforge.load(checkpoint)  # the hash recorded at save time catches the edit first
    meta = json.loads((checkpoint / "meta.json").read_text())
    del meta["files"]  # as a checkpoint written before hashes were recorded
    (checkpoint / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="generator.safetensors: does not fit the configured model"):
        ganforge.load(checkpoint)


def test_conditional_sampling_labels_and_truncation(tmp_path):
    from ganforge.errors import InputError
    from tests.conftest import tiny_config

    gan = ganforge.load(train(tiny_config(tmp_path, {"arch": "resnet", "num_classes": 3}, steps=2), progress=False))
    assert gan.num_classes == 3
    assert gan.labels(5).tolist() == [0, 1, 2, 0, 1]  # balanced by default
    assert gan.labels(3, 2).tolist() == [2, 2, 2] and gan.labels(2, [1, 0]).tolist() == [1, 0]
    z = gan.latents(4, seed=1)
    assert torch.equal(gan.sample(4, seed=1, labels=[0, 1, 2, 0]), gan.generate(z))
    # Non-StyleGAN models truncate by scaling z.
    assert torch.equal(gan.sample(4, seed=1, truncation=0.5), gan.generate(z * 0.5))
    for bad, message in ((dict(labels=3), "0..2"), (dict(labels=[0, 1]), "expected 1 or 4"),
                         (dict(truncation=0.0), "truncation"), (dict(truncation=1.5), "truncation")):
        with pytest.raises(InputError, match=message):
            gan.sample(4, **bad)


def test_unconditional_model_refuses_labels(run):
    from ganforge.errors import InputError

    with pytest.raises(InputError, match="unconditional"):
        ganforge.load(run).sample(2, labels=1)


def test_stylegan_truncation_moves_towards_the_mean_w(tmp_path):
    from tests.conftest import tiny_config

    gan = ganforge.load(train(tiny_config(tmp_path, {"arch": "stylegan"}, steps=2), progress=False))
    images = gan.sample(3, truncation=1e-6)
    assert torch.allclose(images[0], images[1], atol=1e-4)  # every w is (almost) w_avg
    assert not torch.allclose(gan.sample(3)[0], gan.sample(3)[1], atol=1e-4)
