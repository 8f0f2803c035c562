import pytest
import torch
from torch import nn

from ganforge.config import DataConfig, ModelConfig
from ganforge.models import DCGANDiscriminator, DCGANGenerator, build_discriminator, build_generator


@pytest.mark.parametrize("size, channels", [(16, 3), (28, 1), (32, 3), (64, 3), (64, 1)])
def test_shapes_and_ranges(size, channels):
    g = DCGANGenerator(latent_dim=10, channels=channels, image_size=size, width=8)
    d = DCGANDiscriminator(channels=channels, image_size=size, width=8)
    images = g(torch.randn(3, 10) * 10)  # large inputs saturate tanh but never leave [-1, 1]
    assert images.shape == (3, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1
    logits = d(images)
    assert logits.shape == (3,)


def test_the_paper_layout_at_64px():
    g = DCGANGenerator(latent_dim=100, channels=3, image_size=64, width=64)
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    # 100 -> 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3
    assert [(c.in_channels, c.out_channels) for c in convs] == [(100, 512), (512, 256), (256, 128), (128, 64), (64, 3)]
    x, sizes = torch.randn(2, 100, 1, 1), []
    for layer in g.net:
        x = layer(x)
        if isinstance(layer, nn.ConvTranspose2d):
            sizes.append(x.shape[-1])
    assert sizes == [4, 8, 16, 32, 64]
    assert isinstance(g.net[-1], nn.Tanh)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 4  # all but the output layer


def test_mnist_generator_starts_from_7x7():
    g = DCGANGenerator(latent_dim=100, channels=1, image_size=28, width=64)
    first = g.net[0]
    assert first.kernel_size == (7, 7) and first.out_channels == 128


def test_discriminator_outputs_logits_with_leaky_relu_and_dropout():
    d = DCGANDiscriminator(channels=1, image_size=28, width=16, dropout=0.3)
    acts = [m for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert acts and all(a.negative_slope == 0.2 for a in acts)
    assert all(m.p == 0.3 for m in d.modules() if isinstance(m, nn.Dropout))
    assert not any(isinstance(m, nn.Sigmoid) for m in d.modules())
    assert not isinstance(d.net[1], nn.BatchNorm2d)  # no BatchNorm on the first layer
    with torch.no_grad():
        d.net[-1].bias.fill_(5.0)  # a logit, not a probability: it can leave [0, 1]
    assert (d.eval()(torch.zeros(2, 1, 28, 28)) > 1).all()
    assert not any(isinstance(m, nn.Dropout) for m in DCGANDiscriminator(dropout=0.0).modules())


def test_generator_takes_latents_only():
    g = DCGANGenerator(latent_dim=10, channels=1, image_size=28, width=8)
    with pytest.raises(RuntimeError):
        g(torch.randn(2, 1, 28, 28))


def test_init_is_dcgan_and_reproducible():
    data, model = DataConfig(image_size=32, channels=3), ModelConfig(width=32)
    a, b = build_generator(model, data, seed=1), build_generator(model, data, seed=1)
    for (_, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(pa, pb)
    weights = torch.cat([m.weight.flatten() for m in a.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert weights.mean().item() == pytest.approx(0.0, abs=1e-3)
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    bn = [m for m in a.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.all(m.bias == 0) for m in bn)
    assert torch.cat([m.weight for m in bn]).mean().item() == pytest.approx(1.0, abs=0.01)
    c = build_discriminator(model, data, seed=2)
    assert not torch.equal(next(c.parameters()), next(build_discriminator(model, data, seed=3).parameters()))


@pytest.mark.parametrize("size", [8, 24, 30, 48])
def test_unsupported_resolution(size):
    with pytest.raises(ValueError, match="28 or a power of two"):
        DCGANGenerator(image_size=size)


def test_spectral_norm_makes_the_largest_singular_value_one():
    d = DCGANDiscriminator(channels=3, image_size=16, width=8, spectral_norm=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    d.train()
    for _ in range(30):  # each training forward runs one power iteration
        d(torch.randn(2, 3, 16, 16))
    d.eval()
    for layer in (m for m in d.modules() if isinstance(m, nn.Conv2d)):
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, rel=2e-2)


def test_spectral_norm_init_is_seeded():
    data, model = DataConfig(image_size=16, channels=3), ModelConfig(width=8, spectral_norm=True)
    a, b = build_discriminator(model, data, seed=5), build_discriminator(model, data, seed=5)
    key = "net.0.parametrizations.weight.original"
    assert torch.equal(a.state_dict()[key], b.state_dict()[key])
    assert a.state_dict()[key].std().item() == pytest.approx(0.02, rel=0.2)


def test_conditional_generator_joins_the_class_embedding_to_z():
    g = DCGANGenerator(latent_dim=6, channels=1, image_size=28, width=8, num_classes=10).eval()
    assert g.net[0].in_channels == 12  # z and the class embedding
    z = torch.randn(2, 6)
    labels = torch.tensor([3, 7])
    joined = torch.cat([z, g.embed.weight[labels]], 1).view(2, 12, 1, 1)
    assert torch.equal(g(z, labels), g.net(joined))
    assert not torch.allclose(g(z, torch.tensor([0, 0])), g(z, torch.tensor([9, 9])))
    soft = torch.zeros(2, 10)
    soft[:, 3] = 1.0  # a one-hot soft label is that class
    assert torch.allclose(g(z, soft), g(z, torch.tensor([3, 3])))
    with pytest.raises(ValueError, match="pass labels"):
        g(z)
    with pytest.raises(ValueError, match="unconditional"):
        DCGANGenerator(latent_dim=6, width=8)(z, labels)


def test_projection_discriminator_adds_the_class_embedding_inner_product_to_the_dcgan_logit():
    d = DCGANDiscriminator(channels=1, image_size=28, width=8, num_classes=10).eval()
    x = torch.randn(3, 1, 28, 28)
    labels = torch.tensor([0, 9, 4])
    features = d.net[:-1](x)  # (3, 16, 7, 7): after the last LeakyReLU
    expected = d.net[-1](features).view(-1) + (d.projection.weight[labels] * features.sum((2, 3))).sum(1)
    assert torch.allclose(d(x, labels), expected, atol=1e-5)
    with pytest.raises(ValueError, match="pass labels"):
        d(x)
    head = DCGANDiscriminator(channels=1, image_size=28, width=8, num_classes=10, class_head="acgan",
                              spectral_norm=True)
    logits, classes = head(x)
    assert logits.shape == (3,) and classes.shape == (3, 10)
    assert nn.utils.parametrize.is_parametrized(head.classifier, "weight")
    with pytest.raises(ValueError, match="class_head must be one of projection, acgan, projection\\+acgan"):
        DCGANDiscriminator(num_classes=10, class_head="aux")


def test_projection_plus_acgan_head_returns_the_projected_logit_and_class_logits():
    d = DCGANDiscriminator(channels=1, image_size=28, width=8, num_classes=10, class_head="projection+acgan").eval()
    x, labels = torch.randn(3, 1, 28, 28), torch.tensor([2, 7, 7])
    h = d.net[:-1](x).sum((2, 3))
    logits, classes = d(x, labels)
    assert torch.allclose(logits, d.net[-1](d.net[:-1](x)).view(-1) + (d.projection.weight[labels] * h).sum(1),
                          atol=1e-5)
    assert torch.allclose(classes, h @ d.classifier.weight.T + d.classifier.bias, atol=1e-5)
    with pytest.raises(ValueError, match="pass labels"):
        d(x)  # the projection still needs them


def test_unconditional_layers_and_checkpoint_keys_are_unchanged_by_conditioning():
    # a DCGAN checkpoint from before conditional DCGANs existed still loads: same keys, same shapes
    g, d = DCGANGenerator(width=8), DCGANDiscriminator(width=8)
    assert [k for k in g.state_dict() if not k.startswith("net.")] == []
    assert [k for k in d.state_dict() if not k.startswith("net.")] == []
    assert g.net[0].in_channels == 100 and not hasattr(g, "embed")


def test_conditional_init_is_seeded_with_an_n01_class_embedding():
    data, model = DataConfig(), ModelConfig(width=8, num_classes=10)
    a, b = build_generator(model, data, seed=4), build_generator(model, data, seed=4)
    assert torch.equal(a.embed.weight, b.embed.weight)
    assert a.embed.weight.std().item() == pytest.approx(1.0, abs=0.3)  # 10 x 100 draws
    d = build_discriminator(model, data, seed=4)
    assert d.projection.weight.std().item() == pytest.approx(0.02, rel=0.2)
    # the unconditional draws are untouched by the new branches
    plain = build_generator(ModelConfig(width=8), data, seed=4)
    assert plain.net[0].weight.std().item() == pytest.approx(0.02, rel=0.05)
