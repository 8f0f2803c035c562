"""Named configurations: `ganforge train --preset NAME` starts from one, flags still override."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ganforge.registry import Registry


@dataclass(frozen=True)
class Preset:
    description: str
    overrides: dict[str, dict[str, Any]]  # config section -> field -> value

    def apply(self, raw: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """A copy of the config dict `raw` with the preset's values set."""
        out = copy.deepcopy(raw)
        for section, values in self.overrides.items():
            out[section].update(values)
        return out


PRESETS: Registry[Preset] = Registry("preset")
PRESETS.register("dcgan")(Preset(
    "The classic DCGAN (Radford et al. 2016): BCE with the non-saturating G loss, Adam 2e-4, beta1 0.5.",
    {"model": {"arch": "dcgan"}},
))
SNGAN = {"model": {"arch": "resnet", "spectral_norm": True},
         "optim": {"lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.9},
         "train": {"loss": "hinge", "ema_decay": 0.999}}
PRESETS.register("sngan")(Preset(
    "ResNet G and D with spectral norm in D, hinge loss, Adam (0, 0.9), two-time-scale rates "
    "(D 4e-4, G 1e-4; Heusel et al. 2017), EMA of G (Miyato et al. 2018; Zhang et al. 2019).",
    SNGAN,
))
PRESETS.register("sngan-small")(Preset(
    "The sngan preset at width 16 (16 channels in G's last and D's first layer): at 64 px it makes "
    "more steps per minute than the classic DCGAN. The best of the recipes compared on colour shapes and digit "
    "scenes at equal CPU time (docs/training.md, \"Colour data\"), and the default for colour images until "
    "dcgan-sn.",
    {**SNGAN, "model": {**SNGAN["model"], "width": 16}},
))
PRESETS.register("wgan-gp")(Preset(
    "ResNet G and D (no BatchNorm in D), Wasserstein loss with gradient penalty 10, 5 D steps "
    "per G step, Adam 1e-4 (0, 0.9) (Gulrajani et al. 2017).",
    {"model": {"arch": "resnet", "spectral_norm": False},
     "optim": {"lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.0, "beta2": 0.9},
     "train": {"loss": "wasserstein", "penalty": "gp", "penalty_weight": 10.0, "d_steps": 5}},
))
PRESETS.register("cond-sngan")(Preset(
    "The sngan preset made class-conditional: conditional BatchNorm and a class embedding joined "
    "to z in G, a projection discriminator (Miyato & Koyama 2018), and MSGAN's mode-seeking term "
    "(weight 0.1) without which G collapses to one digit per class (docs/training.md). Set for "
    "MNIST's 10 classes; use --num-classes N for other data, --class-head acgan for an AC-GAN "
    "auxiliary classifier instead.",
    {"model": {"arch": "resnet", "spectral_norm": True, "num_classes": 10, "class_head": "projection"},
     "optim": {"lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.9},
     "train": {"loss": "hinge", "ema_decay": 0.999, "mode_seeking": 0.1}},
))
PRESETS.register("cond-dcgan")(Preset(
    "The classic DCGAN made class-conditional (cGAN, Mirza & Osindero 2014): a class embedding joined "
    "to z in G, a projection discriminator (Miyato & Koyama 2018), and MSGAN's mode-seeking term at "
    "weight 1 (Mao et al. 2019), without which G ignores z and draws one image per class (docs/training.md). "
    "Fast on a CPU: the demo's recipe. Set for MNIST's 10 classes; use --num-classes N for other data, "
    "--class-head projection+acgan to add an AC-GAN classifier beside the projection (truer classes, a "
    "little less variety: the zoo's conditional models).",
    {"model": {"arch": "dcgan", "num_classes": 10, "class_head": "projection"},
     "train": {"mode_seeking": 1.0}},
))
PRESETS.register("stylegan2-lite")(Preset(
    "A light StyleGAN2-like generator (mapping network, modulated/demodulated convs, noise "
    "inputs; no custom ops) against the ResNet discriminator: non-saturating loss, lazy R1 "
    "every 16 steps, Adam (0, 0.99), EMA of G (Karras et al. 2020).",
    {"model": {"arch": "stylegan", "spectral_norm": False},
     "optim": {"lr_g": 1e-3, "lr_d": 1e-3, "beta1": 0.0, "beta2": 0.99},
     "train": {"loss": "nonsaturating", "penalty": "r1", "penalty_weight": 0.1, "penalty_every": 16,
               "ema_decay": 0.999}},
))

PRESETS.register("fastgan")(Preset(
    "FastGAN (Liu et al. 2021) for small data sets: a light generator with skip-layer excitation, a "
    "discriminator that also learns to reconstruct the real images from its 8x8 and 16x16 feature maps (L1), "
    "hinge loss, Adam 2e-4 (0.5, 0.999) as in the paper's code, spectral norm in D, EMA of G, and DiffAugment "
    "color,translation,cutout on everything D sees (or --augment ada). Width 16 (G's last layer) for CPU speed; "
    "the paper's z has 256 dimensions (--latent-dim 256).",
    {"model": {"arch": "fastgan", "spectral_norm": True, "width": 16},
     "optim": {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999},
     "train": {"loss": "hinge", "ema_decay": 0.999, "augment": "color,translation,cutout"}},
))

PRESETS.register("dcgan-sn")(Preset(
    "The DCGAN at width 32 (32 channels in G's last and D's first layer) with SNGAN's discriminator rules: "
    "spectral norm in D instead of BatchNorm and hinge loss (Miyato et al. 2018's \"standard CNN\"), an EMA of G, "
    "and ADA (Karras et al. 2020) on everything D sees (--augment none turns it off). About twice sngan-small's "
    "steps per CPU-minute at 64 px. The default for colour images of 32 px and more: on real colour images "
    "(emoji) at equal CPU time its FID beats sngan-small's at 10 minutes and ties it at 20, and it draws faces "
    "a person recognises where sngan-small draws none (docs/training.md, \"A real colour set: emoji\").",
    {"model": {"arch": "dcgan", "width": 32, "spectral_norm": True},
     "train": {"loss": "hinge", "ema_decay": 0.999, "augment": "ada"}},
))

# The recipe a run on colour images starts from when no preset or config is named: chosen on real
# colour images by benchmarks/quality_at_equal_time.py (docs/training.md, "A real colour set: emoji";
# before it, sngan-small, the winner of benchmarks/colour_default.py on procedural shapes). Grayscale
# and small images keep the classic DCGAN defaults: on MNIST it beats the other unconditional presets
# at equal CPU time (docs/training.md, "Evidence: MNIST").
COLOUR_DEFAULT = "dcgan-sn"
COLOUR_MIN_SIZE = 32


def default_preset(channels: int, image_size: int) -> str | None:
    """The preset implied for data of this shape: COLOUR_DEFAULT for RGB images of at least
    COLOUR_MIN_SIZE px, None (the schema's DCGAN defaults) otherwise."""
    return COLOUR_DEFAULT if channels == 3 and image_size >= COLOUR_MIN_SIZE else None
