import numpy as np
import pytest
import torch

from ganforge.data.toy import ring_mixture
from ganforge.metrics import mode_coverage
from ganforge.training.toy import sample_toy, train_toy_gan


def test_toy_gan_learns_the_ring_scale():
    ring = ring_mixture()
    untrained = sample_toy(train_toy_gan(ring, steps=0, seed=0), 1000)
    trained = sample_toy(train_toy_gan(ring, steps=600, lr=1e-3, batch_size=128, seed=0), 1000)
    # Real points lie at radius 2; an untrained generator puts them near the origin.
    assert abs(untrained.norm(dim=1).mean().item() - 2) > 1.5
    assert abs(trained.norm(dim=1).mean().item() - 2) < 0.5
    assert mode_coverage(trained.numpy(), ring.centres.numpy(), ring.std)["modes"] == 8


def test_same_seed_same_generator():
    ring = ring_mixture()
    a = sample_toy(train_toy_gan(ring, steps=20, seed=3), 10)
    b = sample_toy(train_toy_gan(ring, steps=20, seed=3), 10)
    assert np.array_equal(a.numpy(), b.numpy())


def test_wasserstein_toy_gan_needs_a_penalty():
    import pytest

    with pytest.raises(ValueError, match="needs a penalty"):
        train_toy_gan(ring_mixture(), "wasserstein", steps=1)
    assert sample_toy(train_toy_gan(ring_mixture(), "wasserstein", steps=3, penalty="gp"), 5).isfinite().all()


def test_default_init_is_seeded_and_unknown_init_is_refused():
    ring = ring_mixture()
    a = sample_toy(train_toy_gan(ring, steps=0, seed=5), 4)
    b = sample_toy(train_toy_gan(ring, steps=0, seed=5), 4)
    assert torch.equal(a, b)
    # DCGAN's N(0, 0.02) starts the MLP generator nearly constant in z; PyTorch's default does not.
    spread = lambda init: float(sample_toy(train_toy_gan(ring, steps=0, seed=5, init=init), 500).std(0).mean())  # noqa: E731
    assert spread("dcgan") < 1e-3 < spread("default")
    with pytest.raises(ValueError, match="init must be one of default, dcgan"):
        train_toy_gan(ring, steps=0, init="xavier")


def test_spectral_norm_discriminator_is_seeded_and_normalised():
    from ganforge.models.mlp import MLPDiscriminator
    from ganforge.models.layers import init_default_linear

    torch.manual_seed(0)
    d = MLPDiscriminator(2, 16, spectral_norm=True)
    init_default_linear(d, torch.Generator().manual_seed(1))
    before = d.net[0].parametrizations.weight.original.clone()
    init_default_linear(d, torch.Generator().manual_seed(1))
    assert torch.equal(before, d.net[0].parametrizations.weight.original)  # the raw weight was re-drawn
    for _ in range(300):  # power iteration (one step a training-mode forward) converges
        d(torch.randn(8, 2))
    for layer in (m for m in d.net if isinstance(m, torch.nn.Linear)):
        assert abs(float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2)) - 1) < 1e-2
