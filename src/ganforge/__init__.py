"""ganforge: train, evaluate and apply GANs for images on PyTorch.

    import ganforge
    run = ganforge.train(ganforge.RunConfig())        # default: DCGAN on MNIST
    gan = ganforge.load(run)
    images = gan.sample(16, seed=0)                   # (16, 1, 28, 28) in [-1, 1]

    report = ganforge.evaluate(run, n=2000)           # FD/KID/IS/PRDC beside the real-vs-real floor

This module is the public face only: nothing inside the package imports it. Its names are
resolved on first use (PEP 562), so that `import ganforge` costs nothing: `ganforge.load` imports
torch and the models, `train`, `resume` and `evaluate` the training and evaluation code, and
loading and sampling a model, the server and exports never import the training code or the data
loaders, at run time as in the import graph (tests/test_layers.py, tests/test_api.py). The
console script (`ganforge/__main__.py`) relies on this to catch Ctrl-C during its start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganforge.errors import GanforgeError
from ganforge.version import __version__

if TYPE_CHECKING:
    from ganforge.api import LoadedGAN, load
    from ganforge.config import DataConfig, ModelConfig, OptimConfig, RunConfig, TrainConfig

_CONFIG_NAMES = ("RunConfig", "DataConfig", "ModelConfig", "OptimConfig", "TrainConfig")


def __getattr__(name: str) -> Any:
    if name == "load" or name == "LoadedGAN":
        import ganforge.api  # deferred: see the module docstring

        return getattr(ganforge.api, name)
    if name in _CONFIG_NAMES:
        import ganforge.config  # deferred: see the module docstring

        return getattr(ganforge.config, name)
    if name == "train" or name == "resume":
        import ganforge.training  # deferred: see the module docstring

        return getattr(ganforge.training, name)
    if name == "evaluate":
        import ganforge.evaluation  # deferred: see the module docstring

        return ganforge.evaluation.evaluate
    raise AttributeError(f"module 'ganforge' has no attribute {name!r}")

__all__ = ["train", "resume", "evaluate", "load", "LoadedGAN", "RunConfig", "DataConfig", "ModelConfig", "OptimConfig",
           "TrainConfig", "GanforgeError", "__version__"]
