import json

import pytest
import torch

from ganforge.cli.main import main
from ganforge.errors import CheckpointError
from ganforge.hashing import sha256_file
from ganforge.io import checkpoint as ckpt
from ganforge.training import train
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return ckpt.find_checkpoint(train(tiny_config(tmp_path_factory.mktemp("ck"), steps=2), progress=False))


def test_meta_records_a_hash_of_every_file(saved):
    meta = ckpt.read_meta(saved)
    files = sorted(p.name for p in saved.iterdir() if p.name != "meta.json")
    assert sorted(meta["files"]) == files
    assert all(meta["files"][name] == sha256_file(saved / name) for name in files)


def test_info_and_load_name_a_truncated_file(saved, tmp_path, capsys):
    damaged = tmp_path / saved.name
    damaged.mkdir()
    for f in saved.iterdir():
        (damaged / f.name).write_bytes(f.read_bytes())
    data = (damaged / "generator.safetensors").read_bytes()
    (damaged / "generator.safetensors").write_bytes(data[: len(data) // 2])
    assert main(["info", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "generator.safetensors: damaged" in err and err.count("\n") == 1
    (damaged / "discriminator.safetensors").unlink()
    with pytest.raises(CheckpointError, match="discriminator.safetensors: missing"):
        ckpt.read_meta(damaged)


@pytest.mark.parametrize("meta, message", [
    ("[1, 2]", "does not describe a ganforge checkpoint"),
    ('{"package": "ganforge", "format_version": 1}', "'step' must be a whole number >= 0, got None"),
    ('{"package": "ganforge", "format_version": 1, "step": "abc"}', "'step' must be a whole number"),
    ('{"package": "ganforge", "format_version": 1, "step": 3, "files": [1]}', "'files' must map file names"),
    ('{"package": "ganforge", "format_version": 999, "step": 3}', r"format 999 is newer than this ganforge reads"),
])
def test_malformed_meta_is_one_line(saved, tmp_path, capsys, meta, message):
    folder = tmp_path / "step_00000002"
    folder.mkdir()
    (folder / "meta.json").write_text(meta)
    with pytest.raises(CheckpointError, match=message):
        ckpt.read_meta(folder)
    assert main(["info", str(folder)]) == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("state, message", [
    ({"step": "abc"}, "'step' must be a whole number >= 0, got 'abc'"),
    ({"step": 2, "opt_g": {}}, "trainer state lacks opt_d, latent_rng, torch_rng"),
    ([1, 2], "trainer state must be a dictionary"),
])
def test_malformed_trainer_state_is_one_line(tmp_path, state, message):
    torch.save(state, tmp_path / "trainer_state.pt")
    with pytest.raises(CheckpointError, match=message):
        ckpt.load_trainer_state(tmp_path)


def test_a_checkpoint_written_before_hashes_still_loads(saved, tmp_path):
    old = tmp_path / saved.name
    old.mkdir()
    for f in saved.iterdir():
        (old / f.name).write_bytes(f.read_bytes())
    meta = json.loads((old / "meta.json").read_text())
    del meta["files"]
    (old / "meta.json").write_text(json.dumps(meta))
    assert ckpt.read_meta(old)["step"] == 2


def test_a_network_file_round_trips_and_bad_ones_are_named(tmp_path):
    net = torch.nn.Linear(3, 2)
    path = ckpt.save_network(tmp_path / "net.safetensors", net, {"in_features": 3, "out_features": 2})
    loaded, config = ckpt.load_network(path, torch.nn.Linear)
    assert config == {"in_features": 3, "out_features": 2}
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), net.state_dict().values()))
    with pytest.raises(CheckpointError, match="missing.safetensors: network file not found"):
        ckpt.load_network(tmp_path / "missing.safetensors", torch.nn.Linear)
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors at all")
    with pytest.raises(CheckpointError, match="junk.safetensors: not a ganforge network file"):
        ckpt.load_network(tmp_path / "junk.safetensors", torch.nn.Linear)
    with pytest.raises(CheckpointError, match="net.safetensors: not a ganforge network file"):
        ckpt.load_network(path, torch.nn.Conv2d)  # the saved config does not build this network
