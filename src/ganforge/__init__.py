"""ganforge: train, evaluate and apply GANs for images on PyTorch.

    import ganforge
    run = ganforge.train(ganforge.RunConfig())        # default: DCGAN on MNIST
    gan = ganforge.load(run)
    images = gan.sample(16, seed=0)                   # (16, 1, 28, 28) in [-1, 1]
"""

from __future__ import annotations

from pathlib import Path

from ganforge.api import LoadedGAN, load
from ganforge.config import DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from ganforge.errors import GanforgeError

__version__ = "0.1.0"

__all__ = ["train", "load", "LoadedGAN", "RunConfig", "DataConfig", "ModelConfig", "OptimConfig",
           "TrainConfig", "GanforgeError", "__version__"]


def train(config: RunConfig, progress: bool = True) -> Path:
    """Train a run described by `config`; returns the run folder. See ganforge.training."""
    # Imported here so that loading and serving a model never import the training code.
    from ganforge.evaluation import periodic_evaluator
    from ganforge.training import train as _train

    return _train(config, progress=progress, evaluator_factory=periodic_evaluator)
