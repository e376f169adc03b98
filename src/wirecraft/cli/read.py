"""`wirecraft read FILE`: one line per packet, tcpdump -n style, or JSON lines."""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import TYPE_CHECKING

import click

from ..errors import WirecraftError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from ..capture import Capture

EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    """Print one clear line on stderr and exit with `code`."""
    click.echo(f"wirecraft: {message}", err=True)
    sys.exit(code)


@click.command("read")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-c", "--count", type=click.IntRange(min=1), help="Stop after this many packets.")
@click.option("-f", "--filter", "bpf", metavar="BPF", help="Capture filter in tcpdump syntax.")
@click.option("-Y", "--display-filter", "display", metavar="EXPR",
              help="Display filter in Wireshark's language (tshark -Y): only matching "
                   "packets are printed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: only when stderr is a terminal).")
@click.option("-n", "numeric", count=True,
              help="Accepted as tcpdump's -n/-nn: wirecraft never resolves names or ports.")
@click.option("-e", "link", is_flag=True, help="Print the link-level header (tcpdump -e).")
@click.option("-v", "verbose", count=True, help="More detail, as tcpdump's -v, -vv, -vvv.")
@click.option("-S", "absolute_seq", is_flag=True,
              help="Absolute TCP sequence numbers (tcpdump -S).")
@click.option("-q", "quiet", is_flag=True, help="Less protocol detail (tcpdump -q).")
def command(file: str, count: int | None, bpf: str | None, display: str | None,
            as_json: bool, progress: bool | None, numeric: int, link: bool, verbose: int,
            absolute_seq: bool, quiet: bool) -> None:
    """Print the packets of a pcap/pcapng FILE (gzip is fine), one line each as
    `tcpdump -n` prints them (time of day in UTC)."""
    from ..capture import CaptureTruncatedWarning
    from ..capture import open as open_capture
    from ..summary import LinePrinter, clock, to_json

    if progress is None:
        progress = sys.stderr.isatty() and not sys.stdout.isatty()
    out = sys.stdout
    printer = LinePrinter(verbose=verbose, link=link, absolute_seq=absolute_seq, quiet=quiet)
    printed = 0
    truncation: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CaptureTruncatedWarning)
            with open_capture(file, filter=bpf, where=display) as cap:
                bar = _progress(file) if progress else None
                try:
                    for pkt in cap:
                        if as_json:
                            out.write(json.dumps(to_json(pkt)) + "\n")
                        else:
                            out.write(f"{clock(pkt.time_ns)} {printer.line(pkt)}\n")
                        printed += 1
                        if bar is not None and printed % 4096 == 0:
                            bar[0].update(bar[1], completed=_position(cap))
                        if count is not None and printed >= count:
                            break
                finally:
                    if bar is not None:
                        bar[0].stop()
            truncation = [str(w.message) for w in caught
                          if issubclass(w.category, CaptureTruncatedWarning)]
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except WirecraftError as exc:
        out.flush()
        fail(str(exc))
    for msg in truncation:
        click.echo(f"wirecraft: warning: {msg}", err=True)


def _progress(path: str) -> tuple[Progress, TaskID]:
    """A transient progress bar on stderr over the file's size (rich is imported only here)."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    prog = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), transient=True, console=Console(stderr=True))
    task = prog.add_task(os.path.basename(path), total=os.path.getsize(path))
    prog.start()
    return prog, task


def _position(cap: Capture) -> int:
    try:
        return cap._file.tell()
    except (OSError, ValueError):
        return 0
