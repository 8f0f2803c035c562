"""Plots: real PNGs of the expected size, each run drawn in its colour, bad input refused."""

import numpy as np
import pytest
from PIL import Image

from ganforge.training.plots import plot_error_curves, plot_evaluation_curves, plot_training_curves

BLUE, ORANGE = (31, 119, 180), (255, 127, 14)  # matplotlib's C0 and C1


def colour_pixels(path, rgb) -> int:
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int((np.abs(pixels - np.array(rgb)).sum(-1) < 30).sum())


def test_error_curves_draw_each_group_in_its_colour_on_a_log_axis(tmp_path):
    history = [{"step": s, "test_error": e} for s, e in ((100, 0.2), (200, 0.05), (300, 0.01))]
    runs = [("seed 0", "GAN", history), ("seed 0", "labels only", history[:2])]
    one = plot_error_curves(runs, tmp_path / "one.png")
    assert Image.open(one).size == (800, 500)
    assert colour_pixels(one, BLUE) > 200 and colour_pixels(one, ORANGE) < 20  # one group: one colour
    two = plot_error_curves(runs + [("seed 1", "GAN", history)], tmp_path / "two.png", reference=("paper", 0.93))
    assert colour_pixels(two, ORANGE) > 200
    with pytest.raises(ValueError, match="at least one run"):
        plot_error_curves([], tmp_path / "none.png")
    with pytest.raises(ValueError, match="at least one record"):
        plot_error_curves([("seed 0", "GAN", [])], tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


def test_training_and_evaluation_curves_write_pngs(tmp_path):
    records = [{"step": s, "loss_d": 1.0 / s, "loss_g": 2.0, "d_real": 0.7, "d_fake": 0.3} for s in (1, 2, 3)]
    path = plot_training_curves(records, tmp_path / "t.png", events=[{"step": 2, "health": "collapse"}])
    assert Image.open(path).size == (800, 600) and colour_pixels(path, BLUE) > 100
    path = plot_evaluation_curves([{"step": 1, "fid": 9.0, "kid": 0.1}, {"step": 2, "fid": 5.0, "kid": 0.05}],
                                  tmp_path / "e.png")
    assert Image.open(path).size == (800, 520)


def test_training_curves_add_a_panel_for_ada(tmp_path):
    records = [{"step": s, "loss_d": 1.0, "loss_g": 2.0, "d_real": 0.7, "d_fake": 0.3, "ada_p": 0.1 * s,
                "ada_rt": 0.5} for s in (1, 2, 3)]
    path = plot_training_curves(records, tmp_path / "ada.png")
    assert Image.open(path).size == (800, 850)
    plain = plot_training_curves([{k: v for k, v in r.items() if not k.startswith("ada")} for r in records],
                                 tmp_path / "plain.png")
    # The third panel draws p in C0 as well: more blue than the two panels alone.
    assert colour_pixels(path, BLUE) > colour_pixels(plain, BLUE) + 100


def test_training_curves_draw_the_learning_rate_factor_of_a_decay(tmp_path):
    # A run resumed with --lr-decay-from: its earlier lines have no lr_scale (drawn as 1).
    records = [{"step": s, "loss_d": 1.0, "loss_g": 2.0, "d_real": 0.7, "d_fake": 0.3} for s in range(1, 11)]
    for r in records[5:]:
        r["lr_scale"] = (10 - r["step"]) / 5
    decayed = plot_training_curves(records, tmp_path / "decay.png")
    plain = plot_training_curves([{k: v for k, v in r.items() if k != "lr_scale"} for r in records],
                                 tmp_path / "plain.png")
    dark = [int((np.asarray(Image.open(p).convert("L")) < 40).sum()) for p in (decayed, plain)]
    assert Image.open(decayed).size == (800, 600) and dark[0] > dark[1] + 100  # the dotted black line
