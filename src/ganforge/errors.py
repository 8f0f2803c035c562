"""Errors a user can act on. The CLI prints them in one line (through `printable`) and exits with
code 2."""

import unicodedata


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


def printable(text: str, lines: bool = False) -> str:
    """`text` safe to print on a terminal in one line: control and format characters (ESC of a
    terminal escape code, newlines, bidirectional overrides, zero-width marks) are written as
    Python escapes (\\x1b, \\n, \\u202e), and a file name's undecodable bytes (surrogate escapes)
    as \\xNN; everything else, accents and other scripts included, is left as it is. Messages
    name files and values a user (or an attacker naming files) chose. With `lines`, the text's own
    newlines and tabs stay (tables, reports) and only the rest is escaped."""
    out = []
    for char in text:
        category = unicodedata.category(char)
        if lines and char in "\n\t":
            out.append(char)
        elif category == "Cs" and 0xDC80 <= ord(char) <= 0xDCFF:  # os.fsdecode's stand-in for a byte
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(repr(char)[1:-1])  # none of these is printable, so repr escapes it
        else:
            out.append(char)
    return "".join(out)
