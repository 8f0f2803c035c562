"""The number types of every command-line option: whole numbers that fit in 64 bits and finite
real numbers, within the option's own bounds. One place, so no option of any command can take
`nan`, `inf` or a number that overflows a tensor (tests/reliability/test_option_sweep.py)."""

from __future__ import annotations

import math
from typing import Any

import click

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
