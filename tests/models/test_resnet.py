import pytest
import torch
from torch import nn

from ganforge.config import DataConfig, ModelConfig
from ganforge.models import build_discriminator, build_generator
from ganforge.models.resnet import ResNetDiscriminator, ResNetGenerator, SelfAttention


@pytest.mark.parametrize("size, channels", [(28, 1), (32, 3), (64, 3), (128, 3)])
def test_shapes_and_ranges(size, channels):
    g = ResNetGenerator(latent_dim=8, channels=channels, image_size=size, width=8)
    d = ResNetDiscriminator(channels=channels, image_size=size, width=8)
    images = g(torch.randn(2, 8) * 10)
    assert images.shape == (2, channels, size, size) and images.abs().max() <= 1
    assert d(images).shape == (2,)


def test_discriminator_has_no_batchnorm_and_spectral_norm_when_asked():
    d = ResNetDiscriminator(channels=3, image_size=32, width=8, spectral_norm=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    convs = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert convs and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    plain = ResNetDiscriminator(channels=3, image_size=32, width=8, spectral_norm=False)
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in plain.modules())


def test_self_attention_starts_as_identity_and_learns():
    block = SelfAttention(16)
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(block(x), x)  # gamma = 0
    with torch.no_grad():
        block.gamma.fill_(1.0)
    out = block(x)
    # By the formula: out_i = x_i + gamma * sum_j softmax_j(q_i . k_j) v_j over the 16 positions.
    flat = lambda conv: conv(x).flatten(2)  # (n, channels, positions)
    q, k, v = flat(block.query), flat(block.key), flat(block.value)
    weights = torch.softmax(torch.einsum("nci,ncj->nij", q, k), dim=2)  # (n, i, j): rows sum to 1 over j
    expected = x + torch.einsum("nij,ncj->nci", weights, v).view_as(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_attention_is_placed_at_the_asked_resolution():
    g = ResNetGenerator(latent_dim=8, channels=3, image_size=32, width=8, attention_res=16)
    d = ResNetDiscriminator(channels=3, image_size=32, width=8, attention_res=16)
    assert sum(isinstance(m, SelfAttention) for m in g.modules()) == 1
    assert sum(isinstance(m, SelfAttention) for m in d.modules()) == 1
    assert g(torch.randn(2, 8)).shape == (2, 3, 32, 32)


def test_registry_build_is_seeded():
    data, model = DataConfig(image_size=32, channels=3), ModelConfig(arch="resnet", width=8, spectral_norm=True)
    a, b = build_generator(model, data, seed=3), build_generator(model, data, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    w = build_discriminator(model, data, seed=4).state_dict()["linear.parametrizations.weight.original"]
    bound = (6 / (w.shape[0] + w.shape[1])) ** 0.5
    assert w.abs().max() <= bound  # Xavier-uniform range


def test_attention_and_dropout_are_checked_against_the_arch():
    from ganforge.config import RunConfig
    from ganforge.errors import ConfigError

    with pytest.raises(ConfigError, match="needs --arch resnet"):
        RunConfig(model=ModelConfig(attention_res=14)).validate()
    with pytest.raises(ConfigError, match="applies to --arch dcgan only"):
        RunConfig(model=ModelConfig(arch="resnet", dropout=0.3)).validate()
    RunConfig(data=DataConfig(image_size=32, channels=3), model=ModelConfig(arch="resnet", attention_res=16)).validate()


def test_conditional_batchnorm_uses_each_class_scale_and_shift():
    from ganforge.models.layers import ConditionalBatchNorm2d

    bn = ConditionalBatchNorm2d(2, num_classes=3)
    with torch.no_grad():
        bn.scale.copy_(torch.tensor([[1.0, 1.0], [2.0, 3.0], [0.5, 0.5]]))
        bn.shift.copy_(torch.tensor([[0.0, 0.0], [1.0, -1.0], [0.0, 0.0]]))
    x = torch.randn(4, 2, 3, 3)
    labels = torch.tensor([1, 1, 0, 2])
    normed = nn.functional.batch_norm(x, None, None, training=True)
    out = bn(x, labels)
    assert torch.allclose(out[0], normed[0] * torch.tensor([2.0, 3.0])[:, None, None]
                          + torch.tensor([1.0, -1.0])[:, None, None], atol=1e-5)
    assert torch.allclose(out[2], normed[2], atol=1e-5)
    assert torch.allclose(out[3], normed[3] * 0.5, atol=1e-5)


def test_projection_discriminator_adds_the_class_embedding_inner_product():
    d = ResNetDiscriminator(channels=3, image_size=16, width=8, spectral_norm=False, num_classes=4)
    x = torch.randn(3, 3, 16, 16)
    labels = torch.tensor([0, 3, 1])
    h = nn.functional.relu(d.blocks(x)).sum((2, 3))
    expected = d.linear(h).view(-1) + (d.projection.weight[labels] * h).sum(1)
    assert torch.allclose(d(x, labels), expected, atol=1e-5)
    with pytest.raises(ValueError, match="pass labels"):
        d(x)


def test_acgan_discriminator_returns_class_logits():
    d = ResNetDiscriminator(channels=3, image_size=16, width=8, num_classes=4, class_head="acgan")
    logits, classes = d(torch.randn(2, 3, 16, 16))
    assert logits.shape == (2,) and classes.shape == (2, 4)
    assert nn.utils.parametrize.is_parametrized(d.classifier, "weight")  # spectral norm on the head too


def test_projection_plus_acgan_discriminator_returns_both_terms():
    d = ResNetDiscriminator(channels=3, image_size=16, width=8, num_classes=4, class_head="projection+acgan").eval()
    x, labels = torch.randn(2, 3, 16, 16), torch.tensor([3, 0])
    h = nn.functional.relu(d.blocks(x)).sum((2, 3))
    logits, classes = d(x, labels)
    assert torch.allclose(logits, d.linear(h).view(-1) + (d.projection.weight[labels] * h).sum(1), atol=1e-5)
    assert torch.allclose(classes, d.classifier(h), atol=1e-6)


def test_conditional_generator_gets_labels():
    g = ResNetGenerator(latent_dim=8, channels=3, image_size=16, width=8, num_classes=3)
    with torch.no_grad():
        for m in g.modules():
            if hasattr(m, "shift"):
                m.shift.normal_()
    g.eval()
    z = torch.randn(2, 8)
    assert not torch.allclose(g(z, torch.tensor([0, 0])), g(z, torch.tensor([2, 2])))
    with pytest.raises(ValueError, match="int64 of shape"):
        g(z, torch.tensor([0.0, 1.0]))
