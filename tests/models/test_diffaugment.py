import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.models.diffaugment import build_augment, color, cutout, translation


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def test_translation_moves_pixels_and_fills_black():
    x = torch.full((64, 1, 8, 8), -1.0)
    x[:, :, 3, 3] = 1.0  # one white pixel
    out = translation(x, seeded(), ratio=0.25)  # shifts of -2..2
    assert out.shape == x.shape
    positions = (out[:, 0] == 1.0).nonzero()[:, 1:]
    assert len(positions) == 64  # the pixel stays inside the image: |shift| <= 2 from (3, 3)
    assert ((positions - 3).abs() <= 2).all() and len({tuple(p) for p in positions.tolist()}) > 5
    assert set(out.unique().tolist()) == {-1.0, 1.0}


def test_cutout_blanks_a_quarter_when_inside():
    x = torch.ones(200, 3, 16, 16)
    out = cutout(x, seeded(), ratio=0.5)
    blanked = (out == 0).all(1).flatten(1).sum(1)  # pixels set to 0 in every channel
    assert blanked.max().item() == 64 and blanked.min().item() >= 16  # a full 8x8 square, or clipped at an edge
    assert ((out == 0) | (out == 1)).all()


def test_color_on_grey_images_skips_saturation_and_keeps_shape():
    x = torch.rand(10, 1, 4, 4) * 2 - 1
    out = color(x, seeded())
    # Brightness + (u1 - 0.5), then contrast x (u2 + 0.5) around the image mean; a saturation step
    # would take a draw between them and change the result.
    draws = seeded()
    u1, u2 = (torch.rand(10, 1, 1, 1, generator=draws) for _ in range(2))
    bright = x + (u1 - 0.5)
    mean = bright.mean((1, 2, 3), keepdim=True)
    assert out.shape == x.shape
    torch.testing.assert_close(out, (bright - mean) * (u2 + 0.5) + mean, rtol=0, atol=1e-6)


def test_policy_is_differentiable_and_reproducible():
    augment = build_augment("color,translation,cutout")
    x = (torch.rand(4, 3, 8, 8) * 2 - 1).requires_grad_(True)
    torch.manual_seed(0)
    a = augment(x)
    torch.manual_seed(0)
    assert torch.equal(a, augment(x))
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert build_augment(None) is None
    with pytest.raises(ConfigError, match="augment: unknown flip"):
        build_augment("color,flip")
