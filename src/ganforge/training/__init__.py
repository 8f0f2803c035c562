"""Training: the step, the loop, and the run folder it writes."""

from ganforge.training.step import StepStats, train_step
from ganforge.training.runs import resume, train
from ganforge.training.trainer import Trainer

__all__ = ["Trainer", "StepStats", "train_step", "train", "resume"]
