import torch
import torch.nn.functional as F

from ganforge.models.resnet import ResNetDiscriminator
from ganforge.models.spectral import PowerIteration, spectral_norms


def _buffers(d):
    return {k: v.clone() for k, v in d.state_dict().items()}


def test_forward_passes_only_read_u_and_v_and_each_call_is_one_power_iteration():
    torch.manual_seed(0)
    d = ResNetDiscriminator(3, 16, 8, spectral_norm=True)
    keys = set(d.state_dict())
    iterate = PowerIteration(d)
    assert len(iterate) == len(spectral_norms(d)) > 3
    before = _buffers(d)
    x = torch.randn(2, 3, 16, 16)
    d(x).sum().backward()
    d(x * 2).sum().backward()  # D twice before an update, as a step runs it: u and v untouched
    assert all(torch.equal(v, before[k]) for k, v in d.state_dict().items())
    weights, norm = spectral_norms(d)[0]
    matrix = weights.original.detach().flatten(1)
    u = F.normalize(matrix @ norm._v, dim=0)
    v = F.normalize(matrix.T @ u, dim=0)
    iterate()
    torch.testing.assert_close(norm._u, u)
    torch.testing.assert_close(norm._v, v)
    assert set(d.state_dict()) == keys  # checkpoints keep their keys


def test_repeated_iterations_normalise_the_largest_singular_value_to_one():
    torch.manual_seed(1)
    d = ResNetDiscriminator(3, 16, 8, spectral_norm=True)
    iterate = PowerIteration(d)
    d.train()  # undoes the hold: the next call redoes it
    for _ in range(50):
        iterate()
    before = _buffers(d)
    d(torch.randn(2, 3, 16, 16))
    assert all(torch.equal(v, before[k]) for k, v in d.state_dict().items())
    for weights, norm in spectral_norms(d):
        normalised = weights.original.detach().flatten(1) / torch.dot(norm._u, weights.original.detach().flatten(1) @ norm._v)
        assert abs(float(torch.linalg.matrix_norm(normalised, 2)) - 1) < 1e-3


def test_a_network_built_from_a_seed_does_not_depend_on_the_global_rng():
    from ganforge.config import DataConfig, ModelConfig
    from ganforge.models import build_discriminator

    model, data = ModelConfig(arch="resnet", spectral_norm=True, width=8), DataConfig(image_size=16, channels=3)
    torch.manual_seed(0)
    a = build_discriminator(model, data, seed=1)
    torch.manual_seed(5)
    b = build_discriminator(model, data, seed=1)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    weights, norm = spectral_norms(a)[0]
    matrix = weights.original.detach().flatten(1)
    estimate, largest = torch.dot(norm._u, matrix @ norm._v), torch.linalg.matrix_norm(matrix, 2)
    assert 0.8 * largest < estimate <= largest * (1 + 1e-6)  # 15 iterations in: from below, near
