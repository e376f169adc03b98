"""Crafting speed against dpkt and scapy in one process, and where the time goes.

    PYTHONPATH=src .venv/bin/python benchmarks/scenarios/craft_profile.py [--quick] [--profile]

Issue 3 target 6: the DNS query frame built from layer objects and serialized (>= 10x dpkt,
>= 300x scapy), and templates varying the DNS id and name (>= 5,000,000 frames/s, and
>= 1,000,000 frames/s written to a pcap file). Peers are timed in interleaved rounds so each
ratio comes from the same seconds of machine load; every frame is checked against dpkt's
and scapy's bytes, and template frames against frames built from layers, so a fast wrong
answer fails.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

import dpkt  # noqa: E402

from wirecraft.craft import DNS, UDP, Ethernet, IPv4  # noqa: E402
from wirecraft.craft.template import Counter, Template, Values  # noqa: E402

MAC_SRC, MAC_DST = "02:00:00:00:00:01", "02:00:00:00:00:02"


def wirecraft_frame(ident: int = 0x1234, name: str = "www.example.com") -> bytes:
    return bytes(Ethernet(src=MAC_SRC, dst=MAC_DST)
                 / IPv4(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=64)
                 / UDP(src_port=5353, dst_port=53)
                 / DNS.query(name, "A", id=ident))


_SRC_MAC, _DST_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
_SRC_IP, _DST_IP = socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")


def dpkt_frame(ident: int = 0x1234, name: str = "www.example.com") -> bytes:
    """The same frame from dpkt objects, every length and checksum computed (a full build)."""
    dns = bytes(dpkt.dns.DNS(id=ident, op=dpkt.dns.DNS_RD,
                             qd=[dpkt.dns.DNS.Q(name=name, type=1, cls=1)]))
    udp = dpkt.udp.UDP(sport=5353, dport=53, data=dns)
    udp.ulen = 8 + len(dns)
    ip = dpkt.ip.IP(src=_SRC_IP, dst=_DST_IP, id=7, ttl=64, p=17, data=udp)
    ip.len = 20 + udp.ulen
    return bytes(dpkt.ethernet.Ethernet(src=_SRC_MAC, dst=_DST_MAC, type=0x0800, data=ip))


def scapy_maker() -> Callable[[], bytes]:
    from scapy.layers.dns import DNS as SDNS
    from scapy.layers.dns import DNSQR
    from scapy.layers.inet import IP
    from scapy.layers.inet import UDP as SUDP
    from scapy.layers.l2 import Ether

    def scapy_frame() -> bytes:
        return bytes(Ether(src=MAC_SRC, dst=MAC_DST) / IP(src="10.0.0.1", dst="10.0.0.2", id=7,
                                                           ttl=64)
                     / SUDP(sport=5353, dport=53)
                     / SDNS(id=0x1234, rd=1, qd=DNSQR(qname="www.example.com", qtype="A")))
    return scapy_frame


def rate(fn: Callable[[], object], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t)


def layers_vs_peers(n: int, rounds: int) -> None:
    scapy_frame = scapy_maker()
    ref = wirecraft_frame()
    if ref != dpkt_frame() or ref != scapy_frame():
        raise SystemExit("the three builders disagree on the frame's bytes")
    rows: dict[str, list[float]] = {"wirecraft": [], "dpkt": [], "scapy": [], "x dpkt": [],
                                    "x scapy": []}
    slices = 10  # each round alternates the builders in short slices, so load hits all three
    for _ in range(rounds):
        tw = td = ts = 0.0
        nw = nd = ns = 0
        for _ in range(slices):
            k = max(n // slices, 1)
            tw += k / rate(wirecraft_frame, k)
            nw += k
            td += k / rate(dpkt_frame, k)
            nd += k
            ks = max(k // 50, 20)
            ts += ks / rate(scapy_frame, ks)
            ns += ks
        w, d, s = nw / tw, nd / td, ns / ts
        rows["wirecraft"].append(w)
        rows["dpkt"].append(d)
        rows["scapy"].append(s)
        rows["x dpkt"].append(w / d)
        rows["x scapy"].append(w / s)
    print(f"layers -> bytes, {rounds} interleaved rounds (median [min..max]):")
    for key, vals in rows.items():
        unit = "x" if key.startswith("x ") else " frames/s"
        print(f"  {key:<10} {statistics.median(vals):>12,.1f}{unit}  "
              f"[{min(vals):,.1f} .. {max(vals):,.1f}]")


def dns_template(names: list[str]) -> Template:
    t = Template(Ethernet(src=MAC_SRC, dst=MAC_DST)
                 / IPv4(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=64)
                 / UDP(src_port=5353, dst_port=53)
                 / DNS.query(names[0], "A", id=0x1234))
    t.vary("dns.id", Counter(0x1234))
    t.vary("dns.name", Values(names))
    return t


def check_template(t: Template, names: list[str], start: int, count: int) -> None:
    fl = t.frame_length
    buf = t.batch(count, start)
    for i in range(count):
        n = start + i
        want = wirecraft_frame((0x1234 + n) & 0xFFFF, names[n % len(names)])
        if bytes(buf[i * fl:(i + 1) * fl]) != want:
            raise SystemExit(f"template frame {n} differs from the frame built from layers")


def templates(n: int, rounds: int) -> None:
    names = [f"h{i:05d}.example.com" for i in range(10000)]
    t = dns_template(names)
    check_template(t, names, 0, 200)
    check_template(t, names, 65530, 20)
    block = 65536
    gen, disk = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.pcap")
        for _ in range(rounds):
            t0 = time.perf_counter()
            done = 0
            while done < n:
                k = min(block, n - done)
                t.batch(k, done)
                done += k
            gen.append(n / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            written = t.write(path, n)
            disk.append(n / (time.perf_counter() - t0))
            size = os.path.getsize(path)
            if written != n or size != 24 + n * (16 + t.frame_length):
                raise SystemExit(f"pcap holds {size} bytes for {written} frames")
        with open(path, "rb") as f:
            f.seek(24 + (n - 1) * (16 + t.frame_length) + 16)
            last = f.read()
        if last != wirecraft_frame((0x1234 + n - 1) & 0xFFFF, names[(n - 1) % len(names)]):
            raise SystemExit("last frame in the pcap is wrong")
    print(f"template varying DNS id and name ({len(names)} names), {n:,} frames, "
          f"{rounds} rounds:")
    print(f"  generate   {statistics.median(gen):>14,.0f} frames/s  "
          f"[{min(gen):,.0f} .. {max(gen):,.0f}]")
    print(f"  to pcap    {statistics.median(disk):>14,.0f} frames/s  "
          f"[{min(disk):,.0f} .. {max(disk):,.0f}]")


def breakdown(n: int) -> None:
    """Where a frame's time goes: the best of several runs of each part, in ns per frame."""
    import timeit

    def objects() -> None:
        Ethernet(src=MAC_SRC, dst=MAC_DST)
        IPv4(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=64)
        UDP(src_port=5353, dst_port=53)
        DNS.query("www.example.com", "A", id=0x1234)

    def stacked() -> object:
        return (Ethernet(src=MAC_SRC, dst=MAC_DST)
                / IPv4(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=64)
                / UDP(src_port=5353, dst_port=53)
                / DNS.query("www.example.com", "A", id=0x1234))

    frame = stacked()
    parts = {"create the layer objects": objects, "... and stack them with /": stacked,
             "build a stacked frame": frame.build, "the whole frame": wirecraft_frame}
    print("per frame (best of 9 runs):")
    for label, fn in parts.items():
        best = min(timeit.repeat(fn, number=n, repeat=9)) / n * 1e9
        print(f"  {label:<28} {best:>7,.0f} ns")


def profile(n: int) -> None:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        wirecraft_frame(i & 0xFFFF)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer frames and rounds")
    ap.add_argument("--profile", action="store_true", help="cProfile the layers path")
    a = ap.parse_args()
    n, rounds, tn = (5000, 3, 500_000) if a.quick else (20000, 7, 2_000_000)
    print(f"python {sys.version.split()[0]}, dpkt {dpkt.__version__}, load {os.getloadavg()}")
    layers_vs_peers(n, rounds)
    breakdown(n)
    templates(tn, rounds)
    if a.profile:
        profile(n)


if __name__ == "__main__":
    main()
