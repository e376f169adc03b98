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


def check(rows) -> Counter:
    """Walk every row, reading status, answers (their text made here) and problems.

    Counts are kept in local ints: collections.Counter defines __delitem__ in Python,
    which sends every `c[k] += 1` through a slow slot (66 ms for this walk over the
    full capture), a cost of the check, not of the table; tcpdump pays nothing like it.
    """
    rows_seen = answered = answers = problems = 0
    for row in rows:
        rows_seen += 1
        if row["status"] == "answered":
            answered += 1
            answers += len(row["answers"] or ())
        problems += len(row["problems"] or ())
    return Counter(rows=rows_seen, dns_transactions=answered, dns_answers=answers,
                   problems=problems)


T1 = now()
a = args()
rows = wirecraft.dns.transactions(a.file)
T2 = now()
c = check(rows)
emit(T0, T1, T2, c["rows"], c)
