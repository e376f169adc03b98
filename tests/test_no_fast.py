"""WIRECRAFT_NO_FAST=1 turns the core's CPython tricks off (hot-name attribute
shortcuts, tp_new views, reused reader buffers) and changes no result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CAPTURES = Path(__file__).resolve().parent.parent / "captures"

# every attribute the shortcuts serve, read per packet, plus batches kept across reads
# (a reused buffer under a kept batch would change its packets)
PROBE = r"""
import json, sys
from wirecraft import _ext
import wirecraft
core = _ext.load("_core")
out = {"fast": core.fast_tricks(), "packets": [], "kept": []}
kept = []
for path in sys.argv[1:]:
    for pkt in wirecraft.read(path):
        ip, tcp, udp = pkt.ip, pkt.tcp, pkt.udp
        row = [pkt.index, pkt.summary(),
               None if ip is None else [ip.src, ip.dst, ip.version],
               None if tcp is None else [tcp.src_port, tcp.dst_port, tcp.flags],
               None if udp is None else [udp.src_port, udp.dst_port],
               pkt.vlan is not None, pkt.arp is not None, pkt.icmp is not None]
        out["packets"].append(row)
        kept.append(pkt)
out["kept"] = [[p.index, p.data.hex()] for p in kept]
print(json.dumps(out))
"""


def run(no_fast: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "WIRECRAFT_NO_FAST"}
    if no_fast:
        env["WIRECRAFT_NO_FAST"] = "1"
    paths = [str(CAPTURES / n) for n in ("zeek__smtp.pcap", "pcapyng__96pings.pcap",
                                         "libpcap__ipv6_ext_headers.pcap")]
    r = subprocess.run([sys.executable, "-c", PROBE, *paths], env=env, capture_output=True,
                       text=True, timeout=300, check=True)
    return json.loads(r.stdout)


def test_the_switch_turns_the_tricks_off_and_changes_no_result() -> None:
    fast, slow = run(False), run(True)
    assert fast["fast"] is True and slow["fast"] is False
    assert len(fast["packets"]) > 100
    assert slow["packets"] == fast["packets"]
    assert slow["kept"] == fast["kept"]
