"""Outputs that cannot be written (an existing file where a folder is needed, a parent that is a
file, a read-only folder) are refused in one line before anything is computed."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np
import pytest

from ganforge.errors import DataError
from ganforge.io.atomic import check_writable
from tests.cli.test_cli import run_cli
from tests.reliability.conftest import one_line_error


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a_file"
    path.write_text("not a folder")
    return path


def test_check_writable(tmp_path, a_file):
    assert check_writable(tmp_path / "new" / "deeper" / "x.png") == tmp_path / "new" / "deeper" / "x.png"
    assert check_writable(tmp_path, folder=True) == tmp_path
    with pytest.raises(DataError, match=f"--out {a_file}/x.png: {a_file} is a file, not a folder"):
        check_writable(a_file / "x.png", what="--out")
    with pytest.raises(DataError, match=f"{a_file}/sub: {a_file} is a file, not a folder"):
        check_writable(a_file / "sub", folder=True)
    with pytest.raises(DataError, match="is an existing file, not a folder"):
        check_writable(a_file, folder=True)
    with pytest.raises(DataError, match="is an existing folder, not a file"):
        check_writable(tmp_path)


@pytest.mark.parametrize("out, extra, expected", [
    ("{a_file}/grid.png", [], "{a_file} is a file, not a folder"),
    ("{a_file}/x.npy", [], "{a_file} is a file, not a folder"),
    ("{a_file}", ["--format", "files"], "is an existing file, not a folder"),
    ("{a_file}/pngs", [], "{a_file} is a file, not a folder"),
    ("{tmp}", ["--format", "grid"], "is an existing folder, not a file"),
], ids=["grid-under-a-file", "npy-under-a-file", "files-into-a-file", "folder-under-a-file", "grid-onto-a-folder"])
def test_sample_refuses_an_unwritable_out(run, tmp_path, a_file, capsys, out, extra, expected):
    out = out.format(a_file=a_file, tmp=tmp_path)
    code, _, err = run_cli(capsys, "sample", run, "-n", "2", "-o", out, *extra)
    one_line_error(code, err, f"--out {out}: " + expected.format(a_file=a_file))
    assert a_file.read_text() == "not a folder"


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_refuses_an_out_below_a_file(run, a_file, capsys, fmt):
    code, _, err = run_cli(capsys, "export", run, "--format", fmt, "-o", a_file / "generator")
    one_line_error(code, err, f"--out {a_file / 'generator'}: {a_file} is a file, not a folder")


def test_evaluate_checks_its_outputs_before_computing(run, tmp_path, a_file, capsys, monkeypatch):
    def computed(*args, **kwargs):
        raise AssertionError("sampled before checking --out")

    module = importlib.import_module("ganforge.evaluation.evaluate")  # the attribute is the function
    monkeypatch.setattr(module, "images_from_source", computed)
    np.save(tmp_path / "ref.npy", np.zeros((20, 3, 16, 16), np.float32))
    for flag in ("--out", "--save-ref"):
        code, _, err = run_cli(capsys, "evaluate", run, "--ref", tmp_path / "ref.npy", "--n", "10",
                               flag, a_file / "report.json")
        one_line_error(code, err, f"{flag} {a_file / 'report.json'}: {a_file} is a file, not a folder")


def test_an_unwritable_folder_as_access_reports_it(tmp_path, monkeypatch):
    """The read-only branch for every user, root included (for whom chmod does not bind)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked)
    with pytest.raises(DataError, match=f"--out {locked}/new/x.png: the folder {locked} is not writable"):
        check_writable(locked / "new" / "x.png", what="--out")


def test_a_read_only_folder_is_refused(run, tmp_path, capsys):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("permissions do not bind this user (root)")
        for args in (["sample", run, "-o", folder / "grid.png"], ["sample", run, "-o", folder / "pngs"],
                     ["export", run, "--format", "torchscript", "-o", folder / "g.pt"]):
            code, _, err = run_cli(capsys, *args)
            one_line_error(code, err, f"the folder {folder} is not writable")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)
