import pytest
import torch

from ganforge.apps.inpainting import INPAINTERS, inpaint_inversion, mean_fill, telea_inpaint
from ganforge.apps.masks import center_box_mask
from ganforge.errors import InputError
from ganforge.metrics import psnr


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


def test_inpainters_name_the_methods_of_the_cli_and_the_server(tiny_gan):
    assert INPAINTERS.names() == ["inversion", "net", "telea"]
    image, hole = tiny_gan.sample(1, seed=2), center_box_mask(16)
    assert torch.equal(INPAINTERS.get("telea")(tiny_gan, image, hole, steps=1), telea_inpaint(image, hole))
    with pytest.raises(InputError, match="train-inpainter"):  # the tiny run has no inpainting net
        INPAINTERS.get("net")(tiny_gan, image, hole)
