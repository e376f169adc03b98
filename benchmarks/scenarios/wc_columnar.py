"""wirecraft columnar decode: file -> Table (or streamed Tables), per-protocol counts from columns."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402
from common import args, emit, now  # noqa: E402

import wirecraft  # noqa: E402
import wirecraft.capture  # noqa: E402, F401 - import the core now, not inside the timed work
import wirecraft.table  # noqa: E402, F401

LAYERS = ("vlan", "arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6")


def count(t, c: Counter) -> None:
    """Per-protocol counts of one Table, as the manifest defines them."""
    c["packets"] += len(t)
    for name in LAYERS:
        c[name] += int(np.count_nonzero(t[f"has_{name}"]))
    sp, dp = t["l4_src_port"], t["l4_dst_port"]
    c["tcp_port_25"] += int(np.count_nonzero(t["has_tcp"] & ((sp == 25) | (dp == 25))))
    c["dns_messages"] += int(np.count_nonzero(t["has_udp"] & ((sp == 53) | (dp == 53))))


T1 = now()
a = args([("--mode", {"choices": ["table", "batches"], "default": "table"}),
          ("--filter", {"default": None}), ("--batch", {"type": int, "default": 0})])
c = Counter()
with wirecraft.open(a.file, filter=a.filter) as cap:
    if a.mode == "table":
        table = cap.table()
        t_decoded = now()
        count(table, c)
        columns = len(table.columns)
    else:
        columns = 0
        t_decoded = 0.0
        for table in cap.batches(a.batch or None):
            count(table, c)
            columns = len(table.columns)
T2 = now()
if a.filter:  # the filtered count is checked against the manifest as "packets"
    c = Counter({"packets": c["packets"]})
emit(T0, T1, T2, c["packets"], c, columns=columns,
     decode_s=(t_decoded - T1) if t_decoded else None)
