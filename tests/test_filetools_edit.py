"""wirecraft slice, shift and dedup against editcap (-r, -A/-B, -t, -d/-D) and tshark -Y -w
on the sample captures: the same frames, original lengths and timestamps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import wirecraft
from wirecraft.filetools import dedup, shift, slice
from wirecraft.writers import PcapWriter

from conftest import require_tool

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
CASES = ["zeek__smtp.pcap", "tcpdump__tcp-handshake-nano.pcap", "zeek__linux_dlt_sll2.pcap",
         "zeek__pcapng-multi-interface.pcapng", "zeek__http-vlan-0.pcap"]
ENV = {**os.environ, "PYTHONPATH": str(Path(wirecraft.__file__).resolve().parent.parent)}



def _frames(path: Path) -> list[tuple[int, int, bytes]]:
    return [(p.time_ns, p.wire_len, bytes(p.data)) for p in wirecraft.open(path)]


def _editcap(*args: str) -> None:
    subprocess.run([require_tool("editcap"), *args], check=True, capture_output=True)


@pytest.mark.parametrize("name", CASES)
def test_slice_by_number_matches_editcap_r(tmp_path: Path, name: str) -> None:
    src, ours, theirs = CAPTURES / name, tmp_path / "ours", tmp_path / "theirs"
    n = len(_frames(src))
    first, last = max(1, n // 4), max(1, n // 2)
    counts = slice(src, ours, first=first, last=last)
    _editcap("-r", str(src), str(theirs), f"{first}-{last}")
    assert _frames(ours) == _frames(theirs)
    assert counts["frames_written"] == last - first + 1
    assert wirecraft.open(ours).format == wirecraft.open(src).format


@pytest.mark.parametrize("name", CASES)
def test_slice_by_time_matches_editcap_a_b(tmp_path: Path, name: str) -> None:
    src, ours, theirs = CAPTURES / name, tmp_path / "ours", tmp_path / "theirs"
    times = sorted(t for t, _, _ in _frames(src))
    lo, hi = times[len(times) // 3], times[2 * len(times) // 3]
    slice(src, ours, start_ns=lo, stop_ns=hi)
    # editcap reads -A/-B as epoch seconds with up to nanosecond digits
    _editcap("-A", f"{lo // 10**9}.{lo % 10**9:09d}", "-B", f"{hi // 10**9}.{hi % 10**9:09d}",
             str(src), str(theirs))
    assert _frames(ours) == _frames(theirs)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("seconds", ["-1.5", "3600.000000001"])
def test_shift_matches_editcap_t(tmp_path: Path, name: str, seconds: str) -> None:
    src, ours, theirs = CAPTURES / name, tmp_path / "ours", tmp_path / "theirs"
    shift(src, ours, seconds)
    _editcap("-t", seconds, str(src), str(theirs))
    got, want = _frames(ours), _frames(theirs)
    # editcap keeps a microsecond input's resolution, so its shift is cut to the
    # microsecond; wirecraft keeps the nanosecond (pcapng; for pcap the input's)
    assert [(w, d) for _, w, d in got] == [(w, d) for _, w, d in want]
    cap = wirecraft.open(src)
    ifaces = [p.iface for p in cap]          # (pcapng interfaces are known once read)
    ns = [cap.interfaces[i]["ts_resolution"] == "ns" for i in ifaces]
    for (t1, _, _), (t2, _, _), exact in zip(got, want, ns, strict=True):
        assert abs(t1 - t2) < (1 if exact else 1000)


def _with_duplicates(path: Path) -> Path:
    """A capture where frames repeat at distances 1, 3 and 8 (only the first two inside
    editcap -d's window of five)."""
    frames = [(p.time_ns, bytes(p.data), p.wire_len) for p in
              wirecraft.open(CAPTURES / "zeek__smtp.pcap")][:40]
    out = []
    for i, (t, data, wire) in enumerate(frames):
        out.append((t, data, wire))
        if i % 5 == 0:
            out.append((t + 1000, data, wire))                      # distance 1
        if i % 7 == 3 and i >= 3:
            out.append((t + 2000, frames[i - 2][1], frames[i - 2][2]))   # distance 3
        if i % 11 == 9:
            out.append((t + 3000, frames[i - 8][1], frames[i - 8][2]))   # distance 9+
    with PcapWriter(path, linktype=1, nanosecond=True) as w:
        for t, data, wire in out:
            w.write(data, t, wire)
    return path


@pytest.mark.parametrize("window", [5, 2, 12])
def test_dedup_matches_editcap(tmp_path: Path, window: int) -> None:
    src = _with_duplicates(tmp_path / "dups.pcap")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    counts = dedup(src, ours, window=window)
    _editcap("-D", str(window), str(src), str(theirs))
    assert _frames(ours) == _frames(theirs)
    assert counts["duplicates"] == counts["frames_read"] - len(_frames(theirs)) > 0


# (not fields an ICMP error quotes: tshark matches those inside the quote too)
@pytest.mark.parametrize("expr", ["tcp.flags.syn == 1", "frame.len < 80", "frame.len > 100"])
def test_slice_by_display_filter_matches_tshark(tmp_path: Path, expr: str) -> None:
    src, ours, theirs = CAPTURES / "zeek__smtp.pcap", tmp_path / "ours", tmp_path / "theirs"
    slice(src, ours, where=expr)
    subprocess.run([require_tool("tshark"), "-r", str(src), "-Y", expr, "-F", "pcap", "-w",
                    str(theirs)], check=True, capture_output=True)
    assert _frames(ours) == _frames(theirs)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wirecraft", *args], capture_output=True,
                          text=True, env=ENV, timeout=60)


def test_cli_commands_and_errors(tmp_path: Path) -> None:
    src = CAPTURES / "zeek__smtp.pcap"
    r = _cli("slice", str(src), "-o", str(tmp_path / "a.pcap"), "-r", "2-4")
    assert r.returncode == 0 and "3 frames written" in r.stderr, r.stderr
    r = _cli("shift", str(src), "-2.5", "-o", str(tmp_path / "b.pcap"))
    assert r.returncode == 0, r.stderr
    r = _cli("dedup", str(src), "-o", str(tmp_path / "c.pcap"))
    assert r.returncode == 0 and "0 duplicates dropped" in r.stderr, r.stderr
    for bad in (["slice", str(src), "-o", str(tmp_path / "x"), "-r", "9-3"],
                ["slice", str(src), "-o", str(tmp_path / "x"), "--from", "yesterday"],
                ["shift", str(src), "soon", "-o", str(tmp_path / "x")],
                ["dedup", str(tmp_path / "missing.pcap"), "-o", str(tmp_path / "x")],
                ["slice", str(src), "-o", str(tmp_path / "x"), "-Y", "tcp.port =="]):
        r = _cli(*bad)
        assert r.returncode == 2, (bad, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("wirecraft"), (
            bad, r.stderr)
