import pytest

import ganforge
from ganforge.training import train
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def tiny_gan(tmp_path_factory):
    """A tiny 16x16 RGB ResNet GAN trained a few steps: enough for the apps' mechanics, and its
    Xavier-initialised samples differ clearly between latents (a DCGAN's N(0, 0.02) ones barely do)."""
    tmp = tmp_path_factory.mktemp("gan")
    return ganforge.load(train(tiny_config(tmp, {"arch": "resnet"}, steps=4), progress=False))


@pytest.fixture(scope="module")
def tiny_cond_gan(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cond")
    return ganforge.load(train(tiny_config(tmp, {"arch": "resnet", "num_classes": 3}, steps=4), progress=False))


@pytest.fixture(scope="module")
def tiny_style_gan(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("style")
    return ganforge.load(train(tiny_config(tmp, {"arch": "stylegan"}, steps=4), progress=False))
