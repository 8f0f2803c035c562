"""Metric values between image sets, and the report that sets them beside the real-vs-real floor."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganforge.decoding import load_arrays, parse_json
from ganforge.errors import DataError
from ganforge.evaluation.cache import cached_features
from ganforge.evaluation.extractors import FeatureExtractor
from ganforge.io.atomic import atomic_write
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
    """Metric name -> value for the model and for real-vs-real (the best a model can expect),
    with the protocol: what the numbers depend on besides the images (extractor, its weights'
    hash, FID mode, set sizes). Scores are comparable only under equal protocols."""

    extractor: str
    n: int
    model: dict[str, float] = field(default_factory=dict)
    floor: dict[str, float] = field(default_factory=dict)
    classes: dict | None = None
    protocol: dict = field(default_factory=dict)

    def table(self) -> str:
        rows = [f"{'metric (' + self.extractor + ' features, n=' + str(self.n) + ')':<48}{'model':>12}{'real vs real':>14}"]
        for key, value in self.model.items():
            floor = self.floor.get(key)
            rows.append(f"{key:<48}{_fmt(value):>12}{_fmt(floor) if floor is not None else 'n/a':>14}")
        if self.classes:
            c = self.classes
            rows.append(f"{'classes covered':<48}{c['classes_covered']:>12}{'':>14}")
            rows.append(f"{'predicted-class histogram':<48}{' '.join(map(str, c['histogram']))}")
        if self.protocol:
            shown = {k: (v[:12] + "..." if k.endswith("sha256") else v) for k, v in self.protocol.items()}
            rows.append("protocol: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return {"extractor": self.extractor, "n": self.n, "model": self.model, "real_vs_real": self.floor,
                "classes": self.classes, "protocol": self.protocol}


def short_names(values: dict[str, float]) -> dict[str, float]:
    """A report's rows ("FD (mnist-classifier)", "KID (...)", "IS (...)", "precision", ...) under
    short names: fd, kid, is, precision, recall, density, coverage (others left out), for tables
    that compare runs."""
    out = {}
    for key, value in values.items():
        for short in ("fd", "kid", "is"):
            if key.lower().startswith(short + " ("):  # not "KID std"
                out[short] = value
        if key in ("precision", "recall", "density", "coverage"):
            out[key] = value
    return out


def check_comparable(a: dict, b: dict) -> None:
    """DataError naming what differs when two reports' protocols (their `to_dict()["protocol"]`,
    or the "protocol" of saved JSON reports) make their scores incomparable."""
    pa, pb = a.get("protocol", a), b.get("protocol", b)
    if not pa or not pb:
        raise DataError("a report without a protocol (made before ganforge recorded one) cannot be compared")
    differences = _differences(pa, pb, "{key} {a} vs {b}")
    if differences:
        raise DataError("scores not comparable: " + "; ".join(differences))


def _differences(a: dict, b: dict, form: str) -> list[str]:
    """`form` ("{key} {a} vs {b}") for each key whose values differ between a and b."""
    return [form.format(key=key, a=a.get(key), b=b.get(key)) for key in sorted(set(a) | set(b))
            if a.get(key) != b.get(key)]


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"


def check_metrics(metrics: tuple[str, ...]) -> None:
    """DataError naming any metric name that is not one of METRICS, or none given (nothing to score)."""
    if not metrics:
        raise DataError(f"--metrics: no metric given; choose one or more of {', '.join(METRICS)}, comma-separated")
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise DataError(f"--metrics: unknown {', '.join(sorted(unknown))} (choose from {', '.join(METRICS)})")


def compare_features(real: np.ndarray, fake: np.ndarray, fake_probabilities: np.ndarray | None,
                     extractor: FeatureExtractor, metrics: tuple[str, ...] = METRICS, kid_subsets: int = 100,
                     kid_subset_size: int = 1000, seed: int = 0) -> tuple[dict[str, float], dict | None]:
    """Metric values between two feature sets, plus the class statistics of the fakes when
    their class probabilities are given. KID: `kid_subsets` subsets of min(kid_subset_size, half of
    each set) features."""
    check_metrics(metrics)
    out: dict[str, float] = {}
    label = f"({extractor.name})"
    if "fd" in metrics:
        out[extractor.fd_name] = frechet_distance_from_features(real, fake)
    if "kid" in metrics:
        # Subsets of at most half of each set: a subset of a whole set is the same set in every draw,
        # which makes the std a meaningless 0 (the mean is unbiased at any subset size).
        size = max(2, min(kid_subset_size, len(real) // 2, len(fake) // 2))
        mean, std = kernel_inception_distance(real, fake, kid_subsets, size, seed)
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


@dataclass
class RealFeatures:
    """Features of the reference set, and of a held-out real set for the floor (optional)."""

    reference: np.ndarray
    floor: np.ndarray | None = None
    floor_probabilities: np.ndarray | None = None

    def save(self, path: Path, extractor: FeatureExtractor) -> None:
        """An .npz that `ganforge evaluate --ref FILE.npz` reads back (same extractor only)."""
        arrays = {"features": self.reference, "extractor": np.array(extractor.name),
                  "identity": np.array(extractor.identity),
                  "settings": np.array(json.dumps(getattr(extractor, "settings", {}), sort_keys=True))}
        if self.floor is not None:
            arrays["floor_features"] = self.floor
        if self.floor_probabilities is not None:
            arrays["floor_probabilities"] = self.floor_probabilities
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # np.savez given a name would add ".npz" to one that lacks it
                np.savez(fh, **arrays)

        atomic_write(Path(path), write)

    @classmethod
    def load(cls, path: Path, extractor: FeatureExtractor) -> "RealFeatures":
        arrays = load_arrays(path, DataError, "reference statistics")
        if "features" not in arrays or "identity" not in arrays:
            raise DataError(f"{path}: not a ganforge reference file (needs 'features' and 'identity'; "
                            "make one with `ganforge evaluate ... --save-ref FILE.npz`)")
        if str(arrays["identity"]) != extractor.identity:
            saved = parse_json(str(arrays["settings"]), f"{path}: settings") if "settings" in arrays else {}
            differences = _differences(saved, getattr(extractor, "settings", {}), "{key} {a} there, {b} now")
            raise DataError(f"{path}: made with other {arrays.get('extractor', 'unknown')} features "
                            f"than the {extractor.name} extractor in use"
                            + (f" ({'; '.join(differences)})" if differences else ""))
        return cls(arrays["features"], arrays.get("floor_features"), arrays.get("floor_probabilities"))


def real_features(reference: torch.Tensor, floor: torch.Tensor | None, extractor: FeatureExtractor,
                  cache_dir: Path | None = None) -> RealFeatures:
    """Features of the real sets, through the cache when `cache_dir` is given."""
    floor_f = cached_features(floor, extractor, cache_dir) if floor is not None else None
    floor_p = extractor.probabilities(floor) if floor is not None else None
    return RealFeatures(cached_features(reference, extractor, cache_dir), floor_f, floor_p)


def evaluate_features(fake: torch.Tensor, real: RealFeatures, extractor: FeatureExtractor,
                      metrics: tuple[str, ...] = METRICS, seed: int = 0) -> Report:
    """Metrics of `fake` against the reference features, and of the floor set against them."""
    n = len(fake)
    if len(real.reference) < n or (real.floor is not None and len(real.floor) < n):
        raise DataError(f"the reference has {len(real.reference)} images, fewer than n={n}")
    model, classes = compare_features(real.reference[:n], extractor.features(fake), extractor.probabilities(fake),
                                      extractor, metrics, seed=seed)
    protocol = {"extractor": extractor.name, **getattr(extractor, "settings", {}), "n": n,
                "reference_n": min(n, len(real.reference))}
    report = Report(extractor.name, n, model, classes=classes, protocol=protocol)
    if real.floor is not None:
        probs = real.floor_probabilities[:n] if real.floor_probabilities is not None else None
        report.floor, _ = compare_features(real.reference[:n], real.floor[:n], probs, extractor, metrics, seed=seed)
    return report


def conditional_accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of class-conditional samples whose predicted class (argmax of `probabilities`,
    (N, K)) is the class they were generated for (`labels`, (N,))."""
    if len(probabilities) != len(labels):
        raise DataError(f"{len(probabilities)} predictions but {len(labels)} labels")
    return float((np.asarray(probabilities).argmax(1) == np.asarray(labels)).mean())


def evaluate_images(fake: torch.Tensor, reference: torch.Tensor, floor: torch.Tensor | None,
             extractor: FeatureExtractor, metrics: tuple[str, ...] = METRICS, seed: int = 0,
             cache_dir: Path | None = None) -> Report:
    """Metrics of `fake` against `reference`, and of `floor` (held-out real images) against it.
    Features of the real sets are cached in `cache_dir` when given."""
    n = len(fake)
    if len(reference) < n or (floor is not None and len(floor) < n):
        raise DataError(f"the reference has fewer than n={n} images")
    real = real_features(reference[:n], floor[:n] if floor is not None else None, extractor, cache_dir)
    return evaluate_features(fake, real, extractor, metrics, seed)
