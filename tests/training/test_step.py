import math

import torch

from ganforge.data.shapes import load_shapes
from ganforge.data.transforms import to_signed
from ganforge.losses import LOSSES
from ganforge.models.resnet import ResNetDiscriminator, ResNetGenerator
from ganforge.training.step import _class_loss, critic, train_step


def test_class_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    expected = (math.log(1 + math.exp(-2.0)) + math.log(2.0)) / 2  # -log softmax of the true class
    assert math.isclose(float(_class_loss(logits, torch.tensor([0, 1]))), expected, rel_tol=1e-6)
    assert _class_loss(None, None) == 0.0


def test_critic_splits_acgan_outputs():
    d = ResNetDiscriminator(channels=3, image_size=16, width=8, num_classes=3, class_head="acgan")
    logits, classes = critic(d, torch.randn(2, 3, 16, 16), torch.tensor([0, 1]))
    assert logits.shape == (2,) and classes.shape == (2, 3)
    plain = ResNetDiscriminator(channels=3, image_size=16, width=8)
    assert critic(plain, torch.randn(2, 3, 16, 16), None)[1] is None


def test_acgan_steps_teach_the_discriminator_the_classes():
    torch.manual_seed(0)
    data = load_shapes(32, 16, 3)
    real, labels = to_signed(data.images), data.labels
    g = ResNetGenerator(latent_dim=8, channels=3, image_size=16, width=8, num_classes=3)
    d = ResNetDiscriminator(channels=3, image_size=16, width=16, spectral_norm=False, num_classes=3,
                            class_head="acgan")
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 1e-3), torch.optim.Adam(d.parameters(), 1e-3)
    noise = lambda n: (torch.randn(n, 8), torch.randint(3, (n,)))  # noqa: E731

    def real_class_loss() -> float:
        with torch.no_grad():
            return float(_class_loss(d(real)[1], labels))

    before = real_class_loss()
    for _ in range(60):
        train_step(g, d, opt_g, opt_d, LOSSES.get("nonsaturating"), [(real, labels)], noise)
    assert real_class_loss() < 0.6 * before  # without the term the head never moves
