"""Feature extractors: anything with `name`, `input_shape`, `features(images)` and
`probabilities(images)` (None when it has no classes). Injected, never hard-wired."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import nn

from ganforge.errors import DataError


class FeatureExtractor(Protocol):
    name: str
    input_shape: tuple[int, int, int] | None  # (C, H, W) it needs, None if any

    def features(self, images: torch.Tensor) -> np.ndarray: ...

    def probabilities(self, images: torch.Tensor) -> np.ndarray | None: ...


class ModuleExtractor:
    """Wraps a classifier or any module. `feature_fn(module, x)` gives features (default:
    `module.features` if it has one, else `module(x)`); `module(x)` gives class logits when
    `has_logits` is True. Images: (N, C, H, W) float in [-1, 1]."""

    def __init__(self, module: nn.Module, name: str, input_shape: tuple[int, int, int] | None = None,
                 has_logits: bool = False, device: str | torch.device = "cpu", batch_size: int = 500) -> None:
        self.module, self.name, self.input_shape = module.to(device).eval(), name, input_shape
        self.has_logits, self.device, self.batch_size = has_logits, torch.device(device), batch_size

    def _check(self, images: torch.Tensor) -> None:
        if images.ndim != 4 or (self.input_shape and tuple(images.shape[1:]) != self.input_shape):
            raise DataError(f"the {self.name} extractor needs images of shape (N, "
                            f"{', '.join(map(str, self.input_shape or ('C', 'H', 'W')))}), got {tuple(images.shape)}")

    @torch.no_grad()
    def _run(self, images: torch.Tensor, fn) -> np.ndarray:
        self._check(images)
        parts = [fn(batch.to(self.device)).double().cpu() for batch in images.split(self.batch_size)]
        return torch.cat(parts).flatten(1).numpy()

    def features(self, images: torch.Tensor) -> np.ndarray:
        fn = getattr(self.module, "features", self.module)
        return self._run(images, fn)

    def probabilities(self, images: torch.Tensor) -> np.ndarray | None:
        if not self.has_logits:
            return None
        return self._run(images, lambda x: torch.softmax(self.module(x).float(), 1))


def mnist_classifier_extractor(device: str | torch.device = "cpu") -> ModuleExtractor:
    from ganforge.models.classifier import load_mnist_classifier

    return ModuleExtractor(load_mnist_classifier(device=device), "mnist-classifier", (1, 28, 28),
                           has_logits=True, device=device)
