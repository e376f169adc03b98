"""wirecraft per-packet: Packet views, ip.src/ip.dst as text and ports of every packet."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import COUNT_KEYS, args, emit, now  # noqa: E402

import wirecraft  # noqa: E402
import wirecraft.capture  # noqa: E402, F401 - import the core now, not inside the timed work

T1 = now()
a = args()


def scan(a):
    """The measured loop, in a function so that its variables are fast locals (the
    same for every library: module-level globals would add a dict lookup per use)."""
    c = dict.fromkeys(COUNT_KEYS, 0)  # a plain dict: see METHOD.md, per-packet
    n = 0
    digest = 0
    for pkt in wirecraft.read(a.file):
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
    return n, c, digest


n, c, digest = scan(a)
c["packets"] = n
emit(T0, T1, now(), n, c, digest=digest)
