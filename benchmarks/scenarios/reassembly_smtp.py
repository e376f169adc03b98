"""Reassembly and SMTP throughput on the SMTP capture: streams(), then transactions with and without MIME.

Run: PYTHONPATH=src .venv/bin/python benchmarks/scenarios/reassembly_smtp.py benchmarks/data/full/smtp.pcap
(the capture comes from `benchmarks/generate.py`, 3,000 sessions; best of 3 after a warm read).
"""

import os
import sys
import time

import wirecraft

path = sys.argv[1]
size = os.path.getsize(path) / 1e6
list(wirecraft.read(path))  # warm
for name, fn in [("streams()", lambda: sum(1 for _ in wirecraft.streams(path))),
                 ("smtp.transactions(mime=False)", lambda: len(wirecraft.smtp.transactions(path, mime=False))),
                 ("smtp.transactions()", lambda: len(wirecraft.smtp.transactions(path)))]:
    best = None
    for _ in range(3):
        t = time.perf_counter()
        n = fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    print(f"{name:32s} {n:6d} items  {best:.3f} s  {size/best:7.1f} MB/s  {3000/best:8.0f} sessions/s")
