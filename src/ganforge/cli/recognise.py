"""`ganforge semi-supervised` (and the recognition commands of the K+1 / pix2pix family)."""

from __future__ import annotations

import statistics
from pathlib import Path

import click
import torch

from ganforge.cli.options import Float, Int
from ganforge.api import load
from ganforge.apps.augmentation import augmentation_experiment
from ganforge.apps.segmentation import colourise, evaluate_segmenter, predict, train_segmenter
from ganforge.apps.semi_supervised import train_semi_supervised
from ganforge.cli.commands import SEEDS
from ganforge.data import load_mnist
from ganforge.data.scenes import SCENE_CLASSES, load_scenes
from ganforge.data.transforms import to_signed
from ganforge.device import resolve_device
from ganforge.io.atomic import check_writable
from ganforge.io.checkpoint import load_network, save_network
from ganforge.io.pictures import load_image, save_grid, save_image
from ganforge.models.unet import UNetGenerator


def parse_seeds(seeds: str) -> list[int]:
    """--seeds 0,1,2 -> [0, 1, 2]; a usage error otherwise."""
    try:
        return [SEEDS.convert(s, None, None) for s in seeds.split(",")]
    except click.BadParameter:
        raise click.BadParameter(f"expected seeds in 0..{SEEDS.max} like 0,1,2, got {seeds!r}",
                                 param_hint="'--seeds'") from None


@click.command("semi-supervised", epilog="""\b
Example (the published setting, Salimans et al. 2016: 100 labels):
  ganforge semi-supervised --labels-per-class 10 --epochs 30 --seeds 0,1,2""")
@click.option("--labels-per-class", default=10, show_default=True, type=Int(min=1),
              help="Labelled MNIST training digits per class; the rest are used unlabelled.")
@click.option("--epochs", default=30.0, show_default=True, type=Float(min=0, max=1e4, min_open=True),
              help="Passes over the 50,000 unlabelled training digits.")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds (labelled set and weights).")
@click.option("--lr", default=3e-3, show_default=True, type=Float(min=0, max=10, min_open=True),
              help="Adam learning rate (both networks).")
@click.option("--baseline/--no-baseline", default=True, show_default=True,
              help="Also train the same network on the labelled digits alone.")
@click.option("--limit", type=Int(min=1), help="Use only the first N training digits (quick runs).")
@click.option("--test-limit", type=Int(min=1), help="Score on the first N test digits only.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the first seed's K+1 classifier as .safetensors.")
def semi_supervised(labels_per_class: int, epochs: float, seeds: str, lr: float, baseline: bool, limit: int | None,
                    test_limit: int | None, device: str, save: Path | None) -> None:
    """Semi-supervised MNIST: a K+1-class GAN discriminator vs the same net on the labels alone."""
    seed_list = parse_seeds(seeds)
    if save is not None:
        check_writable(save, what="--save")
    train, test = load_mnist("train", limit=limit), load_mnist("test", limit=test_limit)
    flat = lambda ds: ds.images.flatten(1).float() / 255  # noqa: E731
    x_train, x_test = flat(train), flat(test)
    torch_device = resolve_device(device)
    rows = {"K+1 GAN (feature matching)": [], "labelled only": []}
    for seed in seed_list:
        for name, gan in (("K+1 GAN (feature matching)", True), ("labelled only", False)):
            if not gan and not baseline:
                continue
            result = train_semi_supervised(x_train, train.labels, x_test, test.labels, labels_per_class, epochs,
                                           lr=lr, gan=gan, seed=seed, device=torch_device, progress=False)
            rows[name].append(result)
            click.echo(f"seed {seed}, {name}: test error {result.test_error:.2%} ({result.seconds:.0f} s)")
            click.echo("  test error by step: " + ", ".join(f"{h['step']}: {h['test_error']:.2%}"
                                                          for h in result.history))
            if save is not None and gan and seed == seed_list[0]:
                save_network(save, result.classifier, {"num_classes": 10})
    click.echo(f"\n{labels_per_class * 10} labels, {epochs:g} epochs, Adam lr {lr:g}, {len(test.labels)} test digits")
    for name, results in rows.items():
        if results:
            errors = [r.test_error * 100 for r in results]
            spread = statistics.stdev(errors) if len(errors) > 1 else 0.0
            click.echo(f"  {name:<28} test error {statistics.mean(errors):.2f}% ± {spread:.2f} "
                       f"(seeds {seeds}; {statistics.mean(r.seconds for r in results):.0f} s per run)")


@click.command("segment", epilog="""\b
Examples:
  ganforge segment --steps 3000                       # cross-entropy + adversarial, scored on test scenes
  ganforge segment --steps 3000 -o rows.png           # also a picture: input | prediction | ground truth
  ganforge segment --steps 3000 --ablation            # also without the adversarial term
  ganforge segment --steps 3000 --loss l1 --ablation  # pix2pix's own L1 loss, with and without
  ganforge segment --predict scene.png --model runs/segmenter.safetensors -o labels.png""")
@click.option("--train-scenes", default=2000, show_default=True, type=Int(min=1))
@click.option("--test-scenes", default=500, show_default=True, type=Int(min=1))
@click.option("--size", default=64, show_default=True, type=Int(min=32), help="Scene size in pixels.")
@click.option("--steps", default=2000, show_default=True, type=Int(min=1))
@click.option("--batch-size", default=32, show_default=True, type=Int(min=1))
@click.option("--width", default=32, show_default=True, type=Int(min=1))
@click.option("--loss", "loss", default="cross_entropy", show_default=True, type=click.Choice(["cross_entropy", "l1"]),
              help="Per-pixel term: cross-entropy on logits, or pix2pix's L1 on the {-1, +1} one-hot map.")
@click.option("--depth", type=Int(min=1),
              help="U-Net halvings (default: the deepest, up to 5, leaving >= 3 px maps).")
@click.option("--no-adversarial", "--l1-only", "no_adversarial", is_flag=True,
              help="Train without the PatchGAN term (--l1-only is the old name).")
@click.option("--ablation", is_flag=True, help="Train with and without the adversarial term; print both.")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to save the (first) trained net, or the net to use with --predict.")
@click.option("--predict", "predict_image", type=click.Path(path_type=Path),
              help="Segment this image with --model instead of training.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Picture of test scenes: input | prediction | ground truth rows (none unless given); with "
                   "--predict, the predicted labels [IMAGE's stem + _labels.png, beside IMAGE].")
@click.option("--seed", default=0, show_default=True, type=SEEDS)
@click.option("--device", default="cpu", show_default=True)
def segment(train_scenes: int, test_scenes: int, size: int, steps: int, batch_size: int, width: int, loss: str,
            depth: int | None, no_adversarial: bool, ablation: bool, model: Path | None, predict_image: Path | None,
            out: Path | None, seed: int, device: str) -> None:
    """Segment digit scenes pix2pix-style and score mIoU, pixel accuracy and box mAP."""
    k = len(SCENE_CLASSES)
    if predict_image is not None:
        if model is None:
            raise click.UsageError("--predict needs --model (a net saved by ganforge segment --model)")
        net, _ = load_network(model, UNetGenerator)
        picture = load_image(predict_image, (3, size, size), "scene")[None]
        labels, _ = predict(net.eval(), picture)
        out = out or predict_image.with_name(predict_image.stem + "_labels.png")
        save_image(colourise(labels, k), out)
        click.echo(f"wrote {out}; classes present: "
                   f"{', '.join(SCENE_CLASSES[int(v)] for v in labels.unique())}")
        return
    for path, what in ((model, "--model"), (out, "--out")):
        if path is not None:
            check_writable(path, what=what)
    torch_device = resolve_device(device)
    train_set = load_scenes("train", train_scenes, size, seed)
    test_set = load_scenes("test", test_scenes, size, seed)
    term = "L1" if loss == "l1" else "cross-entropy"
    variants = [(f"{term} + adversarial", 1.0), (f"{term} only", 0.0)] if ablation else \
        [(f"{term} only", 0.0)] if no_adversarial else [(f"{term} + adversarial", 1.0)]
    click.echo(f"{train_scenes} train / {test_scenes} test scenes of {size}x{size}, {steps} steps, batch {batch_size}")
    for i, (name, weight) in enumerate(variants):
        result, config = train_segmenter(train_set, k, steps, batch_size, weight, width=width, seed=seed,
                                         device=torch_device, progress=True, loss=loss, depth=depth)
        scores = evaluate_segmenter(result.generator.cpu(), test_set, k)
        click.echo(f"  {name:<28} pixel accuracy {scores['pixel_accuracy']:.4f}  mIoU {scores['miou']:.4f}  "
                   f"mAP@0.5 {scores['map50']:.4f}  mAP@0.5:0.95 {scores['map50_95']:.4f}")
        if i == 0 and model is not None:
            save_network(model, result.generator, config.network_config())
        if i == 0 and out is not None:
            labels, _ = predict(result.generator.cpu(), test_set.images[:8])
            rows = torch.stack([to_signed(test_set.images[:8]), colourise(labels, k),
                                colourise(test_set.masks[:8], k)], 1).flatten(0, 1)
            save_grid(rows, out, nrow=3, upscale=max(1, 128 // size))
            click.echo(f"  picture: {out} (input | prediction | ground truth)")


@click.command("augment", epilog="""\b
Example:
  ganforge augment runs/cond --per-class 50 --synthetic-per-class 500 --steps 1500""")
@click.argument("run", type=click.Path(exists=True, path_type=Path))
@click.option("--per-class", default=50, show_default=True, type=Int(min=1),
              help="Real labelled MNIST training digits per class.")
@click.option("--synthetic-per-class", default=500, show_default=True, type=Int(min=1),
              help="Generated digits per class added to them.")
@click.option("--steps", default=1500, show_default=True, type=Int(min=1),
              help="Classifier updates, the same with and without generated digits.")
@click.option("--batch-size", default=64, show_default=True, type=Int(min=1), help="Classifier batch.")
@click.option("--test-limit", type=Int(min=1), help="Score on the first N MNIST test digits only.")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds.")
@click.option("--device", default="cpu", show_default=True)
def augment(run: Path, per_class: int, synthetic_per_class: int, steps: int, batch_size: int, test_limit: int | None,
            seeds: str, device: str) -> None:
    """Does a conditional GAN's data help a classifier trained on few labels? (MNIST test accuracy)"""
    gan = load(run, device=resolve_device(device))
    train, test = load_mnist("train"), load_mnist("test", limit=test_limit)
    diffs = []
    for seed in parse_seeds(seeds):
        r = augmentation_experiment(gan, train.images, train.labels, test.images, test.labels, per_class,
                                    synthetic_per_class, steps, batch_size, seed=seed, device=device)
        diffs.append(r["difference"])
        click.echo(f"seed {seed}: {r['real_images']} real -> accuracy {r['real_only']:.2%}; "
                   f"+ {r['generated_images']} generated -> {r['real_plus_gan']:.2%} ({r['difference'] * 100:+.2f} points)")
    click.echo(f"mean difference {statistics.mean(diffs) * 100:+.2f} points over {len(diffs)} seed(s)")
