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


def test_penalties_on_images():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    for name in PENALTIES:
        assert torch.isfinite(PENALTIES.get(name)(critic, real, fake))
