"""wirecraft per-packet: Packet views, ip.src/ip.dst as text and ports of every packet."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import args, emit, now  # noqa: E402
from views_loop import count_views  # noqa: E402

import wirecraft  # noqa: E402
import wirecraft.capture  # noqa: E402, F401 - import the core now, not inside the timed work

T1 = now()
a = args()
n, c, digest = count_views(wirecraft.read(a.file))
c["packets"] = n
emit(T0, T1, now(), n, c, digest=digest)
