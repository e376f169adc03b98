"""Fuzz target: the pcap and pcapng writers, round trip through wirecraft's reader.

Input: the format (pcap in microseconds or nanoseconds, pcapng), link type, snap length,
flush policy, buffer size, interfaces (pcapng) and whether the file fills up after a
number of bytes (a file object whose write fails with ENOSPC), then packets: data,
timestamp, extra wire length, interface and comment; for pcap also blocks of equal-length
frames written with `write_frames` (the Template path). The file is read back: every
packet the writer counts as written comes back with its bytes (cut to the snap length),
time (to the format's resolution), wire length, link type and comment, and nothing else;
after a write error exactly `packets_written` packets are in the file.
"""

from __future__ import annotations

import errno
import io
import os

from fuzzkit import Input, Output, allowed_warnings

import wirecraft
from wirecraft import CaptureTruncatedWarning
from wirecraft.writers import PcapngWriter, PcapWriter, WriteError

LINKTYPES = (1, 101, 113, 276, 0, 147)
MAX_PACKETS = 64
PCAP_TS_LIMIT = (1 << 32) * 1_000_000_000       # unsigned 32-bit seconds


class FillingFile(io.RawIOBase):
    """A file object that takes `room` bytes and then fails with ENOSPC (a full disk)."""

    def __init__(self, room: int | None) -> None:
        super().__init__()
        self.room = room
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        b = bytes(b)
        if self.room is not None:
            left = self.room - len(self.data)
            if left <= 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            b = b[:left]
        self.data += b
        return len(b)


_SCRATCH: list[str] = []


def _scratch() -> str:
    """A file path in this process's own temporary folder (removed at exit)."""
    if not _SCRATCH:
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="wirecraft-fuzz-")
        atexit.register(shutil.rmtree, folder, True)
        _SCRATCH.append(os.path.join(folder, "out.pcap"))
    return _SCRATCH[0]


def TestOneInput(data: bytes) -> None:
    inp = Input(data)
    head = inp.u8()
    kind = head % 3                     # 0 pcap us, 1 pcap ns, 2 pcapng
    flush = ("packet", "buffer", 0.0, 1.0)[(head >> 2) & 3]
    buffer_size = 1 + inp.u16()
    room = inp.u16() * 4 if head & 0x10 else None
    linktype = LINKTYPES[inp.pick(len(LINKTYPES))]
    snaplen = inp.u16() or 262144
    f = FillingFile(room)
    # a real file (the writer then writes to its descriptor itself) when nothing fails
    target: FillingFile | str = _scratch() if head & 0x40 and room is None else f
    ifaces: list[tuple[int, int]] = []
    try:
        if kind == 2:
            n_if = 1 + inp.pick(3)
            for i in range(n_if):
                ifaces.append((LINKTYPES[(linktype + i) % len(LINKTYPES)] if i else linktype,
                               snaplen if i == 0 else inp.u16()))
            w: PcapWriter | PcapngWriter = PcapngWriter(
                target, interfaces=[(lt, sl, f"if{i}") for i, (lt, sl) in enumerate(ifaces)],
                comment="fuzz" if head & 0x20 else None, flush=flush, buffer_size=buffer_size)
        else:
            ifaces.append((linktype, snaplen))
            w = PcapWriter(target, linktype=linktype, snaplen=snaplen, nanosecond=kind == 1,
                           flush=flush, buffer_size=buffer_size)
    except WriteError:
        assert room is not None          # only a full file fails the header
        return
    sent: list[tuple[bytes, int, int, int, str | None]] = []
    failed = False
    while inp.left() and len(sent) < MAX_PACKETS and not failed:
        op = inp.u8()
        try:
            if kind != 2 and op & 0x80:
                length = 1 + inp.u8()
                count = inp.pick(8)
                frames = inp.take(length * count)
                count = len(frames) // length
                start = inp.u32() * 1_000_000_000 + inp.u32() % 1_000_000_000
                start %= PCAP_TS_LIMIT // 2
                step = inp.u16() * 1000
                for i in range(count):     # counted as sent before the write can fail
                    sent.append((frames[i * length:(i + 1) * length], start + i * step,
                                 length, 0, None))
                w.write_frames(frames, length, start, step, count)
                continue
            frame = inp.blob(4000)
            extra = inp.u8() if op & 1 else 0
            if kind == 2:
                ts = inp.uint(8) % (1 << 63)
                iface = (op >> 1) % len(ifaces)
                comment = inp.blob(64).decode("utf-8", "replace") if op & 0x40 else None
            else:
                ts = inp.uint(8) % PCAP_TS_LIMIT
                iface, comment = 0, None
            sent.append((frame, ts, len(frame) + extra, iface, comment))
            w.write(frame, ts, len(frame) + extra, iface=iface, comment=comment)
        except WriteError:
            failed = True
    try:
        w.close()
    except WriteError:
        failed = True
    if w.error is not None:
        failed = True
    assert failed == (w.error is not None)
    if failed:
        assert room is not None, f"a write failed with room for everything: {w.error}"
        # every packet handed over is on the file or counted lost
        assert w.packets_written + w.packets_lost == len(sent), (
            w.packets_written, w.packets_lost, len(sent))
        sent = sent[:w.packets_written]
        if w.packets_written == 0 and len(f.data) < 24:
            return                       # not even the file header reached the file
    else:
        assert w.packets_written == len(sent), (w.packets_written, len(sent))
    if isinstance(target, str):
        with open(target, "rb") as fh:
            f.data = bytearray(fh.read())
    _check(bytes(f.data), kind, ifaces, sent, failed)


def _check(blob: bytes, kind: int, ifaces: list[tuple[int, int]], sent: list,
           failed: bool) -> None:
    got = []
    try:
        with allowed_warnings(CaptureTruncatedWarning):
            for pkt in wirecraft.read(io.BytesIO(blob)):
                got.append((pkt.data, pkt.time_ns, pkt.wire_len, pkt.linktype, pkt.comment,
                            pkt.problems))
    except wirecraft.CaptureFileError as exc:
        # only a file cut inside its header (or an IDB, when a write failed) cannot be read
        assert failed and not sent, f"the writer's file does not read back: {exc}"
        return
    assert len(got) == len(sent), ("packets read back", len(got), len(sent))
    for i, ((frame, ts, wire, iface, comment), back) in enumerate(zip(sent, got, strict=True)):
        linktype, snaplen = ifaces[iface]
        cap = frame[:snaplen] if snaplen else frame
        want_ts = ts - ts % 1000 if kind == 0 else ts
        want = (cap, want_ts, wire, linktype, comment or None)
        assert back[:5] == want, (i, back[:5], want)
        assert "bad_timestamp" not in back[5], (i, back[5])


def seeds() -> list[bytes]:
    """Each format with a few packets (real frames of the sample captures) and options:
    flush policies, a real file, a file that fills up."""
    from fuzzkit import capture_packets

    frames = [bytes(p.data) for p in capture_packets(limit_per_file=3)][:12]
    out = []
    for head in (0x00, 0x01, 0x02, 0x06, 0x0A, 0x22, 0x12, 0x11, 0x40, 0x42):
        kind = head % 3
        o = Output().u8(head).u16(4096)
        if head & 0x10:
            o.u16(300)                  # room for 1200 bytes
        o.u8(0).u16(0)                  # Ethernet, the default snap length
        if kind == 2:
            o.u8(2).u16(100).u16(0)     # three interfaces
        for i, fr in enumerate(frames):
            op = (i & 1) | ((i % 3) << 1) | (0x40 if kind == 2 and i % 4 == 0 else 0)
            o.u8(op).blob(fr)
            if op & 1:
                o.u8(i)
            o.uint(1_600_000_000_123_456_789 + i * 1_000_001, 8)
            if op & 0x40:
                o.blob(f"comment {i}".encode())
        if kind != 2:                   # three 60-byte frames through write_frames
            o.u8(0x80).u8(59).u8(3).raw((frames[0] * 3)[:180]).u32(1_600_000_000).u32(5)
            o.u16(7)
        out.append(o.bytes())
    return out
