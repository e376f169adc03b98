"""Where the per-packet scenario's time goes: the same loop body over wirecraft's Packet
views, over plain pre-built objects (the cost of the loop itself, with no decoding at all),
and iteration alone. Prints nanoseconds per packet, best of --runs.

    PYTHONPATH=src .venv/bin/python benchmarks/scenarios/per_packet_floor.py FILE [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import COUNT_KEYS  # noqa: E402

import wirecraft  # noqa: E402


class Plain:
    """A pre-decoded packet or layer with the attributes the loop reads, as fast slots."""

    __slots__ = ("vlan", "ip", "arp", "tcp", "udp", "icmp", "icmpv6", "version", "src", "dst",
                 "src_port", "dst_port")

    def __init__(self, **fields: object) -> None:
        for name in self.__slots__:
            setattr(self, name, fields.get(name))


def prebuild(path: str) -> list[Plain]:
    """Every packet of the file as Plain objects (addresses already text, ports ints)."""
    out = []
    for p in wirecraft.read(path):
        ip, tcp, udp = p.ip, p.tcp, p.udp
        o = Plain(vlan=p.vlan, arp=p.arp, icmp=p.icmp, icmpv6=p.icmpv6)
        if ip is not None:
            o.ip = Plain(version=ip.version, src=ip.src, dst=ip.dst)
        if tcp is not None:
            o.tcp = Plain(src_port=tcp.src_port, dst_port=tcp.dst_port)
        if udp is not None:
            o.udp = Plain(src_port=udp.src_port, dst_port=udp.dst_port)
        out.append(o)
    return out


def body(packets) -> int:
    """The loop of wc_packets.py, verbatim, over any iterable of packet-like objects."""
    c = dict.fromkeys(COUNT_KEYS, 0)
    n = 0
    digest = 0
    for pkt in packets:
        n += 1
        if pkt.vlan:
            c["vlan"] += 1
        ip = pkt.ip
        if ip is None:
            if pkt.arp is not None:
                c["arp"] += 1
            continue
        c["ipv4" if ip.version == 4 else "ipv6"] += 1
        src, dst = ip.src, ip.dst
        digest += len(src) + len(dst)
        tcp = pkt.tcp
        if tcp is not None:
            c["tcp"] += 1
            sp, dp = tcp.src_port, tcp.dst_port
            if sp == 25 or dp == 25:
                c["tcp_port_25"] += 1
            digest += sp + dp
            continue
        udp = pkt.udp
        if udp is not None:
            c["udp"] += 1
            sp, dp = udp.src_port, udp.dst_port
            if sp == 53 or dp == 53:
                c["dns_messages"] += 1
            digest += sp + dp
        elif pkt.icmp is not None:
            c["icmp"] += 1
        elif pkt.icmpv6 is not None:
            c["icmpv6"] += 1
    return n


def iterate(packets) -> int:
    n = 0
    for _pkt in packets:
        n += 1
    return n


def best(fn, make, runs: int) -> tuple[float, int]:
    times, n = [], 0
    for _ in range(runs):
        src = make()
        t = time.perf_counter()
        n = fn(src)
        times.append(time.perf_counter() - t)
    return min(times), n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    rows = [
        ("loop body over wirecraft views (read + decode included)",
         best(body, lambda: wirecraft.read(a.file), a.runs)),
        ("wirecraft iteration alone (read + decode + Packet)",
         best(iterate, lambda: wirecraft.read(a.file), a.runs)),
    ]
    plain = prebuild(a.file)
    gc.freeze()  # the pre-built objects are permanent: keep the collector off them
    rows.insert(1, ("loop body over plain pre-built objects (no decoding: the floor)",
                    best(body, lambda: plain, a.runs)))
    for label, (secs, n) in rows:
        print(f"{label:68s} {secs / n * 1e9:8.0f} ns/packet")


if __name__ == "__main__":
    main()
