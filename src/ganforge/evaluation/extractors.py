"""Feature extractors: anything with `name`, `input_shape`, `features(images)` and
`probabilities(images)` (None when it has no classes). Injected, never hard-wired."""

from __future__ import annotations

import hashlib
from typing import Protocol

import numpy as np
import torch
from torch import nn

from ganforge.data.transforms import to_signed
from ganforge.errors import DataError
from ganforge.evaluation.pixels import as_pixels, fit_pixels
from ganforge.loop import progress_bar
from ganforge.models.classifier import CLASSIFIER_SHAPES, load_classifier, packaged_weights_path


class FeatureExtractor(Protocol):
    name: str
    fd_name: str  # how its Frechet distance is labelled: "FID" for Inception-v3 only
    identity: str  # changes whenever its features would (weights hash): keys the feature cache
    settings: dict[str, str]  # what a score depends on besides the images, printed with it
    input_shape: tuple[int, int, int] | None  # (C, H, W) it needs, None if any
    progress: bool  # a progress bar on stderr while extracting

    def features(self, images: torch.Tensor) -> np.ndarray: ...  # images: float in [-1, 1] or uint8

    def probabilities(self, images: torch.Tensor) -> np.ndarray | None: ...


class ModuleExtractor:
    """Wraps a classifier or any module: features are `module.features(x)` when the module has
    that method, else `module(x)`; with `has_logits`, `module(x)` gives class logits.
    Images: (N, C, H, W) float in [-1, 1] or uint8; both are quantised to 8-bit pixels, fitted to
    `input_shape` (gray repeated to RGB, Pillow bicubic resize) and given to the module in [-1, 1]."""

    def __init__(self, module: nn.Module, name: str, input_shape: tuple[int, int, int] | None = None,
                 has_logits: bool = False, device: str | torch.device = "cpu", batch_size: int = 500) -> None:
        self.module, self.name, self.input_shape = module.to(device).eval(), name, input_shape
        self.fd_name = f"FD ({name})"
        self.has_logits, self.device, self.batch_size = has_logits, torch.device(device), batch_size
        self.progress = False  # a progress bar on stderr while extracting (ganforge evaluate sets it)
        self._identity: str | None = None

    @property
    def settings(self) -> dict[str, str]:
        return {"weights_sha256": self.identity}

    @property
    def identity(self) -> str:
        """SHA-256 of the module's weights and buffers (computed once)."""
        if self._identity is None:
            digest = hashlib.sha256(f"{self.name}:{self.input_shape}".encode())
            for key, value in sorted(self.module.state_dict().items()):
                digest.update(key.encode())
                digest.update(value.detach().cpu().contiguous().numpy().tobytes())
            self._identity = digest.hexdigest()
        return self._identity

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Images of any source -> 8-bit pixels fitted to the input shape -> float in [-1, 1]."""
        pixels = as_pixels(images)
        if self.input_shape is not None:
            channels, height, width = self.input_shape
            if not fits(self.input_shape, pixels.shape[1]) or height != width:
                raise DataError(misfit_message(self.name, self.input_shape, tuple(images.shape)))
            pixels = fit_pixels(pixels, channels, height)
        return to_signed(pixels)

    @torch.no_grad()
    def _run(self, images: torch.Tensor, fn) -> np.ndarray:
        signed = self._prepare(images)
        batches = signed.split(self.batch_size)
        parts = [fn(batch.to(self.device)).double().cpu()
                 for batch in progress_bar(batches, len(batches), f"{self.name} features", "batch", self.progress)]
        return torch.cat(parts).flatten(1).numpy()

    def features(self, images: torch.Tensor) -> np.ndarray:
        fn = getattr(self.module, "features", self.module)
        return self._run(images, fn)

    def probabilities(self, images: torch.Tensor) -> np.ndarray | None:
        if not self.has_logits:
            return None
        return self._run(images, lambda x: torch.softmax(self.module(x).float(), 1))


# The extractor name of each packaged classifier (models/classifier.py).
CLASSIFIER_EXTRACTORS = {"mnist": "mnist-classifier", "fashion-mnist": "fashion-classifier",
                         "scenes": "scenes-classifier"}
TRAINED_ON = {"mnist": "MNIST digits", "fashion-mnist": "Fashion-MNIST", "scenes": "the colour shapes and digit scenes"}


def fits(input_shape: tuple[int, int, int] | None, channels: int) -> bool:
    """Whether an extractor needing `input_shape` takes images of `channels` (gray is repeated to
    RGB; any size is resized to it)."""
    return input_shape is None or channels == input_shape[0] or (channels, input_shape[0]) == (1, 3)


def misfit_message(name: str, input_shape: tuple[int, int, int], got: tuple[int, ...], what: str = "") -> str:
    """The error for images of shape `got` ((N, C, H, W) or (C, H, W)) that `name` cannot take,
    naming the extractors that can."""
    channels = got[-3]
    kind = "colour" if channels == 3 else f"{channels}-channel" if channels != 1 else "grayscale"
    options = [f"--extractor {CLASSIFIER_EXTRACTORS[dataset]} ({shape['channels']}x{shape['image_size']}x"
               f"{shape['image_size']}, trained on {TRAINED_ON[dataset]}; other sizes are resized)"
               for dataset, shape in CLASSIFIER_SHAPES.items()
               if CLASSIFIER_EXTRACTORS[dataset] != name and fits((shape["channels"], 0, 0), channels)]
    options.append("--extractor inception (any size, colour or gray: Inception-v3, the FID network)")
    shown = f"(N, {', '.join(map(str, got[-3:]))})" if len(got) == 3 else str(got)
    return (f"the {name} extractor needs images of shape (N, {', '.join(map(str, input_shape))}), got {shown}"
            f"{f' from {what}' if what else ''}: for {kind} images use {' or '.join(options)}")


def check_fits(extractor: FeatureExtractor, shape: tuple[int, int, int], what: str = "") -> None:
    """DataError naming the extractors that fit when `extractor` cannot take images of `shape` (C, H, W):
    checked from headers and configs, before any image is sampled."""
    if not fits(extractor.input_shape, shape[0]):
        raise DataError(misfit_message(extractor.name, extractor.input_shape, shape, what))


def classifier_extractor(device: str | torch.device = "cpu", dataset: str = "mnist") -> ModuleExtractor:
    """Features (and, for the one-class-per-image data, class probabilities) of ganforge's
    classifier for `dataset`: mnist ("mnist-classifier", 1x28x28), fashion-mnist
    ("fashion-classifier"), scenes ("scenes-classifier", 3x32x32: the colour shapes and digit
    scenes; it says which classes appear, so it gives no probabilities for IS)."""
    shape = CLASSIFIER_SHAPES[dataset]
    input_shape = (shape["channels"], shape["image_size"], shape["image_size"])
    return ModuleExtractor(load_classifier(packaged_weights_path(dataset), device=device),
                           CLASSIFIER_EXTRACTORS[dataset], input_shape, has_logits=dataset != "scenes", device=device)
