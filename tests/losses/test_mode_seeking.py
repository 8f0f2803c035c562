import pytest
import torch

from ganforge.losses import mode_seeking_loss


def test_mode_seeking_by_hand():
    z_a, z_b = torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 3.0]])  # mean |dz| = 2
    fake_a, fake_b = torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.5)  # mean |dx| = 0.5
    assert float(mode_seeking_loss(fake_a, fake_b, z_a, z_b)) == pytest.approx(1 / (0.25 + 1e-5))
    # A generator that ignores z pays 1 / eps; one that moves images twice as far as z, 1 / 2.
    assert float(mode_seeking_loss(fake_a, fake_a, z_a, z_b)) == pytest.approx(1e5)
    assert float(mode_seeking_loss(2 * z_a.view(1, 1, 1, 2), 2 * z_b.view(1, 1, 1, 2), z_a, z_b)) == \
        pytest.approx(1 / (2 + 1e-5))


def test_mode_seeking_gradient_spreads_the_images():
    fake_a = torch.zeros(2, 3, requires_grad=True)
    fake_b = torch.tensor([[0.1, -0.1, 0.2], [0.0, 0.3, -0.2]])
    mode_seeking_loss(fake_a, fake_b, torch.zeros(2, 4), torch.ones(2, 4)).backward()
    # Descending the loss moves fake_a away from fake_b, element by element.
    step = -fake_a.grad
    assert (torch.sign(step) == -torch.sign(fake_b)).all()


def test_mode_seeking_rejects_unpaired_shapes():
    with pytest.raises(ValueError, match="row by row"):
        mode_seeking_loss(torch.zeros(2, 3), torch.zeros(3, 3), torch.zeros(2, 4), torch.zeros(2, 4))
