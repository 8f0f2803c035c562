"""A small MNIST classifier: the project's own feature extractor for evaluating digit GANs.

images (N, 1, 28, 28) in [-1, 1] -> logits (N, 10); `features()` gives the 128-d penultimate
activations used for Frechet distance / KID on MNIST. Its trained weights ship with the package
(models/weights/mnist_classifier.safetensors, made by `ganforge train-classifier`).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from ganforge.errors import CheckpointError

WEIGHTS_NAME = "mnist_classifier"
FEATURE_DIM = 128


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class MNISTClassifier(nn.Module):
    def __init__(self, num_classes: int = 10, dropout: float = 0.3) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *_conv(1, 32), *_conv(32, 32), nn.MaxPool2d(2),      # 14x14
            *_conv(32, 64), *_conv(64, 64), nn.MaxPool2d(2),     # 7x7
            nn.Flatten(), nn.Linear(64 * 7 * 7, FEATURE_DIM), nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(FEATURE_DIM, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [-1, 1] -> (N, 128) non-negative features."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(images)))


def packaged_weights_path(dataset: str = "mnist") -> Path:
    """The shipped classifier weights for `dataset` (mnist, fashion-mnist)."""
    name = WEIGHTS_NAME if dataset == "mnist" else f"{dataset.replace('-', '_')}_classifier"
    return Path(str(resources.files("ganforge.models") / "weights" / f"{name}.safetensors"))


def load_mnist_classifier(path: str | Path | None = None, device: str | torch.device = "cpu") -> MNISTClassifier:
    """The trained classifier in eval mode (default: the weights shipped with ganforge)."""
    path = Path(path) if path is not None else packaged_weights_path()
    if not path.is_file():
        raise CheckpointError(f"{path}: MNIST classifier weights not found "
                              "(make them with `ganforge train-classifier`)")
    model = MNISTClassifier()
    model.load_state_dict(load_file(str(path)))
    return model.to(device).eval()


def packaged_classifier_report() -> dict:
    """Test accuracy and provenance recorded when the shipped weights were trained."""
    path = packaged_weights_path().with_suffix(".json")
    return json.loads(path.read_text()) if path.is_file() else {}
