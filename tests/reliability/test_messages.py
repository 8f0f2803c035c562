"""Messages: what the CLI prints of a user's input is escaped. A file named with a terminal escape
code (ESC[2J clears the screen), a newline, a bidirectional override or bytes that are not UTF-8
is named in the one-line error as Python would write it, never sent raw to the terminal. (A pickled
trainer state in one line, without torch's warnings: tests/reliability/test_decoding_gate.py.)"""

from __future__ import annotations

import logging
import os

import pytest

from ganforge.errors import printable
from tests.cli.test_cli import TINY, run_cli
from tests.reliability.conftest import one_line_error

NAMES = {
    "escape-code": ("a\x1b[2Jb.png", "a\\x1b[2Jb.png"),
    "newline": ("two\nlines.png", "two\\nlines.png"),
    "bidi-override": ("photo\u202egnp.exe", "photo\\u202egnp.exe"),
    "not-utf8": (os.fsdecode(b"bad\xff.png"), "bad\\xff.png"),
}


@pytest.mark.parametrize("raw, shown", [
    ("a\x1b[2Jb.png", "a\\x1b[2Jb.png"), ("x\ny\rz\tw", "x\\ny\\rz\\tw"), ("r\u202eevil", "r\\u202eevil"),
    ("zero\u200bwidth", "zero\\u200bwidth"), (os.fsdecode(b"bad\xff.png"), "bad\\xff.png"), ("c1\x9bcsi", "c1\\x9bcsi"),
    ("café 猫 Ω", "café 猫 Ω"), ("plain/path.png", "plain/path.png"),
])
def test_printable(raw, shown):
    assert printable(raw) == shown
    assert printable(raw).isprintable()


@pytest.mark.parametrize("name", list(NAMES), ids=list(NAMES))
def test_a_hostile_picture_name_is_escaped_in_the_error(run, tmp_path, capsys, name):
    raw, shown = NAMES[name]
    path = tmp_path / raw
    path.write_bytes(b"not a picture")
    code, _, err = run_cli(capsys, "inpaint", path, "--run", run, "--mask", "center", "-o", tmp_path / "out.png")
    one_line_error(code, err, f"{tmp_path}/{shown}: cannot read image")
    assert err.isprintable() or err.endswith("\n") and err[:-1].isprintable(), repr(err)


def test_a_hostile_config_name_is_escaped(tmp_path, capsys):
    config = tmp_path / "c\x1b]0;owned\x07.json"
    config.write_text("{")
    code, _, err = run_cli(capsys, "train", "--config", config, *TINY, "--out", tmp_path / "runs")
    one_line_error(code, err, f"{tmp_path}/c\\x1b]0;owned\\x07.json: not valid JSON")
    assert "\x1b" not in err and "\x07" not in err


def test_a_hostile_name_in_a_usage_error_is_escaped(tmp_path, capsys):
    # click's own usage errors name paths escaped too, and main() passes them through printable as well
    code, _, err = run_cli(capsys, "train", "--resume", tmp_path / "run\x1b[2J")
    assert code == 2 and "run\\x1b[2J" in err and "\x1b" not in err
    assert err.count("\n") == 1


def test_success_lines_escape_the_names_they_print(run, tmp_path, capsys):
    # "wrote ..." and "run folder: ..." name the user's files: escaped as errors are
    code, out, _ = run_cli(capsys, "sample", run, "-n", "4", "-o", tmp_path / "s\x1b[2J.png")
    assert code == 0 and (tmp_path / "s\x1b[2J.png").is_file()
    assert f"to {tmp_path}/s\\x1b[2J.png" in out and "\x1b" not in out
    code, out, _ = run_cli(capsys, "train", *TINY, "--out", tmp_path / "runs", "--name", "r\x1b]0;x\x07")
    assert code == 0 and "run folder: " in out and "r\\x1b]0;x\\x07" in out
    assert "\x1b" not in out and "\x07" not in out


def test_log_lines_escape_names_and_keep_their_own_lines():
    from ganforge.cli.main import PrintableFormatter

    record = logging.LogRecord("ganforge", logging.WARNING, __file__, 1, "skipped %s:\n  %s", ("a\x1b[2J.png", "b\u202e"),
                               None)
    assert PrintableFormatter("%(levelname)s: %(message)s").format(record) == \
        "WARNING: skipped a\\x1b[2J.png:\n  b\\u202e"


def test_echo_keeps_tables_and_escapes_the_rest(capsys):
    from ganforge.cli import echo

    echo("metric\tvalue\nfid\t1.0 \x1b[31mred\x1b[0m")
    assert capsys.readouterr().out == "metric\tvalue\nfid\t1.0 \\x1b[31mred\\x1b[0m\n"
