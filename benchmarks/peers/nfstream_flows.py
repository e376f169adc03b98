"""NFStream (a C flow engine): the capture to its flow table as a pandas DataFrame, with
its dissection and statistics off (the flow table alone, as wirecraft.flows builds)."""

import time

T0 = time.perf_counter()
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import args, emit, now  # noqa: E402
from nfstream import NFStreamer  # noqa: E402

T1 = now()
a = args()
frame = NFStreamer(source=a.file, n_dissections=0, statistical_analysis=False).to_pandas()
T2 = now()
packets = int(frame["bidirectional_packets"].sum())
emit(T0, T1, T2, packets, {"connections": len(frame), "in_connections": packets})
