"""Which recipe learns on colour images? Candidate recipes at equal CPU time on the procedural
colour data (shapes, digit scenes) at 64x64x3, scored in the scenes-classifier's features; the
winner is the default of `ganforge train` on colour data (docs/training.md, "Colour data").

    python benchmarks/colour_default.py --data shapes,scenes --minutes 4 --seeds 0
    python benchmarks/colour_default.py --data shapes,scenes --minutes 4 --seeds 1,2 --candidates NAME
    python benchmarks/colour_default.py --table        # Markdown table of every result in --out

Each candidate trains for --minutes of wall time with --precision (run it alone on the machine:
that makes the time equal CPU time), then its generator (the EMA copy where the recipe keeps one)
draws n samples that are scored against the first n training images: Frechet distance and KID
in the classifier's 128-d features, precision and recall (k = 5). The floor row scores n real
images made from another seed the same way. Results append to OUT/results.jsonl, 64-sample grids
go to FIGURES/<data>_<candidate>_s<seed>.png.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import ganforge
from ganforge.config import build_config
from ganforge.evaluation import classifier_extractor, evaluate_images
from ganforge.evaluation.report import short_names
from ganforge.evaluation.sources import procedural_reference
from ganforge.io.pictures import save_grid
from ganforge.training import train

AUGMENT = "color,translation,cutout"
# name -> (preset, overrides; named, so no default for colour data applies): the classic DCGAN, then stabilisers added one at a time, then the presets.
CANDIDATES = {
    "dcgan": ("dcgan", {}),
    "dcgan+diffaugment": ("dcgan", {"train.augment": AUGMENT}),
    "dcgan+diffaugment+r1": ("dcgan", {"train.augment": AUGMENT, "train.penalty": "r1", "train.penalty_weight": 1.0,
                                    "train.penalty_every": 16}),
    "sngan": ("sngan", {}),
    "stylegan2-lite": ("stylegan2-lite", {}),
    # The presets at width 64 take 8-9x DCGAN's time per step at 64 px; at width 16 less than it.
    "sngan (width 16)": ("sngan", {"model.width": 16}),
    "stylegan2-lite (width 16)": ("stylegan2-lite", {"model.width": 16}),
}
METRICS = ("fd", "kid", "precision", "recall")


def run_candidate(data: str, name: str, seed: int, args, extractor, real: tuple[torch.Tensor, torch.Tensor]) -> dict:
    preset, overrides = CANDIDATES[name]
    settings = {"data.dataset": data, "data.image_size": 64, "data.channels": 3, "train.minutes": args.minutes,
                "train.precision": args.precision, "train.seed": seed, "train.log_every": 50,
                "train.sample_every": 10**6, "train.checkpoint_every": 10**6, "train.out_dir": args.out,
                "train.run_name": _slug(f"{data}_{name}_s{seed}"), **overrides}
    started = time.monotonic()
    run = train(build_config(preset=preset, overrides=settings), progress=False)
    seconds = time.monotonic() - started
    gan = ganforge.load(run)
    fake = gan.sample(args.n, seed=0)
    report = evaluate_images(fake, real[0], real[1], extractor, metrics=("fd", "kid", "prdc"))
    save_grid(gan.sample(64, seed=1), Path(args.figures) / f"{_slug(f'{data}_{name}_s{seed}')}.png", nrow=8)
    health = [r["health"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "health" in r]
    result = {"data": data, "candidate": name, "seed": seed, "steps": gan.step, "seconds": round(seconds, 1),
              "minutes": args.minutes, "train_precision": args.precision, "n": args.n,
              **short_names(report.model), "floor": short_names(report.floor),
              "health": sorted(set(health)), "torch": torch.__version__, "threads": torch.get_num_threads()}
    with open(Path(args.out) / "results.jsonl", "a") as out:
        out.write(json.dumps(result) + "\n")
    return result


def _slug(text: str) -> str:
    """A file name: "shapes_sngan (width 16)_s0" -> "shapes_sngan-w16_s0"."""
    return text.replace(" (width ", "-w").replace(")", "").replace("+", "-")


def table(results_path: Path) -> str:
    """Mean ± std (over seeds) of each candidate's scores, per data set, as Markdown."""
    results = [json.loads(line) for line in results_path.read_text().splitlines() if line.strip()]
    lines = []
    for data in dict.fromkeys(r["data"] for r in results):
        rows = [r for r in results if r["data"] == data]
        minutes = sorted({r["minutes"] for r in rows})
        lines += [f"\n**{data}**, 64x64x3, {'/'.join(f'{m:g}' for m in minutes)} min per run, n = {rows[0]['n']}, "
                  f"scenes-classifier features\n",
                  "| recipe | seeds | G steps | FD ↓ | KID ↓ | precision ↑ | recall ↑ | health warnings |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        for name in dict.fromkeys(r["candidate"] for r in rows):
            runs = [r for r in rows if r["candidate"] == name]
            cells = [_mean_std([r[m] for r in runs], m) for m in METRICS]
            warnings = ", ".join(sorted({h for r in runs for h in r["health"]})) or "none"
            lines.append(f"| {name} | {len(runs)} | {np.mean([r['steps'] for r in runs]):.0f} | "
                         + " | ".join(cells) + f" | {warnings} |")
        floor = rows[0]["floor"]
        lines.append("| real vs real (floor) | | | " + " | ".join(_mean_std([floor[m]], m) for m in METRICS) + " | |")
    return "\n".join(lines)


def _mean_std(values: list[float], metric: str) -> str:
    digits = 2 if metric in ("fd", "kid") else 3
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="shapes,scenes")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--precision", default="fp32", help="--precision of every run (the default: fp32)")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--out", default="runs/colour")
    parser.add_argument("--figures", default="docs/figures/colour")
    parser.add_argument("--table", action="store_true", help="Print the table of OUT/results.jsonl and stop.")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    Path(args.figures).mkdir(parents=True, exist_ok=True)
    if not args.table:
        extractor = classifier_extractor(dataset="scenes")
        for data in args.data.split(","):
            real = procedural_reference(data, args.n)
            for seed in map(int, args.seeds.split(",")):
                for name in args.candidates.split(","):
                    r = run_candidate(data, name, seed, args, extractor, real)
                    print(f"{data} {name} seed {seed}: {r['steps']} steps, FD {r['fd']:.2f}, "
                          f"recall {r['recall']:.3f}, warnings {r['health'] or 'none'}", flush=True)
    print(table(Path(args.out) / "results.jsonl"))


if __name__ == "__main__":
    main()
