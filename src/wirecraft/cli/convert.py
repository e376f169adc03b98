"""`wirecraft convert IN -o OUT --pcapng|--pcap [--nanosecond]` (like editcap -F)."""

from __future__ import annotations

import click


@click.command("convert")
@click.argument("src", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="file to write")
@click.option("--pcapng/--pcap", default=True, help="output format (default pcapng)")
@click.option("--nanosecond", is_flag=True, help="pcap output with nanosecond timestamps")
def command(src: str, out: str, pcapng: bool, nanosecond: bool) -> None:
    """Rewrite a capture as pcap or pcapng, frame for frame."""
    from ..filetools import convert

    try:
        counts = convert(src, out, pcapng=pcapng, nanosecond=nanosecond)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    click.echo(f"{counts['frames_written']} frames written to {out}", err=True)
