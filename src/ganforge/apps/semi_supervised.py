"""Semi-supervised classification with a K+1-class discriminator (Salimans et al. 2016, "Improved
techniques for training GANs", section 5).

The discriminator outputs K class logits l(x); the (K+1)-th "fake" logit is fixed at 0, so
    p(real | x) = Z / (Z + 1),  Z = sum_k exp(l_k(x)),  i.e. logit of real = logsumexp(l(x)).
Its loss on a batch of labelled (x, y), unlabelled u and generated g:
    L_sup   = cross-entropy(l(x), y)                                  (over the K real classes)
    L_unsup = -mean log p(real | u) - mean log(1 - p(real | g))
            = mean softplus(-lse(u)) + mean softplus(lse(g))           (lse = logsumexp over K)
The generator is trained by feature matching: |mean f(u) - mean f(g)|^2 on D's last hidden layer.
The baseline is the same network trained on the labelled examples alone (L_sup only).
The networks (`ganforge.models.mlp`: KPlusOneDiscriminator, MLPImageGenerator) follow the
paper's MNIST models: D an MLP 1000-500-250-250-250 with Gaussian noise on every layer's input
(std 0.3, 0.5 on the image) and weight normalisation; G an MLP 500-500 with BatchNorm and
softplus, sigmoid output.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import InputError
from ganforge.loop import Loop, adam
from ganforge.models.mlp import KPlusOneDiscriminator, MLPImageGenerator


def supervised_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the K real classes."""
    return F.cross_entropy(logits, labels)


def unsupervised_loss(logits_unlabelled: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """-mean log p(real | u) - mean log(1 - p(real | g)) with p(real) = Z / (Z + 1)."""
    lse_u, lse_g = torch.logsumexp(logits_unlabelled, 1), torch.logsumexp(logits_fake, 1)
    return F.softplus(-lse_u).mean() + F.softplus(lse_g).mean()


def feature_matching_loss(features_real: torch.Tensor, features_fake: torch.Tensor) -> torch.Tensor:
    """|mean f(real) - mean f(fake)|^2 (Salimans et al. 2016, section 3.1)."""
    return (features_real.mean(0) - features_fake.mean(0)).pow(2).mean()


@dataclass
class SemiSupervisedResult:
    classifier: nn.Module
    test_error: float
    seconds: float
    history: list[dict] = field(default_factory=list)


def labelled_subset(labels: torch.Tensor, per_class: int, num_classes: int, seed: int) -> torch.Tensor:
    """Indices of `per_class` random examples of each class (a balanced labelled set)."""
    rng = torch.Generator().manual_seed(seed)
    picked = []
    for c in range(num_classes):
        candidates = torch.nonzero(labels == c).flatten()
        if len(candidates) < per_class:
            raise InputError(f"--labels-per-class {per_class}: class {c} has only {len(candidates)} examples")
        picked.append(candidates[torch.randperm(len(candidates), generator=rng)[:per_class]])
    return torch.cat(picked)


@torch.no_grad()
def error_rate(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    """Fraction misclassified; images (N, 784) in [0, 1]."""
    classifier.eval()
    wrong = sum(int((classifier(images[i:i + batch])[0].argmax(1) != labels[i:i + batch]).sum())
                for i in range(0, len(images), batch))
    return wrong / len(images)


def train_semi_supervised(train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
                          test_labels: torch.Tensor, labels_per_class: int = 10, epochs: float = 30,
                          batch_size: int = 100, lr: float = 3e-3, gan: bool = True, seed: int = 0,
                          num_classes: int = 10, device: str | torch.device = "cpu",
                          progress: bool = False) -> SemiSupervisedResult:
    """Train the K+1 discriminator (gan=True) or the same net on the labelled set alone
    (gan=False). Images (N, 784) float in [0, 1]; an epoch is one pass over the unlabelled set.
    Adam (0.5, 0.999) at 0.003 as in the paper's MNIST code, decayed linearly to 0 over the last
    third."""
    if train_images.ndim != 2 or test_images.ndim != 2 or train_images.shape[1] != test_images.shape[1]:
        raise InputError(f"images must be flat (N, D) arrays of the same D, got {tuple(train_images.shape)} "
                         f"and {tuple(test_images.shape)}")
    if labels_per_class < 1:
        raise InputError(f"--labels-per-class must be >= 1, got {labels_per_class}")
    device = torch.device(device)
    torch.manual_seed(seed)
    labelled = labelled_subset(train_labels, labels_per_class, num_classes, seed)
    x_lab, y_lab = train_images[labelled].to(device), train_labels[labelled].to(device)
    x_unl = train_images.to(device)
    d = KPlusOneDiscriminator(num_classes, train_images.shape[1]).to(device)
    g = MLPImageGenerator(100, train_images.shape[1]).to(device)
    opt_d, opt_g = adam(d.parameters(), lr, (0.5, 0.999)), adam(g.parameters(), lr, (0.5, 0.999))
    steps = max(1, math.ceil(epochs * len(x_unl) / batch_size))
    decay_from = 2 * steps // 3
    rng = torch.Generator(device=device).manual_seed(seed + 1)
    x_test, y_test = test_images.to(device), test_labels.to(device)

    def step(index: int) -> dict[str, torch.Tensor]:
        scale = 1.0 if index < decay_from else (steps - index) / (steps - decay_from)
        for opt in (opt_d, opt_g):
            for group in opt.param_groups:
                group["lr"] = lr * scale
        d.train()
        pick = torch.randint(len(x_lab), (batch_size,), generator=rng, device=device)
        if gan:
            # One forward over labelled, unlabelled and generated rows: the noise is per row, so
            # this equals three separate passes, with the weight norm computed once.
            u = x_unl[torch.randint(len(x_unl), (batch_size,), generator=rng, device=device)]
            with torch.no_grad():
                fake = g(torch.rand(batch_size, 100, generator=rng, device=device))
            logits_lab, logits_u, logits_g = d(torch.cat([x_lab[pick], u, fake]))[0].split(batch_size)
            loss_d = supervised_loss(logits_lab, y_lab[pick]) + unsupervised_loss(logits_u, logits_g)
        else:
            loss_d = supervised_loss(d(x_lab[pick])[0], y_lab[pick])
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if gan:
            u2 = x_unl[torch.randint(len(x_unl), (batch_size,), generator=rng, device=device)]
            fake = g(torch.rand(batch_size, 100, generator=rng, device=device))
            d.requires_grad_(False)
            with torch.no_grad():
                _, features_real = d(u2)
            _, features_fake = d(fake)
            loss_g = feature_matching_loss(features_real, features_fake)
            d.requires_grad_(True)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        return {"loss_d": loss_d.detach()}

    def score(record: dict) -> None:  # every tenth of the run: {"step", mean "loss_d", "test_error"}
        record["test_error"] = error_rate(d, x_test, y_test)

    started = time.perf_counter()
    history = Loop(steps=steps, log_every=max(1, steps // 10), on_log=score, progress=progress,
                   desc="semi-supervised" if gan else "supervised only").run(step)
    seconds = time.perf_counter() - started
    error = error_rate(d, x_test, y_test)
    return SemiSupervisedResult(d.eval(), error, seconds, history)
