"""Export a trained generator for use without ganforge: ONNX (onnxruntime, other runtimes) and
TorchScript (plain PyTorch)."""

from ganforge.export.generator import FORMATS, export_generator

__all__ = ["FORMATS", "export_generator"]
