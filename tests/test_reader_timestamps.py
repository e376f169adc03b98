"""Exact timestamps (issue 11, item 12).

pcap: a sub-second field of 10^6 us (10^9 ns) or more is invalid; like tcpdump's
"[bad usec]" the packet is flagged `bad_timestamp` and its time is the seconds field
alone (the fraction is not carried into the seconds).  pcapng: time units of every
if_tsresol (10^-0 .. 10^-127 and 2^-0 .. 2^-127) are converted exactly (floor) for every
64-bit count, if_tsoffset is added, and a time outside int64 nanoseconds is saturated
and flagged `timestamp_out_of_range`.  The expected values are computed with Python
integers, independently of the reader.
"""

from __future__ import annotations

import struct

import pytest

import wirecraft

from pcapbuild import epb, idb, shb, udp_frame

INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)
FRAME = udp_frame(b"t")


def pcap_records(recs: list[tuple[int, int]], nano: bool, e: str) -> bytes:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)]
    for sec, frac in recs:
        out.append(struct.pack(e + "IIII", sec, frac, len(FRAME), len(FRAME)) + FRAME)
    return b"".join(out)


@pytest.mark.parametrize("e", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_fraction_out_of_range_is_flagged_not_carried(tmp_path, e, nano) -> None:
    one = 10**9 if nano else 10**6
    fracs = [0, one - 1, one, one + 1, 2_147_000_000, 0xFFFFFFFF]
    recs = [(1_700_000_000 + i, f) for i, f in enumerate(fracs)]
    p = tmp_path / "t.pcap"
    p.write_bytes(pcap_records(recs, nano, e))
    with wirecraft.open(p) as cap:
        pkts = list(cap)
        bad = cap.stats["bad_timestamps"]
    unit = 1 if nano else 1000
    for (sec, frac), pkt in zip(recs, pkts, strict=True):
        if frac < one:
            assert pkt.time_ns == sec * 10**9 + frac * unit and pkt.problems == []
        else:
            assert pkt.time_ns == sec * 10**9
            assert pkt.problems == ["bad_timestamp"]
    assert bad == sum(1 for f in fracs if f >= one)
    with wirecraft.open(p) as cap:
        table = cap.table()
    flagged = [(int(a) & (1 << 28)) != 0 for a in table["anomalies"].tolist()]
    assert flagged == [f >= one for f in fracs]


def expected_ns(t: int, tsresol: int, offset_s: int) -> tuple[int, bool]:
    if tsresol & 0x80:
        ns = t * 10**9 >> (tsresol & 0x7F)
    else:
        ns = t * 10**9 // 10**tsresol
    ns += offset_s * 10**9
    if ns > INT64_MAX:
        return INT64_MAX, True
    if ns < INT64_MIN:
        return INT64_MIN, True
    return ns, False


UNITS = [0, 1, 999, 10**9 + 7, 1_700_000_000_123_456_789, 1 << 62, (1 << 63) + 12345,
         (1 << 64) - 1]


@pytest.mark.parametrize("e", ["<", ">"])
@pytest.mark.parametrize("binary", [False, True])
def test_pcapng_every_resolution_is_exact(tmp_path, e, binary) -> None:
    resols = [(0x80 | n) if binary else n for n in range(128)]
    blocks = [shb(e)]
    for r in resols:
        blocks.append(idb(1, tsresol=r, e=e))
    want = []
    for i, r in enumerate(resols):
        for t in UNITS:
            blocks.append(epb(i, t, FRAME, e=e))
            want.append(expected_ns(t, r, 0))
    p = tmp_path / "r.pcapng"
    p.write_bytes(b"".join(blocks))
    got = [(pkt.time_ns, pkt.problems == ["timestamp_out_of_range"]) for pkt in wirecraft.read(p)]
    assert got == want


def test_the_issue_examples(tmp_path) -> None:
    p = tmp_path / "x.pcapng"
    p.write_bytes(shb() + idb(1, tsresol=19) + epb(0, (1 << 64) - 1, FRAME)
                  + idb(1, tsoffset=10**10) + epb(1, 5, FRAME))
    a, b = wirecraft.read(p)
    assert a.time_ns == 1_844_674_407 and a.problems == []        # 1.84 s, not 18.4 s
    assert b.time_ns == INT64_MAX and b.problems == ["timestamp_out_of_range"]


@pytest.mark.parametrize("e", ["<", ">"])
def test_pcapng_offsets_are_added_without_wrapping(tmp_path, e) -> None:
    offsets = [0, 1, -1, 10**10, -(10**10), 9_223_372_036, -9_223_372_036, 9_223_372_037,
               -9_223_372_037, INT64_MAX, INT64_MIN, 1_700_000_000]
    blocks = [shb(e)]
    want = []
    for off in offsets:
        blocks.append(idb(1, tsresol=9, tsoffset=off, e=e))
    for i, off in enumerate(offsets):
        for t in (0, 854_775_807, 10**18, (1 << 64) - 1):
            blocks.append(epb(i, t, FRAME, e=e))
            want.append(expected_ns(t, 9, off))
    p = tmp_path / "o.pcapng"
    p.write_bytes(b"".join(blocks))
    with wirecraft.open(p) as cap:
        got = [(pkt.time_ns, pkt.problems == ["timestamp_out_of_range"]) for pkt in cap]
        assert cap.stats["bad_timestamps"] == sum(flag for _, flag in want)
        assert [i["ts_offset"] for i in cap.interfaces] == offsets
    assert got == want


def test_time_of_real_pcapng_unchanged(captures_dir) -> None:
    """A real file with a far-future time still reads the same (no false flags)."""
    pkts = list(wirecraft.read(captures_dir / "tcpdump__time_2107.pcapng"))
    assert pkts and all("timestamp_out_of_range" not in p.problems for p in pkts)
