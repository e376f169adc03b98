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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from views_loop import count_views  # noqa: E402

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
    """The loop of wc_packets.py (views_loop.count_views) over any packet-like objects."""
    return count_views(packets)[0]


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
