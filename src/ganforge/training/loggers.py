"""Live dashboards beside RUN/metrics.jsonl, which stays the source of truth: the same scalars, the
sample grids, the evaluations and the run's settings, written as the run goes.

`tensorboard` writes TensorBoard event files under RUN/tensorboard/ (`tensorboard --logdir RUN`);
it needs the optional extra: pip install 'ganforge[tensorboard]'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

import torch

from ganforge.config import RunConfig
from ganforge.errors import MissingExtra
from ganforge.registry import Registry

TENSORBOARD_DIR = "tensorboard"


class RunLogger(Protocol):
    def scalars(self, record: dict[str, Any], prefix: str = "") -> None: ...

    def image(self, tag: str, grid: torch.Tensor, step: int) -> None: ...

    def close(self) -> None: ...


class TensorBoardLogger:
    """Event files under RUN/tensorboard/. Resuming at step s drops what an earlier process wrote
    after s (TensorBoard's purge_step), as metrics.jsonl does."""

    def __init__(self, run_dir: Path, config: RunConfig, start_step: int) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter  # the optional tensorboard extra
        except ImportError:
            raise MissingExtra("--logger tensorboard needs the tensorboard extra (tensorboard is not installed): "
                               "pip install 'ganforge[tensorboard]'") from None
        self.writer = SummaryWriter(str(run_dir / TENSORBOARD_DIR), purge_step=start_step + 1 if start_step else None)
        if start_step == 0:
            settings = {f"{section}.{key}": value if isinstance(value, (int, float, str, bool)) else str(value)
                        for section, values in config.to_dict().items() for key, value in values.items()}
            self.writer.add_text("config", "\n".join(f"    {k} = {v!r}" for k, v in settings.items()), 0)

    def scalars(self, record: dict[str, Any], prefix: str = "") -> None:
        step = int(record["step"])
        for name, value in record.items():
            if name != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(prefix + name, value, step)
        self.writer.flush()

    def image(self, tag: str, grid: torch.Tensor, step: int) -> None:
        """grid: (C, H, W) uint8."""
        self.writer.add_image(tag, grid, step, dataformats="CHW")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


LOGGER_BUILDERS: Registry[Callable[[Path, RunConfig, int], RunLogger]] = Registry("logger")
LOGGER_BUILDERS.register("tensorboard")(TensorBoardLogger)


def build_logger(name: str | None, run_dir: Path, config: RunConfig, start_step: int) -> RunLogger | None:
    return None if name is None else LOGGER_BUILDERS.get(name)(run_dir, config, start_step)
