"""Evaluation during training (`--eval-every`)."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.evaluation.extractors import mnist_classifier_extractor
from ganforge.evaluation.sources import mnist_reference
from ganforge.metrics import frechet_distance_from_features, inception_score, kernel_inception_distance


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
    d = config.data
    if (d.channels, d.image_size) != (1, 28):
        raise ConfigError(f"--eval-every needs 1x28x28 images for the mnist-classifier features, "
                          f"got {d.channels}x{d.image_size}x{d.image_size}")
    return MnistPeriodicEvaluator(config.train.eval_n, config.model.latent_dim, device)
