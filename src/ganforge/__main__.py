"""`ganforge` (the console script) and `python -m ganforge`: the CLI, started so that Ctrl-C
while it starts (importing a command, and torch with it, takes seconds) ends as quietly as Ctrl-C
later: `ganforge: interrupted` and exit code 130, no traceback. The package facade imports
nothing heavy (`ganforge/__init__.py`), so the window this catches is the whole start-up."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from ganforge.cli.main import main as run  # deferred: an interrupt while importing lands here

        return run()
    except KeyboardInterrupt:
        print("ganforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
