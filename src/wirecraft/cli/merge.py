"""`wirecraft merge -o OUT IN...` (mergecap) and `wirecraft split IN -c N | -i SECONDS`
(editcap -c / -i), streaming."""

from __future__ import annotations

import click


def _format(pcap: bool, fmt: str | None) -> bool:
    """Whether the output is pcapng, from --pcap and -F."""
    if fmt is not None and pcap and fmt != "pcap":
        raise click.BadParameter("--pcap and -F pcapng exclude each other", param_hint="-F")
    return not pcap and fmt != "pcap"


@click.command("merge")
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("-o", "-w", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="file to write")
@click.option("-a", "--concatenate", is_flag=True,
              help="Write the inputs one after another instead of in timestamp order.")
@click.option("--pcap", is_flag=True, help="Write pcap (one link type across the inputs).")
@click.option("-F", "fmt", type=click.Choice(["pcap", "pcapng"]), default=None,
              help="Output format (default pcapng).")
@click.option("--nanosecond/--microsecond", default=None,
              help="pcap output timestamps (default: nanosecond when an input is).")
def merge_command(sources: tuple[str, ...], out: str, concatenate: bool, pcap: bool,
                  fmt: str | None, nanosecond: bool | None) -> None:
    """Merge captures into OUT in timestamp order (mergecap); -a concatenates."""
    from ..filetools import merge

    counts = merge(list(sources), out, concatenate=concatenate,
                   pcapng=_format(pcap, fmt), nanosecond=nanosecond)
    click.echo(f"{counts['frames_written']} frames from {len(sources)} files written to {out}",
               err=True)
