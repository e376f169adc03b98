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
    from wirecraft.craft.template import Counter, Template
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
    # The DNS id, the query name (256 names of the same encoded length) and the IPv4 id vary,
    # checksums updated incrementally; frame 0 carries the reference id and name.
    t = Template(Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
                 / IPv4(src="10.0.0.1", dst="10.0.0.2", id=7, ttl=64)
                 / UDP(src_port=5353, dst_port=53)
                 / DNS.query("www.example.com", "A", id=0x1234))
    t.vary("dns.id", Counter(0x1234))
    names = ["www.example.com"] + [f"h{i:02x}.example.com" for i in range(1, 256)]
    t.vary("dns.name", names)
    t.vary("ipv4.id", Counter(7))
    fl = t.frame_length
    if a.mode == "template":
        block = 65536
        done = 0
        first = last = b""
        while done < n:
            k = min(block, n - done)
            buf = t.batch(k, done)
            if done == 0:
                first = bytes(buf[:fl])
            done += k
        last = bytes(buf[-fl:])
        T2 = now()
    else:
        written = t.write(a.out, n)
        T2 = now()
        with open(a.out, "rb") as f:
            head = f.read(24 + 16 + fl)
            first = head[40:]
            f.seek(-fl, 2)
            last = f.read(fl)
        size = Path(a.out).stat().st_size
        Path(a.out).unlink()
        if written != n or size != 24 + n * (16 + fl):
            raise SystemExit(f"wrote {written} frames, {size} bytes; expected {n}")
    last_name = names[(n - 1) % len(names)].split(".")
    probs = craft_problems(first, last, 0x1234 + n - 1,
                           b"".join(bytes([len(p)]) + p.encode() for p in last_name))
    if int.from_bytes(last[18:20], "big") != (7 + n - 1) & 0xFFFF:
        probs.append("last frame: IPv4 id did not vary")
    emit(T0, T1, T2, n, {}, problems=probs)
