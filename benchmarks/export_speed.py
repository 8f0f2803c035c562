"""Sampling speed of an exported generator: PyTorch eager vs TorchScript vs onnxruntime.

    python benchmarks/export_speed.py [--arch dcgan] [--image-size 28] [--channels 1] [--batch 64]

Builds an untrained generator of the given shape (speed does not depend on the weights), exports
it both ways, checks the outputs agree, and times `--repeats` batches after a warm-up, on the CPU
with the threads torch uses by default. Prints images/s and the ratio to eager.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import ganforge
from ganforge.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from ganforge.export import export_generator
from ganforge.training import train


def timed(fn, repeats: int) -> float:
    fn()
    fn()  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--image-size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    import onnxruntime

    with tempfile.TemporaryDirectory() as tmp:
        dataset = "mnist" if (args.channels, args.image_size) == (1, 28) else "shapes"
        config = RunConfig(DataConfig(dataset=dataset, image_size=args.image_size, channels=args.channels, limit=256),
                           ModelConfig(arch=args.arch, width=args.width),
                           train=TrainConfig(steps=1, batch_size=16, out_dir=tmp, run_name="x"))
        gan = ganforge.load(train(config.validate(), progress=False))
        onnx_path = export_generator(gan, Path(tmp) / "g.onnx", "onnx")
        script = torch.jit.load(str(export_generator(gan, Path(tmp) / "g.pt", "torchscript")))
        session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        z = gan.latents(args.batch, seed=0)
        with torch.no_grad():
            eager_out = gan.generator(z)
            assert torch.allclose(script(z), eager_out, atol=1e-5)
        assert np.abs(session.run(None, {"z": z.numpy()})[0] - eager_out.numpy()).max() <= 1e-4
        with torch.no_grad():
            times = {"PyTorch eager": timed(lambda: gan.generator(z), args.repeats),
                     "TorchScript": timed(lambda: script(z), args.repeats)}
        times["onnxruntime"] = timed(lambda: session.run(None, {"z": z.numpy()}), args.repeats)
    print(f"{args.arch} generator, {args.channels}x{args.image_size}x{args.image_size}, width {args.width}, "
          f"batch {args.batch}, {torch.get_num_threads()} threads\n")
    print("| runtime | images/s | vs eager |\n|---|---:|---:|")
    for name, seconds in times.items():
        print(f"| {name} | {args.batch / seconds:,.0f} | {times['PyTorch eager'] / seconds:.2f}x |")


if __name__ == "__main__":
    main()
