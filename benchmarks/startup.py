"""Start-up wall time of the CLI's first screen: `ganforge --help`, `--version` and one Tab of completion.

    python benchmarks/startup.py [--repeats 5] [--before SRC]

Each case is a fresh process, timed from spawn to exit with `time.perf_counter`, the cases
alternating within each repeat so that a busy machine slows them alike. Prints the median and the
fastest of the repeats and the ratio of the medians to an empty interpreter and to
`python -c "import torch"` (what every command paid at start-up when the CLI imported torch first).
Afterwards it checks, in one more process per case, whether torch got imported.

`--before SRC` also times the ganforge cases on another copy of the package's `src/` folder (the
code before a change: `git archive COMMIT src | tar -x -C /tmp/old`, then `--before /tmp/old/src`),
put first on the path with PYTHONPATH, alternating with the current code."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "ganforge"  # the console script a user runs
COMPLETION = {"_GANFORGE_COMPLETE": "bash_complete", "COMP_WORDS": "ganforge ", "COMP_CWORD": "1"}
CASES = {  # name -> (argv, extra environment)
    "python -c pass": ([sys.executable, "-c", "pass"], {}),
    'python -c "import torch"': ([sys.executable, "-c", "import torch"], {}),
    "ganforge --help": ([str(SCRIPT), "--help"], {}),
    "ganforge --version": ([str(SCRIPT), "--version"], {}),
    "completion, 1 Tab": ([str(SCRIPT)], COMPLETION),
}
BASELINES = ("python -c pass", 'python -c "import torch"')
# Runs the entry point in-process and reports whether its first screen imported torch.
PROBE = """
import contextlib, sys
from ganforge.__main__ import main
sys.argv = ["ganforge", *sys.argv[1:]]
with contextlib.suppress(SystemExit):  # completion ends with sys.exit
    main()
print("torch" in sys.modules, file=sys.stderr)
"""


def wall_time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def imports_torch(argv: list[str], env: dict[str, str]) -> str:
    if argv[0] != str(SCRIPT):
        return ""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv[1:]], env={**os.environ, **env},
                          capture_output=True, text=True, check=True)
    return "yes" if done.stderr.strip().endswith("True") else "no"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another src/ folder to time the ganforge cases on")
    args = parser.parse_args()
    if not SCRIPT.is_file():
        raise SystemExit(f"no console script at {SCRIPT}: pip install -e . first")
    cases = dict(CASES)
    if args.before is not None:
        if not (args.before / "ganforge" / "__main__.py").is_file():
            raise SystemExit(f"{args.before} holds no ganforge package")
        for name, (argv, env) in CASES.items():
            if argv[0] == str(SCRIPT):
                cases[f"{name} (before)"] = (argv, {**env, "PYTHONPATH": str(args.before.resolve())})
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in cases}
    for name, (argv, env) in cases.items():  # warm the file cache once
        wall_time(argv, env)
    for _ in range(args.repeats):
        for name, (argv, env) in cases.items():
            times[name].append(wall_time(argv, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{args.repeats} repeats, {os.cpu_count()} CPUs, 1-minute load average {load_before:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end")
    print("| command | median s | fastest s | vs `python -c pass` | vs `import torch` | imports torch |")
    print("|---|---:|---:|---:|---:|---|")
    for name, (argv, env) in cases.items():
        empty, torch_import = (medians[b] for b in BASELINES)
        print(f"| `{name}` | {medians[name]:.3f} | {min(times[name]):.3f} | {medians[name] / empty:.2f}x "
              f"| {medians[name] / torch_import:.2f}x | {imports_torch(argv, env)} |")
    for name in CASES:
        if f"{name} (before)" in medians:
            print(f"{name}: before / now = {medians[f'{name} (before)'] / medians[name]:.1f}x (medians)")


if __name__ == "__main__":
    main()
