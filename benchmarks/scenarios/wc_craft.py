"""wirecraft crafting: the DNS query frame of issue 6 from layers, and templates (to a pcap too)."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import argparse  # noqa: E402

from common import craft_problems, emit, now  # noqa: E402

import wirecraft  # noqa: E402, F401
from wirecraft.craft import DNS, UDP, Ethernet, IPv4  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--mode", choices=["layers", "template", "template-pcap"], default="layers")
ap.add_argument("-n", type=int, default=100000)
ap.add_argument("--out", default=None)
a = ap.parse_args()
n = a.n
if a.mode != "layers":
    from wirecraft.craft.template import Template  # noqa: F401
T1 = now()


def layers_frame(ident: int, name: str = "www.example.com") -> bytes:
    return bytes(Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / IPv4(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=64)
                 / UDP(src_port=5353, dst_port=53)
                 / DNS.query(name, "A", id=ident & 0xFFFF))


if a.mode == "layers":
    first = frame = b""
    for i in range(n):
        frame = layers_frame(0x1234 + i)
        if i == 0:
            first = frame
    emit(T0, T1, now(), n, {}, problems=craft_problems(first, frame, 0x1234 + n - 1))
else:
    raise SystemExit("templates: scenario not written yet for this API")
