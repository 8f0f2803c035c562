import subprocess
import sys

import numpy as np
import pytest
import torch

import ganforge
from ganforge.cli.main import main
from ganforge.errors import InputError
from ganforge.export import export_generator
from ganforge.training import train
from tests.conftest import tiny_config

MODELS = {"dcgan": None, "conditional resnet": {"arch": "resnet", "num_classes": 3}, "stylegan": {"arch": "stylegan"}}


@pytest.fixture(scope="module", params=list(MODELS))
def gan(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    return ganforge.load(train(tiny_config(tmp, MODELS[request.param], steps=2), progress=False))


def _inputs(gan, n):
    z = gan.latents(n, seed=4)
    labels = torch.arange(n) % gan.num_classes if gan.num_classes else None
    return z, labels


def test_onnx_matches_pytorch_with_a_dynamic_batch(gan, tmp_path):
    import onnxruntime

    path = export_generator(gan, tmp_path / "g.onnx", "onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 7):  # exported with a batch of 2: other sizes must work too
        z, labels = _inputs(gan, n)
        feeds = {"z": z.numpy()} | ({"labels": labels.numpy()} if labels is not None else {})
        out = session.run(["images"], feeds)[0]
        reference = gan.generate(z, labels).numpy()
        assert out.shape == reference.shape == (n, 3, 16, 16)
        assert np.abs(out - reference).max() <= 1e-4


def test_torchscript_loads_without_ganforge(gan, tmp_path):
    path = export_generator(gan, tmp_path / "g.pt", "torchscript")
    z, labels = _inputs(gan, 3)
    torch.save({"z": z, "labels": labels}, tmp_path / "inputs.pt")
    reference = gan.generate(z, labels)
    torch.save(reference, tmp_path / "reference.pt")
    # ganforge is made unimportable in the child: loading must need torch alone.
    code = (
        "import sys; sys.modules['ganforge'] = None\n"
        "import torch\n"
        f"m = torch.jit.load({str(path)!r})\n"
        f"x = torch.load({str(tmp_path / 'inputs.pt')!r}, weights_only=True)\n"
        "args = (x['z'],) + ((x['labels'],) if x['labels'] is not None else ())\n"
        f"ref = torch.load({str(tmp_path / 'reference.pt')!r}, weights_only=True)\n"
        "assert (m(*args) - ref).abs().max() <= 1e-5\n"
        "assert not [k for k in sys.modules if k.startswith('ganforge.')]\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_cli_export_and_bad_format(tmp_path, capsys):
    run = train(tiny_config(tmp_path, steps=1), progress=False)
    assert main(["export", str(run), "--format", "torchscript", "-o", str(tmp_path / "g.pt")]) == 0
    assert "inputs z (N, 8) float32 -> images (N, 3, 16, 16)" in capsys.readouterr().out
    with pytest.raises(InputError, match="format"):
        export_generator(ganforge.load(run), tmp_path / "g.x", "tflite")
