"""Evaluate generated images against real ones: feature extraction + metrics + the real-vs-real floor.

Feature extractors are injected: anything with `name`, `features(images)` and optionally
`probabilities(images)`. The default for 28x28 grayscale digits is ganforge's own MNIST
classifier; its numbers are labelled "FD (mnist-classifier features)", never FID, which is
reserved for Inception-v3 features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from ganforge.data import load_image_folder, load_mnist
from ganforge.data.transforms import to_signed
from ganforge.errors import DataError
from ganforge.metrics import (
    class_coverage,
    frechet_distance_from_features,
    inception_score,
    kernel_inception_distance,
    precision_recall_density_coverage,
)

METRICS = ("fd", "kid", "is", "prdc")


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


# ---------------------------------------------------------------------------------- inputs
def images_from_source(source: str | Path, n: int, image_shape: tuple[int, int, int] | None,
                       seed: int = 0, device: str | torch.device = "cpu") -> torch.Tensor:
    """n images (N, C, H, W) float in [-1, 1] from a run/checkpoint folder (sampled with `seed`),
    a folder of images, or a .npy file (float in [-1, 1] or uint8 in [0, 255])."""
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: not found (expected a run folder, an image folder or a .npy file)")
    if path.suffix == ".npy":
        images = _npy_images(path)
    elif (path / "meta.json").is_file() or (path / "checkpoints").is_dir():
        import ganforge

        images = ganforge.load(path, device=device).sample(n, seed=seed)
    elif path.is_dir():
        if image_shape is None:
            raise DataError(f"{path}: an image folder needs an extractor with a fixed input size")
        channels, size, _ = image_shape
        images = to_signed(load_image_folder(path, size, channels).images)
    else:
        raise DataError(f"{path}: expected a run folder, an image folder or a .npy file")
    if len(images) < n:
        raise DataError(f"{path}: has {len(images)} images, fewer than --n {n}")
    return images[:n]


def _npy_images(path: Path) -> torch.Tensor:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read .npy ({exc})") from None
    if array.ndim != 4:
        raise DataError(f"{path}: expected an (N, C, H, W) array, got shape {array.shape}")
    if array.dtype == np.uint8:
        return to_signed(torch.from_numpy(array))
    if not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"{path}: expected float images in [-1, 1] or uint8, got dtype {array.dtype}")
    if array.size and (np.nanmin(array) < -1.001 or np.nanmax(array) > 1.001 or np.isnan(array).any()):
        raise DataError(f"{path}: float images must lie in [-1, 1] (as `ganforge sample` writes them)")
    return torch.from_numpy(array.astype(np.float32))


def reference_images(ref: str, n: int, image_shape: tuple[int, int, int] | None,
                     seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(reference images, held-out real images for the floor or None) for --ref: "mnist"
    (train vs test), or a folder / .npy (two random disjoint halves when it has 2n images)."""
    if ref == "mnist":
        return mnist_reference(n, seed)
    images = images_from_source(ref, n, image_shape)
    if Path(ref).is_dir() and not (Path(ref) / "meta.json").is_file():
        images = images_from_source(ref, 0, image_shape)  # all of them, for the two halves
    elif Path(ref).suffix == ".npy":
        images = _npy_images(Path(ref))
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    images = images[order]
    return (images[:n], images[n:2 * n]) if len(images) >= 2 * n else (images[:n], None)


def mnist_reference(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(n random MNIST train images, n random MNIST test images): reference and floor."""
    if n > 10_000:
        raise DataError(f"--n {n}: MNIST test has 10,000 images, so the real-vs-real floor allows n <= 10000")
    rng = torch.Generator().manual_seed(seed)
    train, test = load_mnist("train"), load_mnist("test")
    pick = lambda ds: to_signed(ds.images[torch.randperm(len(ds), generator=rng)[:n]])  # noqa: E731
    return pick(train), pick(test)


# --------------------------------------------------------------------------------- metrics
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


def compare(real: torch.Tensor, fake: torch.Tensor, extractor: FeatureExtractor,
            metrics: tuple[str, ...] = METRICS, kid_subsets: int = 100, kid_subset_size: int = 1000,
            seed: int = 0) -> tuple[dict[str, float], dict | None]:
    """Metric values between two image sets, plus the class statistics of `fake` when the
    extractor gives probabilities."""
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise DataError(f"--metrics: unknown {', '.join(sorted(unknown))} (choose from {', '.join(METRICS)})")
    real_f, fake_f = extractor.features(real), extractor.features(fake)
    out: dict[str, float] = {}
    label = f"({extractor.name})"
    if "fd" in metrics:
        out[f"FD {label}"] = frechet_distance_from_features(real_f, fake_f)
    if "kid" in metrics:
        mean, std = kernel_inception_distance(real_f, fake_f, kid_subsets, kid_subset_size, seed)
        out[f"KID {label}"], out["KID std"] = mean, std
    probs = extractor.probabilities(fake)
    classes = None
    if probs is not None:
        if "is" in metrics:
            out[f"IS {label}"] = inception_score(probs, splits=min(10, len(probs)))[0]
        classes = class_coverage(probs)
        out["class entropy (max %.3f)" % classes["max_entropy"]] = classes["class_entropy"]
        out["confident fraction (p >= 0.9)"] = classes["confident_fraction"]
    if "prdc" in metrics:
        out.update(precision_recall_density_coverage(real_f, fake_f))
    return out, classes


def evaluate(fake: torch.Tensor, reference: torch.Tensor, floor: torch.Tensor | None,
             extractor: FeatureExtractor, metrics: tuple[str, ...] = METRICS, seed: int = 0) -> Report:
    """Metrics of `fake` against `reference`, and of `floor` (held-out real images) against it."""
    n = len(fake)
    if len(reference) < n or (floor is not None and len(floor) < n):
        raise DataError(f"the reference has fewer than n={n} images")
    model, classes = compare(reference[:n], fake, extractor, metrics, seed=seed)
    report = Report(extractor.name, n, model, classes=classes)
    if floor is not None:
        report.floor, _ = compare(reference[:n], floor[:n], extractor, metrics, seed=seed)
    return report


# ------------------------------------------------------------------------ during training
class MnistPeriodicEvaluator:
    """FD, KID and IS (mnist-classifier features) of `n` samples from fixed latents against n
    random MNIST train digits, whose features are extracted once."""

    higher_is_better = {"fd": False, "kid": False, "is": True}

    def __init__(self, n: int, latent_dim: int, device: torch.device, seed: int = 0) -> None:
        self.extractor = mnist_classifier_extractor(device)
        reference, _ = mnist_reference(min(n, 10_000), seed)
        self.reference = self.extractor.features(reference)
        self.latents = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed + 1))
        self.device, self.seed = device, seed

    @torch.no_grad()
    def __call__(self, generator: nn.Module) -> dict[str, float]:
        fake = torch.cat([generator(z.to(self.device)).float().cpu() for z in self.latents.split(500)])
        features = self.extractor.features(fake)
        kid, _ = kernel_inception_distance(self.reference, features, subsets=20, subset_size=1000, seed=self.seed)
        return {"fd": frechet_distance_from_features(self.reference, features), "kid": kid,
                "is": inception_score(self.extractor.probabilities(fake), splits=10)[0]}


def periodic_evaluator(config, device: torch.device) -> MnistPeriodicEvaluator:
    """The evaluator `--eval-every` uses; needs 1x28x28 images (the MNIST classifier's input)."""
    from ganforge.errors import ConfigError

    d = config.data
    if (d.channels, d.image_size) != (1, 28):
        raise ConfigError(f"--eval-every needs 1x28x28 images for the mnist-classifier features, "
                          f"got {d.channels}x{d.image_size}x{d.image_size}")
    return MnistPeriodicEvaluator(config.train.eval_n, config.model.latent_dim, device)
