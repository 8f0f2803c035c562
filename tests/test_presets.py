import pytest
import torch

import ganforge
from ganforge.cli.main import main
from ganforge.config import build_config
from ganforge.errors import ConfigError
from ganforge.presets import PRESETS

TINY = ["--dataset", "shapes", "--image-size", "16", "--channels", "3", "--limit", "32", "--width", "8",
        "--latent-dim", "8", "--batch-size", "8", "--steps", "2", "--log-every", "1", "--no-progress"]


@pytest.mark.parametrize("name", PRESETS.names())
def test_every_preset_trains_from_the_cli_and_loads(tmp_path, capsys, name):
    conditional = "num_classes" in PRESETS.get(name).overrides["model"]
    extra = ["--num-classes", "3"] if conditional else []  # the shapes have 3 classes
    args = ["train", "--preset", name, *TINY, *extra, "--out", str(tmp_path), "--name", name]
    assert main(args) == 0, capsys.readouterr().err
    gan = ganforge.load(tmp_path / name)
    assert gan.sample(3, seed=1).shape == (3, 3, 16, 16)
    assert torch.isfinite(gan.sample(3, seed=1)).all()
    if conditional:
        assert gan.num_classes == 3
        assert not torch.equal(gan.sample(2, seed=1, labels=0), gan.sample(2, seed=1, labels=2))
    for section, values in PRESETS.get(name).overrides.items():
        for key, value in values.items():
            if key not in ("num_classes", "width"):  # the flags above set these
                assert getattr(getattr(gan.config, section), key) == value


def test_flags_override_the_preset():
    config = build_config(preset="sngan", overrides={"train.loss": "nonsaturating", "train.steps": 3})
    assert config.model.arch == "resnet" and config.train.loss == "nonsaturating"


def test_presets_command_lists_them(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PRESETS.names()) and "spectral_norm=True" in out
    assert main(["train", "--preset", "biggan"]) == 2


def test_dcgan_sn_is_the_benchmarked_dcgan_sn_ada_candidate_and_augment_none_turns_ada_off():
    # benchmarks/quality_at_equal_time.py's "dcgan-sn+ada": the classic DCGAN preset and these flags.
    flags = {"model.width": 32, "model.spectral_norm": True, "train.loss": "hinge", "train.ema_decay": 0.999,
             "train.augment": "ada"}
    assert build_config(preset="dcgan-sn") == build_config(preset="dcgan", overrides=flags)
    plain = build_config(preset="dcgan-sn", overrides={"train.augment": "none"})
    assert plain.train.augment is None and plain.model.spectral_norm
    assert build_config(preset="fastgan", overrides={"train.augment": "none"}).train.augment is None
    with pytest.raises(ConfigError, match="--augment-p has no effect without --augment"):
        build_config(preset="fastgan", overrides={"train.augment": "none", "train.augment_p": 0.5})
