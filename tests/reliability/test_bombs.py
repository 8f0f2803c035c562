"""Decompression bombs: pictures declaring far more pixels than they hold are refused from their
header, before a pixel is decoded, wherever ganforge opens a picture file."""

from __future__ import annotations

import logging
import re
import warnings

import pytest
from PIL import Image

from ganforge.data import load_image_folder
from ganforge.data.transforms import MAX_PIXELS, open_image
from ganforge.errors import DataError, InputError
from ganforge.io.pictures import load_image, load_mask
from tests.cli.test_cli import run_cli
from tests.reliability.conftest import bomb_png, decodable_bomb_png, one_line_error

LIMIT = f"at most {MAX_PIXELS:,} (8192x8192)"
FOLDER_TRAIN = ["--dataset", "folder", "--image-size", "16", "--channels", "3", "--width", "8", "--latent-dim", "8",
                "--batch-size", "2", "--steps", "1", "--log-every", "1", "--no-progress"]


@pytest.mark.parametrize("side", [20_000, 10_000, 8_193])  # over twice Pillow's limit, over it (a warning), over ours
def test_open_image_refuses_from_the_header(tmp_path, no_decoding, side):
    bomb = bomb_png(tmp_path / "bomb.png", side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning would be an error here
        with pytest.raises(DataError, match=f"bomb.png: image declares .* pixels; {re.escape(LIMIT)} are read"):
            open_image(bomb)
        with pytest.raises(InputError, match="bomb.png: mask declares"):
            load_mask(bomb, (16, 16))
        with pytest.raises(InputError, match="bomb.png: image declares"):
            load_image(bomb, (3, 16, 16))
    assert no_decoding == []


def test_a_picture_of_the_wrong_size_is_refused_before_decoding(tmp_path, no_decoding):
    path = tmp_path / "big.png"
    Image.new("RGB", (640, 480)).save(path)
    with pytest.raises(InputError, match="big.png: image is 640x480, the model needs 16x16"):
        load_image(path, (3, 16, 16))
    with pytest.raises(InputError, match="big.png: mask is 640x480, the image is 16x16"):
        load_mask(path, (16, 16))
    assert no_decoding == []


@pytest.mark.parametrize("make", [bomb_png, decodable_bomb_png], ids=["declared-20000x20000", "decodable-9000x9000"])
def test_train_on_a_folder_with_a_bomb_stops_or_skips_it(tmp_path, picture, capsys, caplog, make):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        (data / f"ok{i}.png").write_bytes(picture.read_bytes())
    make(data / "bomb.png")
    code, _, err = run_cli(capsys, "train", *FOLDER_TRAIN, "--data", data, "--out", tmp_path / "runs")
    one_line_error(code, err, f"{data / 'bomb.png'}: image declares", LIMIT)
    with caplog.at_level(logging.WARNING):
        code, out, err = run_cli(capsys, "train", *FOLDER_TRAIN, "--data", data, "--skip-bad",
                                 "--out", tmp_path / "runs")
    assert code == 0, err
    assert "skipped 1 unreadable image(s) of 4" in caplog.text  # counted like any unreadable file
    assert load_image_folder(data, 16, 3, skip_bad=True).skipped == 1


@pytest.mark.parametrize("command", [
    ["inpaint", "{bomb}", "--run", "{run}", "--mask", "center"],
    ["restore", "{bomb}", "--run", "{run}", "--corruption", "noise"],
    ["inpaint", "{picture}", "--run", "{run}", "--mask", "{bomb}"],
], ids=["inpaint", "restore", "inpaint-mask"])
def test_commands_refuse_a_bomb_in_one_line(tmp_path, run, picture, capsys, command):
    bomb = bomb_png(tmp_path / "bomb.png")
    args = [part.format(bomb=bomb, run=run, picture=picture) for part in command]
    code, _, err = run_cli(capsys, *args, "-o", tmp_path / "out.png")
    what = "mask" if "--mask" in command and command[-1] == "{bomb}" else "image"
    one_line_error(code, err, f"{bomb}: {what} declares over", LIMIT)
    assert not (tmp_path / "out.png").exists()
