"""Finished work is never lost or silently mixed: the run lock is taken before any decision about a
run folder's checkpoints (two `train --name R` at once), a run holding only best/ checkpoints is
not started afresh, a resume whose stop is already reached or whose checkpoint lies outside a run
folder is refused, and a folder of samples is written so that an interruption leaves whole files and
a marker, never overwriting earlier samples unasked."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

import pytest
from PIL import Image

from ganforge.errors import ConfigError, RunFolderError
from ganforge.io import checkpoint as ckpt
from ganforge.io.pictures import INCOMPLETE_MARKER
from ganforge.training import resume, train
from ganforge.training import trainer as trainer_module
from tests.cli.test_cli import TINY, run_cli
from tests.conftest import tiny_config
from tests.reliability.conftest import one_line_error

HOLD_LOCK = ("import sys; from pathlib import Path; from ganforge.io.run_folder import run_lock; "
             "lock = run_lock(Path(sys.argv[1])); lock.__enter__(); print('locked', flush=True); sys.stdin.read()")


def test_a_second_train_of_a_busy_name_stops_before_it_reads_its_data(run, tmp_path, monkeypatch):
    """Another process trains run R (holds its lock, no checkpoint yet). A second `train --name R`
    must stop at once: before, it looked for checkpoints, read its data (during which the first
    run finished: here, its checkpoint appears and its lock goes), then took the free lock and
    deleted that checkpoint as a failed run's leftover."""
    config = tiny_config(tmp_path, steps=2)
    run_dir = tmp_path / "runs" / "tiny"
    first = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(run_dir)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    real_build = trainer_module.build_dataset
    read = []

    def the_first_run_finishes_meanwhile(*args, **kwargs):
        read.append(True)
        shutil.copytree(ckpt.find_checkpoint(run), run_dir / "checkpoints" / "step_00000002")
        first.send_signal(signal.SIGKILL)
        first.wait()
        return real_build(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "build_dataset", the_first_run_finishes_meanwhile)
    try:
        assert first.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderError, match=rf"pid {first.pid}\) is training in this run folder"):
            train(config, progress=False)
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGKILL)
            first.wait()
    assert read == []  # refused before reading any data
    # Once the first run has finished (its checkpoint is there, the lock free), the second is refused too.
    shutil.copytree(ckpt.find_checkpoint(run), run_dir / "checkpoints" / "step_00000002")
    with pytest.raises(ConfigError, match="run folder already has checkpoints"):
        train(config, progress=False)
    assert read == [] and ckpt.find_checkpoint(run_dir).name == "step_00000002"



def test_two_real_train_processes_of_one_name_leave_one_whole_run(tmp_path):
    """Two `ganforge train --name R` processes started together, as a user with two terminals
    would: one trains R to its end; the other stops in one line (R is busy, or R already has
    checkpoints), whichever order they reach the lock in. The finished run is whole: its last
    checkpoint loads at the full step count and its metrics hold one timeline."""
    command = [sys.executable, "-m", "ganforge", "train", *TINY[:-5], "--steps", "60", "--log-every", "10",
               "--checkpoint-every", "20", "--no-progress", "--out", str(tmp_path / "runs"), "--name", "R"]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in processes]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    _, _, err = next(r for r in results if r[0] == 2)
    assert err.startswith("ganforge: error: ") and err.count("\n") == 1, err
    assert "is training in this run folder" in err or "already has checkpoints" in err, err
    run_dir = tmp_path / "runs" / "R"
    assert ckpt.read_meta(ckpt.find_checkpoint(run_dir))["step"] == 60
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and len(steps) == len(set(steps)) and steps[-1] == 60

def test_a_run_with_only_best_checkpoints_is_not_started_afresh(run, tmp_path, capsys):
    config = tiny_config(tmp_path, steps=2)
    best = tmp_path / "runs" / "tiny" / "best" / "step_00000002"
    shutil.copytree(ckpt.find_checkpoint(run), best)
    (best.parent.parent / "evaluations.jsonl").write_text('{"step": 2, "fd": 1.5}\n')
    files = lambda: {p: p.read_bytes() for p in best.parent.parent.rglob("*") if p.is_file() and p.name != ".lock"}  # noqa: E731
    before = files()
    with pytest.raises(ConfigError, match=r"already has checkpoints \(in best/\); use --resume"):
        train(config, progress=False)
    assert files() == before


def test_a_failed_start_in_a_new_folder_leaves_no_empty_run_folder(tmp_path):
    config = tiny_config(tmp_path, steps=2)
    config.data.limit = 10**8  # refused while reading the data, after the lock was taken
    with pytest.raises(Exception, match="shapes: 100,000,000 images need"):
        train(config, progress=False)
    assert not (tmp_path / "runs").exists()  # neither the run folder nor --out, both made for it


@pytest.fixture
def run4(tmp_path):
    return train(tiny_config(tmp_path, steps=4, checkpoint_every=2), progress=False)


def test_resuming_to_a_stop_already_reached_is_refused(run4, capsys):
    with pytest.raises(ConfigError, match=r"the run is at step 4 and --steps 2 ends it at step 2"):
        resume(run4, steps=2, progress=False)
    code, _, err = run_cli(capsys, "train", "--resume", run4, "--steps", "4", "--no-progress")
    one_line_error(code, err, "the run is at step 4 and --steps 4 ends it at step 4")
    code, _, err = run_cli(capsys, "train", "--resume", run4, "--no-progress")
    one_line_error(code, err, "the run is at step 4 and its saved stop ends it at step 4")
    assert ckpt.find_checkpoint(run4).name == "step_00000004"


def test_a_loose_checkpoint_folder_is_not_resumed_into_its_grandparent(run4, tmp_path):
    loose = tmp_path / "elsewhere" / "copies" / "step_00000004"
    shutil.copytree(ckpt.find_checkpoint(run4), loose)
    with pytest.raises(RunFolderError, match="a checkpoint outside a run folder .* has no run to continue"):
        resume(loose, steps=6, progress=False)
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == ["copies"]
    assert sorted(p.name for p in loose.parent.iterdir()) == ["step_00000004"]


# ------------------------------------------------------------------ folders of samples
def test_sampling_into_a_folder_of_earlier_samples_needs_overwrite(run, tmp_path, capsys):
    folder = tmp_path / "pngs"
    assert run_cli(capsys, "sample", run, "-n", "3", "-o", folder)[0] == 0
    earlier = {p.name: p.read_bytes() for p in folder.iterdir()}
    code, _, err = run_cli(capsys, "sample", run, "-n", "2", "--seed", "5", "-o", folder)
    one_line_error(code, err, f"--out {folder}: holds 3 earlier picture(s) (sample_00000.png, ...); "
                              "give --overwrite to replace them")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == earlier
    code, _, err = run_cli(capsys, "sample", run, "-n", "2", "--seed", "5", "-o", folder, "--overwrite")
    assert code == 0, err
    now = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert sorted(now) == ["sample_00000.png", "sample_00001.png"]  # no third, older picture mixed in
    assert now["sample_00000.png"] != earlier["sample_00000.png"]


def test_an_interrupted_folder_of_samples_holds_whole_pictures_and_a_marker(run, tmp_path, capsys, monkeypatch):
    real_save, calls = Image.Image.save, []

    def interrupted_on_the_third(self, fp, *args, **kwargs):
        calls.append(fp)
        if len(calls) == 3:
            with open(fp, "wb") as fh:
                fh.write(b"\x89PNG\r\n\x1a\n")  # a truncated PNG, then Ctrl-C
            raise KeyboardInterrupt
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", interrupted_on_the_third)
    folder = tmp_path / "pngs"
    code, _, err = run_cli(capsys, "sample", run, "-n", "5", "-o", folder)
    assert code == 130 and "interrupted" in err
    assert sorted(p.name for p in folder.iterdir()) == [INCOMPLETE_MARKER, "sample_00000.png", "sample_00001.png"]
    for picture in folder.glob("*.png"):
        Image.open(picture).load()  # whole files only
    monkeypatch.undo()
    assert run_cli(capsys, "sample", run, "-n", "5", "-o", folder, "--overwrite")[0] == 0
    assert sorted(p.name for p in folder.iterdir()) == [f"sample_{i:05d}.png" for i in range(5)]
