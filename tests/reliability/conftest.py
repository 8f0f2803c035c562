"""Shared by the reliability tests: a tiny trained run, a picture of its size, and pictures that
declare far more pixels than they hold (decompression bombs), all made here, offline."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from ganforge.training import train
from tests.conftest import tiny_config


def bomb_png(path: Path, width: int = 20_000, height: int = 20_000) -> Path:
    """A palette PNG of under 100 bytes whose header declares width x height pixels: Pillow writes
    a 16x16 one and its IHDR chunk (size and CRC) is rewritten. Reading the header is all it takes
    to see the size; decoding it would allocate width x height bytes (and then fail)."""
    buffer = io.BytesIO()
    Image.new("P", (16, 16)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def decodable_bomb_png(path: Path, side: int = 9_000) -> Path:
    """A complete, decodable PNG of side x side one-bit pixels (81 M at 9000: over ganforge's 64 Mi
    limit, under Pillow's own 89 M warning) in about 10 KB, written by Pillow."""
    Image.new("1", (side, side)).save(path, format="PNG")
    return path


@pytest.fixture(scope="package")
def run(tmp_path_factory) -> Path:
    """A 16x16 RGB DCGAN run folder (unconditional), trained two steps."""
    return train(tiny_config(tmp_path_factory.mktemp("reliability"), steps=2), progress=False)


@pytest.fixture
def picture(tmp_path) -> Path:
    """A 16x16 RGB PNG: the run's size."""
    path = tmp_path / "picture.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(path)
    return path


def one_line_error(code: int, err: str, *fragments: str) -> None:
    """Exit code 2 and one line on stderr, `ganforge: error: ...` or `ganforge CMD: error: ...`, holding
    every fragment; no traceback."""
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("ganforge") and ": error: " in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture
def no_decoding(monkeypatch):
    """Sizes of the pictures whose pixels get decoded (ImageFile.load) during the test."""
    decoded = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size) or real_load(self))
    return decoded
