import pytest
import torch

from ganforge.apps.inpainter import train_inpainter
from ganforge.apps.inpainting import inpaint_net, mean_fill
from ganforge.apps.masks import center_box_mask
from ganforge.errors import InputError
from ganforge.metrics import psnr
from ganforge.models.unet import unet_depth


def test_inpainting_net_trains_and_keeps_known_pixels():
    torch.manual_seed(0)
    images = torch.linspace(-1, 1, 16).view(1, 1, 1, 16).expand(64, 1, 16, 16) * torch.rand(64, 1, 1, 1)
    result, config = train_inpainter(images, steps=60, batch_size=16, width=8, adversarial_weight=1.0, log_every=20)
    assert config.depth == unet_depth(16) == 2 and result.history[-1]["l1"] < result.history[0]["l1"]
    hole = center_box_mask(16, 0.5)
    out = inpaint_net(result.generator, images[:4], hole)
    assert torch.equal(out[:, :, ~hole], images[:4, :, ~hole])
    assert psnr(out, images[:4]).mean() > psnr(mean_fill(images[:4], hole), images[:4]).mean()
    with pytest.raises(InputError, match="takes"):
        inpaint_net(result.generator, torch.zeros(1, 3, 16, 16), hole)
