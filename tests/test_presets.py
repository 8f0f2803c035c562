import pytest

import ganforge
from ganforge.cli.main import main
from ganforge.cli.train import build_config
from ganforge.presets import PRESETS

TINY = ["--dataset", "shapes", "--image-size", "16", "--channels", "3", "--limit", "32", "--width", "8",
        "--latent-dim", "8", "--batch-size", "8", "--steps", "2", "--log-every", "1", "--no-progress"]


@pytest.mark.parametrize("name", PRESETS.names())
def test_every_preset_trains_from_the_cli_and_loads(tmp_path, capsys, name):
    assert main(["train", "--preset", name, *TINY, "--out", str(tmp_path), "--name", name]) == 0, capsys.readouterr().err
    gan = ganforge.load(tmp_path / name)
    assert gan.sample(3, seed=1).shape == (3, 3, 16, 16)
    for section, values in PRESETS.get(name).overrides.items():
        for key, value in values.items():
            assert getattr(getattr(gan.config, section), key) == value


def test_flags_override_the_preset():
    config = build_config(None, {"loss": "nonsaturating", "steps": 3}, preset="sngan")
    assert config.model.arch == "resnet" and config.train.loss == "nonsaturating"


def test_presets_command_lists_them(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PRESETS.names()) and "spectral_norm=True" in out
    assert main(["train", "--preset", "biggan"]) == 2
