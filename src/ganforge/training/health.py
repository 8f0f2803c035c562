"""Health checks during training: GAN failure modes named while they happen, not after.

The trainer hands every log record (the means of D(x), D(G(z)) and both losses over the last
`log_every` steps, plus the generator's and discriminator's gradient norms of the last step and
the diversity of samples from fixed noise) and every evaluation to a `HealthMonitor`. Each check
has a threshold below (documented in docs/training.md) and must hold for PATIENCE records in a
row; when it fires, the trainer logs one line saying what was seen and what to try, appends the
event to metrics.jsonl ({"step", "health", "message"}), and stops the run (after a checkpoint) if
the check is in `--stop-on`. A check fires once and again only after it has cleared.

Checks:
- d-domination: D(G(z)) < 0.05 while D(x) > 0.95: the discriminator separates perfectly and the
  generator learns nothing useful (typical of DCGAN on colour images).
- vanishing-gradients: the generator's gradient norm below 1% of its median over the first
  records (saturating losses when D wins).
- exploding-gradients: a gradient norm above 100x its early median (the NaN risk).
- divergence: a loss above 100 in magnitude and 10x its early median (unbounded critics).
- mode-collapse: the mean pairwise distance of 64 samples from fixed noise (pooled to 16x16 px),
  relative to that of 64 real images, falls below half of its best after it had reached 0.3:
  samples came to look alike. (A generator that never became diverse is not flagged by this
  check; on such runs d-domination fires.)
- no-progress: the evaluation metric (--eval-every) not better than its best for 3 evaluations.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import torch

from ganforge.config import HEALTH_CHECKS
from ganforge.models import generate

PATIENCE = 3  # consecutive log records (or evaluations) a condition must hold
EARLY = 3  # records that set the baselines of the ratio checks
BASELINE_KEYS = ("grad_g", "grad_d", "loss_d", "loss_g")
DOMINATION_D_FAKE, DOMINATION_D_REAL = 0.05, 0.95
VANISHING_RATIO = 0.02
EXPLODING_RATIO = 100.0
DIVERGENCE_LOSS, DIVERGENCE_RATIO = 100.0, 10.0
COLLAPSE_DROP, COLLAPSE_REACHED = 0.5, 0.3
NO_PROGRESS_EVALS = 3

ADVICE = {
    "d-domination": "the discriminator wins outright; try a stabilised preset (--preset dcgan-sn, sngan-small, "
                    "sngan or stylegan2-lite), --augment ada, --penalty r1, or a lower --lr-d",
    "vanishing-gradients": "the generator gets almost no gradient; use --loss nonsaturating (not minimax), and the "
                           "remedies for a dominating discriminator (--penalty r1, --spectral-norm, a preset)",
    "exploding-gradients": "NaN risk; lower --lr, add --penalty r1 or gp, or --spectral-norm",
    "divergence": "a loss is running away; lower --lr, add --penalty gp (wasserstein) or r1, or --spectral-norm",
    "mode-collapse": "samples lost their diversity; try --mode-seeking 1, --augment color,translation, --penalty r1, "
                     "or resume from an earlier checkpoint",
    "no-progress": "the evaluation metric stopped improving; training may have converged or stalled (RUN/best keeps "
                   "the best checkpoint): stop, or try a lower --lr",
}
assert tuple(ADVICE) == HEALTH_CHECKS  # one name list: the config validates --stop-on with it


@dataclass
class HealthEvent:
    step: int
    check: str
    seen: str

    @property
    def message(self) -> str:
        return f"{self.check} at step {self.step}: {self.seen}; {ADVICE[self.check]}"

    def record(self) -> dict[str, Any]:
        return {"step": self.step, "health": self.check, "message": self.message}


@dataclass
class HealthMonitor:
    """Turns log records and evaluations into HealthEvents (see the module's thresholds)."""

    best_metric: str = "fd"
    higher_is_better: bool = False
    streaks: dict[str, int] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)
    early: dict[str, list[float]] = field(default_factory=dict)
    best_diversity: float = 0.0
    best_eval: float | None = None

    def _baselines(self, record: dict[str, Any]) -> dict[str, float]:
        """The median magnitude of each of BASELINE_KEYS over its first EARLY finite values, for
        the keys that have them (a record still among the first is not judged against them)."""
        out = {}
        for key in BASELINE_KEYS:
            value = record.get(key)
            if value is None:
                continue
            values = self.early.setdefault(key, [])
            if len(values) < EARLY:
                if math.isfinite(value):
                    values.append(abs(value))
            else:
                out[key] = statistics.median(values)
        return out

    def _streak(self, check: str, condition: bool, step: int, seen: str, patience: int = PATIENCE) -> list[HealthEvent]:
        if not condition:
            self.streaks[check] = 0
            self.active.discard(check)
            return []
        self.streaks[check] = self.streaks.get(check, 0) + 1
        if self.streaks[check] >= patience and check not in self.active:
            self.active.add(check)
            return [HealthEvent(step, check, seen)]
        return []

    def observe(self, record: dict[str, Any]) -> list[HealthEvent]:
        """Events of one log record (keys: step, loss_d, loss_g, d_real, d_fake, and when present
        grad_g, grad_d, diversity)."""
        step, events = int(record["step"]), []
        d_real, d_fake = record.get("d_real"), record.get("d_fake")
        if d_real is not None and d_fake is not None:
            events += self._streak("d-domination", d_fake < DOMINATION_D_FAKE and d_real > DOMINATION_D_REAL, step,
                                   f"D(x) {d_real:.3f}, D(G(z)) {d_fake:.4f}, generator loss {record['loss_g']:.2f}")
        base = self._baselines(record)
        grad_g = record.get("grad_g")
        if base.get("grad_g", 0) > 0:
            events += self._streak("vanishing-gradients", grad_g < VANISHING_RATIO * base["grad_g"], step,
                                   f"generator gradient norm {grad_g:.2e}, {grad_g / base['grad_g']:.1%} of its early "
                                   f"{base['grad_g']:.2e}")
        exploding = [f"{key} {record[key]:.2e} ({record[key] / base[key]:.0f}x its early {base[key]:.2e})"
                     for key in ("grad_g", "grad_d") if base.get(key, 0) > 0 and record[key] > EXPLODING_RATIO * base[key]]
        events += self._streak("exploding-gradients", bool(exploding), step, "; ".join(exploding))
        running = [f"{key} {record[key]:.3g} (early {base[key]:.3g})" for key in ("loss_d", "loss_g")
                   if key in base and abs(record[key]) > DIVERGENCE_LOSS
                   and abs(record[key]) > DIVERGENCE_RATIO * max(base[key], 1e-3)]
        events += self._streak("divergence", bool(running), step, "; ".join(running))
        diversity = record.get("diversity")
        if diversity is not None:
            self.best_diversity = max(self.best_diversity, diversity)
            # A fresh generator's samples all look alike: only a fall from diversity once reached counts.
            collapsed = self.best_diversity >= COLLAPSE_REACHED and diversity < COLLAPSE_DROP * self.best_diversity
            events += self._streak("mode-collapse", collapsed, step,
                                   f"sample diversity {diversity:.2f} of real images' (best so far "
                                   f"{self.best_diversity:.2f})")
        return events

    def observe_evaluation(self, step: int, results: dict[str, float]) -> list[HealthEvent]:
        """Events of one evaluation: no-progress when the best metric has not improved for
        NO_PROGRESS_EVALS evaluations in a row."""
        value = results.get(self.best_metric)
        if value is None or not math.isfinite(value):
            return []
        better = self.best_eval is None or (value > self.best_eval if self.higher_is_better else value < self.best_eval)
        if better:
            self.best_eval = value
        return self._streak("no-progress", not better, step,
                            f"{self.best_metric} {value:.4g}, best {self.best_eval:.4g}", patience=NO_PROGRESS_EVALS)


def gradient_norm(module: torch.nn.Module) -> float | None:
    """L2 norm of the module's current .grad tensors (None when it has none)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return None
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))


def _spread(images: torch.Tensor) -> float:
    """Mean pairwise L2 distance of images pooled to at most 16x16 (float64)."""
    x = images.detach().float()
    if x.shape[-1] > 16:
        x = torch.nn.functional.adaptive_avg_pool2d(x, 16)
    return float(torch.pdist(x.flatten(1).double()).mean())


class DiversityProbe:
    """The diversity of samples from fixed noise, relative to that of a fixed set of real images."""

    def __init__(self, real: torch.Tensor, noise: tuple[torch.Tensor, torch.Tensor | None]) -> None:
        self.reference = max(_spread(real), 1e-12)
        self.z, self.labels = noise

    @torch.no_grad()
    def __call__(self, generator: torch.nn.Module) -> float:
        was_training = generator.training
        generator.eval()
        try:
            images = generate(generator, self.z, self.labels)
        finally:
            generator.train(was_training)
        return _spread(images) / self.reference
