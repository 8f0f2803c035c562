import math

import pytest
import torch

from ganforge.losses import LOSSES, discriminator_loss_bce, generator_loss_minimax, generator_loss_nonsaturating

LOG2 = math.log(2.0)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_values_at_zero_logits_are_log2():
    zero = torch.zeros(5)
    # D(x) = D(G(z)) = 1/2: -log(1/2) - log(1 - 1/2) = 2 log 2.
    assert discriminator_loss_bce(zero, zero).item() == pytest.approx(2 * LOG2)
    assert generator_loss_nonsaturating(zero).item() == pytest.approx(LOG2)
    assert generator_loss_minimax(zero).item() == pytest.approx(-LOG2)


def test_hand_computed_values():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, -3.0])
    # -log sigmoid(l) = softplus(-l);  -log(1 - sigmoid(l)) = softplus(l)
    expected_d = (softplus(-2.0) + softplus(1.0)) / 2 + (softplus(0.5) + softplus(-3.0)) / 2
    assert discriminator_loss_bce(real, fake).item() == pytest.approx(expected_d, rel=1e-6)
    assert expected_d == pytest.approx(1.2314, abs=1e-4)  # (0.1269 + 1.3133) / 2 + (0.9741 + 0.0486) / 2
    expected_ns = (softplus(-0.5) + softplus(3.0)) / 2
    assert generator_loss_nonsaturating(fake).item() == pytest.approx(expected_ns, rel=1e-6)
    expected_mm = -(softplus(0.5) + softplus(-3.0)) / 2
    assert generator_loss_minimax(fake).item() == pytest.approx(expected_mm, rel=1e-6)


def test_matches_probability_form_where_that_is_safe():
    real, fake = torch.randn(100, generator=torch.Generator().manual_seed(0)), torch.randn(100)
    d_real, d_fake = torch.sigmoid(real.double()), torch.sigmoid(fake.double())
    expected = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    assert discriminator_loss_bce(real.double(), fake.double()).item() == pytest.approx(expected.item(), rel=1e-12)


def test_extreme_logits_stay_finite():
    big = torch.tensor([1000.0, -1000.0])
    for value in (discriminator_loss_bce(big, big), generator_loss_nonsaturating(big), generator_loss_minimax(big)):
        assert torch.isfinite(value)
    # A confident, correct discriminator has (almost) zero loss.
    assert discriminator_loss_bce(torch.tensor([50.0]), torch.tensor([-50.0])).item() == pytest.approx(0.0, abs=1e-12)


def test_generator_gradients_show_why_nonsaturating_is_the_default():
    # With D confidently rejecting a fake (logit -5), the minimax gradient w.r.t. the logit is
    # -sigmoid(-5) ~ -0.0067 (vanishing) while the non-saturating one is sigmoid(-5) - 1 ~ -0.9933.
    for loss, expected in ((generator_loss_minimax, -torch.sigmoid(torch.tensor(-5.0))),
                           (generator_loss_nonsaturating, torch.sigmoid(torch.tensor(-5.0)) - 1)):
        logit = torch.tensor([-5.0], requires_grad=True)
        loss(logit).backward()
        assert logit.grad.item() == pytest.approx(expected.item(), rel=1e-6)


def test_the_players_pull_the_fake_logits_in_opposite_directions():
    # The classic blog mistake writes one formula for both players; here D lowers the fake
    # logits (positive gradient) and G raises them (negative gradient), for every registered loss.
    for name in LOSSES:
        pair = LOSSES.get(name)
        fake_d = torch.tensor([0.3, -0.7], requires_grad=True)
        pair.discriminator(torch.zeros(2), fake_d).backward()
        fake_g = torch.tensor([0.3, -0.7], requires_grad=True)
        pair.generator(fake_g).backward()
        assert (fake_d.grad > 0).all() and (fake_g.grad < 0).all(), name
