import pytest
import torch

from ganforge.apps.blending import feather_blend, poisson_blend
from ganforge.apps.masks import center_box_mask


def test_feather_blend_only_touches_the_border():
    known, fill = torch.zeros(1, 1, 16, 16), torch.ones(1, 1, 16, 16)
    hole = center_box_mask(16, 0.25)  # rows/cols 6..9
    out = feather_blend(known, fill, hole, border=2)
    assert (out[0, 0][hole] == 1).all()
    ring1, ring2 = out[0, 0, 5, 7], out[0, 0, 4, 7]
    assert ring1 == pytest.approx(2 / 3) and ring2 == pytest.approx(1 / 3)
    far = torch.ones(16, 16, dtype=torch.bool)
    far[3:13, 3:13] = False
    assert (out[0, 0][far] == 0).all()  # beyond the border: exactly the known pixels


def test_poisson_blend_keeps_known_pixels_and_the_fill_gradients():
    torch.manual_seed(0)
    known = torch.rand(2, 3, 16, 16) * 2 - 1
    hole = center_box_mask(16, 0.5)
    ramp = torch.linspace(-0.5, 0.5, 16).view(1, 1, 1, 16).expand(2, 3, 16, 16)
    out = poisson_blend(known, ramp + 0.2, hole)
    assert torch.equal(out[:, :, ~hole], known[:, :, ~hole])
    # A constant fill solves laplace(f) = 0: the hole becomes the harmonic interpolation of its border.
    flat = poisson_blend(torch.zeros(1, 1, 16, 16) + 0.5, torch.full((1, 1, 16, 16), -0.9), hole)
    assert torch.allclose(flat, torch.full_like(flat, 0.5), atol=1e-6)
    # A linear fill matching a linear surround is reproduced exactly (it is already seamless).
    linear = poisson_blend(ramp[:1], ramp[:1] + 0.3, hole)
    assert torch.allclose(linear, ramp[:1], atol=1e-6)
