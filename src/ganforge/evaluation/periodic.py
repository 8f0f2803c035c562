"""Evaluation during training (`--eval-every`)."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.evaluation.extractors import mnist_classifier_extractor
from ganforge.evaluation.sources import mnist_reference
from ganforge.models import generate
from ganforge.metrics import frechet_distance_from_features, inception_score, kernel_inception_distance


class MnistPeriodicEvaluator:
    """FD, KID and IS (mnist-classifier features) of `n` samples from fixed latents against n
    random MNIST train digits, whose features are extracted once. Conditional generators get
    balanced labels (i mod num_classes) and also the classifier's accuracy on them."""

    def __init__(self, n: int, latent_dim: int, device: torch.device, seed: int = 0, num_classes: int = 0) -> None:
        self.extractor = mnist_classifier_extractor(device)
        reference, _ = mnist_reference(min(n, 10_000), seed)
        self.reference = self.extractor.features(reference)
        self.latents = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed + 1))
        self.labels = torch.arange(n) % num_classes if num_classes else None
        self.device, self.seed = device, seed
        self.higher_is_better = {"fd": False, "kid": False, "is": True}
        if num_classes:
            self.higher_is_better["accuracy"] = True

    @torch.no_grad()
    def __call__(self, generator: nn.Module) -> dict[str, float]:
        chunks = range(0, len(self.latents), 500)
        fake = torch.cat([
            generate(generator, self.latents[i:i + 500].to(self.device),
                     None if self.labels is None else self.labels[i:i + 500].to(self.device)).float().cpu()
            for i in chunks])
        features = self.extractor.features(fake)
        probabilities = self.extractor.probabilities(fake)
        kid, _ = kernel_inception_distance(self.reference, features, subsets=20, subset_size=1000, seed=self.seed)
        results = {"fd": frechet_distance_from_features(self.reference, features), "kid": kid,
                   "is": inception_score(probabilities, splits=10)[0]}
        if self.labels is not None:
            results["accuracy"] = float((probabilities.argmax(1) == self.labels.numpy()).mean())
        return results


def periodic_evaluator(config, device: torch.device) -> MnistPeriodicEvaluator:
    """The evaluator `--eval-every` uses; needs 1x28x28 images (the MNIST classifier's input)."""
    d = config.data
    if (d.channels, d.image_size) != (1, 28):
        raise ConfigError(f"--eval-every needs 1x28x28 images for the mnist-classifier features, "
                          f"got {d.channels}x{d.image_size}x{d.image_size}")
    return MnistPeriodicEvaluator(config.train.eval_n, config.model.latent_dim, device,
                                  num_classes=config.model.num_classes)
