"""wirecraft stats phs against `tshark -q -z io,phs`: the same protocol paths, in the same
order, with the same frames and bytes.

wirecraft counts a protocol in every frame that carries its bytes; tshark by default
reassembles TCP streams and IP datagrams (a message counts on the frame that completes
it) and does not hand retransmitted data to SMTP, so tshark runs with TCP
desegmentation, TCP sequence analysis and IPv4/IPv6 defragmentation off. tshark's tree
also holds protocols wirecraft does not decode (tls, nbdgm, igmp, http, llc, the `data`
of a payload nobody decodes, `_ws.malformed`): those nodes and everything under them
are left out of tshark's tree before comparing; the counts of the nodes above them are
compared in full.

Every sample capture is compared but two:
* zeek__ipv4__fragmented-1: NTP in the first fragment of a datagram. tshark (even with
  defragmentation off) decodes NTP from the part it has; the catalogue's NTP view reads
  no NTP from a datagram that is not whole.
* zeek__tls__smtp-starttls: after STARTTLS tshark hands the stream to TLS. The SMTP
  view of the catalogue, which phs shares with `-Y smtp`, looks at one frame and keeps
  no session, so it counts the client's TLS segments to port 25 as SMTP (11 frames
  where tshark has 5).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import wirecraft
from wirecraft import stats

from conftest import capture_files, require_tool

ENV = {**os.environ, "PYTHONPATH": str(Path(wirecraft.__file__).resolve().parent.parent)}
KNOWN = {"eth", "vlan", "sll", "null", "arp", "ip", "ipv6", "tcp", "udp", "icmp", "icmpv6",
         "dns", "mdns", "llmnr", "smtp", "ntp"}
EXCLUDED = {"zeek__ipv4__fragmented-1.pcap", "zeek__tls__smtp-starttls.pcap"}
CASES = [p.name for p in capture_files() if p.name not in EXCLUDED]
TSHARK_OPTS = ["-o", "tcp.desegment_tcp_streams:FALSE", "-o", "tcp.analyze_sequence_numbers:FALSE",
               "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]
_LINE = re.compile(r"^( *)(\S+)\s+frames:(\d+) bytes:(\d+)\s*$")


def _tshark_phs(path: Path, where: str | None = None) -> list[tuple[str, int, int]]:
    """tshark's hierarchy as (path, frames, bytes), depth first, without the nodes of
    protocols wirecraft does not decode and what lies under them."""
    # (tshark exits 2 after a file cut short, having printed the statistics)
    kind = "io,phs" if where is None else f"io,phs,{where}"
    r = subprocess.run([require_tool("tshark"), "-r", str(path), *TSHARK_OPTS,
                        "-q", "-z", kind], capture_output=True, text=True)
    out = r.stdout
    assert r.returncode in (0, 2) and "Protocol Hierarchy Statistics" in out, r.stderr
    rows, stack = [], []
    root = 0   # with a filter that leaves frames out, tshark 4.0 puts `frame` on top
    for line in out.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        if m.group(2) == "frame" and not m.group(1):
            root = 1
            continue
        depth = len(m.group(1)) // 2 - root
        del stack[depth:]
        stack.append(m.group(2))
        if all(name in KNOWN for name in stack):
            rows.append((":".join(stack), int(m.group(3)), int(m.group(4))))
    return rows


def _ours(table: stats.StatsTable) -> list[tuple[str, int, int]]:
    return list(zip(table["path"], table["frames"], table["bytes"], strict=True))


@pytest.mark.parametrize("name", CASES)
def test_phs_matches_tshark(captures_dir: Path, name: str) -> None:
    path = captures_dir / name
    want = _tshark_phs(path)
    table = stats.phs(path)
    assert _ours(table) == want
    assert table["level"] == [p.count(":") for p in table["path"]]
    assert table["protocol"] == [p.rsplit(":", 1)[-1] for p in table["path"]]
    n = sum(1 for _ in wirecraft.open(path))
    assert table.notes["frames"] == n


def test_phs_with_display_filter(captures_dir: Path) -> None:
    path = captures_dir / "zeek__smtp.pcap"
    # (not fields an ICMP error quotes: tshark matches those inside the quote too)
    for expr in ("frame.len > 100", "udp", "frame.len < 200"):
        want = _tshark_phs(path, expr)
        assert want and _ours(stats.phs(path, where=expr)) == want


def test_phs_counts_what_it_sees(captures_dir: Path) -> None:
    """Every frame is under one link layer; children never count more than their parent;
    the SMTP and DNS nodes count the frames the display filter selects."""
    for name in ("zeek__smtp.pcap", "tcpdump__dns_tcp.pcap", "zeek__http-vlan-0.pcap"):
        path = captures_dir / name
        table = stats.phs(path)
        rows = dict(zip(table["path"], table["frames"], strict=True))
        top = sum(f for p, f in rows.items() if ":" not in p)
        assert top == table.notes["frames"]
        for p, f in rows.items():
            if ":" in p:
                assert f <= rows[p.rsplit(":", 1)[0]]
    smtp = stats.phs(captures_dir / "zeek__smtp.pcap")
    frames = dict(zip(smtp["path"], smtp["frames"], strict=True))
    assert frames["eth:ip:tcp:smtp"] == sum(
        1 for _ in wirecraft.open(captures_dir / "zeek__smtp.pcap", where="smtp"))


def test_cli_phs(captures_dir: Path) -> None:
    path = str(captures_dir / "zeek__dns__mdns.pcap")
    r = subprocess.run([sys.executable, "-m", "wirecraft", "stats", path, "phs", "--json"],
                       capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["title"] == "Protocol Hierarchy Statistics"
    assert [(d["path"], d["frames"], d["bytes"]) for d in doc["rows"]] == _tshark_phs(
        captures_dir / "zeek__dns__mdns.pcap")
    r = subprocess.run([sys.executable, "-m", "wirecraft", "stats", path, "phs"],
                       capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0 and "eth:ipv6:udp:mdns" in r.stdout, r.stderr
