"""FastGAN (Liu et al. 2021): skip-layer excitation, the generator's and discriminator's shapes, and
the discriminator's self-supervised reconstructions."""

import pytest
import torch
from torch import nn

from ganforge.models.fastgan import (FastGANDiscriminator, FastGANGenerator, SkipLayerExcitation, excitations,
                                     quarter)


def test_sle_gates_the_high_resolution_map_channel_wise():
    torch.manual_seed(0)
    sle = SkipLayerExcitation(low_channels=6, high_channels=5)
    low, high = torch.randn(3, 6, 8, 8), torch.randn(3, 5, 32, 32)
    out = sle(low, high)
    assert out.shape == high.shape
    # By hand: average-pool 8x8 -> 4x4, 4x4 conv -> 1x1, LeakyReLU(0.1), 1x1 conv, sigmoid.
    pooled = low.unflatten(2, (4, 2)).unflatten(4, (4, 2)).mean((3, 5))
    squeezed = torch.einsum("nchw,ochw->no", pooled, sle.squeeze.weight) + sle.squeeze.bias
    squeezed = torch.where(squeezed > 0, squeezed, 0.1 * squeezed)
    gate = torch.sigmoid(squeezed @ sle.excite.weight[:, :, 0, 0].T + sle.excite.bias)
    assert ((gate > 0) & (gate < 1)).all()
    torch.testing.assert_close(out, high * gate[:, :, None, None], rtol=1e-5, atol=1e-6)


def test_sle_with_a_zero_last_conv_halves_the_map_exactly():
    sle = SkipLayerExcitation(4, 3)
    with torch.no_grad():
        sle.excite.weight.zero_()
        sle.excite.bias.zero_()
    high = torch.randn(2, 3, 16, 16)
    assert torch.equal(sle(torch.randn(2, 4, 4, 4), high), high * 0.5)


def test_excitations_follow_the_paper_at_256_px():
    assert excitations(256) == [(128, 8), (256, 16)]
    assert excitations(1024)[:3] == [(128, 8), (256, 16), (512, 32)]
    assert excitations(64) == [(32, 4), (64, 4)] and excitations(28) == [(14, 7), (28, 7)]


@pytest.mark.parametrize("size", [28, 32, 64, 128, 256])
def test_generator_shapes_and_range(size):
    torch.manual_seed(0)
    g = FastGANGenerator(latent_dim=16, channels=3, image_size=size, width=4)
    images = g(torch.randn(2, 16) * 10)  # large latents: tanh still bounds them
    assert images.shape == (2, 3, size, size)
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0
    assert len(g.sle) == len(excitations(size))


def test_the_generator_uses_its_excitation():
    torch.manual_seed(0)
    g = FastGANGenerator(latent_dim=8, channels=1, image_size=32, width=4).eval()
    z = torch.randn(2, 8)
    before = g(z)
    with torch.no_grad():
        g.sle["32"].excite.bias.fill_(-30.0)  # the gate closes: the last map goes to ~0
        g.sle["32"].excite.weight.zero_()
    closed = g(z)
    assert not torch.allclose(before, closed)
    torch.testing.assert_close(closed, torch.tanh(g.to_image.bias).view(1, 1, 1, 1).expand_as(closed),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("size, small", [(16, 8), (28, 7), (64, 8), (256, 8)])
def test_discriminator_logits_and_auxiliary_outputs(size, small):
    torch.manual_seed(0)
    d = FastGANDiscriminator(channels=3, image_size=size, width=4, spectral_norm=True).eval()  # fixed SN and BN
    images = torch.rand(3, 3, size, size) * 2 - 1
    logits = d(images)
    assert logits.shape == (3,) and d.small == small and d.part == 2 * small
    torch.manual_seed(1)
    logits_too, outputs = d(images, auxiliary=True)
    assert torch.equal(logits_too, logits)
    whole, part = outputs["reconstructions"]
    half, crop = outputs["targets"]
    assert whole.shape == part.shape == half.shape == crop.shape == (3, 3, size // 2, size // 2)
    assert whole.abs().max() <= 1 and part.abs().max() <= 1
    torch.manual_seed(1)
    index = int(torch.randint(4, ()))  # the quarter D drew
    assert torch.equal(crop, quarter(images, index))
    torch.testing.assert_close(half, images.unflatten(2, (size // 2, 2)).unflatten(4, (size // 2, 2)).mean((3, 5)))


def test_quarter_numbering():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert quarter(x, 0).flatten().tolist() == [0, 1, 4, 5]
    assert quarter(x, 1).flatten().tolist() == [2, 3, 6, 7]
    assert quarter(x, 2).flatten().tolist() == [8, 9, 12, 13]
    assert quarter(x, 3).flatten().tolist() == [10, 11, 14, 15]


class Known(nn.Module):
    """A decoder replaced by a known map: the mean of the features over channels, tiled."""

    def __init__(self, channels):
        super().__init__()
        self.channels = channels

    def forward(self, x):
        return x.mean(1, keepdim=True).expand(-1, self.channels, -1, -1)


def test_reconstruction_decoders_read_the_8x8_map_and_a_quarter_of_the_16x16_map():
    torch.manual_seed(0)
    d = FastGANDiscriminator(channels=3, image_size=32, width=4, spectral_norm=False)
    d.decode_whole, d.decode_part = Known(3), Known(3)
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    seen = {}
    d.blocks[-1].register_forward_hook(lambda m, i, o: seen.update(part=i[0], small=o))  # 16x16 -> 8x8
    torch.manual_seed(5)
    _, outputs = d(images, auxiliary=True)
    torch.manual_seed(5)
    index = int(torch.randint(4, ()))
    whole, part = outputs["reconstructions"]
    assert seen["part"].shape[-1] == 16 and seen["small"].shape[-1] == 8
    torch.testing.assert_close(whole, Known(3)(seen["small"]))
    torch.testing.assert_close(part, Known(3)(quarter(seen["part"], index)))
