"""A disk cache of real-image features, keyed by a hash of the images and of the extractor,
so evaluating a second model against the same reference skips re-extracting it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from ganforge.decoding import load_arrays
from ganforge.errors import DataError
from ganforge.evaluation.extractors import FeatureExtractor
from ganforge.evaluation.pixels import as_pixels
from ganforge.io.atomic import atomic_write

CACHE_ENV = "GANFORGE_CACHE"


def default_cache_dir() -> Path:
    """$GANFORGE_CACHE, else ~/.cache/ganforge/features."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "ganforge")) / "features"


def images_digest(images: torch.Tensor) -> str:
    """SHA-256 of the images as 8-bit pixels with their shape (what a PNG of them would hold)."""
    digest = hashlib.sha256(str(tuple(images.shape)).encode())
    digest.update(as_pixels(images).contiguous().numpy().tobytes())
    return digest.hexdigest()


def cached_features(images: torch.Tensor, extractor: FeatureExtractor, cache_dir: Path | None) -> np.ndarray:
    """extractor.features(images), read from / written to `cache_dir` (None: no cache)."""
    if cache_dir is None:
        return extractor.features(images)
    key = hashlib.sha256(f"{images_digest(images)}:{extractor.identity}".encode()).hexdigest()[:24]
    path = Path(cache_dir) / f"{extractor.name}-{key}.npz"
    if path.is_file():
        cached = load_arrays(path, DataError, "cached features")
        if "features" in cached:
            return cached["features"]
    features = extractor.features(images)
    mean, cov = features.mean(0), np.cov(features, rowvar=False)
    atomic_write(path, lambda tmp: np.savez(tmp, features=features, mean=mean, cov=cov))
    return features
