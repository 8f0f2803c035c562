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
    with pytest.raises(CheckpointError, match="meta.json: unreadable"):
        ganforge.load(checkpoint)


def test_weights_that_do_not_fit_the_config(run):
    checkpoint = run / "checkpoints" / "step_00000003"
    config = checkpoint / "config.json"
    config.write_text(config.read_text().replace('"width": 8', '"width": 16'))
    with pytest.raises(CheckpointError, match="generator.safetensors: does not fit the configured model"):
        ganforge.load(checkpoint)
