"""The generator as a stand-alone file: inputs z (N, latent_dim) float32 [and labels (N,)
int64 for conditional models], output images (N, C, H, W) float32 in [-1, 1]; N is dynamic.
The EMA weights when the run kept them (what `ganforge.load` samples from); eval mode, so
BatchNorm uses its running statistics and StyleGAN noise its fixed buffers."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from ganforge.errors import InputError, MissingExtra
from ganforge.io.atomic import atomic_write, check_writable

FORMATS = ("onnx", "torchscript")
MIN_OPSET = 18  # torch's dynamo exporter writes this opset natively


class _Unconditional(nn.Module):
    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)


class _Conditional(nn.Module):
    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(z, labels)


def _wrapped(gan) -> tuple[nn.Module, tuple[torch.Tensor, ...], list[str]]:
    generator = gan.generator.float().cpu().eval()
    z = gan.latents(2, seed=0).cpu()
    if gan.num_classes:
        return _Conditional(generator).eval(), (z, torch.tensor([0, 1 % gan.num_classes])), ["z", "labels"]
    return _Unconditional(generator).eval(), (z,), ["z"]


def _check_opset(opset: int) -> None:
    """An opset the installed exporter writes: from MIN_OPSET, which torch's exporter writes natively
    (older ones go through a conversion that can fail and then silently keeps 18), up to the newest
    the installed onnx package knows. MissingExtra without the export extra."""
    try:
        import onnx  # the optional export extra: torch's exporter needs onnx and onnxscript
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise MissingExtra(f"ONNX export needs the export extra ({exc.name} is not installed): "
                           "pip install 'ganforge[export]'") from None
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise InputError(f"opset {opset}: the installed exporter writes ONNX opsets {MIN_OPSET} to {newest} "
                         f"(onnx {onnx.__version__})")


def export_generator(gan, path: str | Path, fmt: str = "onnx", opset: int = 18) -> Path:
    """Write `gan`'s generator (a `ganforge.load` result) to `path` as ONNX or TorchScript."""
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "onnx":
        _check_opset(opset)
    path = check_writable(path, what="--out")
    module, example, names = _wrapped(gan)
    with torch.no_grad():
        if fmt == "torchscript":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, still loadable
                traced = torch.jit.trace(module, example)
            atomic_write(path, lambda tmp: traced.save(str(tmp)))
        else:
            batch = torch.export.Dim("batch", min=1, max=4096)
            dynamic = {name: {0: batch} for name in names}
            exporter_log = logging.getLogger("torch.onnx")
            level = exporter_log.level
            exporter_log.setLevel(logging.ERROR)  # it notes every torchvision op it skips; we use none
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", (FutureWarning, UserWarning))
                    program = torch.onnx.export(module, example, input_names=names, output_names=["images"],
                                                dynamic_shapes=dynamic, opset_version=opset, dynamo=True,
                                                verbose=False)
            finally:
                exporter_log.setLevel(level)
            written = program.model.opset_imports.get("", opset)
            if written != opset:  # the exporter keeps its own opset when a conversion fails
                raise InputError(f"opset {opset}: the exporter could not convert this model (it made opset "
                                 f"{written}); use --opset {MIN_OPSET}")
            atomic_write(path, lambda tmp: program.save(str(tmp)))
    gan.generator.to(gan.device)
    return path
