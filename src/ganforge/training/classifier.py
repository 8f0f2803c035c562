"""Training the small classifiers that evaluation uses as feature extractors (MNIST, Fashion-MNIST,
and the procedural colour data: shapes and digit scenes)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ganforge.data import ImageTensorDataset, load_fashion_mnist, load_mnist, make_shapes
from ganforge.data.scenes import SCENE_SIZE, load_scenes
from ganforge.data.shapes import SHAPE_CLASSES
from ganforge.data.transforms import to_signed
from ganforge.errors import DataError
from ganforge.evaluation.pixels import fit_pixels
from ganforge.io.atomic import atomic_write
from ganforge.loop import Loop
from ganforge.models.classifier import CLASSIFIER_SHAPES, SmallClassifier

log = logging.getLogger(__name__)


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each (N, C, H, W) image by up to `max_shift` pixels, filling with -1 (black)."""
    n, _, h, w = images.shape
    padded = F.pad(images, [max_shift] * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, images.shape[1], h, w + 2 * max_shift)
    cropped = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, images.shape[1], h, w)
    return cropped.gather(3, cols)


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, targets: torch.Tensor, device: torch.device,
             batch_size: int = 1000) -> float:
    """Fraction of images classified right; images uint8 (N, C, S, S). targets (N,) class indices:
    the top class must be it; (N, K) 0/1: every class's presence (logit > 0) must be right."""
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        logits = model(to_signed(images[start:start + batch_size].to(device))).cpu()
        expected = targets[start:start + batch_size]
        right = (logits > 0).eq(expected > 0.5).all(1) if expected.ndim == 2 else logits.argmax(1).eq(expected)
        correct += right.sum().item()
    return correct / len(images)


def fit_classifier(images: torch.Tensor, targets: torch.Tensor, epochs: int, batch_size: int = 128,
                   lr: float = 2e-3, seed: int = 0, device: str | torch.device = "cpu", num_classes: int = 10,
                   on_epoch: Callable[[int, SmallClassifier, float], None] | None = None) -> SmallClassifier:
    """A SmallClassifier for uint8 images (N, C, S, S) trained with random shifts of up to 2 px,
    AdamW with a one-cycle schedule; on_epoch(epoch, model, the epoch's mean loss) after each epoch.
    targets: (N,) class indices (softmax, cross-entropy) or (N, num_classes) 0/1 saying which
    classes appear in each image (one sigmoid per class, binary cross-entropy)."""
    device = torch.device(device)
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    multi_label = targets.ndim == 2
    if multi_label and targets.shape[1] != num_classes:
        raise ValueError(f"targets have {targets.shape[1]} classes, expected {num_classes}")
    model = SmallClassifier(num_classes, channels=images.shape[1], image_size=images.shape[2]).to(device)
    loss_fn = F.binary_cross_entropy_with_logits if multi_label else F.cross_entropy
    steps_per_epoch = len(images) // batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"{len(images)} images are fewer than one batch of {batch_size}")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    order = torch.empty(0, dtype=torch.int64)

    def step(index: int) -> dict[str, torch.Tensor]:
        nonlocal order
        i = index % steps_per_epoch
        if i == 0:  # a new epoch: a fresh order, and training mode again after on_epoch's evaluation
            model.train()
            order = torch.randperm(len(images), generator=rng)
        idx = order[i * batch_size:(i + 1) * batch_size]
        batch = random_shift(to_signed(images[idx]), 2, rng).to(device)
        loss = loss_fn(model(batch), targets[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return {"loss": loss.detach()}

    def report(record: dict) -> None:
        if on_epoch is not None:
            on_epoch(record["step"] // steps_per_epoch - 1, model, record["loss"])

    Loop(steps=epochs * steps_per_epoch, log_every=steps_per_epoch, on_log=report).run(step)
    return model.eval()


def scene_classes(split: str, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The classifier data of the "scenes" classifier: shape images (one circle, square or triangle)
    and digit scenes (1-3 MNIST digits; scenes' train split uses MNIST train digits, valid and test
    MNIST test digits), half each, at 64 px fitted to 32 px the way the extractor fits them.
    Targets (N, 13): which of the 3 shapes and the 10 digits appear."""
    seeds = {"train": 1, "valid": 2, "test": 3}
    if split not in seeds:
        raise DataError(f"split must be train, valid or test, got {split!r}")
    half = (limit or (20_000 if split == "train" else 2_000)) // 2
    shapes = make_shapes(half, SCENE_SIZE, seed=seeds[split])
    scenes = load_scenes("train" if split == "train" else "test", half, SCENE_SIZE, seed=seeds[split])
    targets = torch.zeros(2 * half, len(SHAPE_CLASSES) + 10)
    for i, labels in enumerate(shapes.labels):
        targets[i, labels] = 1
    for i, labels in enumerate(scenes.labels):
        targets[half + i, len(SHAPE_CLASSES) + labels] = 1
    size = CLASSIFIER_SHAPES["scenes"]["image_size"]
    return fit_pixels(torch.cat([shapes.images, scenes.images]), 3, size), targets


def _mnist_like(load: Callable[..., ImageTensorDataset]) -> Callable[[str, int | None], tuple[torch.Tensor, torch.Tensor]]:
    def images_and_labels(split: str, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        data = load(split, limit=limit)
        return data.images, data.labels
    return images_and_labels


# The data each packaged classifier is trained on: name -> load(split, limit) -> (uint8 images, targets).
CLASSIFIER_DATA = {"mnist": _mnist_like(load_mnist), "fashion-mnist": _mnist_like(load_fashion_mnist),
                   "scenes": scene_classes}
CLASSIFIER_EPOCHS = {"mnist": 4, "fashion-mnist": 4, "scenes": 12}


def train_feature_classifier(dataset: str = "mnist", epochs: int | None = None, batch_size: int = 128,
                             lr: float = 2e-3, seed: int = 0, device: str | torch.device = "cpu",
                             limit: int | None = None, progress: bool = True) -> tuple[SmallClassifier, dict]:
    """Train the classifier for `dataset` (mnist, fashion-mnist: their 50k train images; scenes:
    20k shape and scene images) with random shifts of up to 2 px; report valid and test accuracy
    (scenes: the share of images whose every class is called right)."""
    device = torch.device(device)
    epochs = epochs or CLASSIFIER_EPOCHS[dataset]
    load = CLASSIFIER_DATA[dataset]
    train, valid, test = (load(s, limit) for s in ("train", "valid", "test"))

    def report_epoch(epoch: int, model: SmallClassifier, loss: float) -> None:
        if progress:
            log.info("epoch %d/%d  loss %.4f  valid accuracy %.4f", epoch + 1, epochs, loss,
                     accuracy(model, *valid, device))

    start = time.perf_counter()
    num_classes = CLASSIFIER_SHAPES[dataset]["num_classes"]
    model = fit_classifier(*train, epochs, batch_size, lr, seed, device, num_classes, report_epoch)
    report = {
        "test_accuracy": accuracy(model, *test, device),
        "valid_accuracy": accuracy(model, *valid, device),
        "dataset": dataset, "epochs": epochs, "seed": seed, "train_images": len(train[0]),
        "train_seconds": round(time.perf_counter() - start, 1),
        "torch": torch.__version__,
        **CLASSIFIER_SHAPES[dataset],
    }
    return model.eval().cpu(), report


def save_classifier(model: SmallClassifier, report: dict, path: Path) -> None:
    """Weights as safetensors, and the report as JSON beside them."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(state, str(tmp)))
    text = json.dumps(report, indent=2) + "\n"
    atomic_write(path.with_suffix(".json"), lambda tmp: tmp.write_text(text))
