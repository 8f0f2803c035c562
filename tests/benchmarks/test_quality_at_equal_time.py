"""benchmarks/quality_at_equal_time.py at a tiny budget on a fake emoji package."""

import json
import re
import threading
import time

import numpy as np
import pytest
from PIL import Image

from benchmarks import quality_at_equal_time as bench
from ganforge.data.emoji import CATEGORIES
from tests.data.test_emoji import write_package


def fake_emoji(root, n=80):
    """n 64x64 pictures of random coloured blocks, so that features vary between images."""
    rng = np.random.default_rng(0)
    pictures = []
    for i in range(n):
        blocks = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8).repeat(16, 0).repeat(16, 1)
        alpha = np.full((64, 64, 1), 255, np.uint8)
        pictures.append((f"e{i}.png", CATEGORIES[i % 10], Image.fromarray(np.concatenate([blocks, alpha], 2)), {}))
    return write_package(root, pictures)


def rows(text):
    """The first table's rows as {(candidate, seed): cells}."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 9 and cells[0] != "candidate":
            out[(cells[0], cells[1])] = cells[2:]
    return out


@pytest.mark.slow
def test_tiny_benchmark_trains_scores_and_resumes(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(bench.CANDIDATES, "nonesuch", ("--preset", "nonesuch"))
    argv = ["--minutes", "0.05", "--n", "20", "--candidates", "dcgan,default,nonesuch", "--data",
            str(fake_emoji(tmp_path / "pkg")), "--extractor", "scenes-classifier", "--threads", "2",
            "--out", str(tmp_path / "runs"), "--figures", str(tmp_path / "figures")]
    text = bench.main(argv)
    table = rows(text)
    assert set(table) == {("dcgan", "0"), ("default", "0"), ("nonesuch", "")}
    assert table[("nonesuch", "")][0].startswith("not available: ") and "nonesuch" in table[("nonesuch", "")][0]
    floors = set()
    for name in ("dcgan", "default"):
        steps, seen, fd, floor, precision, recall, wall = table[(name, "0")]
        steps, seen = int(steps.replace(",", "")), int(seen.replace(",", ""))
        assert steps > 0 and seen == steps * 64  # batch 64, one D step per G step in both recipes
        assert float(fd) > float(floor) > 0 and 0 <= float(precision) <= 1 and 0 <= float(recall) <= 1
        assert float(wall.removesuffix(" min")) >= 0.05
        floors.add(floor)
        grid = Image.open(tmp_path / "figures" / f"{name}_0.05min_64px_s0.png")
        assert grid.size == (8 * 64 + 9 * 2, 8 * 64 + 9 * 2)
    assert len(floors) == 1  # the same halves for every run
    # no preset named: the colour default, whose run is not the DCGAN's
    assert (tmp_path / "runs" / "table_0.05min_64px.md").read_text().strip() == text
    assert "FD (scenes-classifier)" in text
    # Run again: finished runs are scored, not retrained, and score the same.
    monkeypatch.setattr(bench.subprocess, "run", lambda *a, **k: pytest.fail("retrained a finished run"))
    assert rows(bench.main(argv)) == table
    assert "finished earlier" in capsys.readouterr().out


def test_unavailable_names_the_missing_preset_or_setting():
    data = ["--dataset", "emoji", "--image-size", "64", "--channels", "3"]
    assert bench.unavailable(data + ["--preset", "dcgan"]) is None
    assert bench.unavailable(data) is None
    assert re.search(r"'nonesuch'", bench.unavailable(data + ["--preset", "nonesuch"]))
    assert "augment" in bench.unavailable(data + ["--augment", "nonesuch"]).lower()


def test_a_run_counts_as_finished_only_for_its_flags_and_budget(tmp_path):
    args = bench.parse_args(["--minutes", "10", "--limit", "500"])
    assert bench.run_name("sngan-small+ada", 2, args) == "sngan-small-ada_10min_limit500_64px_s2"
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    flags = bench.data_flags(args)
    assert "--limit" in flags and bench.finished(run, flags, args) is None  # no record: unfinished
    record = {"flags": flags, "minutes": 10.0, "wall_s": 601, "threads": args.threads,  # no "jobs": one at a time
              "colour_default": bench.COLOUR_DEFAULT}
    (run / bench.MARKER).write_text(json.dumps(record))
    assert bench.finished(run, flags, args)["wall_s"] == 601
    assert bench.finished(run, flags + ["--augment", "ada"], args) is None
    assert bench.finished(run, flags, bench.parse_args(["--minutes", "60", "--limit", "500"])) is None
    # the same budget with fewer threads, or beside another run, is not the same run
    assert bench.finished(run, flags, bench.parse_args(["--minutes", "10", "--limit", "500", "--threads", "99"])) is None
    two = bench.parse_args(["--minutes", "10", "--limit", "500", "--jobs", "2"])
    assert bench.finished(run, flags, two) is None
    (run / bench.MARKER).write_text(json.dumps({**record, "jobs": 2}))
    assert bench.finished(run, flags, two)["wall_s"] == 601
    # "default" (no --preset) trained under another colour default is another recipe; a named preset is not
    for made_under in ({"colour_default": "stylegan2-lite"}, {}):  # {}: a record from before the field (sngan-small)
        old = {key: value for key, value in record.items() if key != "colour_default"} | made_under
        (run / bench.MARKER).write_text(json.dumps(old))
        assert bench.finished(run, flags, args) is None
        (run / bench.MARKER).write_text(json.dumps({**old, "flags": flags + ["--preset", "fastgan"]}))
        assert bench.finished(run, flags + ["--preset", "fastgan"], args)["wall_s"] == 601


def test_a_precision_other_than_fp32_is_a_flag_of_every_run_and_in_its_name():
    fp32 = bench.parse_args(["--minutes", "30"])
    auto = bench.parse_args(["--minutes", "30", "--precision", "auto"])
    assert "--precision" not in bench.data_flags(fp32)  # the earlier tables' runs keep their names and flags
    assert bench.data_flags(auto)[-2:] == ["--precision", "auto"]
    assert bench.run_name("dcgan-sn+ada", 1, fp32) == "dcgan-sn-ada_30min_64px_s1"
    assert bench.run_name("dcgan-sn+ada", 1, auto) == "dcgan-sn-ada_30min_auto_64px_s1"
    limited = bench.parse_args(["--minutes", "30", "--precision", "bf16", "--limit", "500"])
    assert bench.run_name("default", 0, limited) == "default_30min_limit500_bf16_64px_s0"
    assert bench.unavailable(bench.data_flags(auto) + list(bench.CANDIDATES["dcgan-sn+ada"])) is None


def test_jobs_train_that_many_runs_at_a_time_in_order(monkeypatch):
    running, most, lock = [0], [0], threading.Lock()

    def fake_train(candidate, seed, args):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return candidate, seed

    monkeypatch.setattr(bench, "train_candidate", fake_train)
    tasks = [("dcgan", 0), ("fastgan", 0), ("default", 0), ("dcgan", 1), ("fastgan", 1)]
    for jobs in (1, 2, 3):
        most[0] = 0
        assert bench.train_all(tasks, bench.parse_args(["--jobs", str(jobs)])) == tasks
        assert most[0] == jobs


def test_unknown_candidates_are_refused(capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--candidates", "dcgan,bigger"])
    assert "unknown candidate bigger" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.parse_args(["--jobs", "0"])
    assert "--jobs and --threads must be at least 1" in capsys.readouterr().err
