"""Which recipe makes the best colour images for the same CPU minutes? Each candidate recipe trains
on the emoji set (64x64x3) for --minutes, then its final generator is scored with FID (Inception,
clean mode) against one half of the set, beside the floor of the other half (issue 33).

    python benchmarks/quality_at_equal_time.py --minutes 10 --seeds 0
    python benchmarks/quality_at_equal_time.py --minutes 60 --seeds 0 --jobs 2 --threads 1
    python benchmarks/quality_at_equal_time.py --minutes 60 --seeds 0,1,2 --candidates NAME \\
        --jobs 2 --threads 1                                                              # the winner's seeds
    python benchmarks/quality_at_equal_time.py --minutes 60 --limit 500 --jobs 2 --threads 1 \\
        --candidates sngan-small,sngan-small+ada,fastgan,fastgan+ada                      # small data

Run it alone on the machine. Each run gets --minutes of wall time with --threads torch threads, and
--jobs runs train at a time (default 1; `--jobs 2 --threads 1` on 2 cores gives each run one core,
so M wall minutes are M CPU-minutes, and halves the table's wall time). That is equal CPU time only
when nothing else runs (on 2 cores another process takes half the CPU whatever its nice level) and
jobs x threads <= cores. Each run is `ganforge train --dataset emoji --image-size 64 --channels 3
<candidate's flags> --minutes M --seed S`, in its own process, into
OUT/<candidate>_<M>min[_limitN]_<size>px_s<seed>. All runs train first, then all are scored, so no
scoring competes with a training. A run folder that already holds a run finished with the same
flags, budget, threads and jobs (RUN/benchmark.json, written when `ganforge train` used its whole
budget) is scored again, not retrained; any other is deleted and trained afresh.

Scoring: n samples of the final checkpoint (the EMA generator where the recipe keeps one) against
n emoji of one half of a seeded permutation of the set; the floor is the other half's n against
the same n (`ganforge.evaluation.sources.emoji_reference`: n <= 955). FID, precision and recall
(k = 5) in --extractor's features (inception, clean mode; others only for quick checks). With
--limit N the runs train on a fixed random N emoji (`load_emoji(limit=N)`) and are still scored
against the whole set's halves. Prints a Markdown table and writes it to OUT/table_<...>.md; an
8x8 grid of each run goes to FIGURES/<run>.png. Candidates whose preset or flag this checkout
does not have are listed as "not available".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import click
import numpy as np
import torch

import ganforge
from ganforge.config import build_config
from ganforge.errors import GanforgeError
from ganforge.evaluation import EXTRACTORS, evaluate_features, real_features
from ganforge.evaluation.cache import default_cache_dir
from ganforge.evaluation.inception import DEFAULT_FID_MODE
from ganforge.evaluation.sources import emoji_reference
from ganforge.io.pictures import save_grid
from ganforge.presets import COLOUR_DEFAULT

# name -> `ganforge train` flags added to the data's (see train_command). "default" names nothing,
# so it is whatever `ganforge train` picks for colour images today (presets.COLOUR_DEFAULT; each
# run's benchmark.json records which: sngan-small until 2026-12-07, then dcgan-sn).
DCGAN_SN = ("--preset", "dcgan", "--width", "32", "--spectral-norm", "--loss", "hinge", "--ema-decay", "0.999")
CANDIDATES: dict[str, tuple[str, ...]] = {
    "dcgan": ("--preset", "dcgan"),
    "default": (),
    "sngan-small": ("--preset", "sngan-small"),
    "sngan-small+diffaugment": ("--preset", "sngan-small", "--augment", "color,translation,cutout"),
    "sngan-small+ada": ("--preset", "sngan-small", "--augment", "ada"),
    "fastgan": ("--preset", "fastgan"),
    "fastgan+ada": ("--preset", "fastgan", "--augment", "ada"),
    # The DCGAN at width 32 with SNGAN's discriminator rules (spectral norm instead of BatchNorm,
    # hinge loss; Miyato et al. 2018's "standard CNN") and an EMA of G: twice sngan-small's images/s.
    "dcgan-sn": DCGAN_SN,
    "dcgan-sn+ada": (*DCGAN_SN, "--augment", "ada"),
}
DEFAULT_CANDIDATES = ("dcgan", "default", "sngan-small+ada", "fastgan", "fastgan+ada")
MARKER = "benchmark.json"
LEGACY_DEFAULT = "sngan-small"  # the colour default of the runs whose benchmark.json predates "colour_default"
NEVER = 10**6  # steps between sample grids and checkpoints: none but the final ones, which cost the same for all


def data_flags(args) -> list[str]:
    """The training data's flags and the precision, the same for every candidate."""
    flags = ["--dataset", "emoji", "--image-size", str(args.image_size), "--channels", str(args.channels)]
    flags += ["--precision", args.precision] if args.precision != "fp32" else []
    flags += ["--data", str(args.data)] if args.data else []
    return flags + (["--limit", str(args.limit)] if args.limit else [])


def unavailable(flags: list[str]) -> str | None:
    """Why this checkout cannot train with these `ganforge train` flags (one line), or None: they
    are parsed and built into a config as the command does, without training."""
    from ganforge.cli.train import overrides_from_flags, train as train_command

    try:
        context = train_command.make_context("train", list(flags))
        params = context.params
        build_config(params["config_file"], params["preset"], overrides_from_flags(params))
    except click.ClickException as exc:
        return exc.format_message().splitlines()[0]
    except GanforgeError as exc:
        return str(exc).splitlines()[0]
    return None


def variant(args) -> str:
    """What a run folder's and a table's name add for --limit and a precision other than fp32."""
    return (f"_limit{args.limit}" if args.limit else "") + (f"_{args.precision}" if args.precision != "fp32" else "")


def run_name(candidate: str, seed: int, args) -> str:
    """A folder name: "sngan-small+ada", seed 0, 10 min, 64 px -> "sngan-small-ada_10min_64px_s0"
    (with --limit 500 --precision auto: "sngan-small-ada_10min_limit500_auto_64px_s0")."""
    return f"{candidate.replace('+', '-')}_{args.minutes:g}min{variant(args)}_{args.image_size}px_s{seed}"


def finished(run: Path, flags: list[str], args) -> dict | None:
    """The record of a run that trained with these flags for this budget and finished, else None."""
    marker = run / MARKER
    if not marker.is_file():
        return None
    record = json.loads(marker.read_text())
    same = (record.get("flags") == flags and record.get("minutes") == args.minutes
            and record.get("threads") == args.threads and record.get("jobs", 1) == args.jobs
            and ("--preset" in flags or record.get("colour_default", LEGACY_DEFAULT) == COLOUR_DEFAULT))
    return record if same and (run / "checkpoints").is_dir() else None


def say(line: str) -> None:
    """One line to stdout in one write, so the lines of runs training side by side do not interleave."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def train_candidate(candidate: str, seed: int, args) -> tuple[Path, dict | str]:
    """Train one run in its own `ganforge train` process (or find it finished): (run folder, its
    record), or (run folder, why it failed)."""
    flags = data_flags(args) + list(CANDIDATES[candidate])
    run = Path(args.out) / run_name(candidate, seed, args)
    record = finished(run, flags, args)
    if record is not None:
        say(f"{run.name}: finished earlier ({record['wall_s']:.0f} s), scoring it again")
        return run, record
    if run.exists():
        say(f"{run.name}: unfinished or made with other flags; training it afresh")
        shutil.rmtree(run)
    command = [sys.executable, "-m", "ganforge", "train", *flags, "--minutes", f"{args.minutes:g}",
               "--seed", str(seed), "--out", str(args.out), "--name", run.name, "--no-progress",
               "--sample-every", str(NEVER), "--checkpoint-every", str(NEVER), "--keep-checkpoints", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    say(f"{run.name}: {' '.join(command[2:])}")
    started = time.monotonic()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - started
    if run.is_dir():  # its warnings and errors, for a look later
        (run / "train_stderr.log").write_text(done.stderr)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return run, f"failed (exit {done.returncode}): {lines[-1] if lines else 'no message'}"
    if wall < 60 * args.minutes:  # Ctrl-C or SIGTERM end a run early with a checkpoint and exit 0
        return run, f"stopped after {wall:.0f} s of its {60 * args.minutes:.0f}"
    record = {"candidate": candidate, "seed": seed, "flags": flags, "minutes": args.minutes,
              "wall_s": round(wall, 1), "threads": args.threads, "jobs": args.jobs, "torch": torch.__version__,
              "colour_default": COLOUR_DEFAULT, "finished": datetime.now().isoformat(timespec="seconds")}
    (run / MARKER).write_text(json.dumps(record, indent=1) + "\n")
    return run, record


def train_all(tasks: list[tuple[str, int]], args) -> list[tuple[Path, dict | str]]:
    """train_candidate for each (candidate, seed), --jobs at a time, in the tasks' order."""
    with ThreadPoolExecutor(args.jobs) as pool:  # each worker waits on its own `ganforge train` process
        return list(pool.map(lambda task: train_candidate(*task, args), tasks))


def score(run: Path, record: dict, real, extractor, args) -> dict:
    """FID, precision, recall of the run's final generator; its 8x8 grid to FIGURES/<run>.png."""
    gan = ganforge.load(run)
    report = evaluate_features(gan.sample(args.n, seed=0), real, extractor, ("fd", "prdc"))
    save_grid(gan.sample(64, seed=1), Path(args.figures) / f"{run.name}.png", nrow=8, palette=True)
    t = gan.config.train
    scores = lambda values: {"fd": values[extractor.fd_name], "precision": values["precision"],  # noqa: E731
                             "recall": values["recall"]}
    return {**record, "steps": gan.step, "images_seen": gan.step * t.batch_size * t.d_steps,
            **scores(report.model), "floor": scores(report.floor)}


def table(rows: list[dict], args, extractor_name: str) -> str:
    """One Markdown row per run (or candidate that could not run), then means over seeds."""
    fid = "FID" if args.extractor == "inception" else f"FD ({extractor_name})"
    features = f"Inception-v3 features, {DEFAULT_FID_MODE} mode" if args.extractor == "inception" else "features"
    data = f"a fixed random {args.limit} emoji" if args.limit else "the whole set"
    at_a_time = "one run at a time" if args.jobs == 1 else f"{args.jobs} runs at a time"
    lines = [f"emoji {args.image_size}x{args.image_size}x{args.channels}, trained on {data}, {args.minutes:g} "
             f"wall minutes per run ({args.threads} torch thread{'s' if args.threads > 1 else ''} each, {at_a_time}, "
             f"precision {args.precision}); {fid} ({features}), precision and recall of n = "
             f"{args.n} samples against n emoji of one half of the set; floor: n of the other half", "",
             f"| candidate | seed | G steps | images seen | {fid} ↓ | floor {fid} | precision ↑ | recall ↑ | "
             "wall time |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "fd" not in r:
            lines.append(f"| {r['candidate']} | {r.get('seed', '')} | {r['reason']} | | | | | | |")
            continue
        lines.append(f"| {r['candidate']} | {r['seed']} | {r['steps']:,} | {r['images_seen']:,} | {r['fd']:.2f} | "
                     f"{r['floor']['fd']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} | "
                     f"{r['wall_s'] / 60:.1f} min |")
    scored = [r for r in rows if "fd" in r]
    seeded = [c for c in dict.fromkeys(r["candidate"] for r in scored) if sum(r["candidate"] == c for r in scored) > 1]
    if seeded:
        lines += ["", f"| candidate | seeds | {fid} ↓ mean ± std | precision ↑ | recall ↑ |", "|---|---:|---:|---:|---:|"]
        for name in seeded:
            runs = [r for r in scored if r["candidate"] == name]
            cells = [_mean_std([r[key] for r in runs], digits) for key, digits in (("fd", 2), ("precision", 3),
                                                                                  ("recall", 3))]
            lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean_std(values: list[float], digits: int) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="Training wall time of each run (default: 10).")
    parser.add_argument("--seeds", default="0", help="Comma-separated training seeds (default: 0).")
    parser.add_argument("--candidates", default=",".join(DEFAULT_CANDIDATES),
                        help=f"Comma-separated, of: {', '.join(CANDIDATES)} "
                             f"(default: {','.join(DEFAULT_CANDIDATES)}).")
    parser.add_argument("--limit", type=int, help="Train on a fixed random N emoji (small data); scored against all.")
    parser.add_argument("--n", type=int, default=900, help="Samples, reference and floor images (<= 955; default 900).")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=3, choices=(1, 3))
    parser.add_argument("--data", help="The emoji package's folder [npm's global emoji-datasource-google].")
    parser.add_argument("--extractor", default="inception", choices=EXTRACTORS.names(),
                        help="Features of the scores (default: inception, clean mode; others for quick checks).")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "auto"),
                        help="Every run's --precision (default fp32, the earlier tables'; auto: bf16 where the "
                             "CPU computes it natively, about twice the images/s there).")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="Torch threads of each run.")
    parser.add_argument("--jobs", type=int, default=1,
                        help="Runs that train at a time (default 1); keep jobs x threads <= the machine's cores.")
    parser.add_argument("--out", default="runs/quality", help="Folder of the run folders and tables.")
    parser.add_argument("--figures", default="docs/figures/quality", help="Folder of the 8x8 sample grids.")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.threads < 1:
        parser.error(f"--jobs and --threads must be at least 1, not {args.jobs} and {args.threads}")
    unknown = [c for c in args.candidates.split(",") if c not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidate {', '.join(unknown)}; choose from {', '.join(CANDIDATES)}")
    return args


def main(argv: list[str] | None = None) -> str:
    args = parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)  # scoring runs before or after the trainings, never beside them
    for folder in (args.out, args.figures):
        Path(folder).mkdir(parents=True, exist_ok=True)
    device = torch.device("cpu")
    extractor = EXTRACTORS.get(args.extractor)(device, None, None, DEFAULT_FID_MODE)
    # Before any training: a too-large --n or a missing package stops here, in one line.
    reference, floor = emoji_reference(args.n, 0, args.data, args.image_size, args.channels)
    real = real_features(reference, floor, extractor, default_cache_dir())
    candidates = args.candidates.split(",")
    missing = {c: unavailable(data_flags(args) + list(CANDIDATES[c])) for c in candidates}
    rows = [{"candidate": c, "reason": f"not available: {missing[c]}"} for c in candidates if missing[c]]
    tasks = [(candidate, seed) for seed in map(int, args.seeds.split(",")) for candidate in candidates
             if not missing[candidate]]
    trained = train_all(tasks, args)
    for (candidate, seed), (run, record) in zip(tasks, trained):
        if isinstance(record, str):
            rows.append({"candidate": candidate, "seed": seed, "reason": record})
            print(f"{run.name}: {record}", flush=True)
            continue
        row = score(run, record, real, extractor, args)
        rows.append(row)
        print(f"{run.name}: {row['steps']} G steps, FD {row['fd']:.2f} (floor {row['floor']['fd']:.2f})",
              flush=True)
    order = {c: i for i, c in enumerate(candidates)}
    rows.sort(key=lambda r: (order[r["candidate"]], r.get("seed", -1)))
    text = table(rows, args, extractor.name)
    path = Path(args.out) / f"table_{args.minutes:g}min{variant(args)}_{args.image_size}px.md"
    path.write_text(text + "\n")
    print(f"\n{text}\n\nwrote {path}")
    return text


if __name__ == "__main__":
    main()
