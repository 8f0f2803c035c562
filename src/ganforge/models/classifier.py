"""Small classifiers that serve as ganforge's own feature extractors: one per kind of data it
trains on without Inception (MNIST, Fashion-MNIST, and the procedural colour data: shapes and
digit scenes).

images (N, C, S, S) in [-1, 1] -> logits (N, K); `features()` gives the 128-d penultimate
activations used for Frechet distance / KID. Trained weights ship with the package
(models/weights/<name>_classifier.safetensors, made by `ganforge train-classifier`), with a
JSON report beside them that also records the network's shape.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from ganforge.errors import CheckpointError

FEATURE_DIM = 128
# The shape of each packaged classifier's network (the MNIST one is the default SmallClassifier).
CLASSIFIER_SHAPES = {
    "mnist": {"channels": 1, "image_size": 28, "num_classes": 10},
    "fashion-mnist": {"channels": 1, "image_size": 28, "num_classes": 10},
    # Shapes (circle, square, triangle) and digit scenes (which of 0-9 appear), 64 px data seen at 32 px.
    "scenes": {"channels": 3, "image_size": 32, "num_classes": 13},
}


def _conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class SmallClassifier(nn.Module):
    """Two stages of two 3x3 convs and a 2x2 max-pool, then a 128-unit layer and the class head."""

    def __init__(self, num_classes: int = 10, dropout: float = 0.3, channels: int = 1, image_size: int = 28) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4, got {image_size}")
        self.input_shape = (channels, image_size, image_size)
        inner = image_size // 4
        self.body = nn.Sequential(
            *_conv(channels, 32), *_conv(32, 32), nn.MaxPool2d(2),   # S/2
            *_conv(32, 64), *_conv(64, 64), nn.MaxPool2d(2),         # S/4
            nn.Flatten(), nn.Linear(64 * inner * inner, FEATURE_DIM), nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(FEATURE_DIM, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, S, S) in [-1, 1] -> (N, 128) non-negative features."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(images)))


def packaged_weights_path(dataset: str = "mnist") -> Path:
    """The shipped classifier weights for `dataset` (mnist, fashion-mnist, scenes)."""
    if dataset not in CLASSIFIER_SHAPES:
        raise ValueError(f"no packaged classifier for {dataset!r} (have {', '.join(CLASSIFIER_SHAPES)})")
    name = f"{dataset.replace('-', '_')}_classifier"
    return Path(str(resources.files("ganforge.models") / "weights" / f"{name}.safetensors"))


def load_classifier(path: str | Path | None = None, device: str | torch.device = "cpu") -> SmallClassifier:
    """A trained classifier in eval mode (default: the MNIST weights shipped with ganforge). Its
    shape comes from the JSON report beside the weights (MNIST's when there is none)."""
    path = Path(path) if path is not None else packaged_weights_path()
    if not path.is_file():
        raise CheckpointError(f"{path}: classifier weights not found (make them with `ganforge train-classifier`)")
    report = classifier_report(path)
    shape = {key: report.get(key, default) for key, default in CLASSIFIER_SHAPES["mnist"].items()}
    model = SmallClassifier(**shape)
    try:
        model.load_state_dict(load_file(str(path)))
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit a classifier of shape {shape}: "
                              f"{str(exc).splitlines()[0]}") from None
    return model.to(device).eval()


def classifier_report(path: str | Path | None = None) -> dict:
    """Test accuracy, provenance and network shape recorded when the weights at `path` were trained
    (default: the shipped MNIST ones); {} when no report lies beside them."""
    report = (Path(path) if path is not None else packaged_weights_path()).with_suffix(".json")
    return json.loads(report.read_text()) if report.is_file() else {}
