"""wirecraft SMTP: the capture to the transaction table (reassembly + SMTP + email parsing)."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import args, emit, now  # noqa: E402

import wirecraft  # noqa: E402
import wirecraft.capture  # noqa: E402, F401 - import the core now, not inside the timed work
import wirecraft.smtp  # noqa: E402

T1 = now()
a = args()
rows = wirecraft.smtp.transactions(a.file)
T2 = now()
c = Counter()
sessions = set()
for row in rows:
    c["smtp_messages"] += 1
    sessions.add((row["client"], row["client_port"], row["server"], row["server_port"]))
    c["smtp_recipients"] += len(row.get("rcpt_to") or ())
c["smtp_sessions"] = len(sessions)
size = Path(a.file).stat().st_size
emit(T0, T1, T2, c["smtp_messages"], c, mb=size / 1e6)
