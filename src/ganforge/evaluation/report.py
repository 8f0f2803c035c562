"""Metric values between image sets, and the report that sets them beside the real-vs-real floor."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganforge.errors import DataError
from ganforge.evaluation.cache import cached_features
from ganforge.evaluation.extractors import FeatureExtractor
from ganforge.metrics import (
    class_coverage,
    frechet_distance_from_features,
    inception_score,
    kernel_inception_distance,
    precision_recall_density_coverage,
)

METRICS = ("fd", "kid", "is", "prdc")


@dataclass
class Report:
    """Metric name -> value for the model and for real-vs-real (the best a model can expect)."""

    extractor: str
    n: int
    model: dict[str, float] = field(default_factory=dict)
    floor: dict[str, float] = field(default_factory=dict)
    classes: dict | None = None

    def table(self) -> str:
        rows = [f"{'metric (' + self.extractor + ' features, n=' + str(self.n) + ')':<48}{'model':>12}{'real vs real':>14}"]
        for key, value in self.model.items():
            floor = self.floor.get(key)
            rows.append(f"{key:<48}{_fmt(value):>12}{_fmt(floor) if floor is not None else 'n/a':>14}")
        if self.classes:
            c = self.classes
            rows.append(f"{'classes covered':<48}{c['classes_covered']:>12}{'':>14}")
            rows.append(f"{'predicted-class histogram':<48}{' '.join(map(str, c['histogram']))}")
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return {"extractor": self.extractor, "n": self.n, "model": self.model, "real_vs_real": self.floor,
                "classes": self.classes}


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"


def compare_features(real: np.ndarray, fake: np.ndarray, fake_probabilities: np.ndarray | None,
                     extractor: FeatureExtractor, metrics: tuple[str, ...] = METRICS, kid_subsets: int = 100,
                     kid_subset_size: int = 1000, seed: int = 0) -> tuple[dict[str, float], dict | None]:
    """Metric values between two feature sets, plus the class statistics of the fakes when
    their class probabilities are given."""
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise DataError(f"--metrics: unknown {', '.join(sorted(unknown))} (choose from {', '.join(METRICS)})")
    out: dict[str, float] = {}
    label = f"({extractor.name})"
    if "fd" in metrics:
        out[extractor.fd_name] = frechet_distance_from_features(real, fake)
    if "kid" in metrics:
        mean, std = kernel_inception_distance(real, fake, kid_subsets, kid_subset_size, seed)
        out[f"KID {label}"], out["KID std"] = mean, std
    classes = None
    if fake_probabilities is not None:
        if "is" in metrics:
            out[f"IS {label}"] = inception_score(fake_probabilities, splits=min(10, len(fake_probabilities)))[0]
        classes = class_coverage(fake_probabilities)
        out["class entropy (max %.3f)" % classes["max_entropy"]] = classes["class_entropy"]
        out["confident fraction (p >= 0.9)"] = classes["confident_fraction"]
    if "prdc" in metrics:
        out.update(precision_recall_density_coverage(real, fake))
    return out, classes


def compare(real: torch.Tensor, fake: torch.Tensor, extractor: FeatureExtractor,
            metrics: tuple[str, ...] = METRICS, seed: int = 0) -> tuple[dict[str, float], dict | None]:
    """Metric values between two image sets (features extracted here, nothing cached)."""
    return compare_features(extractor.features(real), extractor.features(fake), extractor.probabilities(fake),
                            extractor, metrics, seed=seed)


def evaluate(fake: torch.Tensor, reference: torch.Tensor, floor: torch.Tensor | None,
             extractor: FeatureExtractor, metrics: tuple[str, ...] = METRICS, seed: int = 0,
             cache_dir: Path | None = None) -> Report:
    """Metrics of `fake` against `reference`, and of `floor` (held-out real images) against it.
    Features of the real sets are cached in `cache_dir` when given."""
    n = len(fake)
    if len(reference) < n or (floor is not None and len(floor) < n):
        raise DataError(f"the reference has fewer than n={n} images")
    real_f = cached_features(reference[:n], extractor, cache_dir)
    model, classes = compare_features(real_f, extractor.features(fake), extractor.probabilities(fake),
                                      extractor, metrics, seed=seed)
    report = Report(extractor.name, n, model, classes=classes)
    if floor is not None:
        floor_f = cached_features(floor[:n], extractor, cache_dir)
        floor_probs = extractor.probabilities(floor[:n]) if "is" in metrics else None
        report.floor, _ = compare_features(real_f, floor_f, floor_probs, extractor, metrics, seed=seed)
    return report
