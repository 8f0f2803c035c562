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
(std 0.3 on the image, 0.5 on hidden layers) and weight normalisation with data-dependent
initialisation; G an MLP 500-500 with BatchNorm and softplus, sigmoid output.

`Settings()` is the paper's MNIST setting as its published code runs it (openai/improved-gan,
train_mnist_feature_matching.py): batch 100, Adam(0.5, 0.999) at a constant 0.003 for 300 epochs
of 600 updates, the unsupervised term weighted 0.5, every labelled batch a new permutation of the
labelled set, unlabelled batches drawn epoch by epoch (a second, independent stream for the
generator's update), and the test error of a running average of D's weights (decay 0.9999).
Three details of that code are fields whose defaults keep torch's behaviour (the runs in
docs/recognition.md started so): Adam's epsilon inside the square root (`adam_eps_root=1e-8`),
D's initial directions (`direction_init=0.1`) and G's initialisation (`generator_init="paper"`).
Each field is a lever for ablations (`ganforge semi-supervised --help`).

Speed (one CPU thread is what two seeds in parallel get on a 2-core machine): one forward pass
over the labelled, unlabelled and generated rows; D's normalised weights computed and cast once
per update; all noise of a pass drawn in one call; bf16 matrix products where the CPU computes
them natively (`precision`); fused Adam.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.device import random_state, resolve_precision, restore_random_state
from ganforge.decoding import load_tensors
from ganforge.errors import CheckpointError, InputError
from ganforge.io.atomic import atomic_write_bytes, torch_bytes
from ganforge.loop import Hook, Loop, RootEpsAdam, linear_decay, set_lr
from ganforge.metrics.detection import confusion_matrix
from ganforge.models.mlp import KPlusOneDiscriminator, MLPImageGenerator
from ganforge.training.ema import EMA


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


LOW_PRECISION_LAYERS = 2  # D's 784x1000 and 1000x500 layers; the rest, features and logits stay fp32


@dataclass(frozen=True)
class Settings:
    """One semi-supervised run's recipe; the defaults are the paper's MNIST setting."""

    labels_per_class: int = 10
    epochs: float = 300  # passes over the unlabelled set
    batch_size: int = 100
    lr: float = 3e-3
    lr_decay: bool = False  # True: decay linearly to 0 over the last third (the paper's CIFAR code)
    unsupervised_weight: float = 0.5  # on softplus(-lse(u)) + softplus(lse(g)); the paper's code: 0.5
    input_noise: float = 0.3
    hidden_noise: float = 0.5
    data_init: bool = True  # data-dependent weight-norm initialisation on 500 training images
    train_hidden_scales: bool = False
    features_at: int = -1  # the hidden layer whose mean the generator matches
    labelled_batches: str = "cycle"  # "cycle": permutations of the labelled set; "random": with replacement
    average: float = 0.9999  # running average of D's weights used for testing; 0: the weights themselves
    precision: str = "fp32"  # bf16: D's first two layers (84% of the arithmetic) in bf16; auto: bf16 where native
    adam_eps_root: float = 0.0  # > 0: Adam's epsilon inside the square root (the paper's code: 1e-8); 0: torch's Adam
    direction_init: float = 0.05  # std of D's initial weight-norm directions (the paper's code: 0.1)
    generator_init: str = "torch"  # "paper": G initialised as the paper's code (Glorot, BN without scale)

    def __post_init__(self) -> None:
        checks = [(self.labels_per_class >= 1, "--labels-per-class must be >= 1", self.labels_per_class),
                  (self.epochs > 0, "--epochs must be > 0", self.epochs),
                  (self.batch_size >= 1, "--batch-size must be >= 1", self.batch_size),
                  (self.lr > 0, "--lr must be > 0", self.lr),
                  (self.unsupervised_weight >= 0, "--unsupervised-weight must be >= 0", self.unsupervised_weight),
                  (self.input_noise >= 0, "--input-noise must be >= 0", self.input_noise),
                  (self.hidden_noise >= 0, "--hidden-noise must be >= 0", self.hidden_noise),
                  (self.labelled_batches in ("cycle", "random"), "--labelled-batches must be cycle or random",
                   self.labelled_batches),
                  (0 <= self.average < 1, "--average must be in [0, 1)", self.average),
                  (self.adam_eps_root >= 0, "--adam-eps-root must be >= 0", self.adam_eps_root),
                  (self.direction_init > 0, "--direction-init must be > 0", self.direction_init),
                  (self.generator_init in ("torch", "paper"), "--generator-init must be torch or paper",
                   self.generator_init),
                  (self.precision in ("fp32", "bf16", "auto"), "--precision must be fp32, bf16 or auto",
                   self.precision)]
        for ok, message, value in checks:
            if not ok:
                raise InputError(f"{message}, got {value!r}")


@dataclass
class SemiSupervisedResult:
    classifier: nn.Module  # the network tested: the running average of D when Settings.average > 0
    test_error: float
    seconds: float  # training time of every call that built this run (resumed runs add up)
    history: list[dict] = field(default_factory=list)
    steps: int = 0  # updates done so far
    raw_test_error: float = 0.0  # D's own weights, without the running average


class IndexStream:
    """Index batches over `n` items: each pass a new permutation ("cycle"), or uniform draws with
    replacement ("random"); its state resumes exactly."""

    def __init__(self, n: int, batch: int, generator: torch.Generator, mode: str = "cycle") -> None:
        self.n, self.batch, self.generator, self.mode = n, batch, generator, mode
        self.order, self.position = torch.empty(0, dtype=torch.long), 0

    def next(self) -> torch.Tensor:
        if self.mode == "random":
            return torch.randint(self.n, (self.batch,), generator=self.generator)
        parts, need = [], self.batch
        while need:
            if self.position == len(self.order):
                self.order, self.position = torch.randperm(self.n, generator=self.generator), 0
            take = self.order[self.position:self.position + need]
            parts.append(take)
            self.position += len(take)
            need -= len(take)
        return torch.cat(parts)

    def state_dict(self) -> dict[str, Any]:
        return {"order": self.order, "position": self.position, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.order, self.position = state["order"], state["position"]
        self.generator.set_state(state["generator"])


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


def check_indices(indices: torch.Tensor | list[int], n: int) -> torch.Tensor:
    """A labelled set given as indices: distinct integers in [0, n), at least one."""
    indices = torch.as_tensor(indices)
    if indices.ndim != 1 or len(indices) == 0 or indices.is_floating_point() or indices.dtype == torch.bool:
        raise InputError(f"labelled indices must be a non-empty list of integers, got {len(indices)} of "
                         f"dtype {indices.dtype}")
    if int(indices.min()) < 0 or int(indices.max()) >= n or len(indices.unique()) != len(indices):
        raise InputError(f"labelled indices must be distinct and in 0..{n - 1}, got min {int(indices.min())}, "
                         f"max {int(indices.max())}, {len(indices) - len(indices.unique())} repeated")
    return indices.long()


@torch.no_grad()
def predict(classifier: nn.Module, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """The K+1 classifier's class for each of images (N, 784) in [0, 1]."""
    classifier.eval()
    return torch.cat([classifier(images[i:i + batch])[0].argmax(1) for i in range(0, len(images), batch)])


def error_rate(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    """Fraction misclassified; images (N, 784) in [0, 1]."""
    return float((predict(classifier, images, batch) != labels).float().mean())


def top_confusions(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int, count: int = 3
                   ) -> list[tuple[int, int, int]]:
    """The `count` most frequent mistakes as (true class, predicted class, how many), largest first;
    where errors concentrate in one pair, a mode of the class (e.g. crossed sevens) went to another."""
    confusion = confusion_matrix(predicted.cpu().numpy(), labels.cpu().numpy(), num_classes)
    mistakes = [(int(confusion[t, p]), t, p) for t in range(num_classes) for p in range(num_classes)
                if t != p and confusion[t, p] > 0]
    return [(t, p, n) for n, t, p in sorted(mistakes, key=lambda m: (-m[0], m[1], m[2]))[:count]]


# Settings fields added after runs were saved, with the values those runs ran with
ADDED_SETTINGS = {"adam_eps_root": 0.0, "direction_init": 0.05, "generator_init": "torch"}


def _load_state(path: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
    """A saved run's state, or None when there is none; an error when it is another run's."""
    if not path.is_file():
        return None
    state = load_tensors(path, CheckpointError, "semi-supervised state")
    saved = state.get("run") if isinstance(state, dict) else None
    if isinstance(saved, dict) and isinstance(saved.get("settings"), dict):
        saved["settings"] = {**ADDED_SETTINGS, **saved["settings"]}
    if not isinstance(state, dict) or state.get("run") != expected:
        found = state.get("run") if isinstance(state, dict) else None
        raise CheckpointError(f"{path}: saved by another run ({found}); this run is {expected}; "
                              "remove it or use another --checkpoint-dir")
    return state


def train_semi_supervised(train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
                          test_labels: torch.Tensor, settings: Settings = Settings(), gan: bool = True,
                          seed: int = 0, num_classes: int = 10, device: str | torch.device = "cpu",
                          progress: bool = False, checkpoint: Path | None = None, checkpoint_every: int = 6000,
                          evaluations: int = 10, minutes: float | None = None, until: int | None = None,
                          report: Callable[[dict], None] | None = None,
                          labelled: torch.Tensor | list[int] | None = None) -> SemiSupervisedResult:
    """Train the K+1 discriminator (gan=True) or the same net, with the same number of updates,
    on the labelled set alone (gan=False). Images (N, D) float in [0, 1], all of them used
    unlabelled; `labels_per_class` of each class labelled (drawn by `seed`). `checkpoint`: a file
    the run saves itself to every `checkpoint_every` updates and when it stops, and resumes from.
    `minutes` / `until` (an update count) stop this call early; a later call with the same
    checkpoint goes on from there (the result's `steps` and `seconds` count every call's).
    `report(record)` is called with each evaluation ({"step", "loss_d", "test_error", ...}).
    `labelled`: the indices of the labelled training images, instead of `labels_per_class` of each
    class drawn by `seed` (e.g. one seed's set with one image swapped)."""
    if train_images.ndim != 2 or test_images.ndim != 2 or train_images.shape[1] != test_images.shape[1]:
        raise InputError(f"images must be flat (N, D) arrays of the same D, got {tuple(train_images.shape)} "
                         f"and {tuple(test_images.shape)}")
    s, device = settings, torch.device(device)
    precision = resolve_precision(s.precision, device)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    low = LOW_PRECISION_LAYERS
    torch.manual_seed(seed)
    chosen = (labelled_subset(train_labels, s.labels_per_class, num_classes, seed) if labelled is None
              else check_indices(labelled, len(train_images)))
    x_lab, y_lab = train_images[chosen].to(device), train_labels[chosen].to(device)
    x_unl, x_test, y_test = train_images.to(device), test_images.to(device), test_labels.to(device)
    d = KPlusOneDiscriminator(num_classes, train_images.shape[1], input_noise=s.input_noise,
                              hidden_noise=s.hidden_noise, train_hidden_scales=s.train_hidden_scales,
                              features_at=s.features_at, direction_std=s.direction_init).to(device)
    g = MLPImageGenerator(100, train_images.shape[1], paper_init=s.generator_init == "paper").to(device)
    if s.data_init:  # pixel statistics only (no labels), for the baseline too: the same network either way
        d.data_init(x_unl[torch.randperm(len(x_unl))[:500]])
    ema = EMA(d, s.average) if s.average > 0 else None
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {"foreach": True}

    def optimiser(params: list[nn.Parameter]) -> torch.optim.Optimizer:
        if s.adam_eps_root > 0:
            return RootEpsAdam(params, s.lr, betas=(0.5, 0.999), eps=0.0, eps_root=s.adam_eps_root)
        return torch.optim.Adam(params, s.lr, betas=(0.5, 0.999), **fused)

    opt_d, opt_g = (optimiser([p for p in net.parameters() if p.requires_grad]) for net in (d, g))
    steps = max(1, math.ceil(s.epochs * len(x_unl) / s.batch_size))
    decay_from = 2 * steps // 3 if s.lr_decay else steps
    streams = {name: IndexStream(n, s.batch_size, torch.Generator().manual_seed(seed * 3 + k), mode)
               for k, (name, n, mode) in enumerate((("labelled", len(x_lab), s.labelled_batches),
                                                    ("unlabelled", len(x_unl), "cycle"),
                                                    ("unlabelled_g", len(x_unl), "cycle")))}
    history: list[dict] = []
    # the resolved precision: a run saved in fp32 never resumes in bf16 where "auto" resolves otherwise
    run = {"settings": {**dataclasses.asdict(s), "precision": precision}, "gan": gan, "seed": seed, "steps": steps,
           "data": [len(x_unl), len(x_test)]}
    if labelled is not None:  # a given set is part of the run's identity; a seed's draw is in "seed"
        run["labelled"] = chosen.tolist()
    state = _load_state(checkpoint, run) if checkpoint is not None else None
    start, earlier_seconds = 0, 0.0
    if state is not None:
        for name, module in (("d", d), ("g", g), ("opt_d", opt_d), ("opt_g", opt_g)):
            module.load_state_dict(state[name])
        if ema is not None:
            ema.shadow.load_state_dict(state["ema"])
        for name, stream in streams.items():
            stream.load_state_dict(state["streams"][name])
        restore_random_state(state, device)
        start, history, earlier_seconds = state["step"], state["history"], state.get("seconds", 0.0)
    tested = ema.shadow if ema is not None else d
    b = s.batch_size

    def step(index: int) -> dict[str, torch.Tensor]:
        scale = linear_decay(index, decay_from, steps) if decay_from < steps else 1.0
        for opt in (opt_d, opt_g):
            set_lr(opt, s.lr * scale)
        d.train()
        g.train()
        pick = streams["labelled"].next().to(device)
        rows, y = x_lab[pick], y_lab[pick]
        if gan:
            # One forward pass over labelled, unlabelled and generated rows: the noise is per row,
            # so this equals three separate passes.
            with torch.no_grad():
                fake = g(torch.rand(b, 100, device=device))
            rows = torch.cat([rows, x_unl[streams["unlabelled"].next().to(device)], fake])
        logits = d(rows, d.layers(dtype, low))[0].float()
        loss_d = supervised_loss(logits[:b], y)
        if gan:
            loss_d = loss_d + s.unsupervised_weight * unsupervised_loss(logits[b:2 * b], logits[2 * b:])
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if ema is not None:
            ema.update(d, index)
        if gan:
            real = x_unl[streams["unlabelled_g"].next().to(device)]
            fake = g(torch.rand(b, 100, device=device))
            with torch.no_grad():
                layers = d.layers(dtype, low)  # fixed during G's update: no gradients for D
                features_real = d(real, layers)[1].float()
            features_fake = d(fake, layers)[1].float()
            loss_g = feature_matching_loss(features_real, features_fake)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        return {"loss_d": loss_d.detach()}

    def score(record: dict) -> None:  # {"step", mean "loss_d", "test_error", "raw_test_error", "confusions"}
        predicted = predict(tested, x_test)
        record["test_error"] = float((predicted != y_test).float().mean())
        record["confusions"] = top_confusions(predicted, y_test, num_classes)
        record["raw_test_error"] = error_rate(d, x_test, y_test) if ema is not None else record["test_error"]
        history.append(record)
        if report is not None:
            report(record)

    def save(at: int) -> None:
        if checkpoint is None:
            return
        state = {"run": run, "step": at, "d": d.state_dict(), "g": g.state_dict(), "opt_d": opt_d.state_dict(),
                 "opt_g": opt_g.state_dict(), "ema": ema.shadow.state_dict() if ema is not None else {},
                 "streams": {name: stream.state_dict() for name, stream in streams.items()},
                 **random_state(device), "history": history,
                 "seconds": earlier_seconds + time.perf_counter() - started}
        atomic_write_bytes(Path(checkpoint), torch_bytes(state))

    started = time.perf_counter()
    loop = Loop(steps=steps if until is None else min(steps, until), minutes=minutes, start=start,
                log_every=max(1, steps // evaluations), on_log=score, progress=progress,
                desc="semi-supervised" if gan else "labelled only", hooks=[Hook(checkpoint_every, save, at_end=True)])
    loop.run(step)
    seconds = earlier_seconds + time.perf_counter() - started
    if not history or history[-1]["step"] != loop.step:  # the loop logs (and scores) its last step
        score({"step": loop.step})
    last = history[-1]
    return SemiSupervisedResult(tested.eval(), last["test_error"], seconds, history, loop.step, last["raw_test_error"])
