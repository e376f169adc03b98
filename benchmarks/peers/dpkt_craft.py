"""dpkt crafting: the DNS query frame of issue 6 built from layer objects and serialized, N times."""

import time

T0 = time.perf_counter()
import argparse  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import dpkt  # noqa: E402
from common import craft_problems, emit, now  # noqa: E402

T1 = now()
ap = argparse.ArgumentParser()
ap.add_argument("-n", type=int, default=100000)
n = ap.parse_args().n
src, dst = socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")
esrc, edst = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
Ethernet, IP, UDP, DNS = dpkt.ethernet.Ethernet, dpkt.ip.IP, dpkt.udp.UDP, dpkt.dns.DNS
first = frame = b""
for i in range(n):
    msg = DNS(id=(0x1234 + i) & 0xFFFF, qd=[DNS.Q(name="www.example.com", type=1, cls=1)])
    msg.rd = 1
    udp = UDP(sport=5353, dport=53, data=msg)
    udp.ulen = len(udp)
    ip = IP(src=src, dst=dst, id=7, ttl=64, p=17, data=udp)
    ip.len = len(ip)
    frame = bytes(Ethernet(src=esrc, dst=edst, type=0x0800, data=ip))
    if i == 0:
        first = frame
t = now()
emit(T0, T1, t, n, {}, problems=craft_problems(first, frame, 0x1234 + n - 1))
