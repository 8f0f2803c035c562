"""Start a run or resume one: the two entry points of GAN training (`ganforge.train`,
`ganforge.resume`, `ganforge train [--resume]`)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from ganforge.config import RunConfig
from ganforge.data import ImageTensorDataset
from ganforge.evaluation import periodic_evaluator
from ganforge.io import checkpoint as ckpt
from ganforge.io.atomic import check_writable
from ganforge.errors import ConfigError, RunFolderError
from ganforge.io.run_folder import BEST_DIR, claim_new_run, new_run_dir, newer_checkpoints, run_lock
from ganforge.training.distributed import from_environment
from ganforge.training.memory import check_training_memory
from ganforge.training.trainer import EvaluatorFactory, Trainer


def train(config: RunConfig, progress: bool = True, dataset: ImageTensorDataset | None = None,
          evaluator_factory: EvaluatorFactory = periodic_evaluator) -> Path:
    """Train a new run; returns its folder. `evaluator_factory` serves train.eval_every.
    The run folder's lock is held from before the folder is judged free (no checkpoints) until
    training ends, so a second process given the same name stops before touching it."""
    check_training_memory(config)
    run_dir = new_run_dir(config)
    with claim_new_run(run_dir) if from_environment().is_main else nullcontext():
        return _fit(Trainer(config, run_dir, dataset=dataset, progress=progress,
                            evaluator_factory=evaluator_factory))


def resume(path: str | Path, steps: int | None = None, epochs: float | None = None,
           minutes: float | None = None, progress: bool = True,
           dataset: ImageTensorDataset | None = None, evaluator_factory: EvaluatorFactory = periodic_evaluator,
           discard_newer: bool = False, lr_decay_from: int | None = None) -> Path:
    """Continue a run from its latest checkpoint (or the given checkpoint folder) in its own run folder.

    New stop conditions replace the saved ones when given; steps/epochs count from the start of
    the run, minutes from now; a stop the run has already reached is an error. Resuming from a
    checkpoint older than others in the run starts a new timeline from it, which deletes the newer
    checkpoints and log lines: that is refused unless `discard_newer`. A checkpoint folder outside
    a run folder (not RUN/checkpoints/step_* or RUN/best/step_*) has no run to continue: refused.
    The run's lock is held before any of this is decided. `lr_decay_from` starts the learning
    rates' linear decay at that step, at or after the run's step (a plateaued run annealed); the
    steps already made are then those of a run started with it, which a decay already under way
    (the saved one begun before the run's step) would not allow, nor a new last step during it.
    """
    checkpoint = ckpt.find_checkpoint(path)
    if checkpoint.parent.name not in (ckpt.CHECKPOINTS_DIR, BEST_DIR):
        raise RunFolderError(f"--resume {checkpoint}: a checkpoint outside a run folder (RUN/checkpoints/step_* or "
                             "RUN/best/step_*) has no run to continue; copy it into RUN/checkpoints/ to resume it")
    run_dir = check_writable(checkpoint.parent.parent, folder=True, what="--resume")
    with run_lock(run_dir) if from_environment().is_main else nullcontext():
        step = ckpt.read_meta(checkpoint)["step"]
        newer = newer_checkpoints(run_dir, step)
        if newer and not discard_newer:
            names = ", ".join(str(c.relative_to(run_dir)) for c in newer)
            raise RunFolderError(f"{checkpoint}: resuming at step {step} would delete the newer checkpoint(s) "
                                 f"{names}; resume {run_dir} to continue from the latest, or allow it with "
                                 "--discard-newer (discard_newer=True)")
        saved = config = ckpt.read_config(checkpoint)
        given = steps is not None or epochs is not None or minutes is not None
        if given:
            config = replace(config, train=replace(config.train, steps=steps, epochs=epochs, minutes=minutes))
        if lr_decay_from is not None:
            config = replace(config, optim=replace(config.optim, lr_decay_from=lr_decay_from))
        trainer = Trainer(config, run_dir, dataset=dataset, progress=progress, evaluator_factory=evaluator_factory)
        trainer.load_checkpoint(checkpoint)
        _check_decay_resumes(trainer, saved, lr_decay_from, run_dir)
        total = trainer.total_steps()
        if total is not None and total <= trainer.step:
            trainer.close()
            asked = (", ".join(f"--{name} {value:g}" for name, value in (("steps", steps), ("epochs", epochs))
                               if value is not None) if given else "its saved stop")
            raise ConfigError(f"--resume {run_dir}: the run is at step {trainer.step} and {asked} ends it at step "
                              f"{total} (steps and epochs count from the start of the run); give a later "
                              "--steps or --epochs, or --minutes")
        return _fit(trainer)


def _check_decay_resumes(trainer: Trainer, saved_config: RunConfig, given: int | None, run_dir: Path) -> None:
    """The learning rates of the steps already made must not change on resume (see `resume`)."""
    step, saved = trainer.step, saved_config.optim.lr_decay_from
    problem = None
    if given is not None and given < step:
        problem = f"--lr-decay-from {given} is before the run's step {step}: the rates of steps already made would change"
    elif given is not None and saved is not None and saved < step and given != saved:
        problem = f"the run's learning rates have decayed since step {saved}; --lr-decay-from {given} would change them"
    elif saved is not None and saved < step:
        old = Trainer.total_steps_of(saved_config, len(trainer.dataset))
        if trainer.total_steps() != old:
            problem = (f"the run's learning rates have decayed since step {saved} towards 0 at step {old}; a new last "
                       f"step ({trainer.total_steps()}) would change the rates of steps already made")
    if problem is not None:
        trainer.close()
        raise ConfigError(f"--resume {run_dir}: {problem}")


def _fit(trainer: Trainer) -> Path:
    try:
        return trainer.fit()
    finally:
        trainer.close()
