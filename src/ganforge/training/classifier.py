"""Training the MNIST classifier that evaluation uses as its feature extractor."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ganforge.data import load_fashion_mnist, load_mnist
from ganforge.data.transforms import to_signed
from ganforge.io.atomic import atomic_write
from ganforge.loop import Loop
from ganforge.models.classifier import MNISTClassifier

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
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device,
             batch_size: int = 1000) -> float:
    """Fraction of correct predictions; images uint8 (N, 1, 28, 28)."""
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        batch = to_signed(images[start:start + batch_size].to(device))
        correct += (model(batch).argmax(1).cpu() == labels[start:start + batch_size]).sum().item()
    return correct / len(images)


def fit_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int, batch_size: int = 128,
                   lr: float = 2e-3, seed: int = 0, device: str | torch.device = "cpu",
                   on_epoch: Callable[[int, MNISTClassifier, float], None] | None = None) -> MNISTClassifier:
    """An MNISTClassifier trained on uint8 images (N, 1, 28, 28) with random shifts of up to 2 px,
    AdamW with a one-cycle schedule; on_epoch(epoch, model, the epoch's mean loss) after each epoch."""
    device = torch.device(device)
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    model = MNISTClassifier().to(device)
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
        loss = F.cross_entropy(model(batch), labels[idx].to(device))
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


# The 28x28 grayscale datasets a feature classifier is trained on: name -> load(split, limit=...).
CLASSIFIER_DATA = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


def train_mnist_classifier(epochs: int = 4, batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
                           device: str | torch.device = "cpu", limit: int | None = None,
                           progress: bool = True, dataset: str = "mnist") -> tuple[MNISTClassifier, dict]:
    """Train on the dataset's train split (50k, random shifts of up to 2 px), report valid and
    test accuracy. `dataset`: mnist or fashion-mnist (same format, same network)."""
    device = torch.device(device)
    load = CLASSIFIER_DATA[dataset]
    train, valid, test = (load(s, limit=limit) for s in ("train", "valid", "test"))

    def report_epoch(epoch: int, model: MNISTClassifier, loss: float) -> None:
        if progress:
            log.info("epoch %d/%d  loss %.4f  valid accuracy %.4f", epoch + 1, epochs, loss,
                     accuracy(model, valid.images, valid.labels, device))

    start = time.perf_counter()
    model = fit_classifier(train.images, train.labels, epochs, batch_size, lr, seed, device, report_epoch)
    report = {
        "test_accuracy": accuracy(model, test.images, test.labels, device),
        "valid_accuracy": accuracy(model, valid.images, valid.labels, device),
        "dataset": dataset, "epochs": epochs, "seed": seed, "train_images": len(train),
        "train_seconds": round(time.perf_counter() - start, 1),
        "torch": torch.__version__,
    }
    return model.eval().cpu(), report


def save_classifier(model: MNISTClassifier, report: dict, path: Path) -> None:
    """Weights as safetensors, and the report as JSON beside them."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(state, str(tmp)))
    text = json.dumps(report, indent=2) + "\n"
    atomic_write(path.with_suffix(".json"), lambda tmp: tmp.write_text(text))
