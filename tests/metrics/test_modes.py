import numpy as np
import pytest

from ganforge.metrics import mode_coverage

CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def test_samples_on_every_centre():
    samples = np.repeat(CENTRES, 100, axis=0)
    out = mode_coverage(samples, CENTRES, std=0.1)
    assert out == {"modes_covered": 3, "modes": 3, "high_quality": 1.0, "kl_modes": pytest.approx(0.0)}


def test_collapse_to_one_mode():
    samples = np.zeros((300, 2))
    out = mode_coverage(samples, CENTRES, std=0.1)
    assert out["modes_covered"] == 1 and out["high_quality"] == 1.0
    assert out["kl_modes"] == pytest.approx(np.log(3))  # all mass on one of 3 modes


def test_quality_threshold_is_three_std():
    samples = np.array([[0.29, 0.0], [0.31, 0.0], [5.0, 5.0], [10.0, 0.0]])
    out = mode_coverage(samples, CENTRES, std=0.1, min_count=1)
    assert out["high_quality"] == 0.5 and out["modes_covered"] == 2


def test_min_count_scales_with_the_sample_count():
    # 2,500 samples -> 20 needed; a mode with 19 is lost.
    samples = np.concatenate([np.repeat(CENTRES[:1], 2481, 0), np.repeat(CENTRES[1:2], 19, 0)])
    assert mode_coverage(samples, CENTRES, std=0.1)["modes_covered"] == 1
    with pytest.raises(ValueError):
        mode_coverage(np.zeros((3, 3)), CENTRES, std=0.1)
