"""The run folder's metrics.jsonl: one JSON object per log step."""

from __future__ import annotations

import json
from pathlib import Path

from ganforge.io.atomic import atomic_write


class MetricsLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> list[dict]:
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def append(self, record: dict) -> None:
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def truncate_after(self, step: int) -> None:
        """Drop records past `step` (a resumed run rewrites what came after its checkpoint)."""
        if not self.path.is_file():
            return
        kept = [r for r in self.read() if r["step"] <= step]
        text = "".join(json.dumps(r) + "\n" for r in kept)
        atomic_write(self.path, lambda tmp: tmp.write_text(text))
