"""Start a run or resume one: the two entry points of GAN training (`ganforge.train`,
`ganforge.resume`, `ganforge train [--resume]`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ganforge.config import RunConfig
from ganforge.data import ImageTensorDataset
from ganforge.evaluation import periodic_evaluator
from ganforge.io import checkpoint as ckpt
from ganforge.io.atomic import check_writable
from ganforge.errors import RunFolderError
from ganforge.io.run_folder import new_run_dir, newer_checkpoints
from ganforge.training.trainer import EvaluatorFactory, Trainer


def train(config: RunConfig, progress: bool = True, dataset: ImageTensorDataset | None = None,
          evaluator_factory: EvaluatorFactory = periodic_evaluator) -> Path:
    """Train a new run; returns its folder. `evaluator_factory` serves train.eval_every."""
    trainer = Trainer(config, new_run_dir(config), dataset=dataset, progress=progress,
                      evaluator_factory=evaluator_factory)
    try:
        return trainer.fit()
    finally:
        trainer.close()


def resume(path: str | Path, steps: int | None = None, epochs: float | None = None,
           minutes: float | None = None, progress: bool = True,
           dataset: ImageTensorDataset | None = None, evaluator_factory: EvaluatorFactory = periodic_evaluator,
           discard_newer: bool = False) -> Path:
    """Continue a run from its latest checkpoint (or the given checkpoint folder) in its own run folder.

    New stop conditions replace the saved ones when given; steps/epochs count from the start of
    the run, minutes from now. Resuming from a checkpoint older than others in the run starts a
    new timeline from it, which deletes the newer checkpoints and log lines: that is refused unless
    `discard_newer`.
    """
    checkpoint = ckpt.find_checkpoint(path)
    step = ckpt.read_meta(checkpoint)["step"]
    run_dir = check_writable(checkpoint.parent.parent, folder=True, what="--resume")
    newer = newer_checkpoints(run_dir, step)
    if newer and not discard_newer:
        names = ", ".join(str(c.relative_to(run_dir)) for c in newer)
        raise RunFolderError(f"{checkpoint}: resuming at step {step} would delete the newer checkpoint(s) {names}; "
                             f"resume {run_dir} to continue from the latest, or allow it with --discard-newer "
                             "(discard_newer=True)")
    config = ckpt.read_config(checkpoint)
    if steps is not None or epochs is not None or minutes is not None:
        config.train = replace(config.train, steps=steps, epochs=epochs, minutes=minutes)
    trainer = Trainer(config, run_dir, dataset=dataset, progress=progress, evaluator_factory=evaluator_factory)
    trainer.load_checkpoint(checkpoint)
    try:
        return trainer.fit()
    finally:
        trainer.close()
