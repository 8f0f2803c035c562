import torch

from ganforge.models.mlp import KPlusOneDiscriminator


def test_discriminator_shapes_and_noise_only_in_training():
    d = KPlusOneDiscriminator(3, in_features=16, hidden=(8, 4))
    x = torch.rand(5, 16)
    logits, features = d(x)
    assert logits.shape == (5, 3) and features.shape == (5, 4)
    d.eval()
    assert torch.equal(d(x)[0], d(x)[0])
