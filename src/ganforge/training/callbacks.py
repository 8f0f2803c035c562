"""What a GAN run does beside training, at its own intervals: metrics lines, fixed-noise sample
grids, evaluation with the best checkpoint kept, and the curves drawn at the end. The trainer
hands these to the loop as hooks; none of them changes the weights."""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

import torch
from torch import nn

from ganforge.io.jsonl import MetricsLog
from ganforge.io.pictures import make_grid, save_grid
from ganforge.io.run_folder import BEST_DIR, EVALUATIONS_FILE, METRICS_FILE
from ganforge.models import generate
from ganforge.training.plots import plot_evaluation_curves, plot_training_curves

log = logging.getLogger(__name__)

SAMPLE_GRID_SIZE = 64


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Eval mode inside (BatchNorm statistics untouched), the previous mode restored after."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


class MetricsLines:
    """RUN/metrics.jsonl: one averaged record per log step; a log line when there is no bar."""

    def __init__(self, run_dir: Path, total: int | None, echo: bool) -> None:
        self.file = MetricsLog(run_dir / METRICS_FILE)
        self.total, self.echo = total, echo

    def write(self, record: dict[str, Any]) -> None:
        self.file.append(record)
        if self.echo:
            log.info("step %d%s  loss_d %.4f  loss_g %.4f  D(x) %.3f  D(G(z)) %.3f  %.0f img/s",
                     record["step"], f"/{self.total}" if self.total else "", record["loss_d"], record["loss_g"],
                     record["d_real"], record["d_fake"], record["images_per_s"])


class SampleGrid:
    """A grid of the same latents at every save (one column per class for conditional models):
    RUN/samples/step_*.png and RUN/samples.png (the latest)."""

    def __init__(self, latent_dim: int, num_classes: int, image_size: int, seed: int, device: torch.device) -> None:
        self.columns = num_classes * max(1, 8 // num_classes) if 0 < num_classes <= 16 else 8
        size = self.columns * max(1, SAMPLE_GRID_SIZE // self.columns)
        self.noise = torch.randn(size, latent_dim, generator=torch.Generator().manual_seed(seed)).to(device)
        self.labels = torch.arange(size, device=device) % num_classes if num_classes else None
        self.upscale = max(1, 64 // image_size)

    @torch.no_grad()
    def save(self, generator: nn.Module, run_dir: Path, step: int) -> Path:
        """Generator in eval mode, so BatchNorm statistics are not touched."""
        with eval_mode(generator) as g:
            images = generate(g, self.noise, self.labels)
        self.last_grid = make_grid(images, nrow=self.columns)  # (C, H, W) uint8, for live dashboards
        path = save_grid(images, run_dir / "samples" / f"step_{step:08d}.png", nrow=self.columns,
                         upscale=self.upscale)
        save_grid(images, run_dir / "samples.png", nrow=self.columns, upscale=self.upscale)
        return path


class PeriodicEvaluator(Protocol):
    """Scores a generator (in eval mode) during training: metric name -> value."""

    higher_is_better: dict[str, bool]

    def __call__(self, generator: nn.Module) -> dict[str, float]: ...


class BestKeeper:
    """Evaluates the sampling generator, appends to RUN/evaluations.jsonl, and keeps the best
    checkpoint by `metric` in RUN/best/ (written by `save_best`)."""

    def __init__(self, evaluator: PeriodicEvaluator, metric: str, run_dir: Path,
                 save_best: Callable[[Path], Any]) -> None:
        self.evaluator, self.metric = evaluator, metric
        self.evaluations = MetricsLog(run_dir / EVALUATIONS_FILE)
        self.save_best = save_best
        self.best: dict[str, float] = {}  # {"value": ..., "step": ...} of the best evaluation so far
        self.best_dir = run_dir / BEST_DIR

    def evaluate(self, generator: nn.Module, step: int) -> dict[str, float]:
        with eval_mode(generator) as g:
            results = self.evaluator(g)
        self.evaluations.append({"step": step, **results})
        value, sign = results[self.metric], (1 if self.evaluator.higher_is_better[self.metric] else -1)
        if math.isfinite(value) and (not self.best or sign * value > sign * self.best["value"]):
            self.best = {"value": value, "step": step}
            self.save_best(self.best_dir)
        log.info("evaluation at step %d: %s (best %s %.4f at step %d)", step,
                 ", ".join(f"{k} {v:.4f}" for k, v in results.items()), self.metric, self.best["value"],
                 self.best["step"])
        return results


def draw_curves(run_dir: Path) -> None:
    """RUN/training_curves.png and, when the run was evaluated, RUN/evaluation_curves.png."""
    lines = MetricsLog(run_dir / METRICS_FILE).read()
    records = [r for r in lines if "health" not in r]  # health events share the file (training/health.py)
    if records:
        plot_training_curves(records, run_dir / "training_curves.png", [r for r in lines if "health" in r])
    evaluations = MetricsLog(run_dir / EVALUATIONS_FILE).read()
    if evaluations:
        plot_evaluation_curves(evaluations, run_dir / "evaluation_curves.png")
