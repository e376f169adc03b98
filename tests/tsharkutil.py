"""Run tshark as the independent reference decoder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import require_tool


def tshark_json(path: Path, display_filter: str | None = None, *options: str) -> list[dict]:
    """Every packet of `path` as tshark's JSON layers (raw sequence numbers)."""
    tshark = require_tool("tshark")
    cmd = [tshark, "-n", "-r", str(path), "-T", "json",
           "-o", "tcp.relative_sequence_numbers:FALSE", *options]
    if display_filter:
        cmd += ["-Y", display_filter]
    out = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
    if out.returncode not in (0, 2) or not out.stdout.strip():
        return []
    return [p["_source"]["layers"] for p in json.loads(out.stdout)]


def tshark_fields(path: Path, fields: list[str], display_filter: str | None = None,
                  *options: str) -> list[list[str]]:
    """One row per packet with the named fields (comma-joined when repeated)."""
    tshark = require_tool("tshark")
    cmd = [tshark, "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=,",
           "-o", "tcp.relative_sequence_numbers:FALSE", *options]
    for f in fields:
        cmd += ["-e", f]
    if display_filter:
        cmd += ["-Y", display_filter]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    if out.returncode not in (0, 2) or "aren't valid" in out.stderr:
        raise RuntimeError(f"tshark failed: {out.stderr.strip()}")
    rows = out.stdout.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    return [r.split("\t") for r in rows]
