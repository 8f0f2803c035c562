"""Progress bars with time estimates on the commands that can take minutes (issue 34): shown when
stderr is a terminal, silent otherwise (logs, pipes, CI)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ganforge.cli.apps
import ganforge.cli.commands
from ganforge.cli import options
from ganforge.loop import progress_bar
from tests.cli.test_cli import TINY, run_cli


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("progress")
    from ganforge.cli.main import main

    assert main(["train", *TINY, "--out", str(tmp), "--name", "r"]) == 0
    return tmp / "r"


@pytest.fixture
def terminal(monkeypatch):
    """As if stderr were a terminal."""
    for module in (ganforge.cli.apps, ganforge.cli.commands):
        monkeypatch.setattr(module, "interactive", lambda: True)


def test_progress_bar_wraps_only_when_shown(capsys):
    items = [1, 2, 3]
    assert progress_bar(items, 3, "x", show=False) is items
    assert list(progress_bar(items, 3, "counting", "thing", show=True)) == items
    err = capsys.readouterr().err
    assert "counting" in err and "0/3 " in err and "thing" in err


def test_interactive_follows_stderr(monkeypatch):
    class Tty:
        def __init__(self, answer):
            self.answer = answer

        def isatty(self):
            return self.answer

    monkeypatch.setattr(options.sys, "stderr", Tty(True))
    assert options.interactive() is True
    monkeypatch.setattr(options.sys, "stderr", Tty(False))
    assert options.interactive() is False


def test_sample_to_a_folder_and_evaluate_show_progress(tiny_run, tmp_path, capsys, terminal):
    code, _, err = run_cli(capsys, "sample", tiny_run, "-n", "300", "-o", tmp_path / "many")
    assert code == 0, err
    assert "sampling" in err and "/2 " in err  # 300 images in batches of 256
    assert "writing pictures" in err and "/300 " in err
    np.save(tmp_path / "ref.npy", np.zeros((40, 3, 16, 16), dtype=np.float32))
    code, _, err = run_cli(capsys, "evaluate", tiny_run, "--ref", tmp_path / "ref.npy", "--n", "20",
                           "--extractor", "scenes-classifier", "--metrics", "fd")
    assert code == 0, err
    assert "scenes-classifier features" in err


def test_inpaint_shows_progress_with_the_restarts(tiny_run, tmp_path, capsys, terminal):
    Image.fromarray(np.full((16, 16, 3), 128, dtype=np.uint8)).save(tmp_path / "p.png")
    code, _, err = run_cli(capsys, "inpaint", tmp_path / "p.png", "--run", tiny_run, "--mask", "center",
                           "--steps", "5", "--restarts", "2", "-o", tmp_path / "out.png")
    assert code == 0, err
    assert "inversion (2 restarts at once)" in err and "/5 " in err


def test_no_terminal_no_bars(tiny_run, tmp_path, capsys):
    code, _, err = run_cli(capsys, "sample", tiny_run, "-n", "300", "-o", tmp_path / "quiet")
    assert code == 0, err
    assert "sampling" not in err and "writing pictures" not in err
