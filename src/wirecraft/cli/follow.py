"""`wirecraft follow FILE [N]`: list TCP conversations, or print one like tshark's follow."""

from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import WirecraftError

EXIT_BAD_INPUT = 2
RULE = "=" * 67


def _endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def _ascii(data: bytes) -> str:
    """Printable ASCII, CR and LF kept, every other byte shown as '.' (as tshark does)."""
    return data.decode("latin-1").translate(_ASCII_TABLE)


_ASCII_TABLE = {b: (chr(b) if 32 <= b < 127 or b in (10, 13) else ".") for b in range(256)}


@click.command("follow")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("number", type=click.IntRange(min=0), required=False)
@click.option("--raw", "mode", flag_value="raw", help="The bytes only, no marks (binary-safe).")
@click.option("--hex", "mode", flag_value="hex", help="One hex line per segment, as tshark raw.")
@click.option("--ascii", "mode", flag_value="ascii", default=True,
              help="Printable text with direction marks (default).")
def command(file: str, number: int | None, mode: str) -> None:
    """List the TCP conversations of FILE, or print conversation NUMBER.

    Conversations are numbered in order of their first segment. The server's data is
    indented by a tab, each piece preceded by its length, like `tshark -z follow,tcp,ascii`;
    a gap is shown as `[gap of N bytes]`.
    """
    from ..reassembly import Reassembler

    try:
        if number is None:
            _list(file)
            return
        events: list[tuple[int, Any]] = []
        found: list[Any] = []

        def on_open(conn: Any) -> None:
            if conn.index == number:
                found.append(conn)

        def on_data(conn: Any, direction: int, data: bytes) -> None:
            if conn.index == number:
                if mode == "raw":
                    sys.stdout.buffer.write(data)
                else:
                    events.append((direction, data))

        def on_gap(conn: Any, direction: int, size: int) -> None:
            if conn.index == number:
                events.append((direction, size))

        r = Reassembler(on_data, on_gap, None, on_open)
        r.feed_all(file)
    except WirecraftError as exc:
        click.echo(f"wirecraft: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if not found:
        click.echo(f"wirecraft: {file}: no TCP conversation {number}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if mode == "raw":
        sys.stdout.buffer.flush()
        return
    conn = found[0]
    out = sys.stdout
    out.write(f"\n{RULE}\nFollow: tcp,{'ascii' if mode == 'ascii' else 'raw'}\n")
    out.write(f"Filter: tcp.stream eq {number}\n")
    out.write(f"Node 0: {_endpoint(conn.client, conn.client_port)}\n")
    out.write(f"Node 1: {_endpoint(conn.server, conn.server_port)}\n")
    for direction, item in events:
        indent = "\t" if direction else ""
        if isinstance(item, int):
            out.write(f"{indent}[gap of {item} bytes]\n")
        elif mode == "hex":
            out.write(f"{indent}{item.hex()}\n")
        else:
            out.write(f"{indent}{len(item)}\n{_ascii(item)}\n")
    out.write(f"{RULE}\n")
    out.flush()
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
