"""`wirecraft dns FILE`: one line (or one JSON object) per DNS transaction of a capture."""

from __future__ import annotations

import itertools
import json
import sys
from collections import Counter
from typing import Any

import click

from .tcpdump import TcpdumpOptions, input_options, seconds_to_ns, time_options


def _endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _answers(row: dict) -> str:
    if row["answers"] is None:
        return "-"
    if not row["answers"]:
        return "(no answers)"
    return ",".join(f"{a} ({ttl})" for a, ttl in zip(row["answers"], row["TTLs"], strict=False))


def format_row(row: dict, clock: Any = None) -> str:
    """One transaction as a line: time, endpoints, transport, id, query, rcode, answers, RTT.

    The time is the query's, in tcpdump's form: `clock` is a wirecraft.timefmt.TimeFormat
    (the -t options), local time of day by default."""
    if clock is None:
        from ..timefmt import TimeFormat

        clock = TimeFormat()
    when = clock.format(seconds_to_ns(row["ts"], clock.nano))
    flags = [name.lower() for name in ("AA", "TC", "RD", "RA", "AD", "CD") if row[name]]
    rtt = f"{row['rtt'] * 1000:.3f}ms" if row["rtt"] is not None else "-"
    query = row["query"] if row["query"] is not None else "-"
    parts = [
        *([when] if when else []), row["proto"], _endpoint(row["id_orig_h"], row["id_orig_p"]), ">",
        _endpoint(row["id_resp_h"], row["id_resp_p"]), f"id={row['trans_id']}", query,
        row["qtype_name"] or "-", row["rcode_name"] or "-", _answers(row), f"rtt={rtt}",
        "flags=" + (",".join(flags) or "-"),
    ]
    if row["status"] != "answered":
        parts.append(row["status"])
    if row["duplicate_queries"] or row["duplicate_responses"]:
        parts.append(f"dup={row['duplicate_queries']}/{row['duplicate_responses']}")
    if row["problems"]:
        parts.append("problems=" + ",".join(row["problems"]))
    return " ".join(parts)


@click.command("dns")
@input_options()
@time_options()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("-Y", "--display-filter", "display", metavar="EXPR", default=None,
              help="Display filter (tshark -Y): only the packets it selects are paired.")
@click.option("--port", "ports", type=int, multiple=True,
              help="Extra UDP/TCP port carrying DNS (53, 5353, 5355 always are).")
@click.option("--timeout", default=10.0, show_default=True,
              help="Seconds a query waits for its response.")
def command(as_json: bool, display: str | None, ports: tuple[int, ...], timeout: float,
            tcpdump: TcpdumpOptions) -> None:
    """Print the DNS transactions of FILE: queries paired with responses, with RTT.

    FILE (or -r FILE, '-' for stdin) may be followed by a filter in tcpdump syntax; -c
    stops after that many packets; times print as `wirecraft read` prints them (-t...)."""
    from wirecraft import dns
    from wirecraft.capture import Capture

    path, bpf = tcpdump.source()
    if path is None:
        raise click.UsageError("no capture file: give FILE or -r FILE")
    cap = Capture(tcpdump.open_input(path), filter=bpf, where=display,
                  snaplen=tcpdump.snaplen or 262144)
    # a Capture goes the fast batch path, which sees every packet: with -Y or -c the
    # packets that pass go one by one
    source: Any = cap
    if display is not None or tcpdump.count is not None:
        source = itertools.islice(iter(cap), tcpdump.count)
    try:
        rows = dns.transactions(source, ports=(*dns.DNS_PORTS, *ports), timeout=timeout)
    finally:
        cap.close()
    clock = tcpdump.time_format()
    out = sys.stdout
    for row in rows:
        if as_json:
            out.write(json.dumps(row.to_dict(), default=str) + "\n")
        else:
            out.write(format_row(row, clock) + "\n")
    if not as_json:
        status = Counter(rows.column("status"))
        click.echo(f"{len(rows)} transactions, {status['answered']} answered, "
                   f"{status['unanswered']} unanswered, {status['no_query']} responses "
                   f"without query", err=True)
