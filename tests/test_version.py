import json
from importlib.metadata import version

import ganforge
from ganforge.io.checkpoint import save_checkpoint
from ganforge.version import __version__


def test_one_version_everywhere(tmp_path):
    assert ganforge.__version__ == __version__ == version("ganforge")  # pyproject reads version.py
    checkpoint = save_checkpoint(tmp_path, 1, ganforge.RunConfig(), {})
    assert json.loads((checkpoint / "meta.json").read_text())["version"] == __version__
