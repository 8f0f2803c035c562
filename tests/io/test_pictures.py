import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.transforms import pil_to_tensor, resize_center_crop, to_signed
from ganforge.errors import InputError
from ganforge.io.pictures import fit_image, make_grid, save_grid, save_images, save_npy


def test_grid_layout_and_values():
    images = torch.stack([torch.full((1, 2, 3), v) for v in (-1.0, 0.0, 1.0)])  # 3 images, 2x3 px
    grid = make_grid(images, nrow=2, padding=1)
    assert grid.shape == (1, 2 * 3 + 1, 2 * 4 + 1) and grid.dtype == torch.uint8
    assert grid[0, 1:3, 1:4].unique().tolist() == [0]      # -1 -> 0
    assert grid[0, 1:3, 5:8].unique().tolist() == [128]    # 0 -> 127.5 rounds to 128
    assert grid[0, 4:6, 1:4].unique().tolist() == [255]    # +1 -> 255
    assert grid[0, 4:6, 5:8].unique().tolist() == [0]      # empty cell stays black
    assert grid[0, 0].unique().tolist() == [0]             # padding


def test_png_and_npy_round_trips(tmp_path):
    images = torch.rand(4, 3, 8, 8) * 2 - 1
    save_grid(images, tmp_path / "g.png", nrow=2, upscale=2)
    assert Image.open(tmp_path / "g.png").size == ((2 * 10 + 2) * 2, (2 * 10 + 2) * 2)
    save_npy(images, tmp_path / "x.npy")
    assert np.array_equal(np.load(tmp_path / "x.npy"), images.numpy())
    paths = save_images(images, tmp_path / "files")
    assert len(paths) == 4
    back = np.asarray(Image.open(paths[1]))
    assert np.abs(back.astype(float) / 127.5 - 1 - images[1].permute(1, 2, 0).numpy()).max() <= 0.5 / 127.5 + 1e-6


def test_a_palette_grid_keeps_few_colours_exactly_and_leaves_gray_alone(tmp_path):
    colours = torch.tensor([[-1.0, -1.0, 1.0], [1.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # blue, orange, a green
    images = colours[torch.arange(6) % 3][:, :, None, None].expand(6, 3, 4, 4)
    save_grid(images, tmp_path / "p.png", nrow=3, palette=True)
    saved = Image.open(tmp_path / "p.png")
    assert saved.mode == "P"  # 4 colours (3 + the black padding) fit the palette exactly
    assert np.array_equal(np.asarray(saved.convert("RGB")), make_grid(images, 3).permute(1, 2, 0).numpy())
    save_grid(images[:, :1], tmp_path / "g.png", palette=True)
    assert Image.open(tmp_path / "g.png").mode == "L"


def test_make_grid_needs_a_batch_of_images():
    with pytest.raises(ValueError, match=r"expected \(N, C, H, W\) images, got shape \(3, 4, 4\)"):
        make_grid(torch.zeros(3, 4, 4))


def test_fit_image_resizes_only_when_asked_and_converts_channels(tmp_path):
    rng = np.random.default_rng(0)
    colour = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    colour.save(tmp_path / "wide.png")
    with pytest.raises(InputError, match=r"wide.png: image is 32x24, the model needs 16x16 \(--resize scales it"):
        fit_image(tmp_path / "wide.png", (3, 16, 16))
    image, note = fit_image(tmp_path / "wide.png", (3, 16, 16), resize=True)
    assert torch.equal(image, to_signed(pil_to_tensor(resize_center_crop(colour, 16))))
    assert note == f"{tmp_path / 'wide.png'}: image resized from 32x24 to 16x16 (short side scaled, centre cropped) " \
                   "for the model"
    square = colour.crop((0, 0, 16, 16))
    square.save(tmp_path / "square.png")
    image, note = fit_image(tmp_path / "square.png", (1, 16, 16), what="scene")
    assert torch.equal(image, to_signed(pil_to_tensor(square.convert("L"))))  # luma, as Pillow's "L"
    assert note == f"{tmp_path / 'square.png'}: scene converted from colour to grayscale for the model"
    square.convert("L").save(tmp_path / "gray.png")
    image, note = fit_image(tmp_path / "gray.png", (3, 8, 8), resize=True)
    assert image.shape == (3, 8, 8) and torch.equal(image[0], image[2])
    assert note.endswith("converted from grayscale to RGB and resized from 16x16 to 8x8 for the model")
    assert fit_image(tmp_path / "square.png", (3, 16, 16), resize=True)[1] is None  # nothing to change, nothing said
