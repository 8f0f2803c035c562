"""What a user asks for is done or refused, never silently dropped: options that need another one
(the schema's `requires`), an empty metric list, a weight file a checkpoint never listed; and what
a picture file means is read as meant (EXIF orientation, grayscale stored as 1-bit, 16-bit or a
gray palette)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

import ganforge
from ganforge.data.image_folder import decode_picture
from ganforge.errors import CheckpointError
from ganforge.io import checkpoint as ckpt
from ganforge.io.pictures import load_image
from tests.cli.test_cli import TINY, run_cli
from tests.reliability.conftest import one_line_error


@pytest.mark.parametrize("args, message", [
    (["--class-head", "acgan"], "--class-head has no effect without --num-classes"),
    (["--mapping-depth", "2"], "--mapping-depth has no effect without --arch stylegan (got dcgan)"),
    (["--num-classes", "3", "--class-weight", "0.3"],
     "--class-weight has no effect without --class-head acgan or projection+acgan (got projection)"),
    (["--data", "/tmp/digits"], "--data has no effect without --dataset mnist, fashion-mnist, folder, scenes "
                                "or emoji (got shapes)"),
    (["--top-k-decay", "0.9"], "--top-k-decay has no effect without --top-k"),
], ids=["class-head", "mapping-depth", "class-weight", "data-with-shapes", "top-k-decay"])
def test_an_option_without_what_it_needs_is_refused(tmp_path, capsys, args, message):
    code, _, err = run_cli(capsys, "train", *TINY, *args, "--out", tmp_path / "runs")
    one_line_error(code, err, message)
    assert not (tmp_path / "runs").exists()


def test_an_option_with_what_it_needs_is_taken(tmp_path):
    from ganforge.config import build_config

    config = build_config(overrides={"model.arch": "stylegan", "model.mapping_depth": 2, "train.steps": 1})
    assert config.model.mapping_depth == 2
    config = build_config(overrides={"model.arch": "resnet", "model.num_classes": 3, "model.class_head": "acgan",
                                     "train.class_weight": 0.3, "train.steps": 1})
    assert config.model.class_head == "acgan" and config.train.class_weight == 0.3
    config = build_config(overrides={"train.top_k": 0.5, "train.top_k_decay": 0.9, "train.steps": 1})
    assert (config.train.top_k, config.train.top_k_decay) == (0.5, 0.9)


def test_evaluate_with_no_metric_is_refused(run, capsys):
    for metrics in ("", ",", " , "):
        code, _, err = run_cli(capsys, "evaluate", run, "--metrics", metrics, "--n", "10", "--ref", "shapes",
                               "--extractor", "scenes-classifier", "--no-cache")
        one_line_error(code, err, "--metrics: no metric given; choose one or more of fd, kid")


def test_a_weight_file_the_checkpoint_never_listed_is_refused(run, tmp_path, capsys):
    """meta.json lists every file with its SHA-256; a generator_ema.safetensors dropped in later
    (here: a copy of the generator) would be loaded in preference, unchecked."""
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    checkpoint = ckpt.find_checkpoint(copy)
    shutil.copy(checkpoint / "generator.safetensors", checkpoint / "generator_ema.safetensors")
    with pytest.raises(CheckpointError, match="generator_ema.safetensors: not listed in meta.json"):
        ganforge.load(copy)
    code, _, err = run_cli(capsys, "sample", copy, "-n", "2", "-o", tmp_path / "s.png")
    one_line_error(code, err, "generator_ema.safetensors: not listed in meta.json")
    assert not (tmp_path / "s.png").exists()


# ------------------------------------------------------------------ pictures read as meant
GRAY = np.tile(np.arange(0, 256, 32, dtype=np.uint8), (8, 1))  # 8x8, columns 0, 32, ..., 224


def gray_files(tmp_path) -> dict[str, tuple]:
    """The same gray picture stored three ways, with the 8-bit values each should read as."""
    one_bit = tmp_path / "one-bit.png"
    Image.fromarray(GRAY >= 128).save(one_bit)
    sixteen = tmp_path / "sixteen.png"
    Image.fromarray(GRAY.astype(np.uint16) * 257).save(sixteen)
    palette = tmp_path / "palette.png"
    Image.fromarray(GRAY).convert("P").save(palette)
    return {"1": (one_bit, np.where(GRAY >= 128, 255, 0)), "I;16": (sixteen, GRAY), "P": (palette, GRAY)}


@pytest.mark.parametrize("mode", ["1", "I;16", "P"])
def test_grayscale_pictures_stored_in_other_modes_are_read_as_grayscale(tmp_path, mode):
    path, expected = gray_files(tmp_path)[mode]
    assert Image.open(path).mode == mode
    image = load_image(path, (1, 8, 8))
    assert image.shape == (1, 8, 8)
    assert np.array_equal(np.rint((image[0].numpy() + 1) * 127.5).astype(np.uint8), expected)
    decoded = decode_picture(path, None)  # an image folder: grayscale stays grayscale
    assert decoded.mode == "L" and np.array_equal(np.asarray(decoded), expected)


def test_a_colour_palette_is_still_colour(tmp_path):
    path = tmp_path / "colour.png"
    Image.new("RGB", (8, 8), (200, 10, 10)).convert("P").save(path)
    assert decode_picture(path, None).mode == "RGB"


def test_exif_orientation_is_applied(tmp_path):
    """A camera picture stored upside down with orientation tag 3 (turn 180 degrees): read upright."""
    upright = np.zeros((16, 16, 3), dtype=np.uint8)
    upright[:4] = 255  # white at the top
    path = tmp_path / "camera.png"
    exif = Image.Exif()
    exif[0x0112] = 3
    Image.fromarray(upright[::-1, ::-1].copy()).save(path, exif=exif)
    image = load_image(path, (3, 16, 16))
    assert float(image[:, :4].min()) == 1.0 and float(image[:, 4:].max()) == -1.0
    assert np.array_equal(np.asarray(decode_picture(path, 3)), upright)
