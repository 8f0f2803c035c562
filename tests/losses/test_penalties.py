import pytest
import torch
from torch import nn

from ganforge.losses.penalties import PENALTIES, gradient_penalty, r1_penalty


def linear_critic(weights):
    critic = nn.Linear(len(weights), 1, bias=True)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([weights]))
        critic.bias.fill_(0.3)
    return critic


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic():
    critic = linear_critic([0.6, 0.8])  # ||w|| = 1: 1-Lipschitz with gradient norm exactly 1
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-12)


def test_gradient_penalty_by_hand():
    critic = linear_critic([3.0, 4.0])  # gradient norm 5 everywhere: (5 - 1)^2 = 16
    assert gradient_penalty(critic, torch.randn(8, 2), torch.randn(8, 2)).item() == pytest.approx(16.0)


def test_r1_by_hand_and_differentiable():
    critic = linear_critic([3.0, 4.0])  # 1/2 ||w||^2 = 12.5
    penalty = r1_penalty(critic, torch.randn(8, 2))
    assert penalty.item() == pytest.approx(12.5)
    penalty.backward()  # d/dw 1/2 ||w||^2 = w
    assert torch.allclose(critic.weight.grad, torch.tensor([[3.0, 4.0]]))


def test_penalties_on_images_take_the_norm_over_the_whole_image():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    with torch.no_grad():
        critic[1].weight.fill_(0.5)  # ||w|| = sqrt(12 / 4) = sqrt(3) over channels and pixels together
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    assert PENALTIES.get("gp")(critic, real, fake).item() == pytest.approx((3 ** 0.5 - 1) ** 2, rel=1e-6)
    assert PENALTIES.get("r1")(critic, real, fake).item() == pytest.approx(1.5, rel=1e-6)


class HalfSquaredNorm(nn.Module):
    """D(x) = 1/2 ||x||^2: its gradient is x itself, so the penalty shows where it was taken."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x ** 2).flatten(1).sum(1, keepdim=True)


def test_gradient_penalty_is_taken_at_the_random_mixes_of_real_and_fake():
    real, fake = torch.full((6, 2), 2.0), torch.zeros(6, 2)
    alpha = torch.rand(6, 1, generator=torch.Generator().manual_seed(0))  # x_hat = alpha * real: norm 2 sqrt(2) alpha
    expected = ((2 * 2 ** 0.5 * alpha - 1) ** 2).mean().item()
    got = gradient_penalty(HalfSquaredNorm(), real, fake, generator=torch.Generator().manual_seed(0)).item()
    assert got == pytest.approx(expected, rel=1e-6)
    assert r1_penalty(HalfSquaredNorm(), real).item() == pytest.approx(4.0)  # 1/2 ||(2, 2)||^2, at the real points
