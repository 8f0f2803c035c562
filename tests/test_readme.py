"""Docs check: every command in README.md's ```bash blocks runs (shortened) or says why it does not.

Marking scheme (in README.md):
- A whole block that must not run in CI has, on the non-blank line right before its ```bash fence,
  `<!-- docs-check: not run (REASON) -->`, e.g. `(needs 4 GPUs)`.
- A single command that must not run ends with a bash comment `# not run: REASON` (on the last
  physical line of a command continued with `\\`).
- Every other line runs; an unmarked line the check cannot run fails, so new README commands
  cannot drift silently. A mark without a reason is an error too.

How a line runs, in a temporary folder as the working directory:
- `ganforge ...` (split on `&&`) runs in-process through `ganforge.cli.main.main(argv)`, must exit 0,
  and must leave the files it names with -o/--out/--gif/--plot/--save/--model.
- Placeholders: RUN and runs/NAME are a tiny MNIST DCGAN, COND_RUN a tiny 10-class conditional one,
  both trained first (2 steps). A run argument that is no placeholder and no file here must be a zoo
  model (`ganforge models`); it then runs as is.
- The pictures and folder the commands name (digit.png, damaged.png, hole.png, noisy.png, scene.png,
  ./faces) are made here at the size the runs need (28 px grayscale; 64 px colour scene and faces).
- Long settings are shortened by the explicit table SHORTEN below (the README keeps the real ones), and
  each command gets the tiny settings of APPEND where it would otherwise train or search long.
- A shell line (an environment assignment, a redirection, `.`/`source`) runs in `bash -c` with
  HOME pointing into the temporary folder: the shell-completion lines; sourcing must register
  `complete -F ... ganforge`.

GANFORGE_README=path points the check at another Markdown file (to see it fail on a broken line).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.cli.main import main

README = Path(os.environ.get("GANFORGE_README", Path(__file__).resolve().parents[1] / "README.md"))

BLOCK_MARK = re.compile(r"<!--\s*docs-check:(.*?)-->")
BLOCK_REASON = re.compile(r"\s*not run \((.*\S.*)\)\s*")
LINE_MARK = re.compile(r"(?:^|\s)#.*?\bnot run:(.*)$")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")

RUNS = {"RUN": "runs/run", "runs/NAME": "runs/run", "COND_RUN": "runs/cond-run"}

# Per command: option -> value in CI. `None` drops the option (with its value); a (flag, value) pair
# replaces it by another option. The README's values train or score for minutes to hours.
SHORTEN: dict[str, dict[str, str | tuple[str, str] | None]] = {
    "train": {"--epochs": ("--steps", "4"), "--minutes": ("--steps", "4"), "--steps": "4", "--sample-every": "2"},
    "evaluate": {"--n": "20"},
    "semi-supervised": {"--epochs": "0.01", "--seeds": "0,1"},  # an epoch is 600 updates whatever --limit
    "augment": {"--per-class": "1,2", "--synthetic-ratio": "2", "--seeds": "0"},
    "segment": {"--steps": "2"},
}
# Per command: tiny settings added unless the line sets them itself. (`train --resume` takes no model
# or data options: it continues the saved config.)
TRAIN_TINY = ["--limit", "64", "--batch-size", "8", "--width", "8", "--latent-dim", "8", "--no-progress"]
SEARCH_TINY = ["--steps", "2", "--restarts", "1"]
APPEND: dict[str, list[str]] = {
    "train": TRAIN_TINY,
    "evaluate": ["--n", "20"],
    "train-encoder": ["--steps", "2", "--batch-size", "8"],
    "train-inpainter": ["--steps", "2", "--batch-size", "8"],
    "invert": SEARCH_TINY,
    "inpaint": SEARCH_TINY,
    "restore": SEARCH_TINY,
    "semi-supervised": ["--epochs", "0.01", "--limit", "300", "--test-limit", "50"],
    "augment": ["--steps", "2", "--batch-size", "10", "--test-limit", "50"],
    "segment": ["--train-scenes", "8", "--test-scenes", "2", "--batch-size", "4", "--width", "8"],
}
# Commands whose first argument (or --run/--model/--resume value) is a run folder or a zoo model.
RUN_FIRST = {"sample", "info", "interpolate", "export", "serve", "train-encoder", "train-inpainter", "augment"}
OUTPUTS = {"-o", "--out", "--gif", "--plot", "--save", "--model"}


@dataclass(frozen=True)
class Command:
    line: int           # README line where the command starts (1-based)
    text: str           # the command, continuation lines joined
    skip: str | None    # why it is not run, or None


@dataclass(frozen=True)
class Block:
    line: int           # README line of the ```bash fence
    commands: tuple[Command, ...]
    skip: str | None


def bash_blocks(markdown: str, name: str = "README.md") -> list[Block]:
    """The ```bash blocks of `markdown`, with their marks; ValueError for a mark without a reason."""
    lines = markdown.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() != "```bash":
            i += 1
            continue
        fence = i
        before = next((lines[j] for j in range(fence - 1, -1, -1) if lines[j].strip()), "")
        skip = None
        if (mark := BLOCK_MARK.search(before)) is not None:
            if (reason := BLOCK_REASON.fullmatch(mark.group(1))) is None:
                raise ValueError(f"{name}:{fence}: write the mark as `<!-- docs-check: not run (REASON) -->`")
            skip = reason.group(1).strip()
        commands, text, start = [], "", 0
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            line = lines[i]
            if not text:
                start = i + 1
            if line.rstrip().endswith("\\"):
                text += line.rstrip()[:-1] + " "
            else:
                text += line
                if text.strip() and not text.lstrip().startswith("#"):
                    commands.append(Command(start, text.strip(), _line_mark(text, name, start)))
                text = ""
            i += 1
        if i == len(lines):
            raise ValueError(f"{name}:{fence + 1}: ```bash block is never closed")
        blocks.append(Block(fence + 1, tuple(commands), skip))
        i += 1
    return blocks


def _line_mark(text: str, name: str, line: int) -> str | None:
    if (mark := LINE_MARK.search(text)) is None:
        return None
    if not mark.group(1).strip():
        raise ValueError(f"{name}:{line}: `# not run:` needs a reason after it")
    return mark.group(1).strip()


def ganforge_argv(tokens: list[str]) -> list[str]:
    """`tokens` after `ganforge`, with placeholders resolved, long settings shortened, tiny ones added."""
    argv = [_resolve(token) for token in tokens]
    if not argv:
        return argv
    command = argv[0]
    table = SHORTEN.get(command, {})
    out, i = [], 0
    while i < len(argv):
        token = argv[i]
        if token in table and i + 1 < len(argv):
            new = table[token]
            if isinstance(new, tuple):
                out += list(new)
            elif new is not None:
                out += [token, new]
            i += 2
            continue
        out.append(token)
        i += 1
    extra = APPEND.get(command, [])
    if command == "train" and "--resume" in out:
        extra = ["--no-progress"]
    if command == "segment" and "--predict" in out:
        extra = []
    present = set(out)
    j = 0
    while j < len(extra):  # an option, then its value unless the next item is an option too
        takes_value = j + 1 < len(extra) and not extra[j + 1].startswith("--")
        if extra[j] not in present:
            out += extra[j:j + 1 + takes_value]
        j += 1 + takes_value
    return out


def _resolve(token: str) -> str:
    """RUN, COND_RUN, runs/NAME, or RUN/... inside one, as the tiny runs' paths."""
    head, slash, rest = token.partition("/")
    if token in RUNS:
        return RUNS[token]
    return RUNS[head] + slash + rest if head in ("RUN", "COND_RUN") else token


def run_ganforge(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _run_argument(argv: list[str]) -> str | None:
    """The run folder or zoo model a ganforge command reads, if it names one."""
    for option in ("--run", "--model", "--resume"):
        if option in argv[:-1] and argv[0] != "segment":
            return argv[argv.index(option) + 1]
    if argv[0] in RUN_FIRST and len(argv) > 1 and not argv[1].startswith("-"):
        return argv[1]
    return None


def run_command(command: Command, where: Path, name: str = "README.md") -> None:
    """Run one README command in `where`; AssertionError naming the README line when it fails."""
    at = f"{name}:{command.line}: `{command.text}`"
    tokens = shlex.split(command.text, comments=True)
    if tokens and (ENV_ASSIGNMENT.match(tokens[0]) or tokens[0] in (".", "source")
                   or any(t in (">", ">>", "|") for t in tokens)):
        _run_shell(command, where, at)
        return
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token == "&&":
            parts.append([])
        else:
            parts[-1].append(token)
    for part in parts:
        if not part or part[0] != "ganforge":
            raise AssertionError(f"{at}: not a ganforge command; run it here or mark it "
                                 f"`# not run: REASON` (see tests/test_readme.py)")
        argv = ganforge_argv(part[1:])
        if not argv:
            raise AssertionError(f"{at}: `ganforge` alone is not a README command")
        run = _run_argument(argv)
        placeholder = run is not None and run.split("/")[0] in {r.split("/")[0] for r in RUNS.values()}
        if run is not None and not placeholder and not (where / run).exists():
            from ganforge import zoo

            if run not in zoo.names():
                raise AssertionError(f"{at}: {run!r} is not a placeholder ({', '.join(RUNS)}), a file the check makes, "
                                     f"or a zoo model (`ganforge models`: {', '.join(zoo.names())})")
        try:
            code, out, err = run_ganforge(argv)
        except Exception as exc:  # a bug in ganforge: say which README line found it, keep the traceback
            raise AssertionError(f"{at}: ganforge {shlex.join(argv)} raised {exc!r}") from exc
        if code != 0:
            raise AssertionError(f"{at}: ganforge {shlex.join(argv)} exited {code}:\n{err[-3000:]}{out[-1000:]}")
        for option, value in zip(argv, argv[1:]):
            if option in OUTPUTS:
                assert (where / value).exists(), f"{at}: ganforge {shlex.join(argv)} did not write {value}"


def _run_shell(command: Command, where: Path, at: str) -> None:
    home = where / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = command.text
    if shlex.split(script, comments=True)[0] in (".", "source"):
        # Sourcing in a subshell proves nothing by itself: check what it defined.
        script = f"{script}\ncomplete -p ganforge"
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=where, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, f"{at}: exited {result.returncode}:\n{result.stderr[-3000:]}"
    tokens = shlex.split(command.text, comments=True)
    for redirect, target in zip(tokens, tokens[1:]):
        if redirect in (">", ">>"):
            written = home / target[2:] if target.startswith("~/") else where / target
            assert written.is_file() and written.stat().st_size > 0, f"{at}: wrote nothing to {target}"
            if "COMPLETE" in tokens[0]:
                assert "complete " in written.read_text(), f"{at}: {target} holds no completion script"


def make_inputs(where: Path) -> None:
    """The tiny runs and the pictures the README's commands name."""
    runs = {
        "run": ["--dataset", "mnist", "--steps", "2"],
        "cond-run": ["--dataset", "mnist", "--arch", "resnet", "--num-classes", "10", "--steps", "2"],
    }
    for name, args in runs.items():
        code, _, err = run_ganforge(["train", *args, *TRAIN_TINY, "--out", str(where / "runs"), "--name", name])
        assert code == 0, err
    rng = np.random.default_rng(0)
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255  # a "1"
    Image.fromarray(digit).save(where / "digit.png")
    hole = np.zeros((28, 28), np.uint8)
    hole[10:18, 10:18] = 255  # white = missing
    Image.fromarray(hole).save(where / "hole.png")
    Image.fromarray(np.where(hole > 0, 0, digit).astype(np.uint8)).save(where / "damaged.png")
    noisy = np.clip(digit + rng.normal(0, 60, digit.shape), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(where / "noisy.png")
    # A scene of the size README's segmenter trains at (`segment --predict` takes the image's own size).
    Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(where / "scene.png")
    (where / "faces").mkdir()
    for k in range(16):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(where / "faces" / f"{k:02d}.png")


BLOCKS = bash_blocks(README.read_text(encoding="utf-8"), README.name)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    where = tmp_path_factory.mktemp("readme")
    cwd = os.getcwd()
    os.chdir(where)  # the runs are trained where the commands will look for them
    try:
        make_inputs(where)
    finally:
        os.chdir(cwd)
    return where


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.skip is None], ids=lambda b: f"{README.name}:{b.line}")
def test_readme_block_runs(block, workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    for command in block.commands:
        if command.skip is None:
            run_command(command, workspace, README.name)


def test_readme_has_blocks_and_every_mark_says_why():
    assert BLOCKS, f"no ```bash blocks in {README}"
    for block in BLOCKS:
        assert block.commands, f"{README.name}:{block.line}: an empty ```bash block"
        assert block.skip is None or block.skip.strip(), block


# The parser and runner on small inline Markdown: what drift looks like.

DRIFTED = """\
Intro.

<!-- docs-check: not run (needs 4 GPUs) -->
```bash
torchrun --nproc_per_node 4 -m ganforge.cli.main train
```

```bash
# a comment line is not a command
ganforge train --epochs 3 \\
  --dataset folder --data ./faces   # colour
tensorboard --logdir runs   # not run: a server that runs until stopped
bash scripts/new.sh
```
"""


def test_parser_reads_marks_and_continuations():
    gpus, drifted = bash_blocks(DRIFTED, "X.md")
    assert gpus.skip == "needs 4 GPUs" and gpus.line == 4
    assert drifted.skip is None and [c.line for c in drifted.commands] == [10, 12, 13]
    train, board, new = drifted.commands
    assert train.text.split()[:4] == ["ganforge", "train", "--epochs", "3"] and "--data ./faces" in train.text
    assert train.skip is None and board.skip == "a server that runs until stopped" and new.skip is None


@pytest.mark.parametrize("markdown, message", [
    ("<!-- docs-check: not run -->\n```bash\nls\n```\n", "X.md:1: write the mark as"),
    ("<!-- docs-check: not run () -->\n```bash\nls\n```\n", "X.md:1: write the mark as"),
    ("```bash\nls   # not run:\n```\n", "X.md:2: `# not run:` needs a reason"),
    ("```bash\nls\n", "X.md:1: ```bash block is never closed"),
])
def test_parser_refuses_marks_without_reasons(markdown, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        bash_blocks(markdown, "X.md")


def test_unmarked_line_that_is_not_ganforge_fails_naming_it(tmp_path):
    new = bash_blocks(DRIFTED, "X.md")[1].commands[2]
    with pytest.raises(AssertionError, match=re.escape("X.md:13: `bash scripts/new.sh`: not a ganforge command")):
        run_command(new, tmp_path, "X.md")


def test_failing_command_fails_naming_the_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    broken = bash_blocks("```bash\nganforge sample mnist-dcgan --frobnicate -o grid.png\n```\n", "X.md")[0].commands[0]
    with pytest.raises(AssertionError) as failure:
        run_command(broken, tmp_path, "X.md")
    assert "X.md:2: `ganforge sample mnist-dcgan --frobnicate -o grid.png`" in str(failure.value)
    assert "exited 2" in str(failure.value) and "No such option '--frobnicate'" in str(failure.value)


def test_unknown_model_name_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = bash_blocks("```bash\nganforge sample no-such-model -n 4 -o x.png\n```\n", "X.md")[0].commands[0]
    with pytest.raises(AssertionError, match=r"X.md:2: .*'no-such-model' is not a placeholder .* or a zoo model"):
        run_command(line, tmp_path, "X.md")


def test_shortening_table():
    assert ganforge_argv(["train", "--epochs", "8"])[:3] == ["train", "--steps", "4"]
    assert ganforge_argv(["train", "--resume", "runs/NAME", "--steps", "20000"]) == \
        ["train", "--resume", "runs/run", "--steps", "4", "--no-progress"]
    assert ganforge_argv(["evaluate", "RUN", "--n", "10000"]) == ["evaluate", "runs/run", "--n", "20"]
    assert ganforge_argv(["info", "COND_RUN/checkpoints"]) == ["info", "runs/cond-run/checkpoints"]
    assert ganforge_argv(["inpaint", "d.png", "--run", "RUN", "--steps", "9"]) == \
        ["inpaint", "d.png", "--run", "runs/run", "--steps", "9", "--restarts", "1"]
    assert ganforge_argv(["segment", "--predict", "s.png", "--model", "m"]) == ["segment", "--predict", "s.png",
                                                                                  "--model", "m"]


def test_zoo_model_runs_as_is(tmp_path, monkeypatch):
    from ganforge import zoo

    monkeypatch.chdir(tmp_path)
    name = zoo.names()[0]
    line = bash_blocks(f"```bash\nganforge sample {name} -n 4 -o zoo.png\n```\n", "X.md")[0].commands[0]
    run_command(line, tmp_path, "X.md")
    assert Image.open(tmp_path / "zoo.png").size[0] > 28


def test_readme_names_every_optional_extra():
    # the sentence that lists the extras names each one pyproject.toml defines (but the test extra)
    import tomllib

    extras = set(tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
                 ["project"]["optional-dependencies"]) - {"test"}
    text = (Path(__file__).parent.parent / "README.md").read_text()
    sentence = re.search(r"Optional features are extras:[^.]*\.", text, re.S)
    assert sentence is not None
    assert {name for name in extras if f"`{name}`" not in sentence.group()} == set()
