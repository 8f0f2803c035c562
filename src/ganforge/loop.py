"""The one optimisation loop that every trained thing in ganforge runs: the GAN trainer, the toy
GANs, the image-to-image nets (inpainter, segmenter), the classifiers, the semi-supervised GAN, the
inversion encoder and GAN inversion itself. Each supplies its own step; the loop owns the rest:

- stopping at the first of a step count and a time budget (`Loop(steps=..., minutes=...)`),
- a progress bar,
- averaging what the step returns over `log_every` steps without a device sync per step,
- calling hooks every N steps (samples, evaluation, checkpoints) and timing them apart,
- Ctrl-C and SIGTERM (what Slurm, Kubernetes and cloud preemption send): finish the step, run
  the end hooks (a checkpoint), then raise KeyboardInterrupt; a second signal stops at once.

It sits below `ganforge.training` (next to `ganforge.device`) because GAN inversion, which the
web server runs, optimises with it too, and the server never imports the training package.

    loop = Loop(steps=1000, log_every=100, progress=True, desc="encoder")
    history = loop.run(lambda step: {"loss": one_update()})   # [{"step": 100, "loss": ...}, ...]
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

import torch
from tqdm import tqdm

Stats = dict[str, torch.Tensor | float]  # what a step returns: scalars to average (detached tensors or floats)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def adam(parameters: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999), **options: Any) -> torch.optim.Adam:
    """The optimiser every ganforge loop uses: Adam, multi-tensor (foreach: a few large kernel calls
    instead of several per parameter)."""
    return torch.optim.Adam(parameters, lr=lr, betas=betas, foreach=True, **options)


def linear_decay(step: int, start: int, total: int) -> float:
    """The learning-rate factor of step `step` (0-based) under a linear decay that begins at `start`
    and reaches 0 at `total`: 1 before `start`, then (total - step) / (total - start); so the
    step at `start` still takes the whole rate and the last step (total - 1) 1 / (total - start)."""
    if not 0 <= start < total:
        raise ValueError(f"linear decay needs 0 <= start < total, got start={start}, total={total}")
    return 1.0 if step < start else max(0.0, (total - step) / (total - start))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Every parameter group of `optimizer` at learning rate `lr`."""
    for group in optimizer.param_groups:
        group["lr"] = lr


class RootEpsAdam(torch.optim.Optimizer):
    """Adam with an epsilon inside the square root as well:
        p <- p - lr * m_hat / (sqrt(v_hat + eps_root) + eps)
    eps_root = 0 is torch's Adam. Salimans et al.'s published code (improved-gan's `adam_updates`)
    uses eps_root = 1e-8, eps = 0: where gradients are tiny (sqrt(v_hat) << 1e-4, as for most of a
    weight-normalised MLP's directions) the step shrinks to about lr * m_hat / 1e-4 instead of
    torch's lr-sized, sign-like step. optax calls the same term eps_root."""

    def __init__(self, params: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 0.0,
                 eps_root: float = 1e-8) -> None:
        if lr <= 0 or eps < 0 or eps_root < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"RootEpsAdam needs lr > 0, eps >= 0, eps_root >= 0 and betas in [0, 1), got "
                             f"lr={lr}, eps={eps}, eps_root={eps_root}, betas={betas}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "eps_root": eps_root})

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if not self.state[p]:
                    self.state[p].update(step=torch.zeros((), dtype=torch.float64),
                                         exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
            beta1, beta2 = group["betas"]
            by_step: dict[float, list[torch.Tensor]] = {}  # parameters that missed a step correct differently
            for p in params:
                self.state[p]["step"] += 1
                by_step.setdefault(float(self.state[p]["step"]), []).append(p)
            for t, ps in by_step.items():
                grads = [p.grad for p in ps]
                m, v = [self.state[p]["exp_avg"] for p in ps], [self.state[p]["exp_avg_sq"] for p in ps]
                torch._foreach_lerp_(m, grads, 1 - beta1)
                torch._foreach_mul_(v, beta2)
                torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
                # sqrt(v / c2 + eps_root) + eps = (sqrt(v + eps_root c2) + eps sqrt(c2)) / sqrt(c2): two passes fewer
                c2 = 1 - beta2 ** t
                denominators = torch._foreach_add(v, group["eps_root"] * c2)
                torch._foreach_sqrt_(denominators)
                if group["eps"]:
                    torch._foreach_add_(denominators, group["eps"] * math.sqrt(c2))
                torch._foreach_addcdiv_(ps, m, denominators, value=-group["lr"] * math.sqrt(c2) / (1 - beta1 ** t))
        return loss


class Window:
    """Sums of step statistics since the last log line, kept as tensors to avoid syncs."""

    def __init__(self, start: int) -> None:
        self.start, self.steps, self.items = start, 0, 0
        self.sums: dict[str, torch.Tensor | float] = {}
        self.t0 = time.perf_counter()

    def add(self, stats: Stats, items: int = 0) -> None:
        for name, value in stats.items():
            if isinstance(value, torch.Tensor):
                value = value.detach()
            self.sums[name] = self.sums[name] + value if name in self.sums else (
                value.clone() if isinstance(value, torch.Tensor) else value)
        self.steps += 1
        self.items += items

    def finite(self) -> bool:
        """Whether every statistic so far was finite (one device sync)."""
        if self.steps == 0 or not self.sums:
            return True
        total = sum(self.sums.values())
        return bool(torch.isfinite(torch.as_tensor(total)).all())

    def summary(self, step: int, items_name: str | None = None, stamp: bool = False) -> dict[str, Any]:
        """{"step", each statistic's mean, [items_name per second], ["time": now]}."""
        elapsed = time.perf_counter() - self.t0
        record: dict[str, Any] = {"step": step}
        record.update({name: float(total) / self.steps for name, total in self.sums.items()})
        if items_name is not None:
            record[items_name] = self.items / elapsed if elapsed > 0 else 0.0
        if stamp:
            record["time"] = datetime.now().isoformat(timespec="seconds")
        return record


@dataclass
class Hook:
    """`call(step)` after every `every` steps (and, with at_end, once more after the last step)."""

    every: int
    call: Callable[[int], Any]
    at_end: bool = False


def progress_bar(items: Any, total: int | None = None, desc: str = "", unit: str = "it", show: bool = False) -> Any:
    """`items`, wrapped in a progress bar with a time estimate on stderr when `show` (commands pass
    whether stderr is a terminal), else unchanged: long jobs outside the training loop (sampling,
    feature extraction, writing pictures) report progress the same way."""
    if not show:
        return items
    return tqdm(items, total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False)


@dataclass
class Loop:
    """Runs a step function until `steps` steps (counted from 0, resuming at `start`) or `minutes`.

    log_every: average the step's statistics over this many steps into one record, handed to
    `on_log(record)` (which may still read `self.window`, e.g. to check it was finite) and kept
    in the returned history (None: one record at the end).
    items_per_step and items_name: also report a rate ("images_per_s") in each record.
    stop_all: several processes must stop at the same step: maps this rank's (stop, interrupted)
    to the agreed pair (an all-reduce).
    """

    steps: int | None = None
    minutes: float | None = None
    start: int = 0
    log_every: int | None = None
    progress: bool = False
    desc: str = "training"
    items_per_step: int = 0
    items_name: str | None = None
    timestamps: bool = False  # each record gets the wall-clock "time"
    hooks: list[Hook] = field(default_factory=list)
    on_log: Callable[[dict[str, Any]], None] | None = None
    on_end: Callable[[int], None] | None = None
    stop_all: Callable[[bool, bool], tuple[bool, bool]] | None = None
    step: int = field(init=False, default=0)
    interrupted: bool = field(init=False, default=False)
    stop_requested: bool = field(init=False, default=False)
    window: Window = field(init=False)  # the statistics since the last record

    def __post_init__(self) -> None:
        if self.steps is None and self.minutes is None:
            raise ValueError("a loop needs steps or minutes to stop")
        self.step = self.start
        self.window = Window(self.start)

    def run(self, train_step: Callable[[int], Stats]) -> list[dict[str, Any]]:
        """Call train_step(step index) until a stop; returns the logged records. Raises
        KeyboardInterrupt after the end hooks when a stop signal arrived."""
        deadline = time.monotonic() + self.minutes * 60 if self.minutes is not None else math.inf
        history: list[dict[str, Any]] = []
        self.window = Window(self.step)
        bar = tqdm(total=self.steps, initial=self.step, unit="step", disable=not self.progress,
                   dynamic_ncols=True, desc=self.desc)
        restore = self._catch_signals()
        try:
            while not self._should_stop(deadline):
                self.window.add(train_step(self.step), self.items_per_step)
                self.step += 1
                bar.update(1)
                if self.log_every is not None and (self.step % self.log_every == 0 or self.step == self.steps):
                    self._log(history, bar)
                started = time.perf_counter()
                for hook in self.hooks:
                    if self.step % hook.every == 0:
                        hook.call(self.step)
                self.window.t0 += time.perf_counter() - started  # rates count the steps only
            if self.window.steps:
                self._log(history, bar)
            for hook in self.hooks:
                if hook.at_end and self.step % hook.every != 0:
                    hook.call(self.step)
            if self.on_end is not None:
                self.on_end(self.step)
            if self.interrupted:
                raise KeyboardInterrupt
        finally:
            restore()
            bar.close()
        return history

    def _log(self, history: list[dict[str, Any]], bar: tqdm) -> None:
        """Close the window into a record: on_log sees it (and can still check self.window)."""
        record = self.window.summary(self.step, self.items_name, self.timestamps)
        if self.on_log is not None:
            self.on_log(record)
        history.append(record)
        bar.set_postfix({k: f"{v:.3g}" for k, v in record.items()
                         if k not in ("step", "time") and isinstance(v, (int, float))})  # on_log may add lists
        self.window = Window(self.step)

    def request_stop(self) -> None:
        """End after the current step, as when `steps` is reached (end hooks run; no interrupt)."""
        self.stop_requested = True

    def _should_stop(self, deadline: float) -> bool:
        stop = (self.steps is not None and self.step >= self.steps) or time.monotonic() >= deadline \
            or self.interrupted or self.stop_requested
        if self.stop_all is not None:
            stop, self.interrupted = self.stop_all(stop, self.interrupted)
        return stop

    def _catch_signals(self) -> Callable[[], None]:
        """First Ctrl-C / SIGTERM: finish the step, run the end hooks, stop. A second: at once."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None  # signal handlers live in the main thread only
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

        def on_signal(signum: int, frame: Any) -> None:
            self.interrupted = True
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.default_int_handler)

        for sig in STOP_SIGNALS:
            signal.signal(sig, on_signal)

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore
