import math

import pytest
import torch
import torch.nn.functional as F

from ganforge.training.image2image import Image2ImageConfig, train_image_to_image


def _sign_batches(rng: torch.Generator):
    """Noisy images of 4x4 squares, bright or dark at random; a pixel's label is which."""
    bright = torch.randint(2, (8, 4, 4), generator=rng).repeat_interleave(4, 1).repeat_interleave(4, 2)
    x = (bright * 2 - 1).float()[:, None] + 0.3 * torch.randn(8, 1, 16, 16, generator=rng)
    y = F.one_hot(bright, 2).permute(0, 3, 1, 2).float() * 2 - 1
    return x, y


@pytest.mark.parametrize("adversarial_weight", [0.0, 1.0])
def test_cross_entropy_learns_a_label_map(adversarial_weight):
    config = Image2ImageConfig(1, 2, depth=2, width=8, steps=60, lr=2e-3, log_every=10,
                               adversarial_weight=adversarial_weight, reconstruction="cross_entropy")
    result = train_image_to_image(config, _sign_batches)
    first, last = result.history[0]["cross_entropy"], result.history[-1]["cross_entropy"]
    assert first < 2 * math.log(2) and last < 0.25 * first
    assert ("loss_d" in result.history[-1]) == (adversarial_weight > 0)
    assert result.generator.output == "logits"
    x, y = _sign_batches(torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert (result.generator(x).argmax(1) == y.argmax(1)).float().mean() > 0.95


def test_l1_reconstruction_keeps_the_tanh_net_and_bad_names_fail():
    config = Image2ImageConfig(1, 2, depth=2, width=8, steps=2, log_every=1, adversarial_weight=0)
    result = train_image_to_image(config, _sign_batches)
    assert result.generator.output == "tanh" and set(result.history[0]) == {"step", "l1"}
    with pytest.raises(ValueError, match="reconstruction must be one of"):
        Image2ImageConfig(1, 2, reconstruction="dice")
