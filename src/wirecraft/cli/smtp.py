"""`wirecraft smtp FILE`: the SMTP mail transactions in a capture, as text or JSON lines."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import WirecraftError

EXIT_BAD_INPUT = 2


def _text(rec: dict[str, Any]) -> str:
    ts = f"{rec['ts']:.6f}" if rec["ts"] is not None else "-"
    lines = [f"{ts} {rec['client']}:{rec['client_port']} -> {rec['server']}:{rec['server_port']}"
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
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per transaction.")
@click.option("--extract", "directory", type=click.Path(file_okay=False),
              help="Write each message as an .eml file into this directory.")
@click.option("--port", "ports", type=click.IntRange(1, 65535), multiple=True,
              help="Server port(s) to decode as SMTP (default 25, 587, 2525).")
def command(file: str, as_json: bool, directory: str | None, ports: tuple[int, ...]) -> None:
    """Print the SMTP transactions of FILE: envelope, headers, attachments, replies."""
    from .. import smtp

    port_list = ports or smtp.DEFAULT_PORTS
    try:
        records = smtp.transactions(file, ports=port_list, keep_message=directory is not None)
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
            path = out_dir / f"{written:04d}-stream{rec['stream']}-{rec['trans_depth']}.eml"
            path.write_bytes(data)
            rec["file"] = str(path)
    for rec in records:
        if as_json:
            sys.stdout.write(json.dumps({k: v for k, v in rec.items() if k != "message"},
                                        default=str) + "\n")
        else:
            sys.stdout.write(_text(rec) + "\n")
    sys.stdout.flush()
    if directory is not None and not as_json:
        click.echo(f"{written} message(s) written to {directory}", err=True)
