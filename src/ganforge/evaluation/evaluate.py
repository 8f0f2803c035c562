"""`ganforge.evaluate(...)`: score generated images from any source against real ones, the
library function behind `ganforge evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganforge.device import resolve_device
from ganforge.evaluation.cache import default_cache_dir
from ganforge.errors import DataError
from ganforge.evaluation.extractors import CLASSIFIER_EXTRACTORS, FeatureExtractor, check_fits, classifier_extractor
from ganforge.evaluation.inception import DEFAULT_FID_MODE, InceptionExtractor, check_fid_mode
from ganforge.evaluation.report import (METRICS, RealFeatures, Report, check_metrics, conditional_accuracy,
                                        evaluate_features, real_features)
from ganforge.evaluation.sources import check_sources, images_from_source, reference_images, run_num_classes
from ganforge.io.atomic import atomic_write_text, check_writable
from ganforge.registry import Registry

# name -> build(device, inception file or None, accepted SHA-256 or None, FID mode)
EXTRACTORS: Registry[Callable[[torch.device, Path | None, str | None, str], FeatureExtractor]] = Registry("extractor")
for _dataset, _name in CLASSIFIER_EXTRACTORS.items():
    EXTRACTORS.register(_name)(lambda device, path, sha256, mode, dataset=_dataset: classifier_extractor(device, dataset))
EXTRACTORS.register("inception")(lambda device, path, sha256, mode: InceptionExtractor(path, sha256, device, mode=mode))


def evaluate(source: str | Path, ref: str = "mnist", metrics: tuple[str, ...] = METRICS, n: int = 10_000,
             extractor: str = "mnist-classifier", inception: Path | None = None, inception_sha256: str | None = None,
             image_size: int | None = None, seed: int = 0, cache: bool = True, device: str | torch.device = "cpu",
             save_ref: Path | None = None, out: Path | None = None, fid_mode: str | None = None,
             progress: bool = False) -> Report:
    """Metrics of n images from `source` (a run or checkpoint folder, a folder of pictures, a .npy)
    against `ref` ("mnist": train digits, floor from test; a folder; a .npy; or a .npz of features
    saved earlier with `save_ref`), each beside the real-vs-real floor. Every source reaches the
    extractor as 8-bit pixels at its own size (or resized to `image_size`, the same way for all).
    `fid_mode` (inception only; default "clean") picks the resizing convention of FID_MODES.
    Conditional runs also get the classifier's accuracy on the asked classes. Writes the report
    as JSON to `out` when given. `progress`: progress bars on stderr while sampling and extracting."""
    check_metrics(tuple(metrics))  # before minutes of sampling
    if fid_mode is not None and extractor != "inception":
        raise DataError(f"--fid-mode applies to --extractor inception only, not {extractor}")
    check_fid_mode(fid_mode or DEFAULT_FID_MODE)
    for target, what in ((out, "--out"), (save_ref, "--save-ref")):
        if target is not None:
            check_writable(target, what=what)
    shapes = check_sources(source, ref, n, image_size)  # counts and shapes from headers, before any work
    torch_device = resolve_device(device)
    features = EXTRACTORS.get(extractor)(torch_device, inception, inception_sha256, fid_mode or DEFAULT_FID_MODE)
    for what, shape in shapes:
        check_fits(features, shape, what)  # before sampling n images
    features.progress = progress
    fake = images_from_source(source, n, image_size, seed=seed, device=torch_device, progress=progress)
    if str(ref).endswith(".npz"):
        real = RealFeatures.load(Path(ref), features)
    else:
        reference, floor = reference_images(str(ref), n, image_size, seed=seed)
        real = real_features(reference[:n], floor[:n] if floor is not None else None, features,
                             default_cache_dir() if cache else None)
    if save_ref is not None:
        real.save(save_ref, features)
    report = evaluate_features(fake, real, features, tuple(metrics), seed=seed)
    if image_size is not None:
        report.protocol["image_size"] = image_size
    num_classes = run_num_classes(source)
    probabilities = features.probabilities(fake) if num_classes else None
    if probabilities is not None and probabilities.shape[1] >= num_classes:
        # Conditional runs are sampled with labels i mod K: does the classifier see the asked class?
        report.model["conditional_accuracy"] = conditional_accuracy(probabilities, np.arange(n) % num_classes)
    if out is not None:
        atomic_write_text(Path(out), json.dumps(report.to_dict(), indent=2) + "\n")
    return report
