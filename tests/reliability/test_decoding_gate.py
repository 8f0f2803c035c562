"""Bombs in disguise: every picture, JSON document and array file a user hands ganforge passes one
decoding gate (ganforge.decoding), so that whatever its bytes hold ends in a value or one line
naming the file: text chunks that inflate past Pillow's limit, a 1,000,000 x 1 picture, JSON nested
100,000 deep or not UTF-8, empty, truncated or lying .npy/.npz files, pickles where tensors belong,
folders nested past Python's recursion limit. Every input is made here."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from ganforge import decoding
from ganforge.data import load_image_folder
from ganforge.data.image_folder import find_images
from ganforge.errors import CheckpointError, ConfigError, DataError, InputError
from ganforge.hashing import sha256_file
from ganforge.io import checkpoint as ckpt
from ganforge.io.pictures import load_image
from tests.cli.test_cli import TINY, run_cli
from tests.reliability.conftest import one_line_error

FOLDER_TRAIN = ["--dataset", "folder", "--image-size", "16", "--channels", "3", "--width", "8", "--latent-dim", "8",
                "--batch-size", "2", "--steps", "1", "--log-every", "1", "--no-progress"]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def chunk_bomb_png(path: Path, kind: bytes = b"zTXt", after_pixels: bool = False) -> Path:
    """A valid 16x16 RGB PNG of about 1 KB carrying a zTXt or iCCP chunk that inflates to just over
    Pillow's MAX_TEXT_CHUNK (1 MB; a real bomb would inflate to gigabytes); before the pixels (read
    when the file is opened) or after them (read when the pixels are decoded)."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (40, 90, 200)).save(buffer, format="PNG")
    png = buffer.getvalue()
    payload = zlib.compress(b"a" * (PngImagePlugin.MAX_TEXT_CHUNK + 10), 9)
    chunk = png_chunk(kind, (b"comment" if kind == b"zTXt" else b"profile") + b"\0\0" + payload)
    cut = png.index(b"IEND") - 4 if after_pixels else 33  # after the 8-byte signature and IHDR
    path.write_bytes(png[:cut] + chunk + png[cut:])
    return path


@pytest.fixture
def decoded(no_decoding):
    """Sizes of the pictures whose pixels get decoded during the test (conftest's no_decoding)."""
    return no_decoding


@pytest.fixture
def run_copy(run, tmp_path):
    """A copy of the reliability run that a test may damage."""
    return Path(shutil.copytree(run, tmp_path / "run"))


def nested_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


# ------------------------------------------------------------------ pictures
@pytest.mark.parametrize("kind", [b"zTXt", b"iCCP"])
@pytest.mark.parametrize("command", [
    ["invert", "{bomb}", "--run", "{run}", "--steps", "1", "--restarts", "1", "-o", "{out}"],
    ["inpaint", "{bomb}", "--run", "{run}", "--mask", "center", "-o", "{out}.png"],
    ["restore", "{bomb}", "--run", "{run}", "--corruption", "noise", "-o", "{out}.png"],
    ["inpaint", "{picture}", "--run", "{run}", "--mask", "{bomb}", "-o", "{out}.png"],
], ids=["invert", "inpaint", "restore", "mask"])
def test_a_text_chunk_bomb_is_one_line(run, picture, tmp_path, capsys, command, kind):
    bomb = chunk_bomb_png(tmp_path / "bomb.png", kind)
    args = [part.format(bomb=bomb, run=run, picture=picture, out=tmp_path / "out") for part in command]
    code, _, err = run_cli(capsys, *args)
    one_line_error(code, err, f"{bomb}: cannot read", "Decompressed data too large")
    assert not list(tmp_path.glob("out*"))


def test_a_text_chunk_bomb_after_the_pixels_is_one_line(tmp_path):
    bomb = chunk_bomb_png(tmp_path / "late.png", after_pixels=True)
    with pytest.raises(InputError, match="late.png: cannot read image .*Decompressed data too large"):
        load_image(bomb, (3, 16, 16))


def test_training_on_a_folder_with_a_chunk_bomb_stops_or_skips_it(tmp_path, picture, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        shutil.copy(picture, data / f"ok{i}.png")
    chunk_bomb_png(data / "bomb.png", b"iCCP")
    code, _, err = run_cli(capsys, "train", *FOLDER_TRAIN, "--data", data, "--out", tmp_path / "runs")
    one_line_error(code, err, f"{data / 'bomb.png'}: cannot read")
    assert load_image_folder(data, 16, 3, skip_bad=True).skipped == 1


@pytest.mark.parametrize("size", [(1_000_000, 1), (1, 1_000_000), (4_000, 200)])
def test_a_needle_picture_is_refused_before_decoding_or_resizing(tmp_path, decoded, size):
    """1,000,000 x 1 declares under the pixel cap but would resize to 64,000,000 x 64: the aspect
    ratio is bounded from the header."""
    path = tmp_path / "needle.png"
    Image.new("1", size).save(path)
    decoded.clear()
    with pytest.raises(DataError, match=f"needle.png: image is {size[0]}x{size[1]} pixels, longer than 16:1"):
        decoding.open_image(path)
    with pytest.raises(DataError, match="longer than 16:1"):
        load_image_folder(tmp_path, 16, 3)
    assert decoded == []


def test_a_needle_picture_in_a_training_folder_is_one_line(tmp_path, picture, capsys):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(picture, data / "ok.png")
    Image.new("L", (1_000_000, 1)).save(data / "needle.png")
    code, _, err = run_cli(capsys, "train", *FOLDER_TRAIN, "--data", data, "--out", tmp_path / "runs")
    one_line_error(code, err, f"{data / 'needle.png'}: image is 1000000x1 pixels, longer than 16:1")


def test_a_panorama_within_the_bound_still_reads(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (160, 10), (200, 10, 10)).save(path)
    assert load_image_folder(tmp_path, 8, 3).images.shape == (1, 3, 8, 8)


def test_folders_nested_past_the_recursion_limit(tmp_path, picture):
    root = bottom = tmp_path / "deep"
    root.mkdir()
    for _ in range(1_100):  # one at a time: os.makedirs itself recurses
        bottom = bottom / "d"
        bottom.mkdir()
    shutil.copy(picture, bottom / "x.png")
    try:
        assert find_images(root) == [bottom / "x.png"]
        assert len(load_image_folder(root, 16, 3)) == 1
    finally:  # bottom up: shutil.rmtree (pytest's clean-up of old temporary folders) recurses too
        (bottom / "x.png").unlink()
        while bottom != tmp_path:
            bottom.rmdir()
            bottom = bottom.parent


# ------------------------------------------------------------------ JSON
def test_deep_or_non_utf8_meta_json_is_one_line(run_copy, capsys):
    meta = ckpt.find_checkpoint(run_copy) / "meta.json"
    for content, expected in ((nested_json().encode(), "JSON nested too deeply"),
                              (b'{"package": "ganforge\xff"}', "not UTF-8 text (byte 0xff at offset 21)")):
        meta.write_bytes(content)
        code, _, err = run_cli(capsys, "info", run_copy)
        one_line_error(code, err, f"{meta}: {expected}")
        with pytest.raises(CheckpointError, match="meta.json: "):
            ckpt.read_meta(meta.parent)


@pytest.mark.parametrize("content, expected", [
    (nested_json().encode(), "JSON nested too deeply"),
    ('{"train": {"run_name": "é"}}'.encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    (b"", "not valid JSON"),
], ids=["nested-100000", "latin-1", "empty"])
def test_a_bad_config_file_is_one_line(tmp_path, capsys, content, expected):
    config = tmp_path / "config.json"
    config.write_bytes(content)
    code, _, err = run_cli(capsys, "train", "--config", config, *TINY, "--out", tmp_path / "runs")
    one_line_error(code, err, f"{config}: {expected}")
    assert not (tmp_path / "runs").exists()


def test_a_checkpoint_config_nested_deep_is_one_line(run_copy):
    checkpoint = ckpt.find_checkpoint(run_copy)
    (checkpoint / "config.json").write_text(nested_json(5_000))
    with pytest.raises(ConfigError, match="config.json: JSON nested too deeply"):
        ckpt.read_config(checkpoint)


def test_parse_json_is_the_gate(tmp_path):
    assert decoding.parse_json(b'{"a": [1, 2]}', "x") == {"a": [1, 2]}
    assert decoding.parse_json(nested_json(50), "x") == json.loads(nested_json(50))
    with pytest.raises(DataError, match="^x: JSON nested too deeply to read$"):
        decoding.parse_json(nested_json(), "x")
    with pytest.raises(DataError, match=r"^x: not UTF-8 text \(byte 0xc3 at offset 1\)$"):
        decoding.parse_json(b"\"\xc3(\"", "x")
    with pytest.raises(DataError, match="missing.json: file not found"):
        decoding.read_json(tmp_path / "missing.json")


# ------------------------------------------------------------------ arrays
@pytest.mark.parametrize("name", ["empty.npy", "empty.npz"])
def test_an_empty_array_file_is_one_line_not_interrupted(run, tmp_path, capsys, name):
    """A zero-byte file made numpy raise EOFError, which click turns into 'Aborted': exit 130,
    'interrupted'."""
    empty = tmp_path / name
    empty.write_bytes(b"")
    args = (["evaluate", empty, "--ref", "shapes"] if name.endswith(".npy")
            else ["evaluate", run, "--ref", empty])
    code, _, err = run_cli(capsys, *args, "--n", "10", "--extractor", "scenes-classifier", "--no-cache")
    one_line_error(code, err, f"{empty}: empty file (0 bytes)")


@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_a_corrupt_npz_is_one_line(run, tmp_path, capsys, damage):
    ref = tmp_path / "ref.npz"
    if damage == "random":
        ref.write_bytes(np.random.default_rng(0).bytes(300))
    else:
        np.savez(ref, features=np.zeros((50, 8), np.float32), identity=np.array("x"))
        ref.write_bytes(ref.read_bytes()[:-40])
    code, _, err = run_cli(capsys, "evaluate", run, "--ref", ref, "--n", "10", "--extractor", "scenes-classifier",
                           "--no-cache")
    one_line_error(code, err, f"{ref}: ")


def test_an_npy_declaring_more_than_it_holds_is_refused_from_its_header(tmp_path):
    path = tmp_path / "liar.npy"
    np.save(path, np.zeros((2, 3, 4, 4), np.float32))
    data = path.read_bytes()
    # The header is padded with spaces to a multiple of 64 bytes: a longer shape fits in the padding.
    lying = data.replace(b"'shape': (2, 3, 4, 4), }" + b" " * 9, b"'shape': (2000000000, 3, 4, 4), }")
    assert len(lying) == len(data)
    path.write_bytes(lying)
    with pytest.raises(DataError, match=r"liar.npy: declares a 2000000000x3x4x4 float32 array \(384,000,000,000 bytes\)"):
        decoding.load_array(path)
    assert decoding.load_array(_saved(tmp_path / "ok.npy")).shape == (2, 2)


def _saved(path: Path) -> Path:
    np.save(path, np.ones((2, 2)))
    return path


def test_an_npz_declaring_too_much_is_refused(tmp_path):
    path = tmp_path / "big.npz"
    np.savez_compressed(path, a=np.zeros(1_000_000, np.uint8))
    assert path.stat().st_size < 10_000
    with pytest.raises(DataError, match="big.npz: its arrays declare 1,000,128 bytes; at most 1,000 are read"):
        decoding.load_arrays(path, max_bytes=1_000)
    assert decoding.load_arrays(path)["a"].shape == (1_000_000,)


# ------------------------------------------------------------------ tensors: weights only, in one line
class NotATensor:
    """What a pickled trainer state may hold that weights_only=True refuses."""


def test_a_pickled_trainer_state_is_one_line_without_torch_warnings(run_copy, capsys):
    checkpoint = ckpt.find_checkpoint(run_copy)
    state = checkpoint / "trainer_state.pt"
    state.write_bytes(pickle.dumps({"step": 2, "thing": NotATensor}, protocol=4))
    meta = json.loads((checkpoint / "meta.json").read_text())
    meta["files"]["trainer_state.pt"] = sha256_file(state)  # as a careful attacker would
    (checkpoint / "meta.json").write_text(json.dumps(meta))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CheckpointError) as raised:
            ckpt.load_trainer_state(checkpoint)
    assert caught == []  # torch's "Detected pickle protocol 4 ..." is not passed on
    message = str(raised.value)
    assert message == (f"{state}: holds pickled Python objects, not only tensors and numbers (read with "
                       "weights_only=True, so none was run); not a trainer state ganforge wrote")
    code, _, err = run_cli(capsys, "train", "--resume", run_copy, "--steps", "3", "--no-progress")
    one_line_error(code, err, f"{state}: holds pickled Python objects")
    assert "\x1b" not in err and "weights_only" in err
