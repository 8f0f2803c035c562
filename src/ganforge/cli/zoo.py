"""`ganforge models [NAME]`: the trained generators that ship with ganforge, and their cards."""

from __future__ import annotations

import json

import click

from ganforge import zoo
from ganforge.cli import echo
from ganforge.errors import CheckpointError


@click.command(epilog="""\b
Examples:
  ganforge models                                  # the zoo, one line each
  ganforge models mnist-cond                       # its card: data, recipe, metrics, reproduce command
  ganforge sample mnist-cond --labels 7 -n 64 -o sevens.png
  ganforge serve mnist-cond""")
@click.argument("name", required=False, shell_complete=lambda ctx, param, incomplete: [
    n for n in zoo.names() if n.startswith(incomplete)])
@click.option("--json", "as_json", is_flag=True, help="Print the card(s) as JSON.")
@click.option("--check", is_flag=True, help="Also verify each model's weights against its card's SHA-256.")
def models(name: str | None, as_json: bool, check: bool) -> None:
    """List the trained models that ship with ganforge (the model zoo), or show one's card.

    Every command that takes a run folder also takes a zoo model's name."""
    chosen = [name] if name is not None else zoo.names()
    if name is not None and not zoo.is_name(name):
        raise CheckpointError(f"{name!r} is not a zoo model; choose one of: {', '.join(zoo.names()) or 'none installed'}")
    cards = [zoo.card(n) for n in chosen]
    if check:
        for n in chosen:
            zoo.checkpoint(n)  # raises naming a damaged file
    if as_json:
        echo(json.dumps(cards[0] if name is not None else cards, indent=2))
        return
    if name is not None:
        echo(zoo.render_card(cards[0]), nl=False)
        return
    if not cards:
        echo("no zoo models installed")
        return
    rows = [(c["name"], c.get("shape", ""), _headline(c), f"{c['weights']['bytes'] / 1e6:.1f} MB", c.get("summary", ""))
            for c in cards]
    widths = [max(len(r[i]) for r in rows + [("name", "shape", "headline", "size", "")]) for i in range(4)]
    echo("  ".join(h.ljust(w) for h, w in zip(("name", "shape", "headline", "size"), widths)) + "  summary")
    for row in rows:
        echo("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "  " + row[4])
    if check:
        echo(f"weights of {len(cards)} model(s) match their cards' SHA-256")
    echo("ganforge models NAME shows a card; every command that takes a run folder takes NAME too.")


def _headline(card: dict) -> str:
    headline = card.get("headline")
    if not headline:
        return ""
    value = headline["value"]
    shown = f"{value:.2%}" if headline.get("unit") == "fraction" else f"{value:.4g}"
    return f"{headline['metric']} {shown}"
