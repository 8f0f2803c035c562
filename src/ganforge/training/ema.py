"""Exponential moving average of generator weights (Karras et al. 2018; Yazici et al. 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """A shadow copy of `model` whose parameters track ema = decay * ema + (1 - decay) * model
    after every update(); buffers (BatchNorm statistics) are copied as they are. decay 0 makes
    the shadow equal the model."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    def decay_at(self, step: int | None) -> float:
        """The decay used after update number `step` (0-based): min(decay, (1 + step) / (10 + step)),
        a warm-up so early weights are forgotten quickly (TensorFlow's ExponentialMovingAverage
        with num_updates); the plain decay when step is None."""
        return self.decay if step is None else min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int | None = None) -> None:
        shadow_params = list(self.shadow.parameters())
        decay = self.decay_at(step)
        torch._foreach_lerp_(shadow_params, [p.detach() for p in model.parameters()], 1.0 - decay)
        for shadow_buffer, buffer in zip(self.shadow.buffers(), model.buffers()):
            shadow_buffer.copy_(buffer)
