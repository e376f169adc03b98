"""`wirecraft dns FILE`: one line (or one JSON object) per DNS transaction of a capture."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime

import click


def _endpoint(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _answers(row: dict) -> str:
    if row["answers"] is None:
        return "-"
    if not row["answers"]:
        return "(no answers)"
    return ",".join(f"{a} ({ttl})" for a, ttl in zip(row["answers"], row["TTLs"], strict=False))


def format_row(row: dict) -> str:
    """One transaction as a line: time, endpoints, transport, id, query, rcode, answers, RTT."""
    when = datetime.fromtimestamp(row["ts"], tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    flags = [name.lower() for name in ("AA", "TC", "RD", "RA", "AD", "CD") if row[name]]
    rtt = f"{row['rtt'] * 1000:.3f}ms" if row["rtt"] is not None else "-"
    query = row["query"] if row["query"] is not None else "-"
    parts = [
        when, row["proto"], _endpoint(row["id_orig_h"], row["id_orig_p"]), ">",
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
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("-f", "--filter", "bpf", default=None, help="BPF filter applied while reading.")
@click.option("-Y", "--display-filter", "display", metavar="EXPR", default=None,
              help="Display filter (tshark -Y): only the packets it selects are paired.")
@click.option("--port", "ports", type=int, multiple=True,
              help="Extra UDP/TCP port carrying DNS (53, 5353, 5355 always are).")
@click.option("--timeout", default=10.0, show_default=True,
              help="Seconds a query waits for its response.")
def command(file: str, as_json: bool, bpf: str | None, display: str | None,
            ports: tuple[int, ...], timeout: float) -> None:
    """Print the DNS transactions of FILE: queries paired with responses, with RTT."""
    import wirecraft
    from wirecraft import dns

    source = wirecraft.read(file, filter=bpf, where=display)
    rows = dns.transactions(source, ports=(*dns.DNS_PORTS, *ports), timeout=timeout)
    out = sys.stdout
    for row in rows:
        if as_json:
            out.write(json.dumps(row.to_dict(), default=str) + "\n")
        else:
            out.write(format_row(row) + "\n")
    if not as_json:
        status = Counter(rows.column("status"))
        click.echo(f"{len(rows)} transactions, {status['answered']} answered, "
                   f"{status['unanswered']} unanswered, {status['no_query']} responses "
                   f"without query", err=True)
