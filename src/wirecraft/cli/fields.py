"""`wirecraft fields [PROTO]`: the field catalogue, one field a line, like `tshark -G fields`.

Each line is the field's public name, its type (Wireshark's FT_* names) and its
description, tab-separated: `tcp.srcport<TAB>FT_UINT16<TAB>Source port`. These
are the names `wirecraft.proto.value()` and `Table["tcp.srcport"]` take.
Aliases are listed after the field they name, with the description
'Alias of NAME'. Needs no compiled extension.
"""

from __future__ import annotations

import click


@click.command("fields")
@click.argument("proto", required=False)
@click.option("--protocols", is_flag=True, help="List the protocols (name, title) instead.")
def command(proto: str | None, protocols: bool) -> None:
    """List the fields of every protocol, or of PROTO ('tcp', 'ip', 'ipv6', 'eth', ...).

    One field a line: name, type and description, tab-separated."""
    from .. import proto as catalogue

    if protocols:
        for p in catalogue.PROTOCOLS:
            click.echo(f"{p.name}\t{p.title}\t{p.reference}")
        return
    if proto is not None and not any(p.name == proto for p in catalogue.PROTOCOLS):
        known = ", ".join(p.name for p in catalogue.PROTOCOLS)
        raise click.BadParameter(f"unknown protocol {proto!r} (known: {known})",
                                 param_hint="PROTO")
    lines = []
    for f in catalogue.fields(proto):
        lines.append(f"{f.name}\t{f.type}\t{f.doc}")
        lines.extend(f"{alias}\t{f.type}\tAlias of {f.name}" for alias in f.aliases)
    click.echo("\n".join(lines))
