"""The package version, in a module of its own so that anything (checkpoints' meta.json, the
CLI's --version, pyproject's dynamic version) can read it without importing the package."""

__version__ = "0.1.0"
