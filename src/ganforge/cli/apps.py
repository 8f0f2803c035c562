"""`ganforge interpolate | invert | inpaint | restore | train-encoder | train-inpainter | export`."""

from __future__ import annotations

import math
from pathlib import Path

import click
import torch

from ganforge.cli import echo
from ganforge.cli.options import STEPS, Float, Int, RunOrModel, check_count, interactive
from ganforge.api import load
from ganforge.apps.blending import BLENDS
from ganforge.apps.explore import INTERPOLATIONS, class_morph, interpolate as walk, save_gif
from ganforge.apps.inpainter import train_inpainter as fit_inpainter
from ganforge.apps.inpainting import INPAINTER_FILE, INPAINTERS, save_inpainter
from ganforge.apps.inversion import ENCODER_FILE, invert as project, load_encoder, save_encoder, train_encoder as fit_encoder
from ganforge.apps.masks import MASK_KINDS, damage, user_mask
from ganforge.apps.restoration import CORRUPTIONS, restore_inversion
from ganforge.cli.commands import SEEDS, parse_labels
from ganforge.data import build_dataset
from ganforge.data.transforms import resize_center_crop, to_signed
from ganforge.device import resolve_device
from ganforge.export import FORMATS, export_generator
from ganforge.io.atomic import check_writable
from ganforge.io.checkpoint import run_folder
from ganforge.io.pictures import fit_image, read_picture, save_array, save_grid, save_image
from ganforge.metrics import psnr

RUN = click.option("--run", "--model", "run", required=True, type=RunOrModel(),
                   help="Run folder (latest checkpoint), checkpoint folder or zoo model (ganforge models) "
                        "of the generator.")
DEVICE = click.option("--device", default="cpu", show_default=True, help="cpu, cuda, mps.")
SEED = click.option("--seed", default=0, show_default=True, type=SEEDS, help="Seed of the random starts.")
RESIZE = click.option("--resize", is_flag=True,
                      help="Scale IMAGE (and a mask picture) of another size to the model's: short side scaled, "
                           "centre cropped, as training does; the results are at the model's size.")


def _load(run: Path, device: str):
    return load(run, device=resolve_device(device))


def _picture(image: Path, gan, resize: bool) -> torch.Tensor:
    """IMAGE as the (1, C, H, W) batch the model takes, saying in one line what was changed to fit it."""
    picture, note = fit_image(image, gan.image_shape, resize=resize)
    if note is not None:
        echo(note)
    return picture[None]


def _mask(mask: str, size: int, seed: int, resize: bool) -> torch.Tensor:
    """--mask as a (size, size) hole; with --resize a mask picture of another size is scaled too."""
    if resize and mask not in MASK_KINDS and Path(mask).is_file():
        picture = read_picture(mask, "mask")
        if picture.size != (size, size):
            echo(f"{mask}: mask resized from {picture.width}x{picture.height} to {size}x{size} for the model")
            picture = resize_center_crop(picture.convert("L"), size)
        return user_mask(picture, size, seed)
    return user_mask(mask, size, seed)


def _upscale(gan) -> int:
    return max(1, 64 // gan.image_shape[1])


@click.command(epilog="""\b
Examples:
  ganforge interpolate RUN --from-seed 0 --to-seed 1 -o walk.png --gif walk.gif
  ganforge interpolate COND_RUN --morph 3,8 -o morph.png       # class 3 -> class 8, one latent""")
@click.argument("run", type=RunOrModel())
@click.option("--from-seed", default=0, show_default=True, type=SEEDS, help="Seed of the first latent.")
@click.option("--to-seed", default=1, show_default=True, type=SEEDS, help="Seed of the last latent.")
@click.option("--steps", default=8, show_default=True, type=Int(min=2), help="Frames, ends included.")
@click.option("--method", default="slerp", show_default=True, type=click.Choice(list(INTERPOLATIONS)))
@click.option("--label", type=Int(min=0), help="Conditional models: the class held fixed [0].")
@click.option("--morph", help="Conditional models: A,B morphs class A into B for the --from-seed latent.")
@click.option("--truncation", default=1.0, show_default=True, type=Float(0, 1, min_open=True))
@click.option("-o", "--out", default="interpolation.png", show_default=True, type=click.Path(path_type=Path),
              help="Grid PNG of the frames, in order.")
@click.option("--gif", type=click.Path(dir_okay=False, path_type=Path), help="Also write an animated GIF.")
@DEVICE
def interpolate(run: Path, from_seed: int, to_seed: int, steps: int, method: str, label: int | None,
                morph: str | None, truncation: float, out: Path, gif: Path | None, device: str) -> None:
    """Walk the latent space between two seeds (or morph between two classes)."""
    check_writable(out, what="--out")
    if gif is not None:
        check_writable(gif, what="--gif")
    gan = _load(run, device)
    if morph is not None:
        pair = parse_labels(morph)
        if len(pair) != 2:
            raise click.BadParameter(f"expected two classes A,B, got {morph!r}", param_hint="'--morph'")
        frames = class_morph(gan, from_seed, pair[0], pair[1], steps)
    else:
        frames = walk(gan, from_seed, to_seed, steps, method, label, truncation)
    save_grid(frames, out, nrow=steps, upscale=_upscale(gan))
    echo(f"wrote {steps} frames to {out}")
    if gif is not None:
        save_gif(frames, gif, upscale=_upscale(gan))
        echo(f"wrote {gif}")


@click.command(epilog="""\b
Example:
  ganforge invert digit.png --run RUN -o inverted/     # reconstruction.png, comparison.png, latent.npy""")
@click.argument("image", type=click.Path(path_type=Path))
@RUN
@click.option("-o", "--out", default="inversion", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--steps", default=300, show_default=True, type=STEPS, help="Optimisation steps.")
@click.option("--restarts", default=4, show_default=True, type=Int(min=1), help="Random starts.")
@click.option("--encoder/--no-encoder", default=True, show_default=True,
              help="Start one restart from RUN/encoder.safetensors when present (ganforge train-encoder).")
@RESIZE
@SEED
@DEVICE
def invert(image: Path, run: Path, out: Path, steps: int, restarts: int, encoder: bool, resize: bool, seed: int,
           device: str) -> None:
    """Find the latent whose generated image matches IMAGE (a PNG of the model's size, or any with --resize)."""
    check_writable(out, folder=True, what="--out")
    gan = _load(run, device)
    target = _picture(image, gan, resize)
    start = None
    net = load_encoder(run_folder(run), gan.device) if encoder else None
    if net is not None:
        with torch.no_grad():
            start = net(target.to(gan.device))
    result = project(gan, target, steps=steps, restarts=restarts, start=start, seed=seed, progress=interactive())
    save_image(result.images, out / "reconstruction.png")
    save_grid(torch.cat([target, result.images]), out / "comparison.png", nrow=2, upscale=_upscale(gan))
    save_array(result.latents.numpy(), out / "latent.npy")
    echo(f"{result.space} latent -> {out / 'latent.npy'}; reconstruction PSNR "
               f"{float(psnr(result.images, target)[0]):.2f} dB" + (" (encoder start)" if net is not None else ""))


@click.command(epilog="""\b
Examples:
  ganforge inpaint damaged.png --run RUN --mask hole.png -o fixed.png     # white = missing
  ganforge inpaint digit.png --run RUN --mask center --method net -o fixed.png""")
@click.argument("image", type=click.Path(path_type=Path))
@RUN
@click.option("--mask", "mask", required=True,
              help=f"Mask PNG of the model's size (white = missing; any size with --resize), or {', '.join(MASK_KINDS)}.")
@click.option("--method", default="inversion", show_default=True, type=click.Choice(INPAINTERS.names()),
              help="inversion: masked GAN inversion + blending; net: RUN/inpainter.safetensors; telea: OpenCV.")
@click.option("--blend", default="poisson", show_default=True, type=click.Choice(BLENDS.names()))
@click.option("--steps", default=400, show_default=True, type=STEPS)
@click.option("--restarts", default=8, show_default=True, type=Int(min=1))
@click.option("-o", "--out", default="inpainted.png", show_default=True, type=click.Path(dir_okay=False, path_type=Path))
@RESIZE
@SEED
@DEVICE
def inpaint(image: Path, run: Path, mask: str, method: str, blend: str, steps: int, restarts: int, out: Path,
            resize: bool, seed: int, device: str) -> None:
    """Fill the missing pixels of IMAGE; also writes OUT's stem + _comparison.png."""
    comparison = check_writable(out.with_name(out.stem + "_comparison.png"), what="--out")
    check_writable(out, what="--out")
    gan = _load(run, device)
    picture = _picture(image, gan, resize)
    hole = _mask(mask, gan.image_shape[1], seed, resize)
    restored = INPAINTERS.get(method)(gan, picture, hole, blend=blend, steps=steps, restarts=restarts, seed=seed,
                                      progress=interactive())
    save_image(restored, out)
    save_grid(torch.cat([damage(picture, hole), restored]), comparison, nrow=2, upscale=_upscale(gan))
    echo(f"wrote {out} and {comparison} (damaged | restored)")


@click.command(epilog="""\b
Example:
  ganforge restore noisy.png --run RUN --corruption noise --strength 0.3 -o clean.png""")
@click.argument("image", type=click.Path(path_type=Path))
@RUN
@click.option("--corruption", required=True, type=click.Choice(CORRUPTIONS.names()),
              help="What happened to the image: Gaussian noise or Gaussian blur.")
@click.option("--strength", default=0.3, show_default=True, type=Float(min=0, max=100, min_open=True),
              help="Noise std (in [-1, 1] units) or blur sigma (pixels).")
@click.option("--steps", default=400, show_default=True, type=STEPS)
@click.option("--restarts", default=8, show_default=True, type=Int(min=1))
@click.option("-o", "--out", default="restored.png", show_default=True, type=click.Path(dir_okay=False, path_type=Path))
@RESIZE
@SEED
@DEVICE
def restore(image: Path, run: Path, corruption: str, strength: float, steps: int, restarts: int, out: Path,
            resize: bool, seed: int, device: str) -> None:
    """Denoise or deblur IMAGE by projecting it onto the generator's images."""
    check_writable(out, what="--out")
    gan = _load(run, device)
    picture = _picture(image, gan, resize)
    restored = restore_inversion(gan, picture, corruption, strength, steps=steps, restarts=restarts, seed=seed,
                                 progress=interactive())
    save_image(restored, out)
    echo(f"wrote {out}")


@click.command("train-encoder")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--steps", default=2000, show_default=True, type=STEPS)
@click.option("--batch-size", default=64, show_default=True, type=Int(min=1))
@SEED
@DEVICE
def train_encoder(run: Path, steps: int, batch_size: int, seed: int, device: str) -> None:
    """Train an image -> latent encoder on RUN's samples (a start point for `ganforge invert`)."""
    check_writable(run_folder(run) / ENCODER_FILE, what="RUN")
    gan = _load(run, device)
    encoder = fit_encoder(gan, steps=steps, batch_size=batch_size, seed=seed, progress=True)
    echo(f"wrote {save_encoder(encoder, run_folder(run))}")


@click.command("train-inpainter")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--steps", default=2000, show_default=True, type=STEPS)
@click.option("--batch-size", default=64, show_default=True, type=Int(min=1))
@click.option("--l1-only", is_flag=True, help="No adversarial term (the ablation).")
@SEED
@DEVICE
def train_inpainter(run: Path, steps: int, batch_size: int, l1_only: bool, seed: int, device: str) -> None:
    """Train a U-Net inpainting net on RUN's training data with random holes (L1 + PatchGAN)."""
    check_writable(run_folder(run) / INPAINTER_FILE, what="RUN")
    gan = _load(run, "cpu")
    check_count("--batch-size", batch_size, 4 * 4 * math.prod(gan.image_shape), "images per batch (x4: image, "
                "masked copy, output, gradient)")
    images = to_signed(build_dataset(gan.config.data, progress=True).images)
    result, config = fit_inpainter(images, steps=steps, batch_size=batch_size, adversarial_weight=0.0 if l1_only else 1.0,
                         seed=seed, device=resolve_device(device), progress=True)
    echo(f"final L1 {result.history[-1]['l1']:.4f}; wrote {save_inpainter(result.generator, config, run)}")


@click.command("export", epilog="""\b
Examples:
  ganforge export RUN --format onnx -o generator.onnx         # inputs z [, labels]; output images
  ganforge export RUN --format torchscript -o generator.pt    # torch.jit.load, no ganforge needed""")
@click.argument("run", type=RunOrModel())
@click.option("--format", "fmt", default="onnx", show_default=True, type=click.Choice(FORMATS))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file [generator.onnx / generator.pt].")
@click.option("--opset", default=18, show_default=True, type=Int(),
              help="ONNX opset: 18 up to the newest the installed onnx package knows.")
def export(run: Path, fmt: str, out: Path | None, opset: int) -> None:
    """Export RUN's generator (the EMA one when kept) with a dynamic batch size."""
    gan = _load(run, "cpu")
    out = out or Path("generator.onnx" if fmt == "onnx" else "generator.pt")
    export_generator(gan, out, fmt, opset)
    inputs = f"z (N, {gan.latent_dim}) float32" + (f", labels (N,) int64 in 0..{gan.num_classes - 1}"
                                                    if gan.num_classes else "")
    c, h, w = gan.image_shape
    echo(f"wrote {out}: inputs {inputs} -> images (N, {c}, {h}, {w}) float32 in [-1, 1]")
