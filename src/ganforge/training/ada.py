"""Adaptive discriminator augmentation (ADA, Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data", section 3): the probability p with which each augmentation is applied
to each image D sees follows D's overfitting.

The heuristic is r_t = E[sign(D(x_real))] over the real images of the last `interval` D updates
(1: D is confident about every real image, the sign of overfitting; 0: no better than chance).
Every `interval` updates (4 in the paper),

    p <- clamp(p + sign(r_t - target) * batch_size * interval / (kimg * 1000), 0, 1)

so that p can go from 0 to 1 in `kimg` thousand real images (500 in the paper) and settles where
r_t stays near the target (0.6). The augmentations themselves are `ganforge.models.diffaugment`'s
(`apply_randomly`); the training step reports sign(D(real)) through `observe` after each D update.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

INTERVAL = 4  # D updates between adjustments (the paper's)


@dataclass
class AdaptiveProbability:
    """p and the heuristic r_t of the last adjustment (NaN before the first).

    batch_size: real images per D update (the global batch under several processes).
    reduce(t): averages a scalar tensor over processes (None: a single process).
    """

    batch_size: int
    target: float = 0.6
    kimg: float = 500.0
    interval: int = INTERVAL
    p: float = 0.0
    rt: float = math.nan
    last_sign: torch.Tensor | float = math.nan  # the last update's mean sign(D(real)), for the logs
    reduce: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, repr=False)
    _signs: torch.Tensor | float = field(default=0.0, repr=False)  # sum of each update's mean sign, no sync
    _updates: int = field(default=0, repr=False)  # D updates since the last adjustment

    @property
    def speed(self) -> float:
        """How far p moves at one adjustment."""
        return self.batch_size * self.interval / (self.kimg * 1000)

    def observe(self, real_sign: torch.Tensor) -> None:
        """real_sign: mean of sign(D(x)) over one D update's real images, a detached scalar tensor.
        Every `interval` calls, r_t is their mean and p moves (one device sync)."""
        self.last_sign = real_sign
        self._signs = self._signs + real_sign
        self._updates += 1
        if self._updates < self.interval:
            return
        mean = torch.as_tensor(self._signs, dtype=torch.float32) / self._updates
        self.rt = float(self.reduce(mean) if self.reduce is not None else mean)
        step = math.copysign(self.speed, self.rt - self.target) if self.rt != self.target else 0.0
        self.p = min(max(self.p + step, 0.0), 1.0)
        self._signs, self._updates = 0.0, 0

    def state_dict(self) -> dict[str, Any]:
        """What resumes it exactly: p, the last r_t and the signs since the last adjustment."""
        return {"p": self.p, "rt": self.rt, "signs": torch.as_tensor(self._signs, dtype=torch.float32).cpu(),
                "updates": self._updates}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | None = None) -> None:
        self.p, self.rt, self._updates = float(state["p"]), float(state["rt"]), int(state["updates"])
        self._signs = state["signs"].to(device) if self._updates else 0.0
