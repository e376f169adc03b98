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


@click.command("split")
@click.argument("src", type=click.Path(dir_okay=False))
@click.option("-c", "--count", type=click.IntRange(min=1), default=None,
              help="Frames per file (editcap -c).")
@click.option("-i", "--interval", "seconds", metavar="SECONDS", default=None,
              help="Seconds per file, from the first frame's time (editcap -i).")
@click.option("-o", "--output", "prefix", metavar="PREFIX", default=None,
              type=click.Path(dir_okay=False),
              help="Names PREFIX_00000_YYYYmmddHHMMSS.ext (default: the input's name).")
@click.option("--pcapng/--pcap", default=None, help="Output format (default: the input's).")
def split_command(src: str, count: int | None, seconds: str | None, prefix: str | None,
                  pcapng: bool | None) -> None:
    """Cut SRC into files of COUNT frames or SECONDS each, named as editcap names them."""
    from ..filetools import seconds_to_ns, split

    if (count is None) == (seconds is None):
        raise click.UsageError("give one of -c COUNT and -i SECONDS")
    if seconds is not None:
        try:
            if seconds_to_ns(seconds) <= 0:
                raise ValueError(f"{seconds!r} is not a positive number of seconds")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="-i") from None
    result = split(src, prefix, count=count, seconds=seconds, pcapng=pcapng)
    for part in result["files"]:
        click.echo(part["path"])
    click.echo(f"{result['frames_read']} frames written to {len(result['files'])} files",
               err=True)
