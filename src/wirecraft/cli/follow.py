"""`wirecraft follow FILE [N]`: list TCP conversations, or print one like tshark's follow."""

from __future__ import annotations

import sys
import warnings
from typing import Any

import click

from ..errors import CaptureFileError

RULE = "=" * 67
INDENT = ("", "\t")    # the server's data is indented, as tshark does


def _endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def _ascii(data: bytes) -> str:
    """Printable ASCII, CR and LF kept, every other byte shown as '.' (as tshark does)."""
    return data.decode("latin-1").translate(_ASCII_TABLE)


_ASCII_TABLE = {b: (chr(b) if 32 <= b < 127 or b in (10, 13) else ".") for b in range(256)}


@click.command("follow")
@click.argument("file", type=click.Path())
@click.argument("number", type=click.IntRange(min=0), required=False)
@click.option("--raw", "mode", flag_value="raw", help="The bytes only, no marks (binary-safe).")
@click.option("--hex", "mode", flag_value="hex", help="One hex line per segment, as tshark raw.")
@click.option("--ascii", "mode", flag_value="ascii", default=True,
              help="Printable text with direction marks (default).")
def command(file: str, number: int | None, mode: str) -> None:
    """List the TCP conversations of FILE, or print conversation NUMBER.

    Conversations are numbered in order of their first segment. The server's data is
    indented by a tab, each piece preceded by its length, like `tshark -z follow,tcp,ascii`;
    a gap is shown as `[gap of N bytes]`. Each piece is printed as soon as it is reassembled,
    so memory stays flat however long the conversation is.
    """
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line
            if number is None:
                _list(file)
            else:
                _follow(file, number, mode)
    except IsADirectoryError as exc:
        # the input is a directory: bad input; every other error (a damaged capture, a full
        # disk under stdout) goes to the command line's one-line handler, which tells input
        # (exit 2) from output (exit 1) failures
        raise CaptureFileError(file, 0, exc.strerror or "is a directory") from None


def _warning_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """Show a warning (e.g. a capture cut short) as one line, without source location."""
    click.echo(f"wirecraft: warning: {message}", err=True)


def _follow(file: str, number: int, mode: str) -> None:
    """Print conversation `number` while reading: nothing but the current piece is held."""
    from ..reassembly import Reassembler

    out = sys.stdout
    raw = out.buffer if mode == "raw" else None
    found: list[Any] = []

    def on_open(conn: Any) -> None:
        if conn.index == number:
            found.append(conn)
            if raw is None:
                out.write(f"\n{RULE}\nFollow: tcp,{'ascii' if mode == 'ascii' else 'raw'}\n"
                          f"Filter: tcp.stream eq {number}\n"
                          f"Node 0: {_endpoint(conn.client, conn.client_port)}\n"
                          f"Node 1: {_endpoint(conn.server, conn.server_port)}\n")

    def on_data(conn: Any, direction: int, data: bytes) -> None:
        if conn.index != number:
            return
        if raw is not None:
            raw.write(data)
        elif mode == "hex":
            out.write(f"{INDENT[direction]}{data.hex()}\n")
        else:
            out.write(f"{INDENT[direction]}{len(data)}\n{_ascii(data)}\n")

    def on_gap(conn: Any, direction: int, size: int) -> None:
        if conn.index == number and raw is None:
            out.write(f"{INDENT[direction]}[gap of {size} bytes]\n")

    Reassembler(on_data, on_gap, None, on_open).feed_all(file)
    if not found:
        raise ValueError(f"{file}: no TCP conversation {number}")
    if raw is not None:
        raw.flush()
        return
    out.write(f"{RULE}\n")
    out.flush()
    conn = found[0]
    if conn.gaps or conn.flags - {"fin"}:
        click.echo(f"conversation {number}: {' '.join(sorted(conn.flags))}", err=True)


def _list(file: str) -> None:
    from ..reassembly import streams

    rows = sorted(streams(file), key=lambda s: s.index)
    out = sys.stdout
    out.write(f"{'N':>4}  {'client':<28} {'server':<28} {'to server':>10} {'to client':>10}"
              f"  {'duration':>9}  flags\n")
    for s in rows:
        dur = (s.last_ns - s.first_ns) / 1e9
        gaps = f" gaps={s.gap_bytes}" if s.gaps else ""
        out.write(f"{s.index:>4}  {_endpoint(s.client, s.client_port):<28} "
                  f"{_endpoint(s.server, s.server_port):<28} {s.bytes_to_server:>10} "
                  f"{s.bytes_to_client:>10}  {dur:>9.3f}  {' '.join(sorted(s.flags))}{gaps}\n")
