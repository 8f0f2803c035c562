import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.io.pictures import make_grid, save_grid, save_images, save_npy


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


def test_make_grid_needs_a_batch_of_images():
    with pytest.raises(ValueError, match=r"expected \(N, C, H, W\) images, got shape \(3, 4, 4\)"):
        make_grid(torch.zeros(3, 4, 4))
