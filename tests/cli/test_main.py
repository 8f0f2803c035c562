"""The top-level group lists its commands from `COMMANDS` without importing them; the table must
say what the commands themselves say (name, short help), so it cannot drift from them. Whether the
first screen really imports no torch is checked in fresh processes: tests/reliability/test_startup.py."""

from __future__ import annotations

import importlib
import re

import click
import pytest
import torch

from ganforge.cli.main import COMMANDS, _out_of_memory, all_commands, cli, main


def real_command(name: str) -> click.Command:
    row = COMMANDS[name]
    return getattr(importlib.import_module(row.module), row.attribute)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_row_is_the_command_it_names(name):
    command = real_command(name)
    assert isinstance(command, click.Command) and command.name == name
    assert COMMANDS[name].module.startswith("ganforge.cli.")
    # The whole first sentence, and click's shortening of it at the widths help and completion use.
    assert COMMANDS[name].short_help == command.get_short_help_str(limit=10_000)
    for limit in (20, 45, 80):
        assert cli.summary(name, limit) == command.get_short_help_str(limit)
    with click.Context(cli) as ctx:
        assert cli.get_command(ctx, name) is command


def test_help_is_what_a_group_of_the_imported_commands_prints(capsys):
    assert main(["--help"]) == 0
    lazy = capsys.readouterr().out
    listing = lazy.split("Commands:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in listing] == sorted(COMMANDS)
    assert "Examples:" in lazy and "ganforge inpaint digit.png --run RUN --mask center" in lazy
    # click's own group, holding the real commands, at the same terminal width.
    eager = click.Group("ganforge", commands=all_commands(), help=cli.help, epilog=cli.epilog, params=cli.params,
                        context_settings=cli.context_settings)
    with pytest.raises(SystemExit):
        eager.main(["--help"], prog_name="ganforge")
    assert lazy == capsys.readouterr().out


def test_completion_offers_names_with_short_help_and_the_options():
    with click.Context(cli) as ctx:
        offered = cli.shell_complete(ctx, "train")
        assert [item.value for item in offered] == ["train", "train-classifier", "train-encoder", "train-inpainter"]
        assert [item.help for item in offered] == [real_command(i.value).get_short_help_str() for i in offered]
        assert {item.value for item in cli.shell_complete(ctx, "--")} == {"--version", "--help"}
        assert {item.value for item in cli.shell_complete(ctx, "")} == set(COMMANDS)


def test_a_command_runs_and_unknown_names_are_usage_errors(capsys):
    assert main(["presets"]) == 0
    assert "dcgan" in capsys.readouterr().out
    assert main(["sampel"]) == 2
    assert capsys.readouterr().err.startswith("ganforge: error: No such command 'sampel'.")
    with click.Context(cli) as ctx:
        assert cli.get_command(ctx, "sampel") is None


def test_all_commands_imports_every_row():
    commands = all_commands()
    assert list(commands) == sorted(COMMANDS)
    assert all(commands[name] is real_command(name) for name in COMMANDS)


def test_out_of_memory_is_recognised_without_importing_torch_itself():
    assert _out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert _out_of_memory(RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"))
    assert _out_of_memory(MemoryError())
    assert not _out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied (64x10 and 100x256)"))
