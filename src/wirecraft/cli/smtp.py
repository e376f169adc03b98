"""`wirecraft smtp FILE`: the SMTP mail transactions in a capture, as text or JSON lines."""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

import click

from ..errors import WirecraftError
from .tcpdump import TcpdumpOptions, input_options, seconds_to_ns, time_options

EXIT_BAD_INPUT = 2


def _text(rec: dict[str, Any], clock: Any) -> str:
    """A transaction as lines: the first with the time (tcpdump's form, -t...) and endpoints."""
    ts = clock.prefix(seconds_to_ns(rec["ts"], clock.nano)) if rec["ts"] is not None else "- "
    lines = [f"{ts}{rec['client']}:{rec['client_port']} -> {rec['server']}:{rec['server_port']}"
             f" stream {rec['stream']} #{rec['trans_depth']}"]

    def add(label: str, value: Any) -> None:
        if value not in (None, [], ""):
            lines.append(f"  {label:<12} {value}")

    add("helo", rec["helo"])
    add("mail from", rec["mail_from"])
    add("rcpt to", ", ".join(rec["rcpt_to"]))
    add("from", rec["from"])
    add("to", ", ".join(rec["to"]))
    add("cc", ", ".join(rec["cc"]))
    add("subject", rec["subject"])
    add("date", rec["date"])
    add("message-id", rec["msg_id"])
    add("size", rec["size"])
    for a in rec["attachments"]:
        add("attachment", f"{a['name']} {a['type']} {a['size']} bytes sha256={a['sha256']}")
    add("last reply", rec["last_reply"])
    if rec["tls"]:
        add("tls", "yes (rest of the session encrypted)")
    add("problems", " ".join(rec["problems"]))
    return "\n".join(lines)


@click.command("smtp")
@input_options()
@time_options()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per transaction.")
@click.option("--extract", "directory", type=click.Path(file_okay=False),
              help="Write each message as an .eml file into this directory.")
@click.option("--port", "ports", type=click.IntRange(1, 65535), multiple=True,
              help="Server port(s) to decode as SMTP (default 25, 587, 2525).")
def command(as_json: bool, directory: str | None, ports: tuple[int, ...],
            tcpdump: TcpdumpOptions) -> None:
    """Print the SMTP transactions of FILE: envelope, headers, attachments, replies.

    FILE (or -r FILE, '-' for stdin) may be followed by a filter in tcpdump syntax; -c
    stops after that many packets; times print as `wirecraft read` prints them (-t...)."""
    from .. import smtp
    from ..capture import Capture

    path, bpf = tcpdump.source()
    if path is None:
        raise click.UsageError("no capture file: give FILE or -r FILE")
    clock = tcpdump.time_format()
    port_list = ports or smtp.DEFAULT_PORTS
    try:
        cap = Capture(tcpdump.open_input(path), filter=bpf,
                      snaplen=tcpdump.snaplen or 262144)
        source: Any = cap if tcpdump.count is None else itertools.islice(iter(cap),
                                                                           tcpdump.count)
        try:
            records = smtp.transactions(source, ports=port_list,
                                        keep_message=directory is not None)
        finally:
            cap.close()
    except WirecraftError as exc:
        click.echo(f"wirecraft: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    written = 0
    if directory is not None:
        from pathlib import Path

        out_dir = Path(directory)
        out_dir.mkdir(parents=True, exist_ok=True)
        for rec in records:
            data = rec.get("message")
            if data is None:
                continue
            written += 1
            eml = out_dir / f"{written:04d}-stream{rec['stream']}-{rec['trans_depth']}.eml"
            eml.write_bytes(data)
            rec["file"] = str(eml)
    for rec in records:
        if as_json:
            sys.stdout.write(json.dumps({k: v for k, v in rec.items() if k != "message"},
                                        default=str) + "\n")
        else:
            sys.stdout.write(_text(rec, clock) + "\n")
    sys.stdout.flush()
    if directory is not None and not as_json:
        click.echo(f"{written} message(s) written to {directory}", err=True)
