"""Every preset on MNIST at the same CPU time budget: FD/KID/IS/precision/recall (mnist-classifier
features) and, for conditional presets, how often the classifier sees the requested class.

    python benchmarks/presets_mnist.py [--minutes 6] [--width 32] [--presets dcgan,sngan,...] [--n 5000]
    python benchmarks/presets_mnist.py --dataset fashion-mnist --out runs/presets-fashion \
        --figures docs/figures/presets_fashion       # fashion-classifier features, no evaluation during training

Each preset trains with `--preset NAME --width W --minutes M --precision auto`, evaluating every
`--eval-every` steps (FD/KID/IS on 1,000 samples; that time counts against the budget, the same
for every preset). The final checkpoint (the EMA generator where the preset keeps one) is then
scored on n samples against n MNIST train digits, with n test digits as the real-vs-real floor.
Copies each run's sample grid and curves to docs/figures/presets/ and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

import ganforge
from ganforge.config import build_config
from ganforge.evaluation import conditional_accuracy, evaluate_images, classifier_extractor, mnist_reference
from ganforge.evaluation.report import short_names
from ganforge.presets import PRESETS
from ganforge.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--presets", default=",".join(PRESETS.names()))
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--out", default="runs/presets")
    parser.add_argument("--figures", default="docs/figures/presets")
    parser.add_argument("--reuse", action="store_true", help="Score existing runs in --out instead of retraining.")
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "fashion-mnist"))
    args = parser.parse_args()
    figures = Path(args.figures)
    figures.mkdir(parents=True, exist_ok=True)
    extractor = classifier_extractor(dataset=args.dataset)
    reference, floor = mnist_reference(args.n, seed=0, dataset=args.dataset)
    # No evaluation during training on Fashion-MNIST (as when its table was recorded), so its
    # presets spend the whole budget training.
    eval_every = args.eval_every if args.dataset == "mnist" else None
    rows, floor_row = [], None
    for name in args.presets.split(","):
        settings = {"data.dataset": args.dataset, "train.minutes": args.minutes, "model.width": args.width,
                    "train.precision": "auto", "train.sample_every": args.eval_every,
                    "train.log_every": 50, "train.checkpoint_every": 10**6, "train.out_dir": args.out,
                    "train.run_name": name}
        if eval_every is not None:
            settings.update({"train.eval_every": eval_every, "train.eval_n": 1000})
        config = build_config(preset=name, overrides=settings)
        run = Path(args.out) / name
        started = time.monotonic()
        if not (args.reuse and (run / "checkpoints").is_dir()):
            run = train(config, progress=False)  # evaluates with the MNIST-classifier evaluator
        elapsed = time.monotonic() - started
        gan = ganforge.load(run)
        fake = gan.sample(args.n, seed=0)
        report = evaluate_images(fake, reference, floor, extractor, metrics=("fd", "kid", "is", "prdc"))
        report.model, report.floor = short_names(report.model), short_names(report.floor)
        floor_row = floor_row or report.floor
        accuracy = None
        if gan.num_classes:
            accuracy = conditional_accuracy(extractor.probabilities(fake), gan.labels(args.n).numpy())
        records = [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "health" not in r]
        images_per_s = float(np.mean([r["images_per_s"] for r in records]))
        rows.append((name, gan.step, images_per_s, elapsed, report.model, accuracy))
        for picture in ("samples.png", "training_curves.png", "evaluation_curves.png"):
            if (run / picture).is_file():
                shutil.copy(run / picture, figures / f"{name}_{picture}")
        print(f"{name}: {gan.step} steps, FD {report.model['fd']:.2f}"
              + (f", conditional accuracy {accuracy:.4f}" if accuracy is not None else ""), flush=True)

    print(f"\n{args.dataset}, {args.minutes:g} min per preset, width {args.width}, n = {args.n}, "
          f"{extractor.name} features\n")
    print("| preset | G steps | img/s (D) | FD ↓ | KID ↓ | IS ↑ | precision | recall | conditional accuracy |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, steps, speed, _, m, accuracy in rows:
        print(f"| {name} | {steps} | {speed:.0f} | {m['fd']:.1f} | {m['kid']:.1f} | {m['is']:.2f} | "
              f"{m['precision']:.3f} | {m['recall']:.3f} | {f'{accuracy:.2%}' if accuracy is not None else '—'} |")
    f = floor_row
    print(f"| real vs real (floor) | | | {f['fd']:.1f} | {f['kid']:.1f} | {f['is']:.2f} | {f['precision']:.3f} | "
          f"{f['recall']:.3f} | |")


if __name__ == "__main__":
    main()
