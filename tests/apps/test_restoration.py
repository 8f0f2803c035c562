import numpy as np
import pytest
import torch

from ganforge.apps.restoration import add_noise, gaussian_blur, restore_inversion
from ganforge.errors import InputError
from ganforge.metrics import psnr, ssim


def test_corruptions_and_restoration(tiny_gan):
    clean = tiny_gan.sample(1, seed=8)
    noisy = add_noise(clean, 0.3, seed=0)
    assert torch.equal(noisy, add_noise(clean, 0.3, seed=0)) and noisy.abs().max() <= 1
    flat = torch.full((1, 1, 9, 9), 0.3)
    assert torch.allclose(gaussian_blur(flat, 1.0), flat, atol=1e-6)  # blur keeps constants
    restored = restore_inversion(tiny_gan, noisy, "noise", 0.3, steps=150, restarts=2)
    assert psnr(restored, clean) > psnr(noisy, clean)  # the generator's range leaves the noise out
    with pytest.raises(InputError, match="corruption"):
        restore_inversion(tiny_gan, noisy, "rain", 1.0)


def test_psnr_and_ssim_by_hand():
    a = torch.zeros(1, 1, 8, 8)
    b = a + 0.2  # MSE 0.04 -> 10 log10(4 / 0.04) = 20 dB
    assert float(psnr(a, b)[0]) == pytest.approx(20.0, abs=1e-4)
    assert torch.isinf(psnr(a, a)).all()
    torch.manual_seed(0)
    x, y = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    assert np.allclose(ssim(x, x), 1.0)
    slightly = ssim(x, (x + 0.1 * torch.randn(2, 3, 16, 16)).clamp(-1, 1))
    assert (slightly < 1).all() and (slightly > 0.8).all()
    assert (np.abs(ssim(x, y)) < 0.2).all()  # independent noise images share no structure
