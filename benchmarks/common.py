"""Helpers shared by the scenario scripts: argument parsing and the one-line JSON result.

A scenario script runs in a fresh process, does its work once, and prints one JSON line
as its last line of stdout: work time (excluding interpreter start-up and imports), import
time, packets handled, the counts it computed (checked by run.py against the manifest) and
its own peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter

COUNT_KEYS = ("packets", "vlan", "arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6",
              "tcp_port_25", "dns_messages")


def args(extra: list[tuple] = ()) -> argparse.Namespace:
    """FILE plus --limit N (process only the first N frames) and scenario-specific options."""
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--limit", type=int, default=0)
    for name, kw in extra:
        ap.add_argument(name, **kw)
    return ap.parse_args()


def emit(t_start: float, t_imported: float, t_done: float, packets: int,
         counts: dict | Counter, **extra: object) -> None:
    """Print the result line; times are perf_counter() values taken by the scenario."""
    out = {
        "import_s": t_imported - t_start,
        "work_s": t_done - t_imported,
        "packets": packets,
        "counts": dict(counts),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    out.update(extra)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def now() -> float:
    return time.perf_counter()


# The frame of issue 6: scapy's bytes for
# Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.0.0.1", dst="10.0.0.2",
# id=7, ttl=64, flags=0) / UDP(sport=5353, dport=53) / DNS(id=0x1234, rd=1,
# qd=DNSQR(qname="www.example.com", qtype="A")); crafting scenarios build it with the DNS id
# 0x1234 + i, so their first frame must equal it byte for byte.
CRAFT_REFERENCE = bytes.fromhex(
    "02000000000202000000000108004500003d00070000401166a70a0000010a00000214e90035002979eb"
    "12340100000100000000000003777777076578616d706c6503636f6d0000010001")


def _csum(data: bytes) -> int:
    if len(data) & 1:
        data += b"\0"
    s = int.from_bytes(data, "big") % 0xFFFF
    return 0xFFFF - (s or (0xFFFF if any(data) else 0))


def craft_problems(first: bytes, last: bytes, last_id: int, qname: bytes | None = None) -> list:
    """Check a crafting scenario's output: frame 0 is the reference, the last one is valid."""
    probs = []
    if first != CRAFT_REFERENCE:
        probs.append(f"first frame differs from scapy's: {first.hex()}")
    ip, udp = last[14:34], last[34:]
    if _csum(ip) != 0:
        probs.append("last frame: bad IPv4 header checksum")
    if int.from_bytes(ip[2:4], "big") != len(last) - 14:
        probs.append("last frame: bad IPv4 total length")
    pseudo = ip[12:20] + b"\0\x11" + len(udp).to_bytes(2, "big")
    if int.from_bytes(udp[4:6], "big") != len(udp) or _csum(pseudo + udp) != 0:
        probs.append("last frame: bad UDP length or checksum")
    if int.from_bytes(udp[8:10], "big") != last_id & 0xFFFF:
        probs.append(f"last frame: DNS id {udp[8:10].hex()}, expected {last_id & 0xFFFF:04x}")
    if qname is not None and qname not in udp:
        probs.append(f"last frame: query name {qname!r} not found")
    return probs
