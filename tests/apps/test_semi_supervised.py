import math

import pytest
import torch

from ganforge.apps.semi_supervised import (
    feature_matching_loss,
    labelled_subset,
    supervised_loss,
    train_semi_supervised,
    unsupervised_loss,
)
from ganforge.errors import InputError


def test_k_plus_one_losses_by_hand():
    k = 10
    zeros = torch.zeros(1, k)
    # Z = 10: p(real) = 10/11. -log(10/11) on the real side, -log(1/11) on the fake side.
    assert float(unsupervised_loss(zeros, zeros)) == pytest.approx(math.log(11 / 10) + math.log(11), rel=1e-6)
    # Confident real logits and very negative fake logits: both terms vanish.
    assert float(unsupervised_loss(torch.full((2, k), 20.0), torch.full((2, k), -20.0))) < 1e-6
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    expected = -(2.0 - math.log(math.exp(2.0) + 2.0))
    assert float(supervised_loss(logits, torch.tensor([0]))) == pytest.approx(expected, rel=1e-6)
    real, fake = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    # means (2, 3) vs (0, 1): squared differences 4 and 4, averaged -> 4.
    assert float(feature_matching_loss(real, fake)) == pytest.approx(4.0)


def test_labelled_subset_is_balanced_and_checked():
    labels = torch.tensor([0, 1, 2] * 5)
    picked = labelled_subset(labels, 2, 3, seed=0)
    assert sorted(labels[picked].tolist()) == [0, 0, 1, 1, 2, 2]
    with pytest.raises(InputError, match="class 0 has only 5 examples"):
        labelled_subset(labels, 6, 3, seed=0)


def _toy_digits(n: int, seed: int):
    """Flat 8x8 'images': class c lights up row c (of 4) plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    images = torch.rand(n, 8, 8, generator=g) * 0.3
    for c in range(4):
        images[labels == c, 2 * c:2 * c + 2] += 0.7
    return images.flatten(1).clamp(0, 1), labels


def test_tiny_end_to_end_run_learns():
    x, y = _toy_digits(400, 0)
    xt, yt = _toy_digits(200, 1)
    result = train_semi_supervised(x, y, xt, yt, labels_per_class=3, epochs=2, batch_size=40, lr=1e-3,
                                   num_classes=4, seed=0)
    assert result.test_error < 0.25 and result.seconds > 0 and result.history
    with pytest.raises(InputError, match="flat"):
        train_semi_supervised(x.view(-1, 8, 8), y, xt, yt, num_classes=4)
