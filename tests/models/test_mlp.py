import pytest
import torch
import torch.nn.functional as F

from ganforge.models.mlp import KPlusOneDiscriminator


def test_discriminator_shapes_and_noise_only_in_training():
    d = KPlusOneDiscriminator(3, in_features=16, hidden=(8, 4))
    x = torch.rand(5, 16)
    logits, features = d(x)
    assert logits.shape == (5, 3) and features.shape == (5, 4)
    assert not torch.equal(d(x)[0], d(x)[0])
    d.eval()
    assert torch.equal(d(x)[0], d(x)[0])


def test_layers_equal_the_explicit_weight_norm_and_only_the_output_scale_trains():
    torch.manual_seed(0)
    d = KPlusOneDiscriminator(3, in_features=6, hidden=(5, 4)).eval()
    with torch.no_grad():
        for scale, bias in zip(d.scales, d.biases):
            scale.uniform_(0.5, 2)
            bias.normal_()
    x = torch.rand(7, 6)
    h = x
    for i, (v, scale, bias) in enumerate(zip(d.directions, d.scales, d.biases)):
        w = scale[:, None] * v / v.norm(dim=1, keepdim=True)  # Salimans & Kingma 2016, eq. 2
        h = F.linear(h, w, bias)
        h = F.relu(h) if i < 2 else h
    torch.testing.assert_close(d(x)[0], h)
    bf16 = d(x, d.layers(torch.bfloat16))[0]
    assert bf16.dtype == torch.bfloat16 and (bf16.float() - h).abs().max() < 0.05 * h.abs().max()
    mixed = d.layers(torch.bfloat16, count=1)
    assert [v.dtype for v, _, _ in mixed] == [torch.bfloat16, torch.float32, torch.float32]
    assert d(x, mixed)[0].dtype == torch.float32
    assert [p.requires_grad for p in d.scales] == [False, False, True]
    assert all(p.requires_grad for p in KPlusOneDiscriminator(3, 6, (5, 4), train_hidden_scales=True).scales)


def test_data_init_standardises_every_layer_and_features_pick_a_layer():
    torch.manual_seed(1)
    d = KPlusOneDiscriminator(3, in_features=10, hidden=(8, 6), input_noise=0, hidden_noise=0, features_at=0)
    x = torch.rand(200, 10)
    d.data_init(x)
    h = x
    for i, (v, factor, bias) in enumerate(d.layers()):
        pre = F.linear(h, v) * factor + bias
        torch.testing.assert_close(pre.mean(0), torch.zeros(len(bias)), atol=1e-5, rtol=0)
        torch.testing.assert_close(pre.pow(2).mean(0), torch.ones(len(bias)), atol=1e-4, rtol=0)
        h = F.relu(pre)
        if i == 0:
            first_hidden = h
    torch.testing.assert_close(d(x)[1], first_hidden)  # features_at=0: the first hidden layer
    with pytest.raises(ValueError, match="features_at"):
        KPlusOneDiscriminator(3, 10, (8, 6), features_at=2)


def test_noise_has_each_layers_standard_deviation():
    torch.manual_seed(2)
    d = KPlusOneDiscriminator(3, in_features=50, hidden=(40, 30), input_noise=0.3, hidden_noise=0.5)
    noise = d.draw_noise(4000)
    assert [tuple(n.shape) for n in noise] == [(4000, 50), (4000, 40), (4000, 30)]
    for n, std in zip(noise, (0.3, 0.5, 0.5)):
        assert abs(float(n.std()) - std) < 0.01 * std and abs(float(n.mean())) < 0.01


def test_direction_std_changes_how_far_a_step_turns_not_the_initialised_function():
    x = torch.rand(64, 784)
    nets = []
    for std in (0.05, 0.1):
        torch.manual_seed(0)
        net = KPlusOneDiscriminator(direction_std=std).eval()
        net.data_init(x)
        nets.append(net)
    torch.testing.assert_close(nets[0](x)[0], nets[1](x)[0], rtol=1e-4, atol=1e-4)
    norms = [float(torch.linalg.vector_norm(net.directions[0], dim=1).mean()) for net in nets]
    assert norms[1] == pytest.approx(2 * norms[0], rel=1e-5) and norms[0] == pytest.approx(0.05 * 784 ** 0.5, rel=0.02)
    gradients = []
    for net in nets:
        net(x)[0].sum().backward()
        gradients.append(float(net.directions[0].grad.norm()))
    assert gradients[0] == pytest.approx(2 * gradients[1], rel=1e-3)  # d w / d v ~ 1 / |v|


def test_generator_paper_init_keeps_the_state_dict_keys_and_follows_lasagne():
    from ganforge.models.mlp import MLPImageGenerator

    torch_default, paper = MLPImageGenerator(), MLPImageGenerator(paper_init=True)
    assert torch_default.state_dict().keys() == paper.state_dict().keys()
    trained = {name for name, p in paper.named_parameters() if p.requires_grad}
    assert "net.1.weight" not in trained and "net.1.bias" in trained and paper.net[1].eps == 1e-6
    limit = (6 / (500 + 500)) ** 0.5  # Glorot uniform
    assert 0.9 * limit < float(paper.net[3].weight.abs().max()) <= limit
    torch.testing.assert_close(torch.linalg.vector_norm(paper.net[6].weight, dim=1), torch.ones(784))
    images = paper(torch.rand(32, 100))
    assert images.shape == (32, 784) and 0 <= float(images.min()) and float(images.max()) <= 1
