"""The `ganforge` command: thin subcommands over the library."""

from __future__ import annotations

import click

from ganforge.errors import printable


def echo(text: str = "", err: bool = False, nl: bool = True) -> None:
    """click.echo for every line the commands print: the names in it come from user input (files,
    folders, run names), so terminal control codes in them are escaped (`printable`), the text's
    own newlines and tabs kept."""
    click.echo(printable(text, lines=True), err=err, nl=nl)
