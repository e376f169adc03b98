"""wirecraft DNS: the capture to the transaction table (every message decoded and paired)."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import args, emit, now  # noqa: E402

import wirecraft  # noqa: E402
import wirecraft.capture  # noqa: E402, F401 - import the core now, not inside the timed work
import wirecraft.dns  # noqa: E402

T1 = now()
a = args()
rows = wirecraft.dns.transactions(a.file)
T2 = now()
c = Counter()
for row in rows:
    c["rows"] += 1
    if row["status"] == "answered":
        c["dns_transactions"] += 1
        c["dns_answers"] += len(row["answers"] or ())
    c["problems"] += len(row["problems"] or ())
emit(T0, T1, T2, c["rows"], c)
