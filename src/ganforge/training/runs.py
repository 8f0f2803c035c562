"""Start a run or resume one: the two entry points of GAN training (`ganforge.train`,
`ganforge.resume`, `ganforge train [--resume]`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ganforge.config import RunConfig
from ganforge.data import ImageTensorDataset
from ganforge.evaluation import periodic_evaluator
from ganforge.io import checkpoint as ckpt
from ganforge.io.run_folder import new_run_dir
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
           dataset: ImageTensorDataset | None = None, evaluator_factory: EvaluatorFactory = periodic_evaluator) -> Path:
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
