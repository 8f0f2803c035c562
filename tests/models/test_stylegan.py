import math

import pytest
import torch
import torch.nn.functional as F

from ganforge.config import DataConfig, ModelConfig
from ganforge.models import build_discriminator, build_generator
from ganforge.models.stylegan import EqualLinear, MappingNetwork, ModulatedConv2d, StyleGenerator


@pytest.mark.parametrize("size, channels, classes", [(16, 3, 0), (28, 1, 0), (32, 3, 4)])
def test_shapes_and_ranges(size, channels, classes):
    g = StyleGenerator(latent_dim=8, channels=channels, image_size=size, width=8, num_classes=classes)
    labels = torch.tensor([0, classes - 1]) if classes else None
    images = g(torch.randn(2, 8) * 10, labels)
    assert images.shape == (2, channels, size, size) and images.abs().max() <= 1
    assert len(g.to_rgb) == 1 + math.log2(size // (7 if size == 28 else 4))


def test_modulated_conv_equals_the_per_sample_demodulated_kernel():
    torch.manual_seed(0)
    conv = ModulatedConv2d(3, 5, 3, w_dim=4)
    x, w = torch.randn(2, 3, 6, 6), torch.randn(2, 4)
    out = conv(x, w)
    style = conv.affine(w)
    for i in range(2):  # StyleGAN2 eqs. 1-3: w'_ijk = s_i w_ijk, then w'' = w' / sqrt(sum w'^2 + eps)
        kernel = conv.weight * conv.scale * style[i][None, :, None, None]
        kernel = kernel / torch.sqrt(kernel.square().sum((1, 2, 3), keepdim=True) + 1e-8)
        assert torch.allclose(out[i:i + 1], F.conv2d(x[i:i + 1], kernel, padding=1), atol=1e-5)


def test_demodulation_makes_the_output_blind_to_the_weight_scale():
    conv = ModulatedConv2d(4, 4, 3, w_dim=4)
    x, w = torch.randn(2, 4, 5, 5), torch.randn(2, 4)
    before = conv(x, w)
    with torch.no_grad():
        conv.weight.mul_(7.0)
    assert torch.allclose(conv(x, w), before, atol=1e-5)


def test_equalised_learning_rate_scales_at_run_time():
    layer = EqualLinear(100, 50, lr_mul=0.01)
    assert abs(float(layer.weight.detach().std()) - 100.0) < 5  # stored as N(0, 1/lr_mul^2)
    effective = layer.weight.detach() * layer.scale
    assert abs(float(effective.std()) - 0.1) < 0.005  # used as N(0, 1/fan_in)


def test_w_avg_tracks_the_mean_w_in_training_only():
    mapping = MappingNetwork(8, 8, depth=2, w_avg_beta=0.9)
    z = torch.randn(16, 8)
    w = mapping(z)
    assert torch.allclose(mapping.w_avg, 0.1 * w.mean(0), atol=1e-6)  # lerp from 0 with beta 0.9
    mapping.eval()
    before = mapping.w_avg.clone()
    mapping(z)
    assert torch.equal(mapping.w_avg, before)


def test_truncation_zero_collapses_to_the_mean_w_and_one_is_untouched():
    g = StyleGenerator(latent_dim=8, channels=3, image_size=16, width=8)
    g(torch.randn(32, 8))  # a training-mode pass sets w_avg
    g.eval()
    z = torch.randn(3, 8)
    images = g(z, truncation=0.0)
    assert torch.allclose(images[0], images[1], atol=1e-6) and torch.allclose(images[0], images[2], atol=1e-6)
    torch.testing.assert_close(images, g.synthesis(g.mapping.w_avg.expand(3, -1)), rtol=0, atol=1e-6)  # at w_avg
    w, w_avg = g.mapping(z), g.mapping.w_avg
    torch.testing.assert_close(g.mapping(z, truncation=0.5), w_avg + 0.5 * (w - w_avg), rtol=1e-5, atol=1e-6)
    assert torch.equal(g(z, truncation=1.0), g(z))


def test_noise_is_fresh_in_training_and_fixed_in_eval():
    g = StyleGenerator(latent_dim=8, channels=3, image_size=16, width=8)
    with torch.no_grad():
        for layer in g.layers:
            layer.noise_strength.fill_(0.5)
    z = torch.randn(2, 8)
    assert not torch.equal(g(z), g(z))
    g.eval()
    assert torch.equal(g(z), g(z))


def test_conditional_generator_needs_labels_and_uses_them():
    g = StyleGenerator(latent_dim=8, channels=3, image_size=16, width=8, num_classes=3).eval()
    z = torch.randn(2, 8)
    with pytest.raises(ValueError, match="labels"):
        g(z)
    assert not torch.allclose(g(z, torch.tensor([0, 0])), g(z, torch.tensor([1, 1])))
    with pytest.raises(ValueError, match="unconditional"):
        StyleGenerator(latent_dim=8, channels=3, image_size=16, width=8)(z, torch.tensor([0, 1]))


def test_seeded_build_is_reproducible_and_trains():
    model, data = ModelConfig(arch="stylegan", latent_dim=8, width=8), DataConfig(dataset="shapes", image_size=16, channels=3)
    a, b = build_generator(model, data, seed=5), build_generator(model, data, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    d = build_discriminator(model, data, seed=6)
    loss = F.softplus(-d(a(torch.randn(4, 8)))).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in a.parameters())
