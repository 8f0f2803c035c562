import numpy as np
import pytest
import torch

from ganforge.apps import (
    add_noise,
    center_box_mask,
    feather_blend,
    gaussian_blur,
    inpaint_inversion,
    inpaint_net,
    make_mask,
    mean_fill,
    poisson_blend,
    random_boxes_mask,
    restore_inversion,
    scribble_mask,
    telea_inpaint,
    train_inpainter,
)
from ganforge.apps.inpainting import unet_depth
from ganforge.errors import InputError
from ganforge.metrics import psnr, ssim


def test_standard_masks():
    hole = center_box_mask(16, 0.5)
    assert hole.sum() == 64 and hole[4:12, 4:12].all() and not hole[:4].any()
    for kind in ("boxes", "scribble"):
        a, b = make_mask(kind, 28, seed=1), make_mask(kind, 28, seed=1)
        assert torch.equal(a, b) and 0 < a.sum() < 28 * 28
        assert not torch.equal(a, make_mask(kind, 28, seed=2))
    assert random_boxes_mask(32, boxes=1, seed=0).any() and scribble_mask(32, seed=0).any()
    with pytest.raises(InputError, match="one of center"):
        make_mask("stars", 16)


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


def test_baselines_keep_known_pixels():
    torch.manual_seed(0)
    images = torch.rand(2, 1, 16, 16) * 2 - 1
    hole = center_box_mask(16, 0.5)
    for method in (mean_fill, telea_inpaint):
        out = method(images, hole)
        assert torch.equal(out[:, :, ~hole], images[:, :, ~hole])
        assert not torch.equal(out[:, :, hole], images[:, :, hole])
    means = images[:, :, ~hole].mean(2)
    assert torch.allclose(mean_fill(images, hole)[:, :, hole], means[:, :, None].expand(2, 1, 64), atol=1e-6)
    # Telea on a smooth image fills the hole smoothly: much closer than the mean.
    smooth = torch.linspace(-1, 1, 16).view(1, 1, 1, 16).expand(1, 1, 16, 16).contiguous()
    assert psnr(telea_inpaint(smooth, hole), smooth) > psnr(mean_fill(smooth, hole), smooth) + 5


def test_inpaint_inversion_keeps_known_pixels_beyond_the_blend_border(tiny_gan):
    original = tiny_gan.sample(2, seed=21)
    hole = center_box_mask(16, 0.4)
    for blend, border in (("poisson", 0), ("feather", 2), ("none", 0)):
        out, result = inpaint_inversion(tiny_gan, original, hole, blend=blend, steps=40, restarts=2)
        grown = torch.nn.functional.max_pool2d(hole.float()[None, None], 2 * border + 1, 1, border)[0, 0].bool()
        assert torch.equal(out[:, :, ~grown], original[:, :, ~grown]), blend
    # The fill comes from the model that made the image: close to the original inside the hole.
    assert psnr(out, original).min() > 20


@pytest.mark.parametrize("hole, message", [
    (torch.zeros(16, 16, dtype=torch.bool), "mask is empty"),
    (torch.ones(16, 16, dtype=torch.bool), "covers the whole image"),
    (torch.ones(8, 8, dtype=torch.bool), "mask is"),
])
def test_bad_masks(tiny_gan, hole, message):
    with pytest.raises(InputError, match=message):
        inpaint_inversion(tiny_gan, tiny_gan.sample(1), hole, steps=1)


def test_inpainting_net_trains_and_keeps_known_pixels():
    torch.manual_seed(0)
    images = torch.linspace(-1, 1, 16).view(1, 1, 1, 16).expand(64, 1, 16, 16) * torch.rand(64, 1, 1, 1)
    result, config = train_inpainter(images, steps=60, batch_size=16, width=8, adversarial_weight=1.0, log_every=20)
    assert config.depth == unet_depth(16) == 2 and result.history[-1]["l1"] < result.history[0]["l1"]
    hole = center_box_mask(16, 0.5)
    out = inpaint_net(result.generator, images[:4], hole)
    assert torch.equal(out[:, :, ~hole], images[:4, :, ~hole])
    assert psnr(out, images[:4]).mean() > psnr(mean_fill(images[:4], hole), images[:4]).mean()
    with pytest.raises(InputError, match="takes"):
        inpaint_net(result.generator, torch.zeros(1, 3, 16, 16), hole)


def test_unet_depth():
    assert [unet_depth(s) for s in (16, 28, 32, 64, 128)] == [2, 2, 3, 4, 4]


def test_corruptions_and_restoration(tiny_gan):
    clean = tiny_gan.sample(1, seed=8)
    noisy = add_noise(clean, 0.3, seed=0)
    assert torch.equal(noisy, add_noise(clean, 0.3, seed=0)) and noisy.abs().max() <= 1
    flat = torch.full((1, 1, 9, 9), 0.3)
    assert torch.allclose(gaussian_blur(flat, 1.0), flat, atol=1e-6)  # blur keeps constants
    restored = restore_inversion(tiny_gan, noisy, "noise", 0.3, steps=150, restarts=2)
    assert psnr(restored, clean) > psnr(noisy, clean)  # the generator's range leaves the noise out
    with pytest.raises(InputError, match="corruption"):
        restore_inversion(tiny_gan, noisy, "rain", 1.0)


def test_psnr_and_ssim_by_hand():
    a = torch.zeros(1, 1, 8, 8)
    b = a + 0.2  # MSE 0.04 -> 10 log10(4 / 0.04) = 20 dB
    assert float(psnr(a, b)[0]) == pytest.approx(20.0, abs=1e-4)
    assert torch.isinf(psnr(a, a)).all()
    torch.manual_seed(0)
    x, y = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    assert np.allclose(ssim(x, x), 1.0)
    slightly = ssim(x, (x + 0.1 * torch.randn(2, 3, 16, 16)).clamp(-1, 1))
    assert (slightly < 1).all() and (slightly > 0.8).all()
    assert (np.abs(ssim(x, y)) < 0.2).all()  # independent noise images share no structure


def test_compare_inpainting_on_a_tiny_subset(tiny_gan):
    from ganforge.apps.inpainting import compare_inpainting

    images = tiny_gan.sample(3, seed=30)
    holes = {"center": center_box_mask(16), "boxes": random_boxes_mask(16, seed=1)}
    methods = {"mean": mean_fill, "telea": telea_inpaint,
               "inversion": lambda x, h: inpaint_inversion(tiny_gan, x, h, steps=30, restarts=2)[0]}
    classify = lambda x: torch.stack([x.mean((1, 2, 3)), -x.mean((1, 2, 3))], 1)  # noqa: E731
    labels = (images.mean((1, 2, 3)) < 0).long()
    rows = compare_inpainting(images, holes, methods, classify, labels)
    assert [(r["mask"], r["method"]) for r in rows][:4] == [("center", "damaged"), ("center", "mean"),
                                                            ("center", "telea"), ("center", "inversion")]
    assert len(rows) == 8 and all(0 <= r["accuracy"] <= 1 for r in rows)
    by = {(r["mask"], r["method"]): r for r in rows}
    # The damaged input's hole holds zeros; by hand: PSNR inside the hole from its MSE.
    hole = holes["center"]
    expected = 10 * torch.log10(4.0 / (images[:, :, hole] ** 2).mean().double())
    assert by[("center", "damaged")]["hole_psnr"] == pytest.approx(float(expected), rel=1e-6)
    # The generator that made the images fills them far better than the mean.
    assert by[("center", "inversion")]["hole_psnr"] > by[("center", "mean")]["hole_psnr"] + 5
