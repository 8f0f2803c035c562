import errno
import json
import logging

import pytest

from ganforge.errors import RunFolderError
from ganforge.io import jsonl
from ganforge.io.jsonl import MetricsLog


def test_a_torn_last_line_is_skipped_with_a_warning_and_trimmed(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "x": 1}\n{"step": 2, "x": 2}\n{"step": 3, "x"')
    log = MetricsLog(path)
    with caplog.at_level(logging.WARNING):
        assert [r["step"] for r in log.read()] == [1, 2]
    assert "line 3 is incomplete" in caplog.text
    log.truncate_after(5)
    assert path.read_text() == '{"step": 1, "x": 1}\n{"step": 2, "x": 2}\n'


def test_a_bad_line_before_the_last_is_an_error_naming_it(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(RunFolderError, match=r"metrics.jsonl: line 2 is not a JSON record with a step"):
        MetricsLog(path).read()


def test_a_full_disk_is_reported_as_itself(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jsonl, "open", full, raising=False)
    with pytest.raises(RunFolderError, match=r"metrics.jsonl: cannot append a record \(No space left on device\)"):
        MetricsLog(tmp_path / "metrics.jsonl").append({"step": 1})


def test_records_round_trip(tmp_path):
    log = MetricsLog(tmp_path / "m.jsonl")
    for step in (1, 2, 3):
        log.append({"step": step, "loss": step / 2})
    log.truncate_after(2)
    assert log.read() == [{"step": 1, "loss": 0.5}, {"step": 2, "loss": 1.0}]
    assert all(json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines())
