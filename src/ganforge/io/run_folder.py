"""What a run folder holds, and the two things done to one as a whole: naming a new one, and
forgetting everything past a step when a run restarts from an earlier checkpoint.

    RUN/config.json  metrics.jsonl  evaluations.jsonl  samples.png  samples/  training_curves.png
        evaluation_curves.png  checkpoints/step_*/  best/step_*/
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ganforge.config import RunConfig, flag
from ganforge.errors import ConfigError
from ganforge.io import checkpoint as ckpt
from ganforge.io.jsonl import MetricsLog

METRICS_FILE = "metrics.jsonl"
EVALUATIONS_FILE = "evaluations.jsonl"
BEST_DIR = "best"


def new_run_dir(config: RunConfig) -> Path:
    """out_dir/run_name, or out_dir/<dataset>-<arch>-<timestamp> when no name is given; refused
    when that folder already holds checkpoints."""
    t = config.train
    name = t.run_name or f"{config.data.dataset}-{config.model.arch}-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir = Path(t.out_dir) / name
    if ckpt.list_checkpoints(run_dir / ckpt.CHECKPOINTS_DIR):
        raise ConfigError(f"{run_dir}: run folder already has checkpoints; use --resume {run_dir} "
                          f"or another {flag('train.run_name')}")
    return run_dir


def forget_after(run_dir: Path, step: int) -> None:
    """Drop log records and checkpoints past `step`: resuming from an older checkpoint starts a
    new timeline from there, and a fresh run (step 0) must not mix with a failed one's files."""
    for name in (METRICS_FILE, EVALUATIONS_FILE):
        MetricsLog(run_dir / name).truncate_after(step)
    for folder in (run_dir / ckpt.CHECKPOINTS_DIR, run_dir / BEST_DIR):
        for checkpoint in ckpt.list_checkpoints(folder):
            if ckpt.read_meta(checkpoint)["step"] > step:
                ckpt.remove_checkpoint(checkpoint)
