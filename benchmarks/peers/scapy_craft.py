"""scapy crafting: the DNS query frame of issue 6 built from layers and serialized, N times."""

import time

T0 = time.perf_counter()
import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import craft_problems, emit, now  # noqa: E402
from scapy.all import DNS, DNSQR, IP, UDP, Ether  # noqa: E402

T1 = now()
ap = argparse.ArgumentParser()
ap.add_argument("-n", type=int, default=5000)
n = ap.parse_args().n
first = frame = b""
for i in range(n):
    frame = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                  / IP(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=64, flags=0)
                  / UDP(sport=5353, dport=53)
                  / DNS(id=(0x1234 + i) & 0xFFFF, rd=1,
                        qd=DNSQR(qname="www.example.com", qtype="A")))
    if i == 0:
        first = frame
emit(T0, T1, now(), n, {}, problems=craft_problems(first, frame, 0x1234 + n - 1))
