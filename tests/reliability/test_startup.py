"""Ctrl-C while the CLI starts (importing torch and the commands takes seconds) ends like Ctrl-C
later: `ganforge: interrupted`, exit code 130, no traceback. `python -m ganforge` runs the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import ganforge.__main__

# Starts the console script's function with an import hook that raises KeyboardInterrupt (what
# Ctrl-C does) on the first import of `module`, as a user's Ctrl-C during start-up would.
INTERRUPTED = """
import builtins, sys
real, target = builtins.__import__, sys.argv[1]
def interrupting(name, *args, **kwargs):
    if name == target:
        raise KeyboardInterrupt
    return real(name, *args, **kwargs)
builtins.__import__ = interrupting
sys.argv = ["ganforge", "--help"]
from ganforge.__main__ import main
sys.exit(main())
"""


@pytest.mark.parametrize("module", ["torch", "click", "ganforge.cli.apps"])
def test_ctrl_c_during_start_up_imports(module):
    done = subprocess.run([sys.executable, "-c", INTERRUPTED, module], capture_output=True, text=True, timeout=120)
    assert done.returncode == 130 and done.stderr == "ganforge: interrupted\n", done.stderr
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
