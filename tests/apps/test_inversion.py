import pytest
import torch

from ganforge.apps import invert, load_encoder, save_encoder, train_encoder
from ganforge.errors import InputError
from ganforge.metrics import psnr


def test_inversion_recovers_a_generated_image(tiny_gan):
    target = tiny_gan.sample(2, seed=11)
    other = tiny_gan.sample(2, seed=12)
    result = invert(tiny_gan, target, steps=200, restarts=4, lr=0.05, seed=1)
    assert result.latents.shape == (2, 8) and result.images.shape == target.shape and result.space == "z"
    recovered = psnr(result.images, target)
    # A random other sample is the no-skill baseline; the inversion must beat it by far.
    assert (recovered > 30).all() and (recovered > psnr(other, target) + 10).all(), (recovered, psnr(other, target))


def test_known_pixels_only_drive_the_fit(tiny_gan):
    target = tiny_gan.sample(1, seed=5)
    scrambled = target.clone()
    scrambled[..., :8] = -1.0  # garbage in the left half, which is marked unknown
    known = torch.zeros(16, 16, dtype=torch.bool)
    known[:, 8:] = True
    result = invert(tiny_gan, scrambled, known=known, steps=200, restarts=4, seed=1)
    assert psnr(result.images[..., 8:], target[..., 8:]) > 25


def test_inversion_in_w_space_for_the_stylegan_model(tiny_style_gan):
    target = tiny_style_gan.sample(1, seed=3)
    result = invert(tiny_style_gan, target, steps=300, restarts=2, seed=0)
    assert result.space == "w" and psnr(result.images, target) > 25


def test_conditional_inversion_tries_the_classes(tiny_cond_gan):
    target = tiny_cond_gan.sample(1, seed=3, labels=2)
    result = invert(tiny_cond_gan, target, steps=50, restarts=3, seed=0)
    assert result.labels is not None and result.labels.shape == (1,)
    fixed = invert(tiny_cond_gan, target, steps=5, restarts=2, labels=1)
    assert fixed.labels.tolist() == [1]


@pytest.mark.parametrize("images, message", [
    (torch.zeros(1, 1, 16, 16), r"expected \(N, 3, 16, 16\)"),
    (torch.zeros(1, 3, 28, 28), r"expected \(N, 3, 16, 16\)"),
    (torch.full((1, 3, 16, 16), 3.0), r"in \[-1, 1\]"),
])
def test_bad_targets(tiny_gan, images, message):
    with pytest.raises(InputError, match=message):
        invert(tiny_gan, images, steps=1)


def test_bad_known_masks_and_options(tiny_gan):
    target = tiny_gan.sample(1)
    with pytest.raises(InputError, match="known"):
        invert(tiny_gan, target, known=torch.ones(8, 8, dtype=torch.bool), steps=1)
    with pytest.raises(InputError, match="some known pixels"):
        invert(tiny_gan, target, known=torch.zeros(16, 16, dtype=torch.bool), steps=1)
    with pytest.raises(InputError, match="features"):
        invert(tiny_gan, target, feature_weight=1.0, steps=1)
    with pytest.raises(InputError, match="unconditional"):
        invert(tiny_gan, target, labels=1, steps=1)


def test_encoder_start_and_round_trip(tiny_gan, tmp_path):
    encoder = train_encoder(tiny_gan, steps=60, batch_size=32, seed=0)
    z = tiny_gan.latents(64, seed=9)
    with torch.no_grad():
        guess = encoder(tiny_gan.generate(z))
    # Better than guessing zero (the mean latent): error below the latents' own variance.
    assert float(((guess - z) ** 2).mean()) < float((z**2).mean())
    save_encoder(encoder, tmp_path)
    again = load_encoder(tmp_path)
    assert torch.equal(again(tiny_gan.generate(z[:2])), encoder(tiny_gan.generate(z[:2])))
    assert load_encoder(tmp_path / "nothing") is None
    target = tiny_gan.sample(1, seed=4)
    with torch.no_grad():
        start = encoder(target)
    assert torch.allclose(invert(tiny_gan, target, steps=1, restarts=1, lr=1e-9, start=start).latents, start, atol=1e-6)
