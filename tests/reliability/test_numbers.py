"""Numbers out of range (seeds past what torch takes, infinite or NaN floats, huge sizes and counts)
are refused in one line, before anything is allocated, with the limit in the message."""

from __future__ import annotations

import json

import pytest

import ganforge
from ganforge.config import MAX_TRAIN_SEED, RunConfig
from ganforge.errors import ConfigError, InputError
from tests.cli.test_cli import TINY, run_cli
from tests.reliability.conftest import one_line_error


@pytest.mark.parametrize("args, fragments", [
    (["--seed", "18446744073709551614"], ["'--seed': 18446744073709551614 is not in the range 0<=x<=4294967295"]),
    (["--seed", "-1"], ["'--seed': -1 is not in the range 0<=x<=4294967295"]),
    (["--epochs", "inf"], ["Invalid value for '--epochs': inf is not in the range 0<x<=1000000"]),
    (["--epochs", "nan"], ["Invalid value for '--epochs': 'nan' is not a finite number"]),
    (["--mode-seeking", "nan"], ["Invalid value for '--mode-seeking': 'nan' is not a finite number"]),
    (["--lr", "inf"], ["Invalid value for '--lr': inf is not in the range 0<x<=10"]),
    (["--image-size", "65536"], ["'--image-size': 65536 is not in the range x<=1024"]),
    (["--limit", "100000000", "--image-size", "64"],
     ["shapes: 100,000,000 images need", "TiB of memory, more than the", "(half of this machine's)",
      "use a smaller --limit or --image-size"]),
], ids=["seed-2^64-2", "seed-negative", "epochs-inf", "epochs-nan", "mode-seeking-nan", "lr-inf", "image-size",
        "limit"])
def test_train_refuses_numbers_out_of_range(tmp_path, capsys, args, fragments):
    code, _, err = run_cli(capsys, "train", *TINY, *args, "--out", tmp_path / "runs")
    one_line_error(code, err, *fragments)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("seed, message", [
    (1e23, "train.seed: expected int, got 1e+23"),
    (10**23, f"train.seed (--seed) must be in [0, {MAX_TRAIN_SEED}], got {10**23}"),
])
def test_a_config_file_seed_out_of_range(tmp_path, capsys, seed, message):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"train": {"seed": seed, "steps": 1}}))
    code, _, err = run_cli(capsys, "train", "--config", config, "--out", tmp_path / "runs")
    one_line_error(code, err, message)


@pytest.mark.parametrize("raw", [{"optim": {"lr_g": float("inf")}}, {"train": {"clip": float("nan")}},
                                 {"train": {"minutes": float("inf")}}])
def test_the_schema_refuses_non_finite_floats(raw):
    section, values = next(iter(raw.items()))
    key = next(iter(values))
    with pytest.raises(ConfigError, match=rf"{section}\.{key} \(--[a-z-]+\) must be a finite number"):
        RunConfig.from_dict(raw)


def test_sample_refuses_a_seed_and_a_count_out_of_range(run, tmp_path, capsys):
    code, _, err = run_cli(capsys, "sample", run, "--seed", "99999999999999999999", "-o", tmp_path / "s.png")
    one_line_error(code, err, "'--seed': 99999999999999999999 is not in the range 0<=x<=9223372036854775807")
    code, _, err = run_cli(capsys, "sample", run, "-n", "1000000000", "-o", tmp_path / "s.npy")
    one_line_error(code, err, "n: 1,000,000,000 images of 3x16x16 need", "(half of this machine's)")
    assert not (tmp_path / "s.npy").exists() and not (tmp_path / "s.png").exists()


def test_the_api_refuses_them_too(run):
    gan = ganforge.load(run)
    with pytest.raises(InputError, match="seed must be in 0..9223372036854775807, got 18446744073709551616"):
        gan.sample(1, seed=2**64)
    with pytest.raises(InputError, match="n: 1,000,000,000 images of 3x16x16 need"):
        gan.sample(10**9)
