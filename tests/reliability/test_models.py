"""What a model cannot do is an error, not silently something else: a label for an unconditional
model, an ONNX opset the exporter does not write, images from NaN weights."""

from __future__ import annotations

import pytest
import torch

import ganforge
from ganforge.errors import CheckpointError, GanforgeError
from ganforge.io.checkpoint import save_checkpoint
from ganforge.models import build_discriminator
from tests.cli.test_cli import run_cli
from tests.reliability.conftest import one_line_error


@pytest.mark.parametrize("command", [["interpolate", "--label", "2"], ["sample", "--labels", "2"]])
def test_a_label_for_an_unconditional_model(run, tmp_path, capsys, command):
    code, _, err = run_cli(capsys, command[0], run, *command[1:], "-o", tmp_path / "out.png")
    one_line_error(code, err, "labels: this model is unconditional")
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("opset", [99, 17, 13])
def test_export_accepts_only_the_opsets_it_writes(run, tmp_path, capsys, opset):
    onnx = pytest.importorskip("onnx")
    code, _, err = run_cli(capsys, "export", run, "--opset", opset, "-o", tmp_path / "g.onnx")
    newest = onnx.defs.onnx_opset_version()
    one_line_error(code, err, f"opset {opset}: the installed exporter writes ONNX opsets 18 to {newest}")
    assert not (tmp_path / "g.onnx").exists()


@pytest.fixture
def nan_run(run, tmp_path):
    """The tiny run's checkpoint again, with a generator whose weights are all NaN (saved by ganforge
    itself, so its file hashes are right: only the numbers are bad)."""
    gan = ganforge.load(run)
    with torch.no_grad():
        for parameter in gan.generator.parameters():
            parameter.fill_(float("nan"))
    discriminator = build_discriminator(gan.config.model, gan.config.data)
    save_checkpoint(tmp_path / "nan" / "checkpoints", gan.step, gan.config,
                    {"generator": gan.generator, "discriminator": discriminator})
    return tmp_path / "nan"


def test_sampling_nan_weights_is_refused(nan_run, tmp_path, capsys):
    for out in ("x.npy", "x.png", "pngs"):
        code, _, err = run_cli(capsys, "sample", nan_run, "-n", "3", "-o", tmp_path / out)
        one_line_error(code, err, "the generator makes NaN or infinite pixels; its weights are unusable")
        assert not (tmp_path / out).exists()
    gan = ganforge.load(nan_run)
    with pytest.raises(CheckpointError, match="NaN or infinite pixels") as info:
        gan.sample(2)
    assert isinstance(info.value, GanforgeError)
