import math

import pytest
import torch

from ganforge.losses import (
    LOSSES,
    discriminator_loss_bce,
    discriminator_loss_hinge,
    discriminator_loss_least_squares,
    discriminator_loss_relativistic,
    generator_loss_hinge,
    generator_loss_least_squares,
    generator_loss_minimax,
    generator_loss_nonsaturating,
    generator_loss_relativistic,
    with_label_smoothing,
)

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
    # logits (positive gradient) and G raises them (negative gradient), for every registered loss
    # (at logits in (0, 1), where least squares' targets 0 and 1 also agree on the direction).
    for name in LOSSES:
        pair = LOSSES.get(name)
        fake_d = torch.tensor([0.3, 0.6], requires_grad=True)
        pair.discriminator(torch.zeros(2), fake_d).backward()
        fake_g = torch.tensor([0.3, 0.6], requires_grad=True)
        pair.generator(fake_g, torch.zeros(2)).backward()
        assert (fake_d.grad > 0).all() and (fake_g.grad < 0).all(), name


def test_hinge_by_hand():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0])
    # relu(1 - 2) = 0, relu(1 - 0.5) = 0.5 -> 0.25; relu(1 - 3) = 0, relu(1 + 0) = 1 -> 0.5
    assert discriminator_loss_hinge(real, fake).item() == pytest.approx(0.75)
    assert generator_loss_hinge(fake).item() == pytest.approx(1.5)


def test_least_squares_by_hand():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    # 1/2 mean((0, 2)^2) = 1; 1/2 mean((0, 2)^2) = 1
    assert discriminator_loss_least_squares(real, fake).item() == pytest.approx(2.0)
    # 1/2 mean((-1, 1)^2) = 0.5
    assert generator_loss_least_squares(fake).item() == pytest.approx(0.5)


def test_relativistic_by_hand():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])  # means 2 and 1
    # D: softplus(-(r - 1)) over r = (1, 3) and softplus(f - 2) over f = (0, 2)
    expected_d = (softplus(0.0) + softplus(-2.0)) / 2 + (softplus(-2.0) + softplus(0.0)) / 2
    assert discriminator_loss_relativistic(real, fake).item() == pytest.approx(expected_d)
    # G: softplus(-(f - 2)) and softplus(r - 1)
    expected_g = (softplus(2.0) + softplus(0.0)) / 2 + (softplus(0.0) + softplus(2.0)) / 2
    assert generator_loss_relativistic(fake, real).item() == pytest.approx(expected_g)
    with pytest.raises(ValueError, match="needs the real logits"):
        generator_loss_relativistic(fake)
    # Equal logits everywhere: every term is softplus(0) = log 2.
    zero = torch.zeros(4)
    assert discriminator_loss_relativistic(zero, zero).item() == pytest.approx(2 * LOG2)


def test_wasserstein_by_hand():
    from ganforge.losses import discriminator_loss_wasserstein, generator_loss_wasserstein

    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0])
    assert discriminator_loss_wasserstein(real, fake).item() == pytest.approx(1.0 - 2.0)
    assert generator_loss_wasserstein(fake).item() == pytest.approx(-1.0)


def test_one_sided_label_smoothing_by_hand():
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    expected = 0.9 * softplus(-2.0) + 0.1 * softplus(2.0) + softplus(-1.0)
    assert discriminator_loss_bce(real, fake, real_target=0.9).item() == pytest.approx(expected, rel=1e-6)
    assert discriminator_loss_bce(real, fake, real_target=1.0).item() == pytest.approx(softplus(-2.0) + softplus(-1.0), rel=1e-6)
    smoothed = with_label_smoothing(LOSSES.get("nonsaturating"), 0.1)  # the target 1 - 0.1 reaches D's loss
    assert smoothed.discriminator(real, fake).item() == pytest.approx(expected, rel=1e-6)
    assert smoothed.generator is LOSSES.get("nonsaturating").generator  # one-sided: G's loss unchanged
    assert with_label_smoothing(LOSSES.get("hinge"), 0) is LOSSES.get("hinge")
    with pytest.raises(ValueError, match="needs a BCE discriminator loss"):
        with_label_smoothing(LOSSES.get("hinge"), 0.1)
