"""Settings declared once, on dataclass fields: each field carries what a command line and a
validator need (help, flag, choices, bounds, checks), so options, validation messages and help
defaults are generated from one declaration. `ganforge.config` declares the run's settings with it.

    lr: float = setting(2e-4, "Learning rate.", low=0, low_open=True)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ganforge.errors import ConfigError

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class Setting:
    """What the CLI and validation know of one config field."""

    help: str
    flag: str | None = None  # default: --field-name
    choices: Iterable[str] | None = None  # a tuple or a Registry (read when asked, so late entries count)
    low: float | None = None  # bounds; *_open: the bound itself is excluded
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    most: float | None = None  # a sanity ceiling where the value has no natural upper bound
    # Another setting without which this one does nothing: "train.penalty" (set: not None, 0 or off) or
    # "model.arch=stylegan|resnet" (one of those values); a flag given without it is refused (`unmet`).
    requires: str | None = None
    default_text: str | None = None  # how --help shows the default, where the value alone would mislead
    check: Callable[[Any], None] | None = None  # extra validation of a value (raises ConfigError)


def setting(default: Any, help: str, **options: Any) -> Any:
    """A dataclass field carrying its Setting."""
    return field(default=default, metadata={"setting": Setting(help, **options)})


@dataclass(frozen=True)
class SchemaField:
    """One setting of the schema: its key ("optim.lr_g"), Python type and metadata."""

    key: str
    type: type
    optional: bool
    default: Any
    setting: Setting

    @property
    def flag(self) -> str:
        return self.setting.flag or "--" + self.key.split(".", 1)[1].replace("_", "-")

    @property
    def choices(self) -> list[str] | None:
        return None if self.setting.choices is None else list(self.setting.choices)


_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def field_type(f: dataclasses.Field) -> tuple[type, bool]:
    """(base type, whether None is allowed) of a field annotated int, float, str or bool [| None]."""
    text = str(f.type)
    return _TYPES[text.split("|")[0].strip()], "None" in text


def fields_of(sections: dict[str, type], defaults: Any) -> tuple[SchemaField, ...]:
    """Every setting of `sections` (name -> dataclass), keyed "section.field", with its default
    read from the instance `defaults`."""
    out = []
    for section, section_cls in sections.items():
        for f in dataclasses.fields(section_cls):
            base, optional = field_type(f)
            out.append(SchemaField(f"{section}.{f.name}", base, optional, getattr(getattr(defaults, section), f.name),
                                   f.metadata["setting"]))
    return tuple(out)


def _number(value: float | None) -> str:
    return str(value) if isinstance(value, int) or value is None else f"{value:g}"  # 4294967295, not 4.29497e+09


def bounds_text(s: Setting) -> str:
    low, high = _number(s.low), _number(s.high)
    if s.low is not None and s.high is not None:
        return f"in {'(' if s.low_open else '['}{low}, {high}{')' if s.high_open else ']'}"
    if s.low is not None:
        return f"{'>' if s.low_open else '>='} {low}"
    return f"{'<' if s.high_open else '<='} {high}"


def check_section(section: Any, name: str, describe: Callable[[str], str]) -> None:
    """Choices, bounds and checks of every field of one section; `describe(key)` names a setting
    in messages ("train.lr (--lr)")."""
    for f in dataclasses.fields(section):
        s: Setting = f.metadata["setting"]
        value, key = getattr(section, f.name), f"{name}.{f.name}"
        if value is None:
            continue
        if s.choices is not None and value not in list(s.choices):
            raise ConfigError(f"{describe(key)} must be one of {', '.join(s.choices)}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):  # inf passes any open-ended bound, nan every bound
            raise ConfigError(f"{describe(key)} must be a finite number, got {value}")
        if s.low is not None or s.high is not None:
            below = s.low is not None and (value <= s.low if s.low_open else value < s.low)
            above = s.high is not None and (value >= s.high if s.high_open else value > s.high)
            if below or above:
                raise ConfigError(f"{describe(key)} must be {bounds_text(s)}, got {value}")
        if s.most is not None and value > s.most:
            raise ConfigError(f"{describe(key)} must be at most {_number(s.most)}, got {value}")
        if s.check is not None:
            s.check(value)


def section_from_dict(section_cls: type, raw: Any, source: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a JSON object")
    fields = {f.name: f for f in dataclasses.fields(section_cls)}
    unknown = set(raw) - set(fields)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    for key, value in raw.items():
        type_text = str(fields[key].type)
        base, optional = field_type(fields[key])
        if value is None and optional:
            continue
        allowed = (int, float) if base is float else (base,)
        if isinstance(value, bool) and base is not bool or not isinstance(value, allowed):
            raise ConfigError(f"{source}.{key}: expected {type_text}, got {value!r}")
    return section_cls(**raw)


def unmet(requires: str | None, value_of: Callable[[str], Any], flag_of: Callable[[str], str]) -> str | None:
    """None when the `requires` of a setting holds (value_of(key) gives a setting's value, flag_of(key)
    its flag); else what is missing, for "--x has no effect without ...": "--num-classes",
    "--arch stylegan (got dcgan)"."""
    if requires is None:
        return None
    key, _, wanted = requires.partition("=")
    value = value_of(key)
    if not wanted:
        return None if value not in (None, 0, False) else flag_of(key)
    choices = wanted.split("|")
    if value in choices:
        return None
    listed = choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"
    return f"{flag_of(key)} {listed} (got {value})"
