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


def test_ema_decay_zero_returns_the_trained_generator_and_decay_changes_it():
    ring = ring_mixture()
    plain = sample_toy(train_toy_gan(ring, steps=30, seed=2), 16)
    # decay 0: the shadow copies the weights after every step, so it is the trained generator.
    assert torch.equal(plain, sample_toy(train_toy_gan(ring, steps=30, seed=2, ema_decay=0.0), 16))
    averaged = sample_toy(train_toy_gan(ring, steps=30, seed=2, ema_decay=0.99), 16)
    assert not torch.allclose(plain, averaged)


def test_two_time_scales_and_lazy_penalty_change_training_and_bad_interval_is_refused():
    ring = ring_mixture()
    base = sample_toy(train_toy_gan(ring, steps=20, seed=1, penalty="r1", penalty_weight=1.0), 8)
    same_lr = sample_toy(train_toy_gan(ring, steps=20, seed=1, penalty="r1", penalty_weight=1.0, lr_d=2e-4), 8)
    assert torch.equal(base, same_lr)  # lr_d equal to lr is the default
    assert not torch.allclose(base, sample_toy(train_toy_gan(ring, steps=20, seed=1, penalty="r1",
                                                             penalty_weight=1.0, lr_d=1e-3), 8))
    assert not torch.allclose(base, sample_toy(train_toy_gan(ring, steps=20, seed=1, penalty="r1",
                                                             penalty_weight=1.0, penalty_every=4), 8))
    with pytest.raises(ValueError, match="penalty_every must be >= 1"):
        train_toy_gan(ring, steps=1, penalty="r1", penalty_every=0)


def test_preset_recipe_carries_each_presets_game():
    from ganforge.training.toy import preset_recipe

    lite = preset_recipe("stylegan2-lite")
    assert (lite["loss"], lite["penalty"], lite["penalty_weight"], lite["penalty_every"]) == ("nonsaturating", "r1", 0.1, 16)
    assert lite["betas"] == (0.0, 0.99) and lite["ema_decay"] == 0.999 and not lite["spectral_norm"]
    sngan = preset_recipe("sngan")
    assert sngan["spectral_norm"] and (sngan["lr"], sngan["lr_d"]) == (1e-4, 4e-4) and sngan["loss"] == "hinge"
    assert preset_recipe("wgan-gp")["d_steps"] == 5
    dcgan = preset_recipe("dcgan")  # the config defaults: DCGAN's Adam 2e-4, beta1 0.5, no EMA
    assert (dcgan["lr"], dcgan["betas"], dcgan["ema_decay"], dcgan["penalty"]) == (2e-4, (0.5, 0.999), None, None)
    assert sample_toy(train_toy_gan(ring_mixture(), steps=3, **lite), 4).isfinite().all()
