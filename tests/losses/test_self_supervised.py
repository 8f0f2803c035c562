import pytest
import torch
from torch import nn

from ganforge.losses import SELF_SUPERVISED, reconstruction_loss
from ganforge.models.fastgan import FastGANDiscriminator, quarter


class Returns(nn.Module):
    """A decoder replaced by a known map."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_reconstruction_loss_by_hand():
    rec = (torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2))
    targets = (torch.tensor([[[[0.5, -0.5], [1.0, 0.0]]]]), torch.ones(1, 1, 2, 2))
    # mean |0 - t| = (0.5 + 0.5 + 1 + 0) / 4 = 0.5; the second pair matches: 0.
    assert float(reconstruction_loss({"reconstructions": rec, "targets": targets})) == 0.5
    assert SELF_SUPERVISED.get("reconstruction") is reconstruction_loss
    with pytest.raises(ValueError):
        reconstruction_loss({"reconstructions": rec, "targets": targets[:1]})


def test_reconstruction_loss_on_a_tiny_discriminator_with_known_decoders():
    torch.manual_seed(0)
    d = FastGANDiscriminator(channels=1, image_size=16, width=2, spectral_norm=False)
    d.decode_whole = d.decode_part = Returns(lambda x: torch.zeros(x.shape[0], 1, 8, 8))  # mid-grey everywhere
    images = torch.rand(2, 1, 16, 16) * 2 - 1
    torch.manual_seed(3)
    _, outputs = d(images, auxiliary=True)
    torch.manual_seed(3)
    index = int(torch.randint(4, ()))
    # 16 px: the image averaged over 2x2 blocks to 8x8, and its quarter `index` (8x8).
    half = images.view(2, 1, 8, 2, 8, 2).mean((3, 5))
    expected = half.abs().mean() + quarter(images, index).abs().mean()
    torch.testing.assert_close(reconstruction_loss(outputs), expected)
    # Decoders that return exactly the targets: zero loss.
    half_exact, crop = outputs["targets"]  # half equals these to rounding (a 2x2 average either way)
    d.decode_whole, d.decode_part = Returns(lambda x: half_exact), Returns(lambda x: crop)
    torch.manual_seed(3)
    assert float(reconstruction_loss(d(images, auxiliary=True)[1])) == 0.0
