import pytest
import torch

from ganforge.models.unet import PatchDiscriminator, UNetGenerator, unet_depth


def test_unet_keeps_the_size_and_bounds_tanh_outputs_only():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32) * 50
    tanh = UNetGenerator(3, 5, depth=3, width=8)
    logits = UNetGenerator(3, 5, depth=3, width=8, output="logits")
    logits.load_state_dict(tanh.state_dict())  # the same weights: only the last activation differs
    a, b = tanh(x), logits(x)
    assert a.shape == b.shape == (2, 5, 32, 32)
    assert a.abs().max() <= 1 and b.abs().max() > 1
    assert torch.allclose(a, torch.tanh(b), atol=1e-6)


def test_unet_rejects_bad_settings_and_sizes():
    with pytest.raises(ValueError, match="output must be"):
        UNetGenerator(3, 5, output="softmax")
    with pytest.raises(ValueError, match="depth"):
        UNetGenerator(3, 5, depth=0)
    with pytest.raises(ValueError, match="divisible by 2\\^depth = 8"):
        UNetGenerator(3, 5, depth=3, width=4)(torch.zeros(1, 3, 20, 20))


def test_patch_discriminator_gives_one_logit_per_patch():
    d = PatchDiscriminator(3 + 5, width=8, layers=2)
    assert d(torch.zeros(2, 3, 32, 32), torch.zeros(2, 5, 32, 32)).shape == (2, 1, 8, 8)


def test_unet_depth():
    assert [unet_depth(s) for s in (16, 28, 32, 64, 128)] == [2, 2, 3, 4, 4]
