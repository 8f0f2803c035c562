"""Commands whose optional extra is not installed say which, with the pip command, in one line."""

from __future__ import annotations

import sys

import pytest

from tests.cli.test_cli import run_cli
from tests.reliability.conftest import one_line_error


def missing(monkeypatch, *modules: str) -> None:
    """Make `import module` fail as if it were not installed (None in sys.modules), and forget the
    ganforge modules that import them, so that they are imported afresh."""
    for name in [n for n in sys.modules if n == "ganforge.serve" or n.startswith("ganforge.serve.")]:
        monkeypatch.delitem(sys.modules, name)
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize("module", ["fastapi", "uvicorn"])
def test_serve_without_the_serve_extra(run, capsys, monkeypatch, module):
    missing(monkeypatch, module)
    code, _, err = run_cli(capsys, "serve", run)
    one_line_error(code, err, f"ganforge serve needs the serve extra ({module} is not installed): "
                              "pip install 'ganforge[serve]'")


@pytest.mark.parametrize("module", ["onnx", "onnxscript"])
def test_onnx_export_without_the_export_extra(run, tmp_path, capsys, monkeypatch, module):
    missing(monkeypatch, module)
    code, _, err = run_cli(capsys, "export", run, "--format", "onnx", "-o", tmp_path / "g.onnx")
    one_line_error(code, err, f"ONNX export needs the export extra ({module} is not installed): "
                              "pip install 'ganforge[export]'")
    assert not (tmp_path / "g.onnx").exists()


def test_telea_without_opencv(run, picture, tmp_path, capsys, monkeypatch):
    missing(monkeypatch, "cv2")
    code, _, err = run_cli(capsys, "inpaint", picture, "--run", run, "--mask", "center", "--method", "telea",
                           "-o", tmp_path / "out.png")
    one_line_error(code, err, "the Telea baseline needs OpenCV: pip install 'ganforge[restoration]'")


def test_serve_without_python_multipart(run, capsys, monkeypatch):
    import importlib.util

    from ganforge.cli import serve as serve_command

    real = importlib.util.find_spec
    monkeypatch.setattr(serve_command.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("python_multipart", "multipart") else real(name, *a))
    code, _, err = run_cli(capsys, "serve", run)
    one_line_error(code, err, "python-multipart is not installed", "pip install 'ganforge[serve]'")
