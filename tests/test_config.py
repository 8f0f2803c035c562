import dataclasses
import json

import pytest

from ganforge.config import (SECTIONS, SHORTCUTS, DataConfig, RunConfig, TrainConfig, build_config, describe, flag,
                             is_supported_resolution, nearest_resolution, neighbouring_resolutions, schema,
                             schema_field)
from ganforge.data import DATASETS
from ganforge.losses import LOSSES, PENALTIES
from ganforge.models import ARCHITECTURES
from ganforge.errors import ConfigError


def test_defaults_are_the_classic_dcgan_on_mnist():
    config = RunConfig().validate()
    assert (config.data.dataset, config.data.image_size, config.data.channels) == ("mnist", 28, 1)
    assert (config.model.arch, config.model.latent_dim) == ("dcgan", 100)
    assert (config.optim.lr_g, config.optim.lr_d, config.optim.beta1, config.optim.beta2) == (2e-4, 2e-4, 0.5, 0.999)
    assert config.train.loss == "nonsaturating"


def test_round_trip_through_json(tmp_path):
    config = RunConfig(data=DataConfig(dataset="folder", path="x", image_size=64, channels=3),
                       train=TrainConfig(steps=7, seed=3))
    config.save(tmp_path / "c.json")
    assert RunConfig.load(tmp_path / "c.json") == config


@pytest.mark.parametrize("size, ok", [(16, True), (28, True), (32, True), (128, True), (8, False), (30, False), (48, False)])
def test_supported_resolutions(size, ok):
    assert is_supported_resolution(size) is ok


@pytest.mark.parametrize("size, neighbours, nearest", [
    (48, (32, 64), 64), (40, (32, 64), 32), (45, (32, 64), 32), (22, (16, 28), 28), (30, (28, 32), 32),
    (100, (64, 128), 128), (5, (16,), 16), (2000, (1024,), 1024), (28, (28,), 28), (64, (64,), 64)])
def test_nearest_resolution_in_ratio(size, neighbours, nearest):
    assert neighbouring_resolutions(size) == neighbours
    assert nearest_resolution(size) == nearest and is_supported_resolution(nearest)


@pytest.mark.parametrize("raw, message", [
    ({"data": {"image_size": 30}}, "data.image_size (--image-size) must be 28 or a power of two"),
    ({"data": {"image_size": 48}}, "got 48 (the nearest: 32, 64; pictures of other sizes are resized to it)"),
    ({"data": {"channels": 2}}, "data.channels (--channels) must be 1"),
    ({"data": {"dataset": "folder"}}, "data.path (--data) is required"),
    ({"train": {"batch_size": 0}}, "train.batch_size (--batch-size) must be > 0"),
    ({"train": {"steps": None, "epochs": None}}, "give at least one of --steps"),
    ({"optim": {"beta1": 1.0}}, "optim.beta1 (--beta1) must be in [0, 1)"),
    ({"train": {"mode_seeking": -1.0}}, "train.mode_seeking (--mode-seeking) must be >= 0"),
    ({"train": {"class_weight": 0.0}}, "train.class_weight (--class-weight) must be > 0"),
    ({"model": {"dropout": -0.1}}, "model.dropout (--dropout) must be in [0, 1)"),
    ({"train": {"batch_size": "64"}}, "train.batch_size: expected int"),
    ({"train": {"batch_size": True}}, "train.batch_size: expected int"),
    ({"model": {"depth": 3}}, "unknown key(s) depth"),
    ({"model": {"num_classes": 1}}, "model.num_classes (--num-classes) must be 0 (unconditional) or >= 2"),
    ({"model": {"arch": "fastgan", "num_classes": 10}, "train": {"steps": 1}},
     "needs --arch dcgan, resnet or stylegan, got fastgan"),
    ({"model": {"arch": "resnet", "num_classes": 10, "class_head": "aux"}}, "model.class_head (--class-head) must be"),
    ({"model": {"mapping_depth": 0}}, "model.mapping_depth (--mapping-depth) must be > 0"),
    ({"train": {"accumulate": 0}}, "train.accumulate (--accumulate) must be > 0"),
    ({"train": {"batch_size": 4, "accumulate": 5}}, "train.accumulate (--accumulate) (5) cannot exceed"),
    ({"extra": {}}, "unknown section(s) extra"),
])
def test_bad_values_name_the_setting(raw, message):
    with pytest.raises(ConfigError) as info:
        RunConfig.from_dict(raw)
    assert message in str(info.value)


def test_bad_json_file_names_the_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"c\.json: not valid JSON"):
        RunConfig.load(path)
    with pytest.raises(ConfigError, match="config file not found"):
        RunConfig.load(tmp_path / "missing.json")


def test_float_fields_accept_ints_in_json():
    config = RunConfig.from_dict(json.loads('{"optim": {"lr_g": 1}, "train": {"epochs": 2}}'))
    assert config.optim.lr_g == 1 and config.train.epochs == 2


@pytest.mark.parametrize("raw, message", [
    ({"train": {"loss": "wgan"}}, "train.loss (--loss) must be one of hinge, least-squares"),
    ({"train": {"augment": "color,flip"}}, "train.augment (--augment): unknown flip"),
    ({"model": {"arch": "vit"}}, "model.arch (--arch) must be one of dcgan, fastgan, resnet, stylegan"),
    ({"train": {"precision": "fp8"}}, "train.precision (--precision) must be one of fp32, bf16, fp16, auto"),
    ({"train": {"loss": "wasserstein", "steps": 1}}, "--loss wasserstein needs a Lipschitz constraint on D"),
    ({"train": {"loss": "hinge", "label_smoothing": 0.1, "steps": 1}}, "--label-smoothing works with the BCE losses"),
    ({"train": {"eval_n": 5}}, "train.eval_n (--eval-n) must be >= 10"),
    ({"optim": {"lr_g": 50.0}}, "optim.lr_g (--lr-g) must be at most 10, got 50.0"),
    ({"train": {"minutes": 1e9}}, "train.minutes (--minutes) must be at most 525600"),
    ({"model": {"arch": "fastgan"}, "train": {"penalty": "gp", "steps": 1}}, "fastgan's has BatchNorm: use --penalty r1"),
    ({"train": {"augment_p": 1.5, "augment": "ada"}}, "train.augment_p (--augment-p) must be"),
    ({"train": {"top_k": 0.0}}, "train.top_k (--top-k) must be in (0, 1]"),
    ({"train": {"top_k": 1.5}}, "train.top_k (--top-k) must be in (0, 1]"),
    ({"train": {"top_k": 0.5, "accumulate": 2, "steps": 1}}, "--top-k needs --accumulate 1"),
])
def test_schema_checks_choices_bounds_and_combinations(raw, message):
    with pytest.raises(ConfigError) as info:
        RunConfig.from_dict(raw)
    assert message in str(info.value)


def test_every_setting_is_declared_once_with_help_and_its_own_flag():
    entries = schema()
    keys = [f"{section}.{f.name}" for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    assert [e.key for e in entries] == keys
    flags = [e.flag for e in entries] + list(SHORTCUTS)
    assert len(flags) == len(set(flags))
    assert all(e.setting.help.endswith(".") for e in entries)
    assert describe("data.path") == "data.path (--data)" and flag("train.out_dir") == "--out"
    assert schema_field("optim.lr_g").default == 2e-4 and schema_field("train.epochs").default == 5


def test_choices_come_from_the_registries():
    assert schema_field("train.loss").choices == LOSSES.names()
    assert schema_field("train.penalty").choices == PENALTIES.names()
    assert schema_field("model.arch").choices == ARCHITECTURES.names()
    assert sorted(schema_field("data.dataset").choices) == DATASETS.names()  # every name has a builder


def test_build_config_layers_file_preset_and_overrides(tmp_path):
    saved = RunConfig(train=TrainConfig(steps=9, seed=4))
    saved.save(tmp_path / "c.json")
    config = build_config(tmp_path / "c.json", "sngan", {"train.loss": "nonsaturating", "optim.lr_g": 1e-3})
    assert (config.train.seed, config.train.steps) == (4, 9)  # from the file
    assert config.model.arch == "resnet" and config.optim.lr_d == 4e-4  # from the preset
    assert config.train.loss == "nonsaturating" and config.optim.lr_g == 1e-3  # from the overrides
    stopped = build_config(tmp_path / "c.json", overrides={"train.minutes": 2.0})
    assert (stopped.train.steps, stopped.train.epochs, stopped.train.minutes) == (None, None, 2.0)
    with pytest.raises(ConfigError, match="--penalty-weight has no effect without --penalty"):
        build_config(overrides={"train.penalty_weight": 5.0})
    with pytest.raises(ConfigError, match="unknown setting 'train.speed'"):
        build_config(overrides={"train.speed": 5.0})


COLOUR = {"data.dataset": "folder", "data.path": "pictures", "data.channels": 3}


def test_colour_images_start_from_the_measured_default(tmp_path):
    from ganforge.presets import COLOUR_DEFAULT, PRESETS

    assert COLOUR_DEFAULT in PRESETS.names()
    expected = PRESETS.get(COLOUR_DEFAULT).apply(RunConfig().to_dict())
    for size in (32, 64, 128):
        config = build_config(overrides={**COLOUR, "data.image_size": size}).to_dict()
        assert [config[s] for s in ("model", "optim", "train")] == [expected[s] for s in ("model", "optim", "train")]
    # Flags still win over it; a named preset or a config file replaces it.
    tuned = build_config(overrides={**COLOUR, "data.image_size": 64, "optim.lr_g": 1e-3})
    assert tuned.optim.lr_g == 1e-3
    named = build_config(preset="dcgan", overrides={**COLOUR, "data.image_size": 64})
    assert (named.model.arch, named.train.augment, named.optim.beta1) == ("dcgan", None, 0.5)
    RunConfig().save(tmp_path / "c.json")
    from_file = build_config(tmp_path / "c.json", overrides={**COLOUR, "data.image_size": 64})
    assert from_file.model == RunConfig().model and from_file.train.augment is None


@pytest.mark.parametrize("overrides", [{},  # MNIST
                                       {"data.dataset": "shapes", "data.image_size": 16, "data.channels": 3},
                                       {**COLOUR, "data.channels": 1, "data.image_size": 64}])
def test_grayscale_and_small_images_keep_the_classic_dcgan(overrides):
    from ganforge.config import implied_preset

    assert implied_preset(None, None, overrides) is None
    config = build_config(overrides=overrides)
    assert (config.model, config.optim) == (RunConfig().model, RunConfig().optim)
    assert config.train.augment is None and config.train.loss == "nonsaturating"
