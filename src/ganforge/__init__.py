"""ganforge: train, evaluate and apply GANs for images on PyTorch.

    import ganforge
    run = ganforge.train(ganforge.RunConfig())        # default: DCGAN on MNIST
    gan = ganforge.load(run)
    images = gan.sample(16, seed=0)                   # (16, 1, 28, 28) in [-1, 1]

    report = ganforge.evaluate(run, n=2000)           # FD/KID/IS/PRDC beside the real-vs-real floor

This module is the public face only: nothing inside the package imports it. `train`, `resume`
and `evaluate` are resolved on first use (PEP 562), so that loading and sampling a model, the
server and exports never import the training code or the data loaders, at run time as in the
import graph (tests/test_layers.py, tests/test_api.py).
"""

from __future__ import annotations

from typing import Any

from ganforge.api import LoadedGAN, load
from ganforge.config import DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig
from ganforge.errors import GanforgeError
from ganforge.version import __version__

def __getattr__(name: str) -> Any:
    if name == "train" or name == "resume":
        import ganforge.training  # deferred: see the module docstring

        return getattr(ganforge.training, name)
    if name == "evaluate":
        import ganforge.evaluation  # deferred: see the module docstring

        return ganforge.evaluation.evaluate
    raise AttributeError(f"module 'ganforge' has no attribute {name!r}")

__all__ = ["train", "resume", "evaluate", "load", "LoadedGAN", "RunConfig", "DataConfig", "ModelConfig", "OptimConfig",
           "TrainConfig", "GanforgeError", "__version__"]
