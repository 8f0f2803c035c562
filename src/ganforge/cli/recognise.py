"""`ganforge semi-supervised` (and the recognition commands of the K+1 / pix2pix family)."""

from __future__ import annotations

import statistics
from pathlib import Path

import click
import torch

from ganforge.cli import echo
from ganforge.cli.options import STEPS, Float, Int, RunOrModel, check_count
from ganforge.api import load
from ganforge.apps.augmentation import augmentation_experiment
from ganforge.apps.segmentation import colourise, evaluate_segmenter, predict, train_segmenter
from ganforge.apps.semi_supervised import Settings, check_indices, train_semi_supervised
from ganforge.cli.commands import SEEDS
from ganforge.data import load_mnist
from ganforge.data.scenes import SCENE_CLASSES, load_scenes
from ganforge.data.transforms import to_signed
from ganforge.device import resolve_device
from ganforge.decoding import read_json
from ganforge.errors import InputError
from ganforge.io.atomic import check_writable
from ganforge.io.checkpoint import load_network, save_network
from ganforge.io.pictures import fit_image, picture_size, save_grid, save_image
from ganforge.models.unet import UNetGenerator
from ganforge.training.plots import plot_error_curves


def parse_seeds(seeds: str) -> list[int]:
    """--seeds 0,1,2 -> [0, 1, 2]; a usage error otherwise."""
    try:
        return [SEEDS.convert(s, None, None) for s in seeds.split(",")]
    except click.BadParameter:
        raise click.BadParameter(f"expected seeds in 0..{SEEDS.max} like 0,1,2, got {seeds!r}",
                                 param_hint="'--seeds'") from None


def read_indices(path: Path) -> list[int]:
    """--labelled FILE: a JSON list of integers; a usage error naming the file otherwise."""
    try:
        indices = read_json(path, InputError, "list of indices")
    except InputError as exc:
        raise click.BadParameter(str(exc), param_hint="'--labelled'") from None
    if not isinstance(indices, list) or not indices or not all(type(i) is int for i in indices):
        raise click.BadParameter(f"{path}: expected a JSON list of integers like [12, 503, 7]",
                                 param_hint="'--labelled'")
    return indices


@click.command("semi-supervised", epilog="""\b
The defaults are the paper's MNIST setting (Salimans et al. 2016, as its code runs it): 100
labels, 300 epochs of 600 updates, Adam 0.003 constant, test error of D's running average;
all of its code's details with --adam-eps-root 1e-8 --direction-init 0.1 --generator-init paper.
About 70 ms per update on one CPU thread beside another run (3.4 h per seed); two seeds in parallel:
  OMP_NUM_THREADS=1 ganforge semi-supervised --seeds 0 --checkpoint-dir runs/semi &
  OMP_NUM_THREADS=1 ganforge semi-supervised --seeds 1 --checkpoint-dir runs/semi &
A seed's baseline alone (about 53 minutes), e.g. beside another seed's GAN:
  OMP_NUM_THREADS=1 ganforge semi-supervised --seeds 2 --no-gan --checkpoint-dir runs/semi &
A quicker look (about 13 minutes for the GAN, 4 for the baseline):
  ganforge semi-supervised --epochs 20 --seeds 0""")
@click.option("--labels-per-class", default=Settings.labels_per_class, show_default=True, type=Int(min=1),
              help="Labelled MNIST training digits per class; all 60,000 training digits are used unlabelled.")
@click.option("--epochs", default=Settings.epochs, show_default=True, type=Float(min=0, max=1e4, min_open=True),
              help="Passes over the 60,000 unlabelled digits (600 updates each at batch 100).")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds (labelled set and weights).")
@click.option("--lr", default=Settings.lr, show_default=True, type=Float(min=0, max=10, min_open=True),
              help="Adam learning rate (both networks).")
@click.option("--lr-decay/--no-lr-decay", default=Settings.lr_decay, show_default=True,
              help="Decay the learning rate linearly to 0 over the last third.")
@click.option("--unsupervised-weight", default=Settings.unsupervised_weight, show_default=True,
              type=Float(min=0, max=1e3), help="Weight of the real/fake terms against the labelled cross-entropy.")
@click.option("--input-noise", default=Settings.input_noise, show_default=True, type=Float(min=0, max=10),
              help="Std of D's Gaussian noise on the image.")
@click.option("--hidden-noise", default=Settings.hidden_noise, show_default=True, type=Float(min=0, max=10),
              help="Std of D's Gaussian noise on each hidden layer's input.")
@click.option("--data-init/--no-data-init", default=Settings.data_init, show_default=True,
              help="Data-dependent weight-norm initialisation of D on 500 training digits.")
@click.option("--feature-layer", default=5, show_default=True, type=Int(min=1, max=5),
              help="Which of D's 5 hidden layers the generator's feature matching uses.")
@click.option("--labelled-batches", default=Settings.labelled_batches, show_default=True,
              type=click.Choice(["cycle", "random"]),
              help="cycle: each labelled batch a new permutation of the labelled set; random: drawn with replacement.")
@click.option("--average", default=Settings.average, show_default=True, type=Float(min=0, max=1, max_open=True),
              help="Decay of the running average of D's weights that is tested (0: test D itself).")
@click.option("--adam-eps-root", default=Settings.adam_eps_root, show_default=True, type=Float(min=0, max=1),
              help="Adam's epsilon inside the square root, sqrt(v + eps_root) (the paper's code: 1e-8); "
                   "0: torch's Adam, sqrt(v) + 1e-8.")
@click.option("--direction-init", default=Settings.direction_init, show_default=True,
              type=Float(min=0, max=10, min_open=True),
              help="Std of D's initial weight-norm directions (the paper's code: 0.1); sets how far each "
                   "Adam step turns them.")
@click.option("--generator-init", default=Settings.generator_init, show_default=True,
              type=click.Choice(["torch", "paper"]),
              help="paper: G initialised as the paper's code (Glorot weights, BatchNorm without a trained scale, "
                   "output scales 1); torch: torch's defaults.")
@click.option("--precision", default=Settings.precision, show_default=True, type=click.Choice(["fp32", "bf16", "auto"]),
              help="bf16: D's two large layers in bf16 (faster; learned slower in a 10-epoch test); "
                   "auto: bf16 where the device computes it natively.")
@click.option("--gan/--no-gan", default=True, show_default=True,
              help="Train the K+1 GAN (--no-gan with --baseline: only the baseline, e.g. beside another seed's GAN).")
@click.option("--baseline/--no-baseline", default=True, show_default=True,
              help="Also train the same network on the labelled digits alone, for as many updates.")
@click.option("--labelled", "labelled_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON list of the labelled digits' indices (0..59,999: training then validation digits), "
                   "instead of --labels-per-class drawn by each seed.")
@click.option("--limit", type=Int(min=1, max=60_000), help="Use only the first N of the 60,000 training digits (quick runs).")
@click.option("--test-limit", type=Int(min=1, max=10_000), help="Score on the first N of the 10,000 test digits only.")
@click.option("--device", default="cpu", show_default=True)
@click.option("--checkpoint-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Save each run there as it goes, and resume runs found there (same command).")
@click.option("--progress/--no-progress", default=False, show_default=True, help="Show a progress bar.")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the first seed's K+1 classifier as .safetensors.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw each run's test error against update as a PNG.")
def semi_supervised(seeds: str, gan: bool, baseline: bool, labelled_file: Path | None, limit: int | None,
                    test_limit: int | None, device: str,
                    checkpoint_dir: Path | None, progress: bool, save: Path | None, plot: Path | None,
                    feature_layer: int, **recipe: object) -> None:
    """Semi-supervised MNIST: a K+1-class GAN discriminator vs the same net on the labels alone."""
    seed_list = parse_seeds(seeds)
    if not gan and not baseline:
        raise click.UsageError("--no-gan with --no-baseline trains nothing; keep one of them")
    for path, flag in ((save, "--save"), (plot, "--plot")):
        if path is not None:
            check_writable(path, what=flag)
    if checkpoint_dir is not None:
        check_writable(checkpoint_dir, folder=True, what="--checkpoint-dir")
    settings = Settings(features_at=feature_layer - 1, **recipe)  # type: ignore[arg-type]
    parts = [load_mnist("train", limit=limit)]  # the paper's 60,000: MNIST's training and validation digits
    if limit is None or limit > len(parts[0].labels):
        parts.append(load_mnist("valid", limit=None if limit is None else limit - len(parts[0].labels)))
    test = load_mnist("test", limit=test_limit)
    flat = lambda ds: ds.images.flatten(1).float() / 255  # noqa: E731
    x_train, y_train, x_test = torch.cat([flat(p) for p in parts]), torch.cat([p.labels for p in parts]), flat(test)
    labelled = None
    if labelled_file is not None:
        try:
            labelled = check_indices(read_indices(labelled_file), len(x_train)).tolist()
        except InputError as exc:
            raise click.BadParameter(f"{labelled_file}: {exc}", param_hint="'--labelled'") from None
    torch_device = resolve_device(device)
    rows = {"K+1 GAN (feature matching)": [], "labelled only": []}
    for seed in seed_list:
        for name, adversarial in (("K+1 GAN (feature matching)", True), ("labelled only", False)):
            if not (gan if adversarial else baseline):
                continue
            state = checkpoint_dir / f"{'gan' if adversarial else 'labelled'}_seed{seed}.pt" if checkpoint_dir else None
            def report(record: dict, name: str = name, seed: int = seed) -> None:
                mistakes = ", ".join(f"{t} as {p} x{n}" for t, p, n in record.get("confusions", []))
                echo(f"  seed {seed}, {name}: update {record['step']:,}: test error {record['test_error']:.2%} "
                           f"(D's own weights {record['raw_test_error']:.2%}); most confused: {mistakes or 'none'}")

            result = train_semi_supervised(x_train, y_train, x_test, test.labels, settings, gan=adversarial, seed=seed,
                                           device=torch_device, progress=progress, checkpoint=state, report=report,
                                           labelled=labelled)
            rows[name].append(result)
            echo(f"seed {seed}, {name}: test error {result.test_error:.2%} (D's own weights "
                       f"{result.raw_test_error:.2%}; {result.seconds:.0f} s for {result.steps} updates, "
                       f"{1000 * result.seconds / max(1, result.steps):.1f} ms each)")
            echo("  test error by update: " + ", ".join(f"{h['step']}: {h['test_error']:.2%}"
                                                            for h in result.history))
            if save is not None and adversarial and seed == seed_list[0]:
                save_network(save, result.classifier, {"num_classes": 10})
    label_count = len(labelled) if labelled is not None else settings.labels_per_class * 10
    echo(f"\n{label_count} labels, {settings.epochs:g} epochs of {len(x_train):,} digits, "
               f"Adam lr {settings.lr:g}, {len(test.labels)} test digits")
    for name, results in rows.items():
        if results:
            errors = [r.test_error * 100 for r in results]
            echo(f"  {name:<28} test error {_mean_std(errors, '%')} "
                       f"(seeds {seeds}; {statistics.mean(r.seconds for r in results):.0f} s per run)")
    if plot is not None:
        runs = [(f"seed {seed}", name, result.history) for name, results in rows.items()
                for seed, result in zip(seed_list, results)]
        paper = ("Salimans et al. (2016), 100 labels: 0.93%", 0.93) if label_count == 100 else None
        echo(f"wrote {plot_error_curves(runs, plot, reference=paper)}")


def predict_size(image: Path, depth: int, model: Path) -> int:
    """The scene size `segment --predict` works at without --size: the image's own, which the U-Net
    (fully convolutional, halving `depth` times) takes when it is square with sides divisible by 2^depth."""
    width, height = picture_size(image, "scene")
    step = 2 ** depth
    if width != height or width % step:
        raise InputError(f"{image}: scene is {width}x{height}; the net {model} halves it {depth} times, so it "
                         f"needs a square with sides divisible by {step}: pass --size N (a multiple of {step}) "
                         "and --resize")
    return width


@click.command("segment", epilog="""\b
Examples:
  ganforge segment --steps 3000                       # cross-entropy + adversarial, scored on test scenes
  ganforge segment --steps 3000 -o rows.png           # also a picture: input | prediction | ground truth
  ganforge segment --steps 3000 --ablation            # also without the adversarial term
  ganforge segment --steps 3000 --loss l1 --ablation  # pix2pix's own L1 loss, with and without
  ganforge segment --predict scene.png --model runs/segmenter.safetensors -o labels.png""")
@click.option("--train-scenes", default=2000, show_default=True, type=Int(min=1))
@click.option("--test-scenes", default=500, show_default=True, type=Int(min=1))
@click.option("--size", type=Int(min=32, max=1024),
              help="Scene size in pixels [default: 64; with --predict, the image's own size].")
@click.option("--steps", default=2000, show_default=True, type=STEPS)
@click.option("--batch-size", default=32, show_default=True, type=Int(min=1))
@click.option("--width", default=32, show_default=True, type=Int(min=1))
@click.option("--loss", "loss", default="cross_entropy", show_default=True, type=click.Choice(["cross_entropy", "l1"]),
              help="Per-pixel term: cross-entropy on logits, or pix2pix's L1 on the {-1, +1} one-hot map.")
@click.option("--depth", type=Int(min=1, max=10),  # 2^10 = the largest --size: deeper halves it to nothing
              help="U-Net halvings (default: the deepest, up to 5, leaving >= 3 px maps).")
@click.option("--no-adversarial", "--l1-only", "no_adversarial", is_flag=True,
              help="Train without the PatchGAN term (--l1-only is the old name).")
@click.option("--ablation", is_flag=True, help="Train with and without the adversarial term; print both.")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to save the (first) trained net, or the net to use with --predict.")
@click.option("--predict", "predict_image", type=click.Path(path_type=Path),
              help="Segment this image with --model instead of training.")
@click.option("--resize", is_flag=True, help="With --predict: scale an image of another size to --size (short side "
                                             "scaled, centre cropped); the labels are at --size.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Picture of test scenes: input | prediction | ground truth rows (none unless given); with "
                   "--predict, the predicted labels [IMAGE's stem + _labels.png, beside IMAGE].")
@click.option("--seed", default=0, show_default=True, type=SEEDS)
@click.option("--device", default="cpu", show_default=True)
def segment(train_scenes: int, test_scenes: int, size: int | None, steps: int, batch_size: int, width: int, loss: str,
            depth: int | None, no_adversarial: bool, ablation: bool, model: Path | None, predict_image: Path | None,
            resize: bool, out: Path | None, seed: int, device: str) -> None:
    """Segment digit scenes pix2pix-style and score mIoU, pixel accuracy and box mAP."""
    k = len(SCENE_CLASSES)
    if predict_image is not None:
        if model is None:
            raise click.UsageError("--predict needs --model (a net saved by ganforge segment --model)")
        out = check_writable(out or predict_image.with_name(predict_image.stem + "_labels.png"), what="--out")
        net, _ = load_network(model, UNetGenerator)
        size = size or predict_size(predict_image, net.depth, model)
        if size % 2 ** net.depth:
            raise click.BadParameter(f"{size}: the net {model} halves scenes {net.depth} times, so it needs a "
                                     f"multiple of {2 ** net.depth}", param_hint="--size")
        picture, note = fit_image(predict_image, (3, size, size), "scene", resize)
        if note is not None:
            echo(note)
        labels, _ = predict(net.eval(), picture[None])
        save_image(colourise(labels, k), out)
        echo(f"wrote {out}; classes present: "
                   f"{', '.join(SCENE_CLASSES[int(v)] for v in labels.unique())}")
        return
    size = size or 64
    for path, what in ((model, "--model"), (out, "--out")):
        if path is not None:
            check_writable(path, what=what)
    # What each count holds: a scene as float canvas, image and masks; a U-Net of up to 8 x width channels
    # (4x4 kernels, down and up, with Adam's state); a batch's maps of width channels at full size and
    # their gradients.
    for flag, scenes in (("--train-scenes", train_scenes), ("--test-scenes", test_scenes)):
        check_count(flag, scenes, size * size * (3 * 9 + 8 * 2), f"scenes of {size}x{size}")
    check_count("--width", (8 * width) ** 2, 16 * 2 * 10 * 4 * 4, "weights per layer pair (x width^2)")
    check_count("--batch-size", batch_size, 2 * 4 * width * size * size, f"scenes per batch at width {width}")
    torch_device = resolve_device(device)
    train_set = load_scenes("train", train_scenes, size, seed)
    test_set = load_scenes("test", test_scenes, size, seed)
    term = "L1" if loss == "l1" else "cross-entropy"
    variants = [(f"{term} + adversarial", 1.0), (f"{term} only", 0.0)] if ablation else \
        [(f"{term} only", 0.0)] if no_adversarial else [(f"{term} + adversarial", 1.0)]
    echo(f"{train_scenes} train / {test_scenes} test scenes of {size}x{size}, {steps} steps, batch {batch_size}")
    for i, (name, weight) in enumerate(variants):
        result, config = train_segmenter(train_set, k, steps, batch_size, weight, width=width, seed=seed,
                                         device=torch_device, progress=True, loss=loss, depth=depth)
        scores = evaluate_segmenter(result.generator.cpu(), test_set, k)
        echo(f"  {name:<28} pixel accuracy {scores['pixel_accuracy']:.4f}  mIoU {scores['miou']:.4f}  "
                   f"mAP@0.5 {scores['map50']:.4f}  mAP@0.5:0.95 {scores['map50_95']:.4f}")
        if i == 0 and model is not None:
            save_network(model, result.generator, config.network_config())
        if i == 0 and out is not None:
            labels, _ = predict(result.generator.cpu(), test_set.images[:8])
            rows = torch.stack([to_signed(test_set.images[:8]), colourise(labels, k),
                                colourise(test_set.masks[:8], k)], 1).flatten(0, 1)
            save_grid(rows, out, nrow=3, upscale=max(1, 128 // size))
            echo(f"  picture: {out} (input | prediction | ground truth)")


@click.command("augment", epilog="""\b
Examples:
  ganforge augment runs/cond --per-class 50 --synthetic-per-class 500 --steps 1500
  ganforge augment runs/cond --per-class 10,50,500 --synthetic-ratio 10 --seeds 0,1,2""")
@click.argument("run", type=RunOrModel())
@click.option("--per-class", "per_class_list", default="50", show_default=True,
              help="Real labelled MNIST training digits per class; several, comma-separated, for one table.")
@click.option("--synthetic-per-class", type=Int(min=1),
              help="Generated digits per class added to them [default: 500].")
@click.option("--synthetic-ratio", type=Float(min=0, max=1e4, min_open=True),
              help="Instead: this many generated digits for every real one (10: ten times as many).")
@click.option("--steps", default=1500, show_default=True, type=STEPS,
              help="Classifier updates, the same with and without generated digits.")
@click.option("--batch-size", default=64, show_default=True, type=Int(min=1), help="Classifier batch.")
@click.option("--test-limit", type=Int(min=1, max=10_000), help="Score on the first N of the 10,000 MNIST test digits only.")
@click.option("--seeds", default="0", show_default=True, help="Comma-separated seeds.")
@click.option("--device", default="cpu", show_default=True)
def augment(run: Path, per_class_list: str, synthetic_per_class: int | None, synthetic_ratio: float | None, steps: int,
            batch_size: int, test_limit: int | None, seeds: str, device: str) -> None:
    """Does a conditional GAN's data help a classifier trained on few labels? (MNIST test error)"""
    try:
        sizes = [int(part) for part in per_class_list.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise click.BadParameter(f"expected whole numbers >= 1 like 10,50,500, got {per_class_list!r}",
                                 param_hint="'--per-class'")
    if synthetic_per_class is not None and synthetic_ratio is not None:
        raise click.UsageError("give --synthetic-per-class or --synthetic-ratio, not both")
    if synthetic_per_class is not None:  # MNIST's ten classes of 28x28 float32 digits, with their labels
        check_count("--synthetic-per-class", 10 * synthetic_per_class, 4 * 28 * 28 + 8, "generated digits")
    if batch_size > 10 * min(sizes):
        raise click.BadParameter(f"--per-class {min(sizes)} gives {10 * min(sizes)} real digits, fewer than one "
                                 f"batch (--batch-size {batch_size})", param_hint="'--batch-size'")
    seed_list = parse_seeds(seeds)
    gan = load(run, device=resolve_device(device))
    train, test = load_mnist("train"), load_mnist("test", limit=test_limit)
    summary = []
    for per_class in sizes:
        synthetic = (max(1, round(synthetic_ratio * per_class)) if synthetic_ratio is not None
                     else synthetic_per_class or 500)
        errors: dict[str, list[float]] = {"real_only": [], "real_plus_gan": []}
        for seed in seed_list:
            r = augmentation_experiment(gan, train.images, train.labels, test.images, test.labels, per_class,
                                        synthetic, steps, batch_size, seed=seed, device=device)
            for key in errors:
                errors[key].append(100 * (1 - r[key]))
            echo(f"{per_class} per class, seed {seed}: {r['real_images']} real -> test error "
                       f"{errors['real_only'][-1]:.2f}%; + {r['generated_images']} generated -> "
                       f"{errors['real_plus_gan'][-1]:.2f}% ({-r['difference'] * 100:+.2f} points)")
        summary.append((per_class, synthetic, errors))
    echo(f"\ntest error (mean ± std over seeds {seeds}; {steps} updates of batch {batch_size} each):")
    for per_class, synthetic, errors in summary:
        real, mixed = (_mean_std(errors[key]) for key in ("real_only", "real_plus_gan"))
        change = _mean_std([b - a for a, b in zip(errors["real_only"], errors["real_plus_gan"])])
        echo(f"  {per_class:>4} real per class: {real}; + {synthetic} generated per class: {mixed}; "
                   f"change {change} points")


def _mean_std(values: list[float], unit: str = "") -> str:
    """'mean{unit} ± std' over seeds; one value alone, with no spread claimed."""
    if len(values) == 1:
        return f"{values[0]:.2f}{unit}"
    return f"{statistics.mean(values):.2f}{unit} ± {statistics.stdev(values):.2f}"
