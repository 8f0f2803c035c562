"""Mode coverage of samples from a known mixture (mode-collapse check on toy data)."""

from __future__ import annotations

import numpy as np


def mode_coverage(samples: np.ndarray, centres: np.ndarray, std: float, min_count: int | None = None,
                  sigmas: float = 3.0) -> dict[str, float]:
    """A sample is high quality when it lies within `sigmas` standard deviations of its nearest
    centre; a mode is covered when at least `min_count` high-quality samples belong to it
    (default: 20 per 2,500 samples, scaled to len(samples), as in PacGAN, Lin et al. 2018).

    Returns modes_covered, modes (K), high_quality (fraction), and kl_modes: KL divergence of the
    high-quality samples' mode histogram from uniform (0 when every mode gets an equal share).
    """
    x, c = np.asarray(samples, np.float64), np.asarray(centres, np.float64)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ValueError(f"samples {x.shape} and centres {c.shape} must be (N, D) and (K, D)")
    if min_count is None:
        min_count = max(1, round(20 * len(x) / 2500))
    distances = np.linalg.norm(x[:, None, :] - c[None, :, :], axis=2)
    nearest = distances.argmin(1)
    good = distances[np.arange(len(x)), nearest] <= sigmas * std
    counts = np.bincount(nearest[good], minlength=len(c))
    share = counts / max(counts.sum(), 1)
    kl = float(np.sum(share[share > 0] * np.log(share[share > 0] * len(c)))) if counts.sum() else float("inf")
    return {"modes_covered": int((counts >= min_count).sum()), "modes": len(c),
            "high_quality": float(good.mean()), "kl_modes": kl}
