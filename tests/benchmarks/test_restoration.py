"""The scoring of benchmarks/restoration.py, on a tiny GAN."""

import pytest
import torch

from benchmarks.restoration import compare_inpainting
from ganforge.apps.inpainting import inpaint_inversion, mean_fill, telea_inpaint
from ganforge.apps.masks import center_box_mask, random_boxes_mask
from tests.apps.conftest import tiny_gan  # noqa: F401 (the fixture)


def test_compare_inpainting_on_a_tiny_subset(tiny_gan):
    images = tiny_gan.sample(3, seed=30)
    holes = {"center": center_box_mask(16), "boxes": random_boxes_mask(16, seed=1)}
    methods = {"mean": mean_fill, "telea": telea_inpaint,
               "inversion": lambda x, h: inpaint_inversion(tiny_gan, x, h, steps=30, restarts=2)[0]}
    classify = lambda x: torch.stack([x.mean((1, 2, 3)), -x.mean((1, 2, 3))], 1)  # noqa: E731
    labels = (images.mean((1, 2, 3)) < 0).long()
    rows = compare_inpainting(images, holes, methods, classify, labels)
    assert [(r["mask"], r["method"]) for r in rows][:4] == [("center", "damaged"), ("center", "mean"),
                                                            ("center", "telea"), ("center", "inversion")]
    assert len(rows) == 8 and all(0 <= r["accuracy"] <= 1 for r in rows)
    by = {(r["mask"], r["method"]): r for r in rows}
    # The damaged input's hole holds zeros; by hand: PSNR inside the hole from its MSE.
    hole = holes["center"]
    expected = 10 * torch.log10(4.0 / (images[:, :, hole] ** 2).mean().double())
    assert by[("center", "damaged")]["hole_psnr"] == pytest.approx(float(expected), rel=1e-6)
    # The generator that made the images fills them far better than the mean.
    assert by[("center", "inversion")]["hole_psnr"] > by[("center", "mean")]["hole_psnr"] + 5
