import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.models.diffaugment import (apply_randomly, build_augment, color, cutout, is_adaptive, parse_policy,
                                        translation)


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


def test_policy_ada_means_the_three_ops_with_adaptive_p():
    assert parse_policy("ada") == ["color", "translation", "cutout"] and is_adaptive("ada")
    assert parse_policy("ada, translation") == ["translation"] and is_adaptive("ada, translation")
    assert parse_policy("color") == ["color"] and not is_adaptive("color") and not is_adaptive(None)
    with pytest.raises(ConfigError, match="or ada for adaptive p"):
        parse_policy("ada,flip")


def test_apply_randomly_with_p_0_is_the_identity():
    x = torch.rand(16, 3, 8, 8) * 2 - 1
    assert apply_randomly(x, ["color", "translation", "cutout"], 0.0, seeded()) is x
    augment = build_augment("color,cutout", p=0.0)
    assert torch.equal(augment(x), x)


def test_apply_randomly_with_p_1_augments_every_image_like_the_op():
    x = torch.rand(16, 3, 8, 8) * 2 - 1
    out = apply_randomly(x, ["cutout"], 1.0, seeded(3))
    draws = seeded(3)
    assert (torch.rand(16, generator=draws) < 1.0).all()  # the mask's draws come first
    assert torch.equal(out, cutout(x, draws))
    assert ((out == 0).all(1).flatten(1).sum(1) > 0).all()  # every image lost a square


def test_apply_randomly_draws_one_bernoulli_per_image_and_op():
    x = torch.ones(64, 3, 16, 16)
    out = apply_randomly(x, ["cutout"], 0.3, seeded(5))
    draws = seeded(5)
    chosen = torch.rand(64, generator=draws) < 0.3
    changed = (out != x).flatten(1).any(1)
    assert torch.equal(changed, chosen) and 5 < int(chosen.sum()) < 35
    # The chosen images get the op with the draws that follow the mask, in order.
    assert torch.equal(out[chosen], cutout(x[chosen], draws))
    # Two ops: independent masks, the second drawn after the first op's own draws.
    two = apply_randomly(x, ["cutout", "translation"], 0.5, seeded(5))
    assert two.shape == x.shape and not torch.equal(two, x)


def test_apply_randomly_passes_gradients_to_every_image():
    x = (torch.rand(8, 3, 8, 8) * 2 - 1).requires_grad_(True)
    apply_randomly(x, ["color", "translation"], 0.5, seeded(1)).sum().backward()
    assert (x.grad.flatten(1).abs().sum(1) > 0).all()  # untouched images pass theirs through too


def test_build_augment_reads_a_callable_p_at_every_call():
    x = torch.rand(8, 3, 8, 8) * 2 - 1
    p = {"now": 0.0}
    augment = build_augment("ada", p=lambda: p["now"])
    assert torch.equal(augment(x), x)
    p["now"] = 1.0
    assert not torch.equal(augment(x), x)
