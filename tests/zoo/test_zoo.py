"""The model zoo: packing, name resolution everywhere a run folder is taken, hash checks, cards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import ganforge
from ganforge import zoo
from ganforge.errors import CheckpointError
from ganforge.hashing import sha256_file
from ganforge.training.runs import train
from ganforge.zoo.pack import pack
from tests.cli.test_cli import run_cli
from tests.conftest import tiny_config

CARD = {"summary": "a tiny test model", "shape": "3x16x16", "data": {"name": "shapes", "size": "16x16x3",
                                                                    "licence": "procedural"},
        "recipe": "tiny dcgan", "reproduce": ["ganforge train ..."],
        "headline": {"metric": "confident fraction (p >= 0.9)", "value": 0.5, "unit": "fraction",
                     "tolerance": 0.01, "n": 10, "seed": 0}}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zoo")
    return train(tiny_config(tmp, ema_decay=0.9), progress=False)


@pytest.fixture
def tiny_zoo(tiny_run, tmp_path, monkeypatch):
    """A zoo of one packed model, 'tiny-shapes', in a temporary models folder."""
    models = tmp_path / "models"
    monkeypatch.setattr(zoo, "MODELS_DIR", models)
    pack(tiny_run, models / "tiny-shapes", CARD)
    return models / "tiny-shapes"


def test_pack_writes_float16_weights_whose_hash_the_card_records(tiny_run, tiny_zoo):
    state = load_file(str(tiny_zoo / zoo.WEIGHTS_FILE))
    floats = [v for v in state.values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    card = zoo.card("tiny-shapes")
    assert card["weights"]["sha256"] == sha256_file(tiny_zoo / zoo.WEIGHTS_FILE)
    assert card["weights"]["bytes"] == sum((tiny_zoo / f).stat().st_size for f in (zoo.WEIGHTS_FILE,
                                                                                   zoo.DISCRIMINATOR_FILE))
    assert card["weights"]["from"] == "generator_ema" and card["weights"]["step"] == 6
    assert card["summary"] == CARD["summary"] and zoo.names() == ["tiny-shapes"]
    # The EMA weights, halved: every value within float16's rounding of the original.
    original = load_file(str(tiny_run / "checkpoints" / "step_00000006" / "generator_ema.safetensors"))
    for key, value in original.items():
        if value.is_floating_point():
            torch.testing.assert_close(state[key].float(), value, rtol=1e-3, atol=1e-4)
        else:
            assert torch.equal(state[key], value)


def test_a_zoo_name_loads_and_samples_like_its_checkpoint(tiny_run, tiny_zoo):
    by_name = ganforge.load("tiny-shapes")
    by_run = ganforge.load(tiny_run)
    assert by_name.checkpoint == tiny_zoo and by_name.step == by_run.step == 6
    a, b = by_name.sample(8, seed=3), by_run.sample(8, seed=3)
    assert a.shape == (8, 3, 16, 16)
    assert 0 < float((a - b).abs().max()) < 0.02  # float16 weights: close to, not equal to, the fp32 run


def test_a_folder_of_the_same_name_wins_over_the_zoo(tiny_run, tiny_zoo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-shapes").symlink_to(tiny_run)
    assert zoo.resolve("tiny-shapes") == Path("tiny-shapes")
    assert ganforge.load("tiny-shapes").checkpoint.parent.parent.resolve() == tiny_run.resolve()


def test_a_damaged_weights_file_is_named_in_one_line(tiny_zoo):
    weights = tiny_zoo / zoo.WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="generator_ema.safetensors: damaged") as info:
        ganforge.load("tiny-shapes")
    assert "\n" not in str(info.value) and "reinstall" in str(info.value)


def test_an_unknown_name_lists_the_zoo(tiny_zoo):
    with pytest.raises(CheckpointError, match=r"not a zoo model \(tiny-shapes; ganforge models lists them\)"):
        ganforge.load("no-such-model")


def test_card_of_another_model_is_refused(tiny_zoo):
    card_path = tiny_zoo / zoo.CARD_FILE
    card_path.write_text(json.dumps({**json.loads(card_path.read_text()), "name": "other"}))
    with pytest.raises(CheckpointError, match="not the card of 'tiny-shapes'"):
        zoo.card("tiny-shapes")


def test_render_card_shows_the_hash_metrics_and_reproduce_command(tiny_zoo):
    card = zoo.card("tiny-shapes")
    card["evaluation"] = {"command": "ganforge evaluate tiny-shapes", "protocol": {"extractor": "x", "n": 10},
                          "rows": [{"metric": "FD (x)", "model": 12.3456, "floor": 1.5}]}
    text = zoo.render_card(card)
    assert card["weights"]["sha256"] in text
    assert "| FD (x) | 12.3456 | 1.5000 |" in text
    assert "ganforge train ..." in text and "confident fraction (p >= 0.9) = 0.5000" in text


def test_cli_models_lists_and_shows_cards(tiny_zoo, capsys):
    code, out, err = run_cli(capsys, "models")
    assert code == 0, err
    assert "tiny-shapes" in out and "confident fraction (p >= 0.9) 50.00%" in out
    code, out, _ = run_cli(capsys, "models", "tiny-shapes")
    assert code == 0 and out.startswith("## tiny-shapes") and zoo.card("tiny-shapes")["weights"]["sha256"] in out
    code, out, _ = run_cli(capsys, "models", "--check")
    assert code == 0 and "match their cards' SHA-256" in out
    code, _, err = run_cli(capsys, "models", "nope")
    assert code == 2 and "choose one of: tiny-shapes" in err


def test_cli_commands_take_a_zoo_name(tiny_zoo, tmp_path, capsys):
    code, out, err = run_cli(capsys, "sample", "tiny-shapes", "-n", "4", "-o", tmp_path / "grid.png")
    assert code == 0, err
    assert (tmp_path / "grid.png").is_file() and "step 6" in out
    code, _, err = run_cli(capsys, "sample", "not-a-model", "-n", "4", "-o", tmp_path / "x.png")
    assert code == 2 and "not a zoo model (tiny-shapes)" in err and "\n" not in err.strip()


def test_evaluation_sources_resolve_zoo_names(tiny_zoo):
    from ganforge.evaluation.sources import images_from_source, run_num_classes

    images = images_from_source("tiny-shapes", 5, seed=1)
    assert images.shape == (5, 3, 16, 16) and images.dtype == torch.uint8
    assert run_num_classes("tiny-shapes") == 0


def test_the_discriminator_ships_too_and_is_checked(tiny_zoo):
    card = zoo.card("tiny-shapes")
    assert set(card["weights"]["files"]) == {zoo.WEIGHTS_FILE, zoo.DISCRIMINATOR_FILE}
    gan = ganforge.load("tiny-shapes")
    d = gan.load_discriminator()
    assert d(gan.sample(2, seed=0)).shape[0] == 2  # restoration's prior loads from the zoo folder
    (tiny_zoo / zoo.DISCRIMINATOR_FILE).write_bytes(b"not weights")
    with pytest.raises(CheckpointError, match="discriminator.safetensors: damaged"):
        zoo.checkpoint("tiny-shapes")
