"""A run folder's JSON-lines logs (metrics.jsonl, evaluations.jsonl): one JSON object per line.

A line is appended in one write, but a crash or a full disk can still leave the last line torn.
Reading then skips that last line with a warning, and the next resume rewrites the file without
it, so a torn line never blocks resuming or plotting; a bad line before the last is an error
naming the file and line.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ganforge.errors import RunFolderError
from ganforge.io.atomic import atomic_write_text

log = logging.getLogger(__name__)


class MetricsLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> list[dict]:
        """Every record; a torn last line is left out (with a warning)."""
        if not self.path.is_file():
            return []
        text = self.path.read_text(encoding="utf-8", errors="replace")  # a bad byte spoils its line only
        lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
        records = []
        for position, (number, line) in enumerate(lines):
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or not isinstance(record.get("step"), int):
                    raise ValueError("not a record with a step")
            except (ValueError, RecursionError):  # RecursionError: nested past what json reads
                if position == len(lines) - 1:
                    log.warning("%s: line %d is incomplete (an interrupted write); ignoring it", self.path, number)
                    break
                raise RunFolderError(f"{self.path}: line {number} is not a JSON record with a step") from None
            records.append(record)
        return records

    def append(self, record: dict) -> None:
        try:
            with open(self.path, "a") as fh:
                fh.write(json.dumps(record) + "\n")
        except OSError as exc:
            raise RunFolderError(f"{self.path}: cannot append a record ({exc.strerror or exc})") from None

    def truncate_after(self, step: int) -> None:
        """Drop records past `step` (a resumed run rewrites what came after its checkpoint), and a
        torn last line."""
        if not self.path.is_file():
            return
        kept = [r for r in self.read() if r["step"] <= step]
        try:
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))
        except OSError as exc:
            raise RunFolderError(f"{self.path}: cannot rewrite ({exc.strerror or exc})") from None
