"""scapy per-packet (run on a prefix of the file and scaled): addresses, ports, counts."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import COUNT_KEYS, args, emit, now  # noqa: E402
from scapy.all import ARP, ICMP, IP, TCP, UDP, Dot1Q, IPv6, PcapReader  # noqa: E402
from scapy.layers.inet6 import _ICMPv6  # noqa: E402

T1 = now()
a = args()


def scan(a):
    """The measured loop, in a function so that its variables are fast locals (the
    same for every library: module-level globals would add a dict lookup per use)."""
    c = dict.fromkeys(COUNT_KEYS, 0)  # a plain dict: see METHOD.md, per-packet
    n = 0
    digest = 0
    with PcapReader(a.file) as reader:
        for pkt in reader:
            n += 1
            if Dot1Q in pkt:
                c["vlan"] += 1
            if IP in pkt:
                c["ipv4"] += 1
                l3 = pkt[IP]
            elif IPv6 in pkt:
                c["ipv6"] += 1
                l3 = pkt[IPv6]
            else:
                if ARP in pkt:
                    c["arp"] += 1
                if a.limit and n >= a.limit:
                    break
                continue
            src, dst = l3.src, l3.dst
            digest += len(src) + len(dst)
            if TCP in pkt:
                c["tcp"] += 1
                sp, dp = pkt[TCP].sport, pkt[TCP].dport
                if sp == 25 or dp == 25:
                    c["tcp_port_25"] += 1
                digest += sp + dp
            elif UDP in pkt:
                c["udp"] += 1
                sp, dp = pkt[UDP].sport, pkt[UDP].dport
                if sp == 53 or dp == 53:
                    c["dns_messages"] += 1
                digest += sp + dp
            elif ICMP in pkt:
                c["icmp"] += 1
            elif any(isinstance(layer, _ICMPv6) for layer in pkt.iterpayloads()):
                c["icmpv6"] += 1
            if a.limit and n >= a.limit:
                break
    return n, c, digest


n, c, digest = scan(a)
c["packets"] = n
emit(T0, T1, now(), n, c, digest=digest)
