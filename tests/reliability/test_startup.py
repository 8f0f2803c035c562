"""Ctrl-C while the CLI starts (importing a command, and torch with it, takes seconds) ends like
Ctrl-C later: `ganforge: interrupted`, exit code 130, no traceback. `python -m ganforge` runs the CLI.
The first screen (`--help`, `--version`, completion) imports no torch and no command module."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ganforge.__main__
from ganforge.cli.main import COMMANDS

# Starts the console script's function with an import hook that raises KeyboardInterrupt (what
# Ctrl-C does) on the first import of `module`, as a user's Ctrl-C during start-up would. A finder
# on sys.meta_path sees `import` statements and importlib.import_module (the CLI's lazy commands) alike.
INTERRUPTED = """
import sys
module = sys.argv[1]
class Interrupting:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            raise KeyboardInterrupt
        return None
sys.meta_path.insert(0, Interrupting())
sys.argv = ["ganforge", *sys.argv[2:]]
from ganforge.__main__ import main
sys.exit(main())
"""


@pytest.mark.parametrize("module", ["torch", "click", "ganforge.cli.apps"])
def test_ctrl_c_during_start_up_imports(module):
    # `interpolate --help` imports its command's module (ganforge.cli.apps), and torch with it.
    done = subprocess.run([sys.executable, "-c", INTERRUPTED, module, "interpolate", "--help"],
                          capture_output=True, text=True, timeout=120)
    # Inside click, a Ctrl-C first moves to a new line (off the terminal's "^C"), as during a command.
    assert done.returncode == 130 and done.stderr.lstrip("\n") == "ganforge: interrupted\n", done.stderr
    assert done.stdout == ""


def test_import_ganforge_is_light():
    """The facade imports nothing heavy, so the console script's try covers all of start-up."""
    code = "import sys, ganforge; heavy = [m for m in ('torch', 'click', 'numpy') if m in sys.modules]; print(heavy)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_the_entry_point_and_python_m(capsys, monkeypatch):
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    assert re.search(r'^ganforge = "ganforge\.__main__:main"', pyproject, re.MULTILINE)
    monkeypatch.setattr(sys, "argv", ["ganforge", "--version"])
    assert ganforge.__main__.main() == 0
    assert capsys.readouterr().out.startswith("ganforge, version ")
    done = subprocess.run([sys.executable, "-m", "ganforge", "--version"], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.startswith("ganforge, version ")


# Runs the console script's function as a user would, then reports what start-up imported. The
# completion variables, when given, make click complete instead of run, and exit.
IMPORTED = """
import json, sys
sys.argv = ["ganforge", *sys.argv[1:]]
from ganforge.__main__ import main
try:
    code = main()
except SystemExit as exc:
    code = exc.code
loaded = [m for m in sys.modules if m == "torch" or m.startswith("ganforge.cli.") and m != "ganforge.cli.main"]
print(json.dumps({"code": code, "imported": sorted(loaded)}), file=sys.stderr)
"""
COMPLETE = {"_GANFORGE_COMPLETE": "bash_complete", "COMP_CWORD": "1"}


def start(argv: list[str], **env: str) -> tuple[dict, str]:
    """(the exit code and what got imported, stdout) of `ganforge ARGV` in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", IMPORTED, *argv], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["--version"], [], ["--no-such-option"]], ids=" ".join)
def test_the_first_screen_imports_no_torch_and_no_command(argv):
    report, out = start(argv)
    assert report["imported"] == []
    assert report["code"] == (0 if argv[:1] in (["--help"], ["-h"], ["--version"]) else 2)
    if argv[:1] in (["--help"], ["-h"]):
        assert "Commands:" in out and "  train " in out


@pytest.mark.parametrize("words, expected", [("ganforge ", "train-inpainter"), ("ganforge tr", "train-classifier"),
                                             ("ganforge --", "--version")])
def test_completion_imports_no_torch_and_no_command(words, expected):
    report, out = start([], COMP_WORDS=words, **COMPLETE)
    assert report == {"code": 0, "imported": []}
    assert f"plain,{expected}\n" in out


def test_a_command_imports_its_own_module_only():
    """The checks above can fail: a command's own --help loads its module (and torch, which it needs)."""
    command_modules = {row.module for row in COMMANDS.values()}
    report, out = start(["info", "--help"])
    assert report["code"] == 0 and "torch" in report["imported"]
    assert command_modules & set(report["imported"]) == {"ganforge.cli.commands"}
    assert out.startswith("Usage: ganforge info [OPTIONS] RUN")
    report, out = start([], COMP_WORDS="ganforge info --", COMP_CWORD="2", _GANFORGE_COMPLETE="bash_complete")
    assert report["code"] == 0 and "plain,--json\n" in out
    assert command_modules & set(report["imported"]) == {"ganforge.cli.commands"}
