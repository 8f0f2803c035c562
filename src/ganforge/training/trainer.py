"""The GAN trainer: builds a run (data, players, game rules, callbacks) from its config, runs the
one loop (`ganforge.loop`) with the GAN step, and saves, resumes and guards its checkpoints.

Run folder: config.json, metrics.jsonl, training_curves.png, samples/step_*.png, samples.png
(latest grid), checkpoints/step_*/, and with evaluation evaluations.jsonl, evaluation_curves.png,
best/step_*/.

About 480 lines, kept together because they are one run's state: its setup, what a checkpoint
holds and restores, the game's options and the loop's wiring (the health checks' wiring, ~60 of
them, is due to move into a callback). `ganforge.training.runs` starts and resumes runs with it;
the loop (`ganforge.loop`), the step (`step.py`), ADA's controller (`ada.py`), the callbacks
(`callbacks.py`) and the run folder's layout (`ganforge.io.run_folder`) live in their own rooms.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path
from contextlib import nullcontext
from typing import Any, Callable, ContextManager

import torch

from ganforge.config import RunConfig, describe, flag, parse_stop_on
from ganforge.data import ImageTensorDataset, build_dataset
from ganforge.data.transforms import to_signed
from ganforge.models.diffaugment import build_augment, is_adaptive
from ganforge.device import (autocast, compile_available, grad_scaler, random_state, resolve_device, resolve_precision,
                             restore_random_state)
from ganforge.errors import ConfigError, GanforgeError, TrainingDiverged, TrainingUnhealthy
from ganforge.evaluation import periodic_evaluator
from ganforge.io import checkpoint as ckpt
from ganforge.io.atomic import atomic_write
from ganforge.io.run_folder import forget_after, remove_leftovers, run_lock
from ganforge.loop import Hook, Loop, Window, adam, linear_decay, set_lr
from ganforge.losses import LOSSES, PENALTIES, SELF_SUPERVISED, with_label_smoothing
from ganforge.metrics import HIGHER_IS_BETTER
from ganforge.models import ARCHITECTURES, build_discriminator, build_generator, generate
from ganforge.models.spectral import PowerIteration
from ganforge.training import distributed
from ganforge.training.ada import AdaptiveProbability
from ganforge.training.batches import BatchStream
from ganforge.training.callbacks import BestKeeper, MetricsLines, PeriodicEvaluator, SampleGrid, draw_curves
from ganforge.training.ema import EMA
from ganforge.training.health import DiversityProbe, HealthEvent, HealthMonitor, gradient_norm
from ganforge.training.loggers import RunLogger, build_logger
from ganforge.training.precision import faster, time_passes, untouched
from ganforge.training.step import Players, StepOptions, critic, train_step

log = logging.getLogger(__name__)

EvaluatorFactory = Callable[[RunConfig, torch.device], PeriodicEvaluator]


class Trainer:
    """Trains `config` in `run_dir`; `fit()` runs until a stop condition and returns the run dir.
    On Ctrl-C or SIGTERM it finishes the step, saves a checkpoint, then raises KeyboardInterrupt.
    `evaluator_factory(config, device)` scores the generator every train.eval_every steps."""

    def __init__(self, config: RunConfig, run_dir: Path, dataset: ImageTensorDataset | None = None,
                 progress: bool = True, evaluator_factory: EvaluatorFactory = periodic_evaluator) -> None:
        self.config = config.validate()
        self.run_dir = Path(run_dir)
        self.progress = progress
        t = config.train
        self.dist = distributed.from_environment()
        distributed.check_batch(self.dist, t.batch_size, t.accumulate)
        self._joined_group = self.dist.enabled and not torch.distributed.is_initialized()
        self.device = distributed.setup(self.dist, resolve_device(t.device))
        self.precision = resolve_precision(t.precision, self.device)
        self.dataset = self._check_dataset(dataset if dataset is not None else build_dataset(config.data, progress))
        self._check_lr_decay()
        self.num_classes = config.model.num_classes
        self.loss = with_label_smoothing(LOSSES.get(t.loss), t.label_smoothing)
        self.penalty = PENALTIES.get(t.penalty) if t.penalty is not None else None
        task = ARCHITECTURES.get(config.model.arch).auxiliary  # D's self-supervised loss (FastGAN's)
        self.auxiliary = SELF_SUPERVISED.get(task) if task is not None else None
        self.ada = (AdaptiveProbability(t.batch_size, t.ada_target, t.ada_kimg, p=t.augment_p or 0.0,
                                        reduce=distributed.mean_over_ranks if self.dist.enabled else None)
                    if is_adaptive(t.augment) else None)
        self.augment = build_augment(t.augment, (lambda: self.ada.p) if self.ada is not None else t.augment_p)
        self._build_players()
        self.latent_rng = torch.Generator(device=self.device).manual_seed(t.seed + 2)
        self.samples = SampleGrid(config.model.latent_dim, self.num_classes, config.data.image_size, t.seed + 3,
                                  self.device)
        self.step = 0
        # Dropout, DiffAugment and StyleGAN noise draw from the global RNG: seeded here (per rank),
        # saved and restored with checkpoints.
        torch.manual_seed(t.seed + self.dist.rank)
        self.keeper = self._build_keeper(evaluator_factory)
        self.health = HealthMonitor(t.best_metric, HIGHER_IS_BETTER.get(t.best_metric, False)) if t.health else None
        self.stop_on, self.stopped_by = parse_stop_on(t.stop_on), None
        self._saved_best: dict[str, float] = {}
        self.logger: RunLogger | None = None  # the live dashboard, open while fit() runs

    def _check_dataset(self, dataset: ImageTensorDataset) -> ImageTensorDataset:
        d = self.config.data
        shape = (d.channels, d.image_size, d.image_size)
        if dataset.image_shape != shape:
            raise ConfigError(f"dataset images are {dataset.image_shape}, the config expects {shape}")
        wanted = self.config.model.num_classes
        if wanted and bool((dataset.labels < 0).any()):  # a conditional model needs every image labelled
            raise ConfigError(f"{describe('model.num_classes')} needs labelled images; this dataset has unlabelled "
                              "ones (an image folder needs one subfolder per class)")
        found = (len(dataset.classes) or int(dataset.labels.max()) + 1) if wanted else 0
        if found != wanted:
            raise ConfigError(f"{describe('model.num_classes')} is {wanted} but the dataset has {found} "
                              f"classes; use {flag('model.num_classes')} {found}")
        return dataset

    def _build_players(self) -> None:
        """G and D (initialised from the seed, on the device), EMA, optimisers, and what the step
        runs: DistributedDataParallel wrappers on several processes, compiled where asked."""
        c, t, o = self.config, self.config.train, self.config.optim
        self.memory_format = torch.channels_last if t.channels_last else torch.contiguous_format
        networks = []
        for build, seed in ((build_generator, t.seed), (build_discriminator, t.seed + 1)):
            net = build(c.model, c.data, seed=seed).to(self.device, memory_format=self.memory_format)
            networks.append(distributed.sync_batchnorm(net, self.dist, self.device, t.sync_bn))
        self.generator, self.discriminator = networks
        self.power_iteration = PowerIteration(self.discriminator)  # spectral norm: once per D update
        self.ema = EMA(self.generator, t.ema_decay) if t.ema_decay is not None else None
        self.opt_g = adam(self.generator.parameters(), o.lr_g, (o.beta1, o.beta2))
        self.opt_d = adam(self.discriminator.parameters(), o.lr_d, (o.beta1, o.beta2))
        self.train_generator = distributed.wrap(self.generator, self.dist, self.device)
        self.train_discriminator = distributed.wrap(self.discriminator, self.dist, self.device)
        self.penalty_discriminator = self.train_discriminator  # stays eager: a penalty's double backward
        if t.precision == "auto" and self.precision == "bf16" and not self.dist.enabled:
            self.precision = self._measured_precision()  # several processes keep the rule: they must agree
        if t.compile and compile_available(self.device):
            compiled = torch.compile(self.train_generator), torch.compile(self.train_discriminator)
            if self._trial_step(*compiled):
                self.train_generator, self.train_discriminator = compiled
        # fp16 needs loss scaling (its range is small); one scaler per optimizer.
        self.scalers = ((grad_scaler(self.precision, self.device), grad_scaler(self.precision, self.device))
                        if self.precision == "fp16" else None)

    def _trial_step(self, generator: torch.nn.Module, discriminator: torch.nn.Module) -> bool:
        """Compile and run G and D forward and backward once on 2 throwaway inputs (weights,
        optimisers and BatchNorm statistics left as they were). False, after one warning, when
        compiling or running fails: training then goes on in eager mode."""
        c = self.config
        rng = torch.Generator().manual_seed(0)
        z = torch.randn(2, c.model.latent_dim, generator=rng).to(self.device)
        labels = torch.zeros(2, dtype=torch.int64, device=self.device) if self.num_classes else None
        try:
            with untouched(self.generator, self.discriminator), self.compiler_settings():
                # As a training step uses them: D on two batches before one backward, and the
                # gradient penalty's double backward where the run has one.
                with self.autocast():
                    fake = generate(generator, z, labels).contiguous(memory_format=self.memory_format)
                    loss = sum(critic(discriminator, x, labels)[0].float().sum() for x in (fake.detach(), fake))
                if self.penalty is not None:
                    loss = loss + self.weighted_penalty()(lambda x: critic(self.penalty_discriminator, x, labels)[0],
                                                          fake.detach(), fake.detach())
                loss.backward()
            return True
        except Exception as exc:  # noqa: BLE001 - any compiler or runtime failure: eager mode, said once
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            log.warning("--compile: the compiled networks failed on a trial step (%s: %s); training in eager mode",
                        type(exc).__name__, first[:200])
            return False

    def _measured_precision(self) -> str:
        """`--precision auto` where bf16 is available: the faster of fp32 and bf16 for this run."""
        c = self.config
        times = time_passes(self.generator, self.discriminator, c.train.batch_size, c.model.latent_dim,
                            self.num_classes, (c.data.channels, c.data.image_size, c.data.image_size), self.device,
                            self.memory_format)
        chosen = faster(times)
        log.info("--precision auto: %s (G and D forward and backward at batch %d: fp32 %.1f ms, bf16 %.1f ms)",
                 chosen, c.train.batch_size, 1000 * times["fp32"], 1000 * times["bf16"])
        return chosen

    def players(self) -> Players:
        """The networks a training step runs (compiled where they compile), their optimisers, the
        eager D for gradient penalties and spectral norm's power iteration."""
        return Players(self.train_generator, self.train_discriminator, self.opt_g, self.opt_d, self.scalers,
                       penalty_discriminator=self.penalty_discriminator,
                       before_d_update=self.power_iteration if len(self.power_iteration) else None)

    def compiler_settings(self) -> ContextManager:
        """What torch.compile needs for this run: a gradient penalty differentiates D's backward
        again, which compiled backwards with donated buffers refuse, so those are turned off."""
        if self.config.train.compile and self.penalty is not None:
            return torch._functorch.config.patch(donated_buffer=False)
        return nullcontext()

    def _build_keeper(self, evaluator_factory: EvaluatorFactory | None) -> BestKeeper | None:
        t = self.config.train
        if t.eval_every is None or not self.dist.is_main:
            return None
        if evaluator_factory is None:
            raise ConfigError(f"{flag('train.eval_every')} needs an evaluator")
        evaluator = evaluator_factory(self.config, self.device)
        if t.best_metric not in evaluator.higher_is_better:
            raise ConfigError(f"{describe('train.best_metric')} must be one of "
                              f"{', '.join(evaluator.higher_is_better)}, got {t.best_metric!r}")
        return BestKeeper(evaluator, t.best_metric, self.run_dir, self._save_best)

    # ----------------------------------------------------------------------------- state
    @property
    def best(self) -> dict[str, float]:
        """{"value", "step"} of the best evaluation so far (empty before the first)."""
        return self.keeper.best if self.keeper is not None else self._saved_best

    @property
    def fixed_labels(self) -> torch.Tensor | None:
        return self.samples.labels

    def state_dict(self) -> dict[str, Any]:
        state = {"step": self.step, "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                 "latent_rng": self.latent_rng.get_state(), **random_state(self.device), "best": dict(self.best)}
        if self.scalers is not None:
            state["scalers"] = [scaler.state_dict() for scaler in self.scalers]
        if self.ada is not None:
            state["ada"] = self.ada.state_dict()
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
        restore_random_state(state, self.device)
        if self.dist.enabled:  # the saved state is rank 0's: give each rank its own streams (CPU and GPU) again
            torch.manual_seed(self.config.train.seed + self.dist.rank + 1_000_003 * self.step)
        self._saved_best = dict(state.get("best", {}))
        if self.keeper is not None:
            self.keeper.best = dict(self._saved_best)
        if self.scalers is not None and "scalers" in state:
            for scaler, saved in zip(self.scalers, state["scalers"]):
                scaler.load_state_dict(saved)
        if self.ada is not None and "ada" in state:  # else (ADA added on resume) p starts afresh
            self.ada.load_state_dict(state["ada"], self.device)

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

    def _save_best(self, folder: Path) -> Path:
        self._check_weights_finite()
        return ckpt.save_checkpoint(folder, self.step, self.config, self.modules(), self.state_dict(), keep=1)

    # ------------------------------------------------------------------------------ the game
    def total_steps(self) -> int | None:
        """Generator steps to reach, from train.steps and train.epochs (the smaller wins)."""
        return self.total_steps_of(self.config, len(self.dataset))

    @staticmethod
    def total_steps_of(config: RunConfig, images: int) -> int | None:
        """The last step of `config` on a data set of `images` images; None when only minutes stop it."""
        t = config.train
        limits = []
        if t.steps is not None:
            limits.append(t.steps)
        if t.epochs is not None:
            limits.append(max(1, math.ceil(t.epochs * Trainer.steps_per_epoch(config, images))))
        return min(limits) if limits else None

    @staticmethod
    def steps_per_epoch(config: RunConfig, images: int) -> int:
        """Generator steps in one pass over `images` images (0 when a step takes more than all of them)."""
        return images // (config.train.batch_size * config.train.d_steps)

    def _check_lr_decay(self) -> None:
        """--lr-decay-from below the last step (--epochs counts in steps only once the data is known)."""
        start, total = self.config.optim.lr_decay_from, self.total_steps()
        if start is not None and total is not None and start >= total:
            raise ConfigError(f"{describe('optim.lr_decay_from')} ({start}) must be below the run's last step "
                              f"({total:,}, from {flag('train.steps')} / {flag('train.epochs')}), where the rates "
                              "reach 0")

    def lr_scale(self, step: int) -> float:
        """The learning rates' factor at generator step `step`: 1, or the linear decay of --lr-decay-from."""
        start = self.config.optim.lr_decay_from
        return 1.0 if start is None else linear_decay(step, start, self.total_steps())

    def top_k_fraction(self, step: int) -> float:
        """The fraction of fakes G learns from at generator step `step` (--top-k): top_k_decay to the
        power of the epochs completed, not below the --top-k floor; 1 without --top-k."""
        t = self.config.train
        if t.top_k is None:
            return 1.0
        per_epoch = max(1, self.steps_per_epoch(self.config, len(self.dataset)))
        return max(t.top_k, t.top_k_decay ** (step // per_epoch))

    def noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(z (n, latent_dim), uniformly drawn class labels (n,) for conditional models, else None).
        On several processes every rank draws the global batch's latents and keeps its slice."""
        total = n * self.dist.world_size
        z = torch.randn(total, self.config.model.latent_dim, generator=self.latent_rng, device=self.device)
        labels = (torch.randint(self.num_classes, (total,), generator=self.latent_rng, device=self.device)
                  if self.num_classes else None)
        return self.dist.shard(z), self.dist.shard(labels)

    def weighted_penalty(self) -> Callable | None:
        """penalty x weight x interval (lazy regularisation, Karras et al. 2020), or None."""
        t = self.config.train
        if self.penalty is None:
            return None
        weight = t.penalty_weight * t.penalty_every
        return lambda discriminator, real, fake: weight * self.penalty(discriminator, real, fake)

    def scheduled_penalty(self) -> Callable | None:
        """The weighted penalty on steps that are a multiple of `penalty_every`, else None."""
        return self.weighted_penalty() if self.step % self.config.train.penalty_every == 0 else None

    def autocast(self) -> ContextManager:
        """bf16 / fp16 autocast for those precisions, else nothing."""
        return autocast(self.precision, self.device)

    def step_options(self) -> tuple[StepOptions, StepOptions]:
        """The game's rules on steps with the penalty and on steps without it."""
        t = self.config.train
        rules = StepOptions(self.loss, clip=t.clip, augment=self.augment, accumulate=t.accumulate,
                            mode_seeking=t.mode_seeking, class_weight=t.class_weight, autocast=self.autocast,
                            observe_real=self.ada.observe if self.ada is not None else None,
                            auxiliary=self.auxiliary)
        return replace(rules, penalty=self.weighted_penalty()), rules

    # ------------------------------------------------------------------------------ the loop
    def fit(self) -> Path:
        """Train in the run folder, holding its lock (rank 0, which writes every file)."""
        if not self.dist.is_main:
            return self._fit(main=False)
        with run_lock(self.run_dir):
            remove_leftovers(self.run_dir)
            # Logs and checkpoints past this step belong to another timeline (a fresh run in a
            # failed run's folder, or a resume from an older checkpoint that was allowed to).
            forget_after(self.run_dir, self.step)
            atomic_write(self.run_dir / "config.json", self.config.save)
            return self._fit(main=True)

    def _fit(self, main: bool) -> Path:
        t = self.config.train
        total = self.total_steps()
        batches = BatchStream(self.dataset, t.batch_size, t.seed, self.device, start_batch=self.step * t.d_steps,
                              memory_format=self.memory_format, with_labels=self.num_classes > 0,
                              shard=self.dist.shard)
        players = self.players()
        with_penalty, without_penalty = self.step_options()
        lines = MetricsLines(self.run_dir, total, echo=not self.progress)
        self.logger = build_logger(t.logger, self.run_dir, self.config, self.step) if main else None
        loop = Loop(steps=total, minutes=t.minutes, start=self.step, log_every=t.log_every,
                    progress=self.progress and main, items_per_step=t.batch_size * t.d_steps,
                    items_name="images_per_s", timestamps=True, stop_all=self._stop_all if self.dist.enabled else None)

        decaying = self.config.optim.lr_decay_from is not None

        def step(index: int) -> dict[str, torch.Tensor]:
            self.step = index
            if decaying:
                scale = self.lr_scale(index)
                set_lr(self.opt_g, self.config.optim.lr_g * scale)
                set_lr(self.opt_d, self.config.optim.lr_d * scale)
            penalised = self.penalty is not None and index % t.penalty_every == 0
            rules = with_penalty if penalised else without_penalty
            if t.top_k is not None:
                rules = replace(rules, top_k=self.top_k_fraction(index))
            stats = train_step(players, rules, [next(batches) for _ in range(t.d_steps)], self.noise)
            if self.ema is not None:
                self.ema.update(self.generator, index)
            self.step = index + 1
            record = dict(vars(stats))
            if decaying:
                record["lr_scale"] = scale
            if t.top_k is not None:
                record["top_k"] = rules.top_k
            if self.ada is not None:  # p after this step, and r_t = mean sign(D(real)) of its last D update
                record.update(ada_p=self.ada.p, ada_rt=self.ada.last_sign)
            return record

        probe = self._diversity_probe() if main and self.health is not None else None

        def on_log(record: dict[str, Any]) -> None:
            self._check_finite(loop.window)
            if probe is not None:
                self._health_numbers(record, probe)
            if main:
                lines.write(record)
            if self.logger is not None:
                self.logger.scalars(record)
            if probe is not None:
                self._report(self.health.observe(record))

        def finite_then(action: Callable[[], Any]) -> Callable[[int], Any]:
            def call(_: int) -> Any:
                self._check_finite(loop.window)  # never checkpoint or score weights that may have diverged
                return action()
            return call

        loop.on_log = on_log
        self._lines, self._loop = lines, loop  # where health events of evaluations go
        if main:
            loop.hooks.append(Hook(t.sample_every, lambda _: self.save_samples()))
        if self.keeper is not None:  # evaluate first: the checkpoint of this step then records the best so far
            loop.hooks.append(Hook(t.eval_every, finite_then(self.evaluate)))
        loop.hooks.append(Hook(t.checkpoint_every, finite_then(self.save_checkpoint)))
        loop.on_end = lambda _: self._finish(main, loop)
        try:
            with self.compiler_settings():
                loop.run(step)
        except BaseException:
            self._close_logger()
            if main:  # the curves so far, without hiding the error that stopped the run
                try:
                    draw_curves(self.run_dir)
                except (OSError, GanforgeError) as exc:
                    log.warning("could not draw the training curves: %s", exc)
            raise
        self._close_logger()
        if main:
            draw_curves(self.run_dir)
        if self.stopped_by is not None:
            raise TrainingUnhealthy(f"stopped by --stop-on: {self.stopped_by.message}; {self._kept()}")
        return self.run_dir

    def _diversity_probe(self) -> DiversityProbe:
        """64 fixed real images and 64 fixed latents (labels i mod K for conditional models)."""
        rng = torch.Generator().manual_seed(self.config.train.seed + 4)
        real = self.dataset.images[torch.randperm(len(self.dataset), generator=rng)[:64]]
        z = torch.randn(64, self.config.model.latent_dim, generator=rng).to(self.device)
        labels = torch.arange(64, device=self.device) % self.num_classes if self.num_classes else None
        return DiversityProbe(to_signed(real), (z, labels))

    def _health_numbers(self, record: dict[str, Any], probe: DiversityProbe) -> None:
        """Gradient norms of the last step and the diversity of samples, added to a log record."""
        for key, module in (("grad_g", self.generator), ("grad_d", self.discriminator)):
            norm = gradient_norm(module)
            if norm is not None:
                record[key] = norm
        record["diversity"] = probe(self.sampling_generator)

    def _report(self, events: list[HealthEvent]) -> None:
        """Warn, record in metrics.jsonl, and stop the loop for a check named in --stop-on."""
        for event in events:
            log.warning("health: %s", event.message)
            self._lines.file.append(event.record())
            if event.check in self.stop_on and self.stopped_by is None:
                self.stopped_by = event
                self._loop.request_stop()

    def _close_logger(self) -> None:
        if self.logger is not None:
            self.logger.close()
            self.logger = None

    def _finish(self, main: bool, loop: Loop) -> None:
        self.save_checkpoint()
        if main and (self.step % self.config.train.sample_every or not (self.run_dir / "samples.png").is_file()):
            self.save_samples()  # unless the last step's hook just drew them
        if loop.interrupted:
            log.warning("interrupted at step %d; checkpoint saved, resume with: "
                        "ganforge train --resume %s", self.step, self.run_dir)

    def _stop_all(self, stop: bool, interrupted: bool) -> tuple[bool, bool]:
        """On several processes every rank stops at the same step (rank clocks differ)."""
        flags = torch.tensor([float(stop), float(interrupted)], device=self.device)
        torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
        return bool(flags[0]), bool(flags[1])

    def close(self) -> None:
        """Leave the process group this trainer joined (several processes only)."""
        if self._joined_group:
            distributed.teardown(self.dist)
            self._joined_group = False

    def _check_finite(self, window: Window) -> None:
        if window.finite():
            return
        raise TrainingDiverged(f"a loss became NaN/Inf between steps {window.start + 1} and {self.step}; "
                               f"stopped, {self._kept()}. Try a lower learning rate.")

    def _kept(self) -> str:
        found = ckpt.list_checkpoints(self.run_dir / ckpt.CHECKPOINTS_DIR)
        return f"last good checkpoint: {found[-1]}" if found else "no checkpoint was saved"

    def evaluate(self) -> dict[str, float]:
        """Score the sampling generator, log it to evaluations.jsonl, keep the best checkpoint in best/."""
        results = self.keeper.evaluate(self.sampling_generator, self.step)
        if self.logger is not None:
            self.logger.scalars({"step": self.step, **results}, prefix="eval/")
        if self.health is not None and self.dist.is_main:
            self._report(self.health.observe_evaluation(self.step, results))
        return results

    @torch.no_grad()
    def save_samples(self) -> Path:
        path = self.samples.save(self.sampling_generator, self.run_dir, self.step)
        if self.logger is not None:
            self.logger.image("samples", self.samples.last_grid, self.step)
        return path
