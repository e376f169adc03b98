"""Fuzz target: arbitrary bytes as a pcap, pcapng or gzip-compressed capture file.

The file is read from memory (io.BytesIO) three ways: packet iteration, batches and
`table()`, with the per-packet views touched and the bounds invariant checked
(tests/decodecheck.py). Allowed outcomes: packets, a `CaptureFileError` (path, offset,
reason), and the reader's warnings (`CaptureWarning` and its kinds: truncated, damaged,
limits). Anything else is a bug, and so is a disagreement between the three ways about
how many packets the file holds.
"""

from __future__ import annotations

import gzip
import io

from decodecheck import check_bounds
from fuzzkit import Input, Output, allowed_warnings, capture_paths

import wirecraft
from wirecraft import CaptureFileError, CaptureWarning

MAX_FILE = 1 << 16      # seeds are cut to this many bytes: mutations stay fast


def _iterate(data: bytes) -> int | None:
    """Packets in the file by iteration, or None when it is no capture at all."""
    n = 0
    try:
        for pkt in wirecraft.read(io.BytesIO(data)):
            check_bounds(pkt)
            pkt.summary()
            _ = pkt.problems, pkt.comment, pkt.interface, pkt.time_ns, pkt.wire_len
            n += 1
    except CaptureFileError as exc:
        if n:
            raise AssertionError(f"errors='warn' raised after {n} packets: {exc}") from None
        assert exc.reason and exc.offset >= 0
        return None
    return n


def _batches(data: bytes, size: int) -> int | None:
    try:
        with wirecraft.open(io.BytesIO(data), batch_size=size) as cap:
            n = sum(len(t) for t in cap.batches())
            assert cap.stats["packets_read"] >= n
            return n
    except CaptureFileError as exc:
        assert exc.reason and exc.offset >= 0
        return None


def _table(data: bytes, errors: str) -> int | None:
    try:
        t = wirecraft.open(io.BytesIO(data), errors=errors).table()
    except CaptureFileError as exc:
        assert exc.reason and exc.offset >= 0
        if exc.table is not None:      # errors="raise" after good packets: the rows are kept
            return len(exc.table)  # type: ignore[arg-type]
        return None
    return len(t)


def TestOneInput(data: bytes) -> None:
    inp = Input(data)
    size = 1 + inp.pick(8)          # batch size 1..8: batch boundaries land everywhere
    body = inp.rest()
    with allowed_warnings(CaptureWarning):
        n_iter = _iterate(body)
        n_batches = _batches(body, size)
        n_table = _table(body, "warn")
        n_raise = _table(body, "raise")
    # the three ways agree on what the file holds; "raise" keeps the rows before damage
    assert n_iter == n_batches == n_table, (n_iter, n_batches, n_table)
    assert n_raise == n_table, (n_raise, n_table)


def seeds() -> list[bytes]:
    """Every sample capture (cut to MAX_FILE), one gzip-compressed, and the pcap/pcapng
    variants tests/pcapbuild.py makes (both byte orders, nanoseconds, every block type)."""
    import pcapbuild as pb

    out = []
    for path in capture_paths():
        data = path.read_bytes()[:MAX_FILE]
        out.append(Output().u8(0).raw(data).bytes())
    small = min((p.read_bytes() for p in capture_paths()), key=len)
    out.append(Output().u8(3).raw(gzip.compress(small)).bytes())
    frame = pb.udp_frame(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x00\x00\x01\x00\x01")
    for big in (False, True):
        for nano in (False, True):
            out.append(Output().u8(1).raw(pb.pcap([(1, frame), (2, frame, 1500)],
                                                  big_endian=big, nano=nano)).bytes())
    for e in ("<", ">"):
        out.append(Output().u8(2).raw(
            pb.shb(e, comment="fuzz") + pb.idb(1, tsresol=9, name="eth0", e=e)
            + pb.idb(101, tsresol=0x83, tsoffset=5, e=e)
            + pb.epb(0, 7, frame, comment="c", e=e) + pb.spb(frame, e=e)
            + pb.opb(1, 9, frame[14:], e=e)).bytes())
    return out
