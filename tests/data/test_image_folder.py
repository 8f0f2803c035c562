import logging

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data import build_dataset, load_image_folder
from ganforge.data.image_folder import inspect_image_folder
from ganforge.config import DataConfig
from ganforge.errors import DataError


def write(path, array, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)


@pytest.fixture
def folder(tmp_path):
    """cats/ (2 images) and dogs/ (1 image, nested), different sizes and formats."""
    root = tmp_path / "pets"
    write(root / "cats" / "a.png", np.full((40, 60, 3), 255, np.uint8))
    write(root / "cats" / "b.jpg", np.zeros((32, 32, 3), np.uint8), quality=95)
    write(root / "dogs" / "deep" / "c.bmp", np.full((20, 20), 128, np.uint8))
    (root / "notes.txt").write_text("not an image")
    return root


def test_labels_from_class_subfolders(folder):
    ds = load_image_folder(folder, image_size=16, channels=3)
    assert len(ds) == 3 and ds.classes == ["cats", "dogs"]
    assert ds.labels.tolist() == [0, 0, 1]
    image, label = ds[0]
    assert image.shape == (3, 16, 16) and image.dtype == torch.float32 and label == 0
    assert torch.allclose(image, torch.ones_like(image))  # white -> +1
    assert ds[1][0].max().item() == pytest.approx(-1.0, abs=0.05)  # black jpg -> about -1
    gray = ds[2][0]
    assert gray.shape == (3, 16, 16) and torch.allclose(gray, torch.full_like(gray, 128 / 127.5 - 1), atol=1e-6)


def test_grayscale_and_unlabelled(tmp_path):
    write(tmp_path / "x.png", np.stack([np.full((8, 8), v, np.uint8) for v in (255, 0, 0)], -1))
    write(tmp_path / "sub" / "y.webp", np.zeros((8, 8, 3), np.uint8), lossless=True)
    ds = load_image_folder(tmp_path, image_size=16, channels=1)
    assert ds.classes == [] and ds.labels.tolist() == [-1, -1]  # x.png is not in a class folder
    assert ds.images.shape == (2, 1, 16, 16)
    assert ds.images[1, 0, 0, 0].item() == 76  # x.png sorts after sub/; ITU-R 601 luma of red: 0.299 * 255


def test_resize_then_centre_crop(tmp_path):
    # 40x20 image: left half black, right half white; the short side scales to 16, crop keeps
    # the middle 16 columns of 32, i.e. 8 black then 8 white.
    array = np.zeros((20, 40), np.uint8)
    array[:, 20:] = 255
    write(tmp_path / "wide.png", array)
    image = load_image_folder(tmp_path, image_size=16, channels=1).images[0, 0]
    assert (image[:, :7] < 10).all() and (image[:, 9:] > 245).all()


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: no images found"):
        load_image_folder(tmp_path / "empty", 16)
    with pytest.raises(DataError, match="image folder not found"):
        load_image_folder(tmp_path / "nope", 16)


def test_corrupt_file_named_or_skipped(folder, caplog):
    (folder / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError) as info:
        load_image_folder(folder, 16)
    assert "broken.png: cannot read image" in str(info.value) and "\n" not in str(info.value)
    with caplog.at_level(logging.WARNING):
        ds = load_image_folder(folder, 16, skip_bad=True)
    assert len(ds) == 3 and ds.skipped == 1
    assert "skipped 1 unreadable image(s) of 4" in caplog.text


def test_16_bit_grayscale_is_scaled_to_8_bits(tmp_path):
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    assert load_image_folder(tmp_path, 8, channels=1).images.unique().tolist() == [255]


def test_unsupported_mode_is_a_bad_file(tmp_path):
    # A float image (mode F) has no agreed 8-bit range; Pillow reads files by content, so a
    # TIFF named .png is still opened as one.
    Image.fromarray(np.zeros((8, 8), np.float32)).save(tmp_path / "float.png", format="TIFF")
    with pytest.raises(DataError, match=r"float.png: unsupported image mode 'F'"):
        load_image_folder(tmp_path, 16)


def test_all_bad(tmp_path):
    (tmp_path / "a.png").write_bytes(b"nope")
    with pytest.raises(DataError, match="all 1 image"):
        load_image_folder(tmp_path, 16, skip_bad=True)


def test_build_dataset_folder(folder):
    ds = build_dataset(DataConfig(dataset="folder", path=str(folder), image_size=16, channels=3, limit=2))
    assert len(ds) == 2


def test_inspect_finds_colour_and_the_median_short_side(folder):
    shape = inspect_image_folder(folder)  # white 60x40 PNG, black 32x32 JPEG, gray 20x20 BMP
    assert (shape.channels, shape.size, shape.sampled, shape.total) == (1, 32, 3, 3)  # no picture has colour
    write(folder / "cats" / "z.png", np.dstack([np.full((48, 48), v, np.uint8) for v in (200, 30, 30)]))
    shape = inspect_image_folder(folder)
    assert (shape.channels, shape.size, shape.total) == (3, 32, 4)
    assert shape.describe() == "colour pictures, median short side 32 px (all 4 sampled)"


def test_inspect_samples_evenly_and_respects_limit(tmp_path):
    gray = np.full((16, 16, 3), 90, np.uint8)  # RGB files whose channels are equal are grayscale
    for i in range(100):
        write(tmp_path / "a" / f"{i:03d}.png", gray)
    for i in range(10):
        write(tmp_path / "b" / f"red{i}.png", np.dstack([np.full((16, 16), v, np.uint8) for v in (255, 0, 0)]))
    shape = inspect_image_folder(tmp_path, sample=10)  # files 0, 11, ..., 99: all in a/
    assert (shape.channels, shape.sampled, shape.total) == (1, 10, 110)
    assert inspect_image_folder(tmp_path, sample=11).channels == 3  # files 0, 10, ..., 100: b/ is seen
    assert inspect_image_folder(tmp_path, limit=100).channels == 1  # only the files training would read
    assert "10 of 110, evenly spaced, sampled" in shape.describe()


def test_inspect_bad_files(tmp_path):
    with pytest.raises(DataError, match="image folder not found"):
        inspect_image_folder(tmp_path / "none")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="bad.png: cannot read image"):
        inspect_image_folder(tmp_path)
    with pytest.raises(DataError, match="all 1 sampled image"):
        inspect_image_folder(tmp_path, skip_bad=True)
    write(tmp_path / "ok.png", np.zeros((20, 30), np.uint8))
    assert inspect_image_folder(tmp_path, skip_bad=True).size == 20
