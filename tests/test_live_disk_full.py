"""`wirecraft sniff -w` onto a disk that fills up, for real (namespaces, veth, small tmpfs).

The capture must end by itself with one clear line naming the file and the
errno (no traceback), and leave files that end on whole records and hold every
packet up to the error, in order: wirecraft and tshark read them cleanly.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_live import wait_line
from test_writers import _tshark_clean, small_tmpfs

import wirecraft

from conftest import WIRECRAFT_PATH, require_tool
from netns import VethPair

pytestmark = pytest.mark.live

PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": WIRECRAFT_PATH + os.pathsep + os.environ.get("PYTHONPATH", "")}

SENDER = r"""
import socket, sys, time
dst, n, size, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start = time.monotonic()
for i in range(n):
    s.sendto(i.to_bytes(4, "big") + bytes(max(size - 4, 0)), (dst, 9999))
    delay = start + (i + 1) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""


@pytest.mark.slow
@pytest.mark.parametrize("args", [[], ["--workers", "2"], ["-C", "0.02"]],
                         ids=["plain", "workers", "rotating"])
def test_sniff_onto_a_full_disk_stops_with_one_clear_error(args: list[str]) -> None:
    require_tool("tshark")
    with small_tmpfs("96k") as mnt, VethPair() as pair:
        out = mnt / "cap.pcap"
        proc = pair.popen("b", [PY, "-m", "wirecraft.cli", "sniff", "-i", pair.iface_b,
                                "-f", "udp port 9999", "-w", str(out), *args],
                          env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_line(proc, "listening on")
            # 3000 x 300 bytes: ten times what the file system holds
            sender = pair.popen("a", [PY, "-c", SENDER, pair.addr_b, "3000", "300", "3000"])
            sender.wait(timeout=60)
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
                raise AssertionError(f"sniff did not stop on a full disk: {err}") from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        assert proc.returncode == 1, err
        assert "Traceback" not in err, err
        lines = [x for x in err.splitlines() if "write failed" in x]
        assert len(lines) == 1, err
        assert str(mnt) in lines[0] and "ENOSPC" in lines[0]
        files = sorted(p for p in mnt.iterdir())
        assert files, "no capture file left"
        seqs: list[int] = []
        for f in sorted(files, key=lambda p: (len(p.name), p.name)):  # cap.pcap, cap.pcap1..
            pkts = list(wirecraft.read(f))
            _tshark_clean(f)
            seqs += [int.from_bytes(p.payload[:4], "big") for p in pkts]
            raw = f.read_bytes()
            assert len(raw) == 24 + sum(16 + p.caplen for p in pkts)  # whole records only
        assert len(seqs) > 50
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        if "--workers" not in args:  # one reader: nothing is missing before the error
            assert seqs == list(range(len(seqs)))
