import pytest
import torch
from torch import nn

from ganforge.training.ema import EMA


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_decay_zero_equals_the_model():
    model = net()
    ema = EMA(model, decay=0.0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    model.train()(torch.randn(8, 3))  # moves the BatchNorm statistics
    ema.update(model)
    for a, b in zip(ema.shadow.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)


def test_decay_by_hand():
    model = net()
    ema = EMA(model, decay=0.75)
    before = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(4.0)
    ema.update(model)
    # 0.75 * w + 0.25 * (w + 4) = w + 1
    assert torch.allclose(ema.shadow[0].weight, before + 1.0)
    assert not ema.shadow[0].weight.requires_grad and not ema.shadow.training


def test_warm_up_forgets_the_initial_weights_quickly():
    ema = EMA(net(), decay=0.999)
    assert ema.decay_at(0) == pytest.approx(0.1) and ema.decay_at(90) == pytest.approx(0.91)
    assert ema.decay_at(10**6) == 0.999 and ema.decay_at(None) == 0.999
    model = net()
    with torch.no_grad():
        model[0].weight.add_(10.0)
    ema.update(model, step=0)  # 0.1 * w + 0.9 * (w + 10) = w + 9
    assert torch.allclose(ema.shadow[0].weight, net()[0].weight + 9.0)


def test_bad_decay():
    with pytest.raises(ValueError):
        EMA(net(), decay=1.0)
