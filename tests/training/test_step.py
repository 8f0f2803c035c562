import math

import pytest
import torch
import torch.nn.functional as F

from ganforge.data.shapes import load_shapes
from ganforge.data.transforms import to_signed
from ganforge.losses import LOSSES, PENALTIES
from ganforge.models.mlp import MLPDiscriminator, MLPGenerator
from ganforge.models.resnet import ResNetDiscriminator, ResNetGenerator
from ganforge.training.step import Players, StepOptions, _class_loss, critic, train_step


def test_class_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    expected = (math.log(1 + math.exp(-2.0)) + math.log(2.0)) / 2  # -log softmax of the true class
    assert math.isclose(float(_class_loss(logits, torch.tensor([0, 1]))), expected, rel_tol=1e-6)
    assert math.isclose(float(_class_loss(logits, torch.tensor([0, 1]), 0.3)), 0.3 * expected, rel_tol=1e-6)
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
        train_step(Players(g, d, opt_g, opt_d), StepOptions(LOSSES.get("nonsaturating")), [(real, labels)], noise)
    assert real_class_loss() < 0.6 * before  # without the term the head never moves


@pytest.mark.parametrize("weight", [1.0, 0.3])
def test_projection_plus_acgan_losses_are_the_adversarial_ones_plus_the_weighted_class_terms(weight):
    torch.manual_seed(0)
    g = ResNetGenerator(latent_dim=8, channels=3, image_size=16, width=8, num_classes=3)
    d = ResNetDiscriminator(channels=3, image_size=16, width=8, spectral_norm=False, num_classes=3,
                            class_head="projection+acgan")
    real, real_labels = torch.rand(4, 3, 16, 16) * 2 - 1, torch.tensor([0, 1, 2, 1])
    z, fake_labels = torch.randn(4, 8), torch.tensor([2, 2, 0, 1])
    loss = LOSSES.get("nonsaturating")
    with torch.no_grad():  # before the step's updates: the losses it reports are of these weights
        fake = g(z, fake_labels)
        (real_logits, real_classes), (fake_logits, fake_classes) = d(real, real_labels), d(fake, fake_labels)
        expected_d = (loss.discriminator(real_logits, fake_logits) + weight * F.cross_entropy(real_classes, real_labels)
                      + weight * F.cross_entropy(fake_classes, fake_labels))
        expected_g = loss.generator(fake_logits, None) + weight * F.cross_entropy(fake_classes, fake_labels)
    opt_g, opt_d = torch.optim.SGD(g.parameters(), 0.0), torch.optim.SGD(d.parameters(), 0.0)
    stats = train_step(Players(g, d, opt_g, opt_d), StepOptions(loss, class_weight=weight), [(real, real_labels)],
                       lambda n: (z[:n], fake_labels[:n]))
    assert float(stats.loss_d) == pytest.approx(float(expected_d), rel=1e-5)
    assert float(stats.loss_g) == pytest.approx(float(expected_g), rel=1e-5)
    assert float(F.cross_entropy(real_classes, real_labels)) > 0.5  # the class terms are a real part of it


class _Rows(torch.nn.Module):
    """G(z) = z @ W: with one-hot latents each fake is one row of W, so W's gradient shows which fakes
    G learnt from."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor([[1.0, 0.0], [-1.0, 2.0], [0.5, 0.5], [3.0, -1.0]]))

    def forward(self, z):
        return z @ self.weight


class _Linear(torch.nn.Module):
    """D(x) = x . w (logits (N,)), w = (1, 0.5)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0, 0.5]))

    def forward(self, x):
        return x @ self.w


@pytest.mark.parametrize("fraction, kept", [(1.0, [0, 1, 2, 3]), (0.5, [3, 0]), (0.3, [3])])
def test_top_k_updates_learn_from_the_fakes_d_scores_most_real(fraction, kept):
    # Logits of the four fakes (rows of W): 1.0, 0.0, 0.75, 2.5. Top 2: rows 3 and 0; int(0.3 x 4) = 1: row 3.
    g, d = _Rows(), _Linear()
    logits = torch.tensor([1.0, 0.0, 0.75, 2.5])
    opt_g, opt_d = torch.optim.SGD(g.parameters(), 0.0), torch.optim.SGD(d.parameters(), 0.0)
    stats = train_step(Players(g, d, opt_g, opt_d), StepOptions(LOSSES.get("nonsaturating"), top_k=fraction),
                       [(torch.zeros(4, 2), None)], lambda n: (torch.eye(4)[:n], None))
    expected = sum(math.log(1 + math.exp(-float(logits[i]))) for i in kept) / len(kept)  # softplus(-l), mean
    assert float(stats.loss_g) == pytest.approx(expected, rel=1e-6)
    learnt = [i for i in range(4) if float(g.weight.grad[i].abs().sum()) > 0]
    assert learnt == sorted(kept)  # the other fakes give G no gradient


def test_top_k_refuses_micro_batches():
    g, d = _Rows(), _Linear()
    opt = torch.optim.SGD(g.parameters(), 0.0)
    with pytest.raises(ValueError, match="accumulate 1"):
        train_step(Players(g, d, opt, opt), StepOptions(LOSSES.get("nonsaturating"), top_k=0.5, accumulate=2),
                   [(torch.zeros(4, 2), None)], lambda n: (torch.eye(4)[:n], None))


def _mlp_step(loss: str, accumulate: int, penalty: str | None = None) -> tuple[dict, object]:
    """Two train_steps (2 D updates each) of a BatchNorm-free MLP GAN from fixed weights and data."""
    torch.manual_seed(0)
    g, d = MLPGenerator(4, 2, 16), MLPDiscriminator(2, 16)
    # Plain SGD: its update scales with the gradient, so a wrongly weighted sum would show (Adam hides it).
    opt_g, opt_d = torch.optim.SGD(g.parameters(), 0.5), torch.optim.SGD(d.parameters(), 0.5)
    data = torch.Generator().manual_seed(1)
    noise_rng = torch.Generator().manual_seed(2)
    noise = lambda n: (torch.randn(n, 4, generator=noise_rng), None)  # noqa: E731
    weighted = (lambda critic_fn, real, fake: 10 * PENALTIES.get(penalty)(critic_fn, real, fake)) if penalty else None
    for _ in range(2):
        batches = [(torch.randn(10, 2, generator=data), None) for _ in range(2)]
        stats = train_step(Players(g, d, opt_g, opt_d), StepOptions(LOSSES.get(loss), penalty=weighted,
                                                                    accumulate=accumulate), batches, noise)
    params = {f"g.{k}": v.detach().clone() for k, v in g.named_parameters()}
    params.update({f"d.{k}": v.detach().clone() for k, v in d.named_parameters()})
    return params, stats


# (gp is left out: it draws its random interpolation points per call, so per micro-batch.)
@pytest.mark.parametrize("loss, penalty", [("nonsaturating", None), ("hinge", "r1"), ("wasserstein", "r1")])
@pytest.mark.parametrize("accumulate", [2, 3])  # 3: micro-batches of 4, 3 and 3 weighted by their share
def test_gradient_accumulation_gives_the_same_update(loss, penalty, accumulate):
    whole, whole_stats = _mlp_step(loss, 1, penalty)
    parts, part_stats = _mlp_step(loss, accumulate, penalty)
    worst = max(float((whole[k] - parts[k]).abs().max()) for k in whole)
    assert worst < 1e-5, worst
    for field in ("loss_d", "loss_g", "d_real", "d_fake"):
        assert math.isclose(float(getattr(whole_stats, field)), float(getattr(part_stats, field)), abs_tol=1e-5)


def test_accumulation_cannot_split_below_one_image():
    g, d = MLPGenerator(4, 2, 8), MLPDiscriminator(2, 8)
    opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    with pytest.raises(ValueError, match="cannot split a batch of 2 into 3 micro-batches"):
        train_step(Players(g, d, opt_g, opt_d), StepOptions(LOSSES.get("hinge"), accumulate=3),
                   [(torch.randn(2, 2), None)], lambda n: (torch.randn(n, 4), None))


class _Doubler(torch.nn.Module):
    """G(z) = 2 z as a (N, 1, 1, d) image: |G(z_a) - G(z_b)| / |z_a - z_b| is exactly 2."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(2.0))
        self.d = d

    def forward(self, z):
        return (self.scale * z).view(-1, 1, 1, self.d)


@pytest.mark.parametrize("weight", [0.0, 3.0])
def test_mode_seeking_adds_its_weighted_term_to_g_loss(weight):
    def run(mode_seeking):
        torch.manual_seed(0)
        g, d = _Doubler(4), torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1), torch.nn.Flatten(0))
        opt_g, opt_d = torch.optim.SGD(g.parameters(), 0.1), torch.optim.SGD(d.parameters(), 0.1)
        rng = torch.Generator().manual_seed(1)
        noise = lambda n: (torch.randn(n, 4, generator=rng), None)  # noqa: E731
        real = torch.randn(8, 1, 1, 4, generator=torch.Generator().manual_seed(2))
        stats = train_step(Players(g, d, opt_g, opt_d), StepOptions(LOSSES.get("nonsaturating"),
                                                                    mode_seeking=mode_seeking), [(real, None)], noise)
        return float(stats.loss_g), float(g.scale.detach())

    plain, scale_plain = run(0.0)
    loss_g, scale = run(weight)
    assert loss_g - plain == pytest.approx(weight / (2 + 1e-5), rel=1e-5)
    # L_ms = 1 / (scale + eps) falls as the scale (the spread of the images) grows: SGD raises it.
    assert (scale > scale_plain) == (weight > 0)


def test_the_penalty_sees_the_augmented_images_as_d_does():
    """R1 of a linear D behind x -> 3x is 1/2 |3w|^2: the gradients D is penalised for are those of
    the function it plays with (StyleGAN2-ADA), not those of D on images it never sees."""
    torch.manual_seed(0)
    d = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1), torch.nn.Flatten(0))
    g = _Doubler(4)
    real, z = torch.randn(8, 1, 1, 4), torch.randn(8, 4)
    opt_g, opt_d = torch.optim.SGD(g.parameters(), 0.0), torch.optim.SGD(d.parameters(), 0.0)
    loss = LOSSES.get("nonsaturating")
    options = StepOptions(loss, penalty=PENALTIES.get("r1"), augment=lambda x: 3 * x)
    stats = train_step(Players(g, d, opt_g, opt_d), options, [(real, None)], lambda n: (z[:n], None))
    w = d[1].weight.detach()
    with torch.no_grad():
        adversarial = loss.discriminator(d(3 * real), d(3 * g(z)))
    assert float(stats.loss_d) == pytest.approx(float(adversarial + 0.5 * 9 * (w ** 2).sum()), rel=1e-5)
