"""wirecraft's file tools on the benchmark capture: convert (to pcapng, or pcap to pcap),
merge (two captures, in timestamp order) and slice (the first half, by packet number),
timed after the imports; the frames written are the count run.py checks."""

import time

T0 = time.perf_counter()
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy  # noqa: E402, F401 - imported now, not inside the timed work
from common import args, emit, now  # noqa: E402

import wirecraft.capture  # noqa: E402, F401
import wirecraft.table  # noqa: E402, F401
from wirecraft import filetools  # noqa: E402

T1 = now()
a = args([("--op", {"choices": ["convert", "convert-pcap", "merge", "slice"],
                    "required": True}),
          ("--out", {"required": True}), ("--second", {"default": None}),
          ("--last", {"type": int, "default": 0})])
if a.op == "convert":
    result = filetools.convert(a.file, a.out, pcapng=True)
elif a.op == "convert-pcap":
    result = filetools.convert(a.file, a.out, pcapng=False)
elif a.op == "merge":
    result = filetools.merge([a.file, a.second], a.out)
else:
    result = filetools.slice(a.file, a.out, first=1, last=a.last)
T2 = now()
written = int(result["frames_written"])
size = os.path.getsize(a.out)
os.unlink(a.out)          # the outputs are as large as the inputs: do not keep them
emit(T0, T1, T2, written, {"packets": written}, mb=size / 1e6)
