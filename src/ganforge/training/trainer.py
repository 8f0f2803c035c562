"""The one trainer loop: data, models, optimizers, logging, samples, checkpoints, resume."""

from __future__ import annotations

import logging
import math
import signal
import time
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from functools import partial
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Protocol

import torch
from tqdm import tqdm

from ganforge import checkpoint as ckpt
from ganforge.config import RunConfig
from ganforge.data import ImageTensorDataset, build_dataset
from ganforge.errors import ConfigError, TrainingDiverged
from ganforge.images import save_grid
from ganforge.losses import LOSSES, PENALTIES, discriminator_loss_bce
from ganforge.models import build_discriminator, build_generator, generate
from ganforge.training import distributed
from ganforge.training.augment import build_augment
from ganforge.training.batches import BatchStream
from ganforge.training.ema import EMA
from ganforge.training.plots import plot_evaluation_curves, plot_training_curves
from ganforge.training.run_log import MetricsLog
from ganforge.training.step import StepStats, train_step

log = logging.getLogger(__name__)

SAMPLE_GRID_SIZE = 64
BEST_DIR = "best"


class PeriodicEvaluator(Protocol):
    """Scores a generator (in eval mode) during training: metric name -> value."""

    higher_is_better: dict[str, bool]

    def __call__(self, generator: torch.nn.Module) -> dict[str, float]: ...


EvaluatorFactory = Callable[[RunConfig, torch.device], PeriodicEvaluator]


def resolve_device(name: str) -> torch.device:
    """A torch.device from a user string, with a clear error when it is not available."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"--device: unknown device {name!r} (try cpu, cuda, cuda:1, mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"--device {name}: MPS is not available on this machine")
    return device


def cpu_has_native_bf16() -> bool:
    """Whether the CPU advertises AVX-512 BF16 or AMX BF16 (Linux /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" -> "bf16" on CUDA GPUs and CPUs that compute it natively, else "fp32"."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


class Trainer:
    """Trains `config` in `run_dir`; `fit()` runs until a stop condition and returns the run dir.
    On Ctrl-C it finishes the step, saves a checkpoint, then raises KeyboardInterrupt.

    Run folder: config.json, metrics.jsonl, training_curves.png, samples/step_*.png,
    samples.png (latest grid), checkpoints/step_*/.
    """

    def __init__(self, config: RunConfig, run_dir: Path, dataset: ImageTensorDataset | None = None,
                 progress: bool = True, evaluator_factory: EvaluatorFactory | None = None) -> None:
        self.config = config.validate()
        self.run_dir = Path(run_dir)
        self.progress = progress
        t = config.train
        self.loss = LOSSES.get(t.loss)
        self.penalty = PENALTIES.get(t.penalty) if t.penalty is not None else None
        self.augment = build_augment(t.augment)
        if self.loss.needs_lipschitz and self.penalty is None and t.clip is None:
            raise ConfigError(f"--loss {t.loss} needs a Lipschitz constraint on D: add --penalty gp or --clip 0.01")
        if t.label_smoothing > 0:
            if self.loss.discriminator is not discriminator_loss_bce:
                raise ConfigError(f"--label-smoothing works with the BCE losses (nonsaturating, minimax), "
                                  f"not --loss {t.loss}")
            self.loss = replace(self.loss, discriminator=partial(discriminator_loss_bce,
                                                                 real_target=1.0 - t.label_smoothing))
        self.dist = distributed.from_environment()
        distributed.check_batch(self.dist, t.batch_size, t.accumulate)
        self._joined_group = self.dist.enabled and not torch.distributed.is_initialized()
        self.device = distributed.setup(self.dist, resolve_device(t.device))
        self.precision = resolve_precision(t.precision, self.device)
        self.dataset = dataset if dataset is not None else build_dataset(config.data, progress=progress)
        shape = (config.data.channels, config.data.image_size, config.data.image_size)
        if self.dataset.image_shape != shape:
            raise ConfigError(f"dataset images are {self.dataset.image_shape}, the config expects {shape}")
        self.num_classes = config.model.num_classes
        if self.num_classes:
            check_dataset_classes(self.dataset, self.num_classes)

        self.memory_format = torch.channels_last if t.channels_last else torch.contiguous_format
        self.generator = build_generator(config.model, config.data, seed=t.seed).to(
            self.device, memory_format=self.memory_format)
        self.discriminator = build_discriminator(config.model, config.data, seed=t.seed + 1).to(
            self.device, memory_format=self.memory_format)
        self.generator = distributed.sync_batchnorm(self.generator, self.dist, self.device, t.sync_bn)
        self.discriminator = distributed.sync_batchnorm(self.discriminator, self.dist, self.device, t.sync_bn)
        self.ema = EMA(self.generator, t.ema_decay) if t.ema_decay is not None else None
        o = config.optim
        # foreach=True: multi-tensor Adam, a few large kernel calls instead of several per parameter.
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2), foreach=True)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2), foreach=True)
        self.latent_rng = torch.Generator(device=self.device).manual_seed(t.seed + 2)
        # Sample grids: one column per class for conditional models.
        self.grid_columns = self.num_classes * max(1, 8 // self.num_classes) if 0 < self.num_classes <= 16 else 8
        grid_size = self.grid_columns * max(1, SAMPLE_GRID_SIZE // self.grid_columns)
        self.fixed_noise = torch.randn(grid_size, config.model.latent_dim,
                                       generator=torch.Generator().manual_seed(t.seed + 3)).to(self.device)
        self.fixed_labels = (torch.arange(grid_size, device=self.device) % self.num_classes
                             if self.num_classes else None)
        self.step = 0
        # Dropout, DiffAugment and StyleGAN noise draw from the global RNG: seeded here (per rank),
        # saved and restored with checkpoints.
        torch.manual_seed(t.seed + self.dist.rank)
        # What the training step runs: DistributedDataParallel wrappers when on several processes.
        self.train_generator = distributed.wrap(self.generator, self.dist, self.device)
        self.train_discriminator = distributed.wrap(self.discriminator, self.dist, self.device)
        if t.compile and compile_available(self.device):
            self.train_generator = torch.compile(self.train_generator)
            self.train_discriminator = torch.compile(self.train_discriminator)
        # fp16 needs loss scaling (its range is small); one scaler per optimizer.
        self.scalers = ((torch.amp.GradScaler(self.device.type), torch.amp.GradScaler(self.device.type))
                        if self.precision == "fp16" else None)
        self.metrics = MetricsLog(self.run_dir / "metrics.jsonl")
        self.evaluations = MetricsLog(self.run_dir / "evaluations.jsonl")
        self.evaluator = None
        if t.eval_every is not None and self.dist.is_main:
            if evaluator_factory is None:
                raise ConfigError("--eval-every needs an evaluator: train through ganforge.train or the CLI")
            self.evaluator = evaluator_factory(config, self.device)
            if t.best_metric not in self.evaluator.higher_is_better:
                raise ConfigError(f"train.best_metric (--best-metric) must be one of "
                                  f"{', '.join(self.evaluator.higher_is_better)}, got {t.best_metric!r}")
        self.best: dict[str, float] = {}  # {"value": ..., "step": ...} of the best evaluation so far
        self._interrupted = False

    # ----------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        state = {"step": self.step, "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                 "latent_rng": self.latent_rng.get_state(), "torch_rng": torch.get_rng_state(),
                 "best": dict(self.best)}
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        if self.scalers is not None:
            state["scalers"] = [scaler.state_dict() for scaler in self.scalers]
        return state

    def modules(self) -> dict[str, torch.nn.Module]:
        """What a checkpoint holds: generator, discriminator, and generator_ema with EMA."""
        modules = {"generator": self.generator, "discriminator": self.discriminator}
        if self.ema is not None:
            modules["generator_ema"] = self.ema.shadow
        return modules

    @property
    def sampling_generator(self) -> torch.nn.Module:
        """The generator used for samples and evaluation: the EMA copy when there is one."""
        return self.ema.shadow if self.ema is not None else self.generator

    def load_checkpoint(self, checkpoint: Path) -> None:
        for name, module in self.modules().items():
            ckpt.load_module_state(checkpoint, name, module)
        state = ckpt.load_trainer_state(checkpoint)
        self.step = int(state["step"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.latent_rng.set_state(state["latent_rng"])
        torch.set_rng_state(state["torch_rng"])
        if self.dist.enabled:  # the saved state is rank 0's: give each rank its own stream again
            torch.manual_seed(self.config.train.seed + self.dist.rank + 1_000_003 * self.step)
        if "cuda_rng" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        self.best = dict(state.get("best", {}))
        if self.scalers is not None and "scalers" in state:
            for scaler, saved in zip(self.scalers, state["scalers"]):
                scaler.load_state_dict(saved)
        if self.dist.is_main:
            self._forget_after(self.step)

    def _forget_after(self, step: int) -> None:
        """Drop logs and checkpoints past `step`: resuming from an older checkpoint starts a new
        timeline from there, and a fresh run (step 0) must not mix with a failed one's files."""
        self.metrics.truncate_after(step)
        self.evaluations.truncate_after(step)
        for folder in (self.run_dir / ckpt.CHECKPOINTS_DIR, self.run_dir / BEST_DIR):
            for checkpoint in ckpt.list_checkpoints(folder):
                if ckpt.read_meta(checkpoint)["step"] > step:
                    ckpt.remove_checkpoint(checkpoint)

    def _check_weights_finite(self) -> None:
        """The last update can make weights NaN/Inf even when its loss was finite."""
        for name, module in self.modules().items():
            if not all(bool(torch.isfinite(p).all()) for p in module.parameters()):
                raise TrainingDiverged(f"{name} weights became NaN/Inf by step {self.step}; stopped, {self._kept()}. "
                                       "Try a lower learning rate.")

    def save_checkpoint(self) -> Path | None:
        """Rank 0 writes it, after every rank confirmed the replicas are identical."""
        self._check_weights_finite()
        distributed.check_replicas_identical(self.dist, self.modules())
        if not self.dist.is_main:
            return None
        return ckpt.save_checkpoint(self.run_dir / ckpt.CHECKPOINTS_DIR, self.step, self.config, self.modules(),
                                    self.state_dict(), keep=self.config.train.keep_checkpoints)

    # ------------------------------------------------------------------------------ loop
    def total_steps(self) -> int | None:
        """Generator steps to reach, from train.steps and train.epochs (the smaller wins)."""
        t = self.config.train
        limits = []
        if t.steps is not None:
            limits.append(t.steps)
        if t.epochs is not None:
            per_epoch = len(self.dataset) // (t.batch_size * t.d_steps)
            limits.append(max(1, math.ceil(t.epochs * per_epoch)))
        return min(limits) if limits else None

    def noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(z (n, latent_dim), uniformly drawn class labels (n,) for conditional models, else None).
        On several processes every rank draws the global batch's latents and keeps its slice."""
        total = n * self.dist.world_size
        z = torch.randn(total, self.config.model.latent_dim, generator=self.latent_rng, device=self.device)
        labels = (torch.randint(self.num_classes, (total,), generator=self.latent_rng, device=self.device)
                  if self.num_classes else None)
        return self.dist.shard(z), self.dist.shard(labels)

    def scheduled_penalty(self) -> Callable | None:
        """The weighted penalty for this step: every `penalty_every` steps, weight x interval
        (lazy regularisation, Karras et al. 2020), else None."""
        t = self.config.train
        if self.penalty is None or self.step % t.penalty_every != 0:
            return None
        weight = t.penalty_weight * t.penalty_every
        return lambda discriminator, real, fake: weight * self.penalty(discriminator, real, fake)

    def autocast(self) -> ContextManager:
        """bf16 / fp16 autocast for those precisions, else nothing."""
        if self.precision in ("bf16", "fp16"):
            return torch.autocast(self.device.type, dtype=torch.bfloat16 if self.precision == "bf16" else torch.float16)
        return nullcontext()

    def fit(self) -> Path:
        t = self.config.train
        main = self.dist.is_main  # only rank 0 writes files
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.step == 0:
                self._forget_after(0)
            self.config.save(self.run_dir / "config.json")
        total = self.total_steps()
        deadline = time.monotonic() + t.minutes * 60 if t.minutes is not None else math.inf
        batches = BatchStream(self.dataset, t.batch_size, t.seed, self.device, start_batch=self.step * t.d_steps,
                              memory_format=self.memory_format, with_labels=self.num_classes > 0,
                              shard=self.dist.shard)
        bar = tqdm(total=total, initial=self.step, unit="step", disable=not (self.progress and main),
                   dynamic_ncols=True, desc="training")
        window = _Window(self.step)
        previous_handler = signal.signal(signal.SIGINT, self._on_interrupt)
        try:
            while not self._should_stop(total, deadline):
                stats = train_step(self.train_generator, self.train_discriminator, self.opt_g, self.opt_d, self.loss,
                                   [next(batches) for _ in range(t.d_steps)], self.noise, self.autocast,
                                   self.scheduled_penalty(), t.clip, self.augment, self.scalers, t.accumulate,
                                   t.mode_seeking)
                if self.ema is not None:
                    self.ema.update(self.generator, self.step)
                self.step += 1
                window.add(stats, t.batch_size * t.d_steps)
                bar.update(1)
                last = self.step == total
                if self.step % t.log_every == 0 or last:
                    self._log(window, bar)
                    window = _Window(self.step)
                bookkeeping = time.perf_counter()
                if self.step % t.sample_every == 0 and main:
                    self.save_samples()
                # Evaluate first: the checkpoint of this step then records the best so far.
                if t.eval_every is not None and self.step % t.eval_every == 0 and main:
                    self._check_finite(window)
                    self.evaluate()
                if self.step % t.checkpoint_every == 0:
                    self._check_finite(window)  # never checkpoint weights that may have diverged
                    self.save_checkpoint()
                window.t0 += time.perf_counter() - bookkeeping  # images/s counts training only
            self._log(window, bar)
            self.save_checkpoint()
            if main:
                self.save_samples()
            if self._interrupted:
                log.warning("interrupted at step %d; checkpoint saved, resume with: "
                            "ganforge train --resume %s", self.step, self.run_dir)
                raise KeyboardInterrupt
        finally:
            signal.signal(signal.SIGINT, previous_handler)
            bar.close()
            records = self.metrics.read() if main else []
            if records:
                plot_training_curves(records, self.run_dir / "training_curves.png")
            evaluations = self.evaluations.read() if main else []
            if evaluations:
                plot_evaluation_curves(evaluations, self.run_dir / "evaluation_curves.png")
        return self.run_dir

    def close(self) -> None:
        """Leave the process group this trainer joined (several processes only)."""
        if self._joined_group:
            distributed.teardown(self.dist)
            self._joined_group = False

    def _should_stop(self, total: int | None, deadline: float) -> bool:
        """Steps, time or Ctrl-C; on several processes every rank stops at the same step (rank
        clocks differ, so the decision is all-reduced)."""
        stop = (total is not None and self.step >= total) or time.monotonic() >= deadline or self._interrupted
        if self.dist.enabled:
            flag = torch.tensor([float(stop), float(self._interrupted)], device=self.device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            stop, self._interrupted = bool(flag[0]), bool(flag[1])
        return stop

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        # First Ctrl-C: finish the current step, save, stop. A second one aborts at once.
        self._interrupted = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def _check_finite(self, window: "_Window") -> None:
        if window.finite():
            return
        raise TrainingDiverged(f"a loss became NaN/Inf between steps {window.start + 1} and {self.step}; "
                               f"stopped, {self._kept()}. Try a lower learning rate.")

    def _kept(self) -> str:
        found = ckpt.list_checkpoints(self.run_dir / ckpt.CHECKPOINTS_DIR)
        return f"last good checkpoint: {found[-1]}" if found else "no checkpoint was saved"

    def _log(self, window: "_Window", bar: tqdm) -> None:
        if window.steps == 0:
            return
        self._check_finite(window)
        record = window.summary(self.step)
        if not self.dist.is_main:
            return
        self.metrics.append(record)
        bar.set_postfix(loss_d=f"{record['loss_d']:.3f}", loss_g=f"{record['loss_g']:.3f}",
                        img_s=f"{record['images_per_s']:.0f}")
        if not self.progress:
            total = self.total_steps()
            log.info("step %d%s  loss_d %.4f  loss_g %.4f  D(x) %.3f  D(G(z)) %.3f  %.0f img/s",
                     self.step, f"/{total}" if total else "", record["loss_d"], record["loss_g"],
                     record["d_real"], record["d_fake"], record["images_per_s"])

    def evaluate(self) -> dict[str, float]:
        """Score the generator, log it to evaluations.jsonl, and keep the best checkpoint in best/."""
        with _eval_mode(self.sampling_generator) as generator:
            results = self.evaluator(generator)
        self.evaluations.append({"step": self.step, **results})
        metric = self.config.train.best_metric
        value, sign = results[metric], (1 if self.evaluator.higher_is_better[metric] else -1)
        if math.isfinite(value) and (not self.best or sign * value > sign * self.best["value"]):
            self._check_weights_finite()
            self.best = {"value": value, "step": self.step}
            ckpt.save_checkpoint(self.run_dir / BEST_DIR, self.step, self.config, self.modules(),
                                 self.state_dict(), keep=1)
        log.info("evaluation at step %d: %s (best %s %.4f at step %d)", self.step,
                 ", ".join(f"{k} {v:.4f}" for k, v in results.items()), metric, self.best["value"], self.best["step"])
        return results

    @torch.no_grad()
    def save_samples(self) -> Path:
        """Fixed-noise grid, generator in eval mode (so BatchNorm statistics are not touched)."""
        with _eval_mode(self.sampling_generator) as generator:
            images = generate(generator, self.fixed_noise, self.fixed_labels)
        upscale = max(1, 64 // self.config.data.image_size)
        nrow = self.grid_columns
        path = save_grid(images, self.run_dir / "samples" / f"step_{self.step:08d}.png", nrow=nrow, upscale=upscale)
        save_grid(images, self.run_dir / "samples.png", nrow=nrow, upscale=upscale)
        return path


@contextmanager
def _eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Eval mode inside (BatchNorm statistics untouched), the previous mode restored after."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


class _Window:
    """Sums of step statistics since the last log line, kept as tensors to avoid syncs."""

    def __init__(self, start: int) -> None:
        self.start, self.steps, self.images = start, 0, 0
        self.sums: dict[str, torch.Tensor] = {}
        self.t0 = time.perf_counter()

    def add(self, stats: StepStats, images: int) -> None:
        for name, value in vars(stats).items():
            self.sums[name] = self.sums[name] + value if name in self.sums else value.clone()
        self.steps += 1
        self.images += images

    def finite(self) -> bool:
        """Whether every loss so far was finite (one device sync)."""
        return self.steps == 0 or bool(torch.isfinite(self.sums["loss_d"] + self.sums["loss_g"]))

    def summary(self, step: int) -> dict[str, float]:
        elapsed = time.perf_counter() - self.t0
        record: dict[str, Any] = {"step": step}
        record.update({name: float(total) / self.steps for name, total in self.sums.items()})
        record["images_per_s"] = self.images / elapsed if elapsed > 0 else 0.0
        record["time"] = datetime.now().isoformat(timespec="seconds")
        return record


def compile_available(device: torch.device) -> bool:
    """Whether torch.compile works here (it needs a C++ compiler on CPU, Triton on CUDA): compiles
    a one-line function once; on failure logs why and training runs eagerly."""
    try:
        torch.compile(lambda x: x * 2 + 1)(torch.ones(2, device=device))
        return True
    except Exception as exc:  # noqa: BLE001 - any backend failure means "not here"; said in the log
        log.warning("--compile: torch.compile is not usable here (%s: %s); training without it",
                    type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
        return False


def check_dataset_classes(dataset: ImageTensorDataset, num_classes: int) -> None:
    """A conditional model needs every image labelled with a class in [0, num_classes) and as
    many classes as the data has."""
    if bool((dataset.labels < 0).any()):
        raise ConfigError("model.num_classes (--num-classes) needs labelled images; this dataset has unlabelled "
                          "ones (an image folder needs one subfolder per class)")
    found = len(dataset.classes) or int(dataset.labels.max()) + 1
    if found != num_classes:
        raise ConfigError(f"model.num_classes (--num-classes) is {num_classes} but the dataset has {found} "
                          f"classes; use --num-classes {found}")


def new_run_dir(config: RunConfig) -> Path:
    """out_dir/run_name, or out_dir/<dataset>-<arch>-<timestamp> when no name is given."""
    t = config.train
    name = t.run_name or f"{config.data.dataset}-{config.model.arch}-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir = Path(t.out_dir) / name
    if ckpt.list_checkpoints(run_dir / ckpt.CHECKPOINTS_DIR):
        raise ConfigError(f"{run_dir}: run folder already has checkpoints; use --resume {run_dir} "
                          "or another --name")
    return run_dir


def train(config: RunConfig, progress: bool = True, dataset: ImageTensorDataset | None = None,
          evaluator_factory: EvaluatorFactory | None = None) -> Path:
    """Train a new run; returns its folder. `evaluator_factory` serves train.eval_every."""
    trainer = Trainer(config, new_run_dir(config), dataset=dataset, progress=progress,
                      evaluator_factory=evaluator_factory)
    try:
        return trainer.fit()
    finally:
        trainer.close()


def resume(path: str | Path, steps: int | None = None, epochs: float | None = None,
           minutes: float | None = None, progress: bool = True,
           dataset: ImageTensorDataset | None = None, evaluator_factory: EvaluatorFactory | None = None) -> Path:
    """Continue a run from its latest checkpoint (or the given checkpoint folder) in its own run folder.

    New stop conditions replace the saved ones when given; steps/epochs count from the start of
    the run, minutes from now.
    """
    checkpoint = ckpt.find_checkpoint(path)
    ckpt.read_meta(checkpoint)
    config = ckpt.read_config(checkpoint)
    if steps is not None or epochs is not None or minutes is not None:
        config.train = replace(config.train, steps=steps, epochs=epochs, minutes=minutes)
    run_dir = checkpoint.parent.parent
    trainer = Trainer(config, run_dir, dataset=dataset, progress=progress, evaluator_factory=evaluator_factory)
    trainer.load_checkpoint(checkpoint)
    try:
        return trainer.fit()
    finally:
        trainer.close()
