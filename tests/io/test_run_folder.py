import errno
import json
import os
import signal
import subprocess
import sys

import pytest

import ganforge
from ganforge.cli.main import main
from ganforge.errors import RunFolderError
from ganforge.io import checkpoint as ckpt
from ganforge.io import jsonl
from ganforge.io.run_folder import LOCK_FILE, run_lock
from ganforge.training import resume, train
from tests.conftest import tiny_config

HOLD_LOCK = ("import sys; from pathlib import Path; from ganforge.io.run_folder import run_lock; "
             "lock = run_lock(Path(sys.argv[1])); lock.__enter__(); print('locked', flush=True); sys.stdin.read()")


def test_a_second_process_cannot_train_in_a_locked_run_folder_and_kill_9_frees_it(tmp_path):
    config = tiny_config(tmp_path, steps=2)
    run_dir = tmp_path / "runs" / "tiny"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderError, match=rf"pid {holder.pid}\) is training in this run folder"):
            train(config, progress=False)
        assert not (run_dir / "metrics.jsonl").exists()  # nothing was written beside the other process
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert train(config, progress=False) == run_dir  # the lock died with its process
    assert (run_dir / LOCK_FILE).is_file()


def test_the_lock_is_released_after_training(tmp_path):
    run = train(tiny_config(tmp_path, steps=2), progress=False)
    with run_lock(run):
        pass
    assert resume(run, steps=3, progress=False) == run


def test_leftovers_of_an_interrupted_save_are_removed_on_resume(tmp_path):
    run = train(tiny_config(tmp_path, steps=3), progress=False)
    for name in (".tmp-step_00000009-ab12", ".tmp-delete-step_00000001-4242"):
        (run / "checkpoints" / name).mkdir()
        (run / "checkpoints" / name / "generator.safetensors").write_bytes(b"x" * 100)
    resume(run, steps=4, progress=False)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_00000003", "step_00000004"]


def test_resuming_an_older_checkpoint_from_the_cli_is_refused_and_keeps_the_newer(tmp_path, capsys):
    run = train(tiny_config(tmp_path, steps=6), progress=False)
    old = run / "checkpoints" / "step_00000003"
    assert main(["train", "--resume", str(old), "--steps", "4", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "would delete the newer checkpoint(s) checkpoints/step_00000006" in err and "--discard-newer" in err
    assert err.count("\n") == 1 and ckpt.find_checkpoint(run).name == "step_00000006"
    assert main(["train", "--resume", str(old), "--steps", "4", "--no-progress", "--discard-newer"]) == 0
    assert ckpt.find_checkpoint(run).name == "step_00000004"
    assert main(["train", "--steps", "1", "--discard-newer", "--out", str(tmp_path / "x")]) == 2


def test_a_disk_full_while_logging_reports_the_io_error_and_resume_still_works(tmp_path, monkeypatch):
    real_open, calls = open, {"n": 0}

    class HalfWriter:
        """Writes half of the line, then fails as a full disk does."""

        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, text):
            self.fh.write(text[: len(text) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    def flaky_open(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        if "a" in mode and str(path).endswith("metrics.jsonl"):
            calls["n"] += 1
            if calls["n"] == 2:
                return HalfWriter(fh)
        return fh

    monkeypatch.setattr(jsonl, "open", flaky_open, raising=False)
    config = tiny_config(tmp_path, steps=6, checkpoint_every=2)
    with pytest.raises(RunFolderError, match=r"metrics.jsonl: cannot append a record \(No space left on device\)"):
        train(config, progress=False)
    run = tmp_path / "runs" / "tiny"
    assert (run / "metrics.jsonl").read_text().count("\n") == 1  # one whole line, then a torn one
    monkeypatch.undo()
    resume(run, steps=6, progress=False)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6] and ganforge.load(run).step == 6


@pytest.mark.slow
def test_kill_9_at_random_moments_never_leaves_an_unloadable_checkpoint(tmp_path):
    """A training process killed (SIGKILL) after a random number of its log lines, three times;
    every complete checkpoint loads, and the run resumes to the end."""
    import random

    rng = random.Random(0)
    run = tmp_path / "runs" / "tiny"
    args = [sys.executable, "-m", "ganforge.cli.main", "train", "--dataset", "shapes", "--image-size", "16",
            "--channels", "3", "--limit", "64", "--width", "8", "--latent-dim", "8", "--batch-size", "8",
            "--checkpoint-every", "1", "--keep-checkpoints", "3", "--log-every", "1", "--no-progress"]
    first = args + ["--steps", "400", "--out", str(tmp_path / "runs"), "--name", "tiny"]
    for attempt in range(3):
        command = first if attempt == 0 else [*args[:4], "--resume", str(run), "--steps", "400", "--no-progress"]
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        lines = rng.randint(3, 25)
        for line in process.stderr:
            lines -= "step" in line
            if lines <= 0:
                break
        process.kill()
        process.wait()
        for checkpoint in ckpt.list_checkpoints(run / "checkpoints"):
            assert ganforge.load(checkpoint).step == ckpt.read_meta(checkpoint)["step"]
    assert resume(run, steps=ckpt.read_meta(ckpt.find_checkpoint(run))["step"] + 2, progress=False) == run
    assert not list((run / "checkpoints").glob(".tmp-*"))
