"""Evaluation during training (`--eval-every`)."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.evaluation.extractors import classifier_extractor
from ganforge.evaluation.sources import REFERENCE_DATASETS
from ganforge.models import generate
from ganforge.metrics import frechet_distance_from_features, inception_score, kernel_inception_distance


# Training data -> the packaged classifier whose features score it during training.
EVALUATED_DATASETS = {"mnist": "mnist", "fashion-mnist": "fashion-mnist", "shapes": "scenes", "scenes": "scenes"}


class ClassifierPeriodicEvaluator:
    """FD, KID and (where the classifier has one class per image) IS of `n` samples from fixed
    latents against n real images of `dataset`, in the features of ganforge's classifier for it
    (EVALUATED_DATASETS); the real features are extracted once. Conditional generators get
    balanced labels (i mod num_classes) and also the classifier's accuracy on them."""

    def __init__(self, n: int, latent_dim: int, device: torch.device, seed: int = 0, num_classes: int = 0,
                 dataset: str = "mnist") -> None:
        self.extractor = classifier_extractor(device, EVALUATED_DATASETS[dataset])
        reference, _ = REFERENCE_DATASETS[dataset](min(n, 10_000), seed)
        self.reference = self.extractor.features(reference)
        self.latents = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed + 1))
        self.labels = torch.arange(n) % num_classes if num_classes else None
        self.device, self.seed = device, seed
        self.has_classes = self.extractor.has_logits
        self.higher_is_better = {"fd": False, "kid": False}
        if self.has_classes:
            self.higher_is_better["is"] = True
        if num_classes and self.has_classes:
            self.higher_is_better["accuracy"] = True

    @torch.no_grad()
    def __call__(self, generator: nn.Module) -> dict[str, float]:
        chunks = range(0, len(self.latents), 500)
        fake = torch.cat([
            generate(generator, self.latents[i:i + 500].to(self.device),
                     None if self.labels is None else self.labels[i:i + 500].to(self.device)).float().cpu()
            for i in chunks])
        features = self.extractor.features(fake)
        kid, _ = kernel_inception_distance(self.reference, features, subsets=20, subset_size=1000, seed=self.seed)
        results = {"fd": frechet_distance_from_features(self.reference, features), "kid": kid}
        if self.has_classes:
            probabilities = self.extractor.probabilities(fake)
            results["is"] = inception_score(probabilities, splits=10)[0]
            if self.labels is not None:
                results["accuracy"] = float((probabilities.argmax(1) == self.labels.numpy()).mean())
        return results


def periodic_evaluator(config, device: torch.device) -> ClassifierPeriodicEvaluator:
    """The evaluator `--eval-every` uses: the training data's own classifier and real images
    (mnist, fashion-mnist, shapes, scenes); an image folder of 1x28x28 images is scored as MNIST."""
    d = config.data
    dataset = d.dataset
    if dataset == "folder":
        if (d.channels, d.image_size) != (1, 28):
            raise ConfigError(f"--eval-every on an image folder scores it as MNIST (mnist-classifier features), "
                              f"so it needs 1x28x28 images, got {d.channels}x{d.image_size}x{d.image_size}; "
                              f"evaluate other folders afterwards with `ganforge evaluate RUN --ref FOLDER`")
        dataset = "mnist"
    return ClassifierPeriodicEvaluator(config.train.eval_n, config.model.latent_dim, device,
                                       num_classes=config.model.num_classes, dataset=dataset)
