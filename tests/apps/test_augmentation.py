import pytest

import ganforge
from ganforge.apps.augmentation import augmentation_experiment
from ganforge.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ganforge.data import load_mnist
from ganforge.errors import InputError
from ganforge.training import train


def test_tiny_augmentation_experiment(tmp_path):
    config = RunConfig(DataConfig(dataset="mnist", limit=256),
                       ModelConfig(arch="resnet", width=8, latent_dim=8, num_classes=10),
                       train=TrainConfig(steps=2, batch_size=16, out_dir=str(tmp_path), run_name="c")).validate()
    gan = ganforge.load(train(config, progress=False))
    data, test = load_mnist("train", limit=2000), load_mnist("test", limit=200)
    result = augmentation_experiment(gan, data.images, data.labels, test.images, test.labels, per_class=8,
                                     synthetic_per_class=4, steps=12, batch_size=16)
    assert result["real_images"] == 80 and result["generated_images"] == 40
    assert 0 <= result["real_only"] <= 1 and 0 <= result["real_plus_gan"] <= 1
    assert result["difference"] == pytest.approx(result["real_plus_gan"] - result["real_only"])


def test_augmentation_needs_a_conditional_model(tmp_path):
    from tests.conftest import tiny_config

    gan = ganforge.load(train(tiny_config(tmp_path, steps=1), progress=False))
    with pytest.raises(InputError, match="class-conditional"):
        augmentation_experiment(gan, None, None, None, None)
