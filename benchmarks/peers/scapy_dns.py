"""scapy DNS (on a prefix of the file, scaled): every name, type, TTL and rdata of every message."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import args, emit, now  # noqa: E402
from scapy.all import DNS, UDP, PcapReader  # noqa: E402

T1 = now()
a = args()


def scan(a):
    """The measured loop, in a function so that its variables are fast locals (the
    same for every library: module-level globals would add a dict lookup per use)."""
    c = Counter()
    n = 0
    size = 0
    with PcapReader(a.file) as reader:
        for pkt in reader:
            n += 1
            if UDP in pkt and DNS in pkt:
                msg = pkt[DNS]
                c["dns_messages"] += 1
                questions = [(q.qname, q.qtype, q.qclass) for q in (msg.qd or [])]
                records = []
                for section in (msg.an, msg.ns, msg.ar):
                    for rr in section or []:
                        records.append([getattr(rr, f.name) for f in rr.fields_desc])
                size += len(records) + len(questions)
            if a.limit and n >= a.limit:
                break
    return n, c, size


n, c, size = scan(a)
c["packets"] = n
emit(T0, T1, now(), c["dns_messages"], c, records=size)
