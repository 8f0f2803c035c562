"""Training: the step, the loop, and the run folder it writes."""

from ganforge.training.step import StepStats, train_step
from ganforge.training.trainer import Trainer, resume, train

__all__ = ["Trainer", "StepStats", "train_step", "train", "resume"]
