"""Every numeric option of every command, given a value it cannot take (wrong type, NaN, +-inf,
beyond 64 bits, beyond float range): exit 2, one line on stderr naming the option, no traceback,
and nothing on disk changed. The table is read from the commands themselves, so a new option is
swept without editing this file."""

from __future__ import annotations

import hashlib
import signal
from contextlib import contextmanager
from pathlib import Path

import click
import pytest

from ganforge.cli.main import all_commands, main
from tests.reliability.conftest import one_line_error

BAD_NUMBERS = ["abc", "nan", "inf", "-inf", str(10**30), "1e400"]


def beyond(param: click.Option) -> list[str]:
    """A value just past the option's own upper bound, where it has one below the 64-bit range."""
    kind = param.type
    if isinstance(kind, click.types.IntParamType) and kind.max is not None and kind.max < 2**63 - 1:
        return [str(kind.max + 1)]
    if isinstance(kind, click.types.FloatParamType) and kind.max is not None:
        return [repr(kind.max * 10 + 1)]
    return []


def numeric_params() -> list[tuple[str, click.Option]]:
    return [(name, param) for name, command in all_commands().items() for param in command.params
            if isinstance(param, click.Option) and isinstance(param.type, (click.types.IntParamType,
                                                                            click.types.FloatParamType))]


def numeric_options() -> list[tuple[str, str]]:
    return [(name, param.opts[0]) for name, param in numeric_params()]


def required_arguments(name: str, run: Path, picture: Path, tmp: Path) -> list[str]:
    """What each command needs before its options are looked at: real, valid values."""
    values = {"run": str(run), "source": str(run), "image": str(picture), "dest": str(tmp / "mnist")}
    options = {"--run": str(run), "--mask": "center", "--corruption": "noise", "--mirror": "http://127.0.0.1:9/"}
    out = []
    for param in all_commands()[name].params:
        if param.required and isinstance(param, click.Argument):
            out.append(values[param.name])
        elif param.required:
            out += [param.opts[0], options[param.opts[0]]]
    return out


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_sweep_covers_every_command_with_numbers():
    swept = {name for name, _ in numeric_options()}
    assert {"train", "sample", "evaluate", "inpaint", "restore", "serve", "segment", "export"} <= swept
    assert len(numeric_options()) > 50
    # A real number with no ceiling would let 1e30 through to the computation.
    unbounded = [(name, p.opts[0]) for name, p in numeric_params()
                 if isinstance(p.type, click.types.FloatParamType) and p.type.max is None]
    assert not unbounded


@pytest.mark.parametrize("command, option", numeric_options())
def test_bad_numbers_are_one_line_errors_naming_the_option(run, picture, tmp_path, capsys, monkeypatch,
                                                           command, option):
    monkeypatch.chdir(tmp_path)
    before = {"run": snapshot(run), "here": snapshot(tmp_path)}
    param = next(p for p in all_commands()[command].params if p.opts[0] == option)
    for value in BAD_NUMBERS + beyond(param):
        argv = [command, *required_arguments(command, run, picture, tmp_path), option, value]
        code = main(argv)
        one_line_error(code, capsys.readouterr().err, option)
    assert snapshot(run) == before["run"] and snapshot(tmp_path) == before["here"]


# ------------------------------------------------------------------ 2**62: past what memory or time allows
HUGE = 2**62


def takes_any_64_bit_value(param: click.Option) -> bool:
    """Seeds: every 64-bit number is one (no memory or time follows from a seed's size)."""
    return "seed" in param.name


def huge_options() -> list[tuple[str, str]]:
    return [(name, param.opts[0]) for name, param in numeric_params()
            if isinstance(param.type, click.types.IntParamType) and not takes_any_64_bit_value(param)]


@contextmanager
def deadline(seconds: int):
    """Fail (not hang) when the body runs longer than `seconds`: a count that was taken would start work."""
    def expired(*_):
        raise TimeoutError(f"still running after {seconds} s: the value was accepted and work began")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_every_count_has_a_bound_below_2_to_the_62():
    assert len(huge_options()) > 40 and ("segment", "--depth") in huge_options()


@pytest.mark.parametrize("command, option", huge_options())
def test_2_to_the_62_is_a_one_line_error_naming_the_option(run, picture, tmp_path, capsys, monkeypatch, command,
                                                           option):
    """Every count (sizes, steps, restarts, batch sizes, rows, frames, scenes) given 2**62: refused in one
    line, before any allocation (no traceback) and before any work (no hang), by the bound its memory
    or time implies; nothing written."""
    monkeypatch.chdir(tmp_path)
    before = {"run": snapshot(run), "here": snapshot(tmp_path)}
    argv = [command, *required_arguments(command, run, picture, tmp_path), option, str(HUGE)]
    with deadline(120):
        code = main(argv)
    one_line_error(code, capsys.readouterr().err, option.lstrip("-"))
    assert snapshot(run) == before["run"] and snapshot(tmp_path) == before["here"]
