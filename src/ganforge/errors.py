"""Errors a user can act on. The CLI prints them in one line and exits with code 2."""


class GanforgeError(Exception):
    """Base class of every error ganforge raises for bad input or an unusable state."""


class ConfigError(GanforgeError):
    """A configuration value is missing, of the wrong type or out of range."""


class DataError(GanforgeError):
    """A dataset, file or folder cannot be used as asked."""


class CheckpointError(GanforgeError):
    """A checkpoint folder is missing, incomplete or of an unknown format."""


class TrainingDiverged(GanforgeError):
    """A loss became NaN or infinite; the run stopped without saving the bad weights."""


class TrainingUnhealthy(GanforgeError):
    """A health check named in --stop-on fired; the run stopped after saving a checkpoint."""


class InputError(GanforgeError, ValueError):
    """An argument (image, mask, label, count) that a function cannot use as given."""


class RunFolderError(GanforgeError):
    """A run folder is busy (another process trains in it) or cannot be written."""


class MissingExtra(GanforgeError, ImportError):
    """An optional extra (pip install 'ganforge[serve]', '[export]', '[restoration]') is not installed."""
