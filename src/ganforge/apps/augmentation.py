"""GAN data augmentation: does adding a class-conditional generator's samples to a small labelled
set help a classifier? Trains the same classifier twice for the same number of steps, on the
real subset alone and on the subset plus generated digits labelled with the class they were
generated for, and scores both on held-out real digits."""

from __future__ import annotations

import math

import torch

from ganforge.apps.semi_supervised import labelled_subset
from ganforge.data.transforms import to_uint8
from ganforge.device import memory_shortfall
from ganforge.errors import InputError
from ganforge.training.classifier import accuracy, fit_classifier


def augmentation_experiment(gan, images: torch.Tensor, labels: torch.Tensor, test_images: torch.Tensor,
                            test_labels: torch.Tensor, per_class: int = 50, synthetic_per_class: int = 500,
                            steps: int = 1500, batch_size: int = 64, seed: int = 0,
                            device: str | torch.device = "cpu") -> dict[str, float]:
    """images/test_images: uint8 (N, 1, 28, 28); `gan` a conditional `ganforge.load` result.
    Returns test accuracies {"real_only", "real_plus_gan", "difference"} and the set sizes."""
    if not gan.num_classes:
        raise InputError("GAN augmentation needs a class-conditional model (trained with --num-classes)")
    if gan.image_shape != tuple(images.shape[1:]):
        raise InputError(f"the generator makes {gan.image_shape} images, the data is {tuple(images.shape[1:])}")
    if per_class * gan.num_classes < batch_size:
        raise InputError(f"--per-class {per_class} gives {per_class * gan.num_classes} real digits, fewer than "
                         f"one batch (--batch-size {batch_size})")
    count = gan.num_classes * synthetic_per_class  # drawn as float32 images, kept with their labels
    shortfall = memory_shortfall(count * (4 * math.prod(gan.image_shape) + 8))
    if shortfall is not None:
        raise InputError(f"--synthetic-per-class {synthetic_per_class:,}: {count:,} generated digits {shortfall}")
    subset = labelled_subset(labels, per_class, gan.num_classes, seed)
    real_x, real_y = images[subset], labels[subset]
    fake_y = torch.arange(gan.num_classes).repeat_interleave(synthetic_per_class)
    fake_x = to_uint8(gan.sample(len(fake_y), seed=seed + 1, labels=fake_y))
    results = {}
    for name, (x, y) in {"real_only": (real_x, real_y),
                         "real_plus_gan": (torch.cat([real_x, fake_x]), torch.cat([real_y, fake_y]))}.items():
        epochs = max(1, math.ceil(steps / max(1, len(x) // batch_size)))  # the same number of steps
        model = fit_classifier(x, y, epochs, batch_size, seed=seed, device=device)
        results[name] = accuracy(model, test_images, test_labels, torch.device(device))
    results["difference"] = results["real_plus_gan"] - results["real_only"]
    results.update(real_images=len(real_x), generated_images=len(fake_x))
    return results
