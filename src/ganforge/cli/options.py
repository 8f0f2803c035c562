"""The value types of command-line options: whole numbers that fit in 64 bits and finite real
numbers, within the option's own bounds (one place, so no option of any command can take `nan`,
`inf` or a number that overflows a tensor: tests/reliability/test_option_sweep.py); and the
trained model an option names (a run or checkpoint folder, or a zoo model's name)."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

from ganforge import zoo
from ganforge.device import memory_shortfall

INT64_MAX = 2**63 - 1


class Int(click.IntRange):
    """click.IntRange, bounded by the 64-bit range where the option sets no bound of its own."""

    def __init__(self, min: int | None = None, max: int | None = None, min_open: bool = False,
                 max_open: bool = False, clamp: bool = False) -> None:
        super().__init__(-INT64_MAX - 1 if min is None else min, INT64_MAX if max is None else max,
                         min_open, max_open, clamp)
        self._shown = (min, max)  # --help shows the option's own bounds, not the 64-bit ones

    def _describe_range(self) -> str:
        low, high = self._shown
        if low is None and high is None:
            return "64-bit"
        if high is None:
            return f"x{'>' if self.min_open else '>='}{low}"
        if low is None:
            return f"x{'<' if self.max_open else '<='}{high}"
        return super()._describe_range()


class Float(click.FloatRange):
    """click.FloatRange that also refuses nan and +-inf."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def interactive() -> bool:
    """Whether progress bars are shown: when stderr is a terminal (not in logs, pipes or CI)."""
    return sys.stderr.isatty()


class RunOrModel(click.ParamType):
    """A run or checkpoint folder (or any path) that exists, or the name of a zoo model
    (`ganforge models`); a folder of the same name wins. Converts to a Path; `ganforge.load` and
    `ganforge.evaluate` resolve zoo names."""

    name = "run"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Path):
            return value
        path = Path(value)
        if path.exists() or zoo.is_name(value):
            return path
        listed = ", ".join(zoo.names()) or "none installed"
        self.fail(f"{value!r}: no such run or checkpoint folder, and not a zoo model ({listed})", param, ctx)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        return ([CompletionItem(name) for name in zoo.names() if name.startswith(incomplete)]
                + [CompletionItem(incomplete, type="file")])


# Optimisation steps of every command (train's come from the run schema, config.MAX_STEPS): more than
# anything runs to, and the checkpoint names' eight digits.
MAX_STEPS = 10**8 - 1
STEPS = Int(min=1, max=MAX_STEPS)


def check_count(flag: str, count: int, item_bytes: int, items: str) -> None:
    """A usage error naming `flag` when `count` items of `item_bytes` each would not fit in the memory
    ganforge holds at once (device.memory_budget): the bound a count's memory implies."""
    shortfall = memory_shortfall(count * item_bytes)
    if shortfall is not None:
        raise click.BadParameter(f"{count:,} {items} {shortfall}", param_hint=f"'{flag}'")
