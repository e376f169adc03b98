"""`wirecraft info FILE...` (like capinfos): an aligned listing per file, or --json."""

from __future__ import annotations

import json

import click


@click.command("info")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per file")
def command(files: tuple[str, ...], as_json: bool) -> None:
    """Show format, link types, counts, sizes, times, rates and SHA-256 of captures."""
    from ..filetools import info

    for n, path in enumerate(files):
        facts = info(path)
        if as_json:
            click.echo(json.dumps(facts))
            continue
        if n:
            click.echo("")
        for key, value in facts.items():
            click.echo(f"{key.replace('_', ' '):<22}{value}")
