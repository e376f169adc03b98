"""Fuzz target: random TCP segment streams into the reassembler (`wirecraft._reassembly`).

Input: a caps byte (which caps are small, and whether copies of a range may carry
different bytes), a sequence base per direction, then segments: connection (four
endpoint pairs, IPv4 and IPv6) and direction, TCP flags, sequence and acknowledgment
numbers (relative to the bases, or any 32-bit value), payload length and time step.

Payload bytes are a function of the sequence number (a fixed pseudo-random pattern
indexed modulo 2**32), so every copy of a range agrees unless the input asks for
conflicting copies. Checked on every event: each delivered byte is the byte its
sequence number carries, deliveries and gaps are never empty and tile the stream in
order (the running offset equals the direction's `next_off`), nothing at or after a
FIN is delivered, memory stays under the caps; after `flush()` nothing is held.

Termination: the number of events is bounded by the bytes and segments fed, and the
input must finish within a wall-clock budget checked at every event and segment; a loop
that never returns to Python is caught by the fuzzer's own per-input timeout (and by the
regression test's forked child).
"""

from __future__ import annotations

import random
import time

from fuzzkit import SLACK, Input, Output, capture_packets

from wirecraft import _ext

_reassembly = _ext.load("_reassembly")

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
PATTERN_LEN = 65521                # prime: a shifted copy never lines up with itself
PATTERN = random.Random(14).randbytes(PATTERN_LEN)
PATTERN2 = PATTERN * 2
OTHER = random.Random(41).randbytes(PATTERN_LEN) * 2     # the conflicting copies' bytes
MAX_SEGMENTS = 600
BUDGET_S = 3.0 * SLACK
ENDPOINTS = (
    (4, bytes([10, 0, 0, 1]), 40000, bytes([10, 0, 0, 2]), 25),
    (4, bytes([10, 0, 0, 1]), 40001, bytes([10, 0, 0, 2]), 53),
    (4, bytes([10, 0, 0, 3]), 80, bytes([10, 0, 0, 4]), 51000),
    (6, bytes(15) + b"\x01", 40002, bytes(15) + b"\x02", 587),
)


def payload_at(seq: int, n: int, pattern: bytes = PATTERN2) -> bytes:
    """The n bytes that sequence numbers seq, seq+1, ... (mod 2**32) carry."""
    out = []
    while n:
        s = seq % (1 << 32)
        run = min(n, (1 << 32) - s, PATTERN_LEN)     # up to the wrap, a pattern's length
        start = s % PATTERN_LEN
        out.append(pattern[start:start + run])
        n -= run
        seq = s + run
    return b"".join(out)


class Checker:
    """The reassembler's callbacks, checking every event as it comes."""

    def __init__(self, core_caps: dict, conflicts: bool, deadline: float) -> None:
        self.conflicts = conflicts
        self.deadline = deadline
        self.pos: dict[tuple[int, int], int] = {}
        self.events = 0
        self.limit = 64
        self.closed: list[int] = []
        self.opened = 0
        self.caps = core_caps

    def _tick(self) -> None:
        self.events += 1
        if self.events > self.limit:
            raise AssertionError(f"{self.events} events for input that allows {self.limit}: "
                                 "a reassembly loop that does not advance")
        if time.monotonic() > self.deadline:
            raise AssertionError("reassembly ran past its time budget (livelock?)")

    def on_open(self, conn) -> None:
        self._tick()
        self.opened += 1

    def on_data(self, conn, d: int, data: bytes) -> None:
        self._tick()
        h = conn.c2s if d == 0 else conn.s2c
        assert data, "empty delivery"
        key = (conn.index, d)
        pos = self.pos.get(key, 0) + len(data)
        self.pos[key] = pos
        assert pos == h.next_off, ("deliveries and gaps do not tile the stream", pos,
                                   h.next_off)
        assert h.fin_off < 0 or h.next_off <= h.fin_off, ("delivered past the FIN",
                                                          h.next_off, h.fin_off)
        if not self.conflicts:
            want = payload_at(h.next_seq - len(data), len(data))
            assert data == want, ("delivered bytes are not the ones their sequence numbers "
                                  "carried", conn.index, d, h.next_off - len(data))

    def on_gap(self, conn, d: int, size: int) -> None:
        self._tick()
        h = conn.c2s if d == 0 else conn.s2c
        assert size > 0, ("empty gap", size)
        key = (conn.index, d)
        pos = self.pos.get(key, 0) + size
        self.pos[key] = pos
        assert pos == h.next_off, ("deliveries and gaps do not tile the stream", pos,
                                   h.next_off)
        assert h.fin_off < 0 or h.next_off <= h.fin_off, ("gap past the FIN", h.next_off,
                                                          h.fin_off)

    def on_close(self, conn) -> None:
        self._tick()
        assert conn.index not in self.closed, ("closed twice", conn.index)
        self.closed.append(conn.index)
        for d, h in ((0, conn.c2s), (1, conn.s2c)):
            assert self.pos.get((conn.index, d), 0) == h.next_off
            assert h.delivered + h.gap_bytes == h.next_off, (h.delivered, h.gap_bytes,
                                                             h.next_off)
        if not self.conflicts:
            assert "overlap_conflict" not in conn.flags


def _caps(inp: Input) -> tuple[dict, bool]:
    b = inp.u8()
    caps: dict = {}
    if b & 1:
        caps["max_ooo_per_direction"] = inp.u16() % 8000
    if b & 2:
        caps["max_buffered"] = inp.u16() % 12000
    if b & 4:
        caps["history"] = inp.u16() % 3000
    if b & 8:
        caps["max_connections"] = 1 + inp.u8() % 3
    if b & 16:
        caps["max_window"] = 1 + inp.u16() * 4
    if b & 32:
        caps["idle_timeout"] = inp.u8() / 10
    return caps, bool(b & 64)


def TestOneInput(data: bytes) -> None:
    deadline = time.monotonic() + BUDGET_S
    inp = Input(data)
    caps, conflicts = _caps(inp)
    bases = (inp.u32(), inp.u32())
    chk = Checker(caps, conflicts, deadline)
    core = _reassembly.Core(chk.on_open, chk.on_data, chk.on_gap, chk.on_close, **caps)
    max_buffered = core.max_buffered
    max_ooo = core.max_ooo_per_direction
    now = 0
    fed = segments = 0
    while inp.left() and segments < MAX_SEGMENTS:
        op = inp.u8()
        flags = inp.u8() & 0x3F
        which = (op >> 1) & 3
        d = op & 1
        version, a, ap, b, bp = ENDPOINTS[which]
        src, sport, dst, dport = (a, ap, b, bp) if d == 0 else (b, bp, a, ap)
        if op & 8:
            seq = inp.u32()
        else:
            seq = (bases[d] + (inp.u16() - 0x100)) % (1 << 32)
        if op & 16:
            ack = inp.u32()
        else:
            ack = (bases[1 - d] + (inp.u16() - 0x100)) % (1 << 32)
        n = inp.u16() % 1461
        now += inp.u8() * 10_000_000
        pattern = OTHER if conflicts and op & 32 else PATTERN2
        # a SYN takes the first sequence number: its data starts at the next one
        payload = payload_at(seq + 1 if flags & SYN else seq, n, pattern)
        segments += 1
        fed += n
        chk.limit = 64 + 4 * segments + fed
        core.segment(version, src, dst, sport, dport, seq, ack, flags, payload, now)
        chk._tick()
        assert core.buffered <= max_buffered, (core.buffered, max_buffered)
        for conn in core.table.values():
            assert conn.c2s.ooo_bytes <= max_ooo and conn.s2c.ooo_bytes <= max_ooo
    core.flush()
    assert core.buffered == 0 and len(core) == 0, (core.buffered, len(core))
    assert len(chk.closed) == chk.opened, (len(chk.closed), chk.opened)


def encode(segments: list[tuple[int, int, int, int, int, int, int]], bases: tuple[int, int],
           caps: bytes = b"\0") -> bytes:
    """An input for segments (connection, direction, flags, seq, ack, length, time step),
    seq and ack absolute; relative encoding is used where they are near the bases."""
    out = Output().raw(caps).u32(bases[0]).u32(bases[1])
    for which, d, flags, seq, ack, n, step in segments:
        rs = (seq - bases[d] + 0x100) % (1 << 32)
        ra = (ack - bases[1 - d] + 0x100) % (1 << 32)
        op = d | which << 1 | (8 if rs > 0xFFFF else 0) | (16 if ra > 0xFFFF else 0)
        out.u8(op).u8(flags)
        out.u32(seq) if rs > 0xFFFF else out.u16(rs)
        out.u32(ack) if ra > 0xFFFF else out.u16(ra)
        out.u16(n).u8(step)
    return out.bytes()


def _conversation(rng: random.Random, isn: tuple[int, int]) -> list:
    """A handshake, data both ways with loss, duplicates and reordering, FINs."""
    segs = [(0, 0, SYN, isn[0] - 1, 0, 0, 1), (0, 1, SYN | ACK, isn[1] - 1, isn[0], 0, 1),
            (0, 0, ACK, isn[0], isn[1], 0, 1)]
    sent = [0, 0]
    body = []
    for _ in range(rng.randint(3, 30)):
        d = rng.randrange(2)
        n = rng.choice((1, 7, 100, 536, 1460))
        seg = (0, d, ACK | PSH, isn[d] + sent[d], isn[1 - d] + sent[1 - d], n, rng.randint(0, 3))
        sent[d] += n
        if rng.random() > 0.1:
            body.append(seg)
        if rng.random() < 0.1:
            body.append(seg)
    for i in range(len(body) - 1):
        if rng.random() < 0.2:
            body[i], body[i + 1] = body[i + 1], body[i]
    fins = [(0, d, FIN | ACK, isn[d] + sent[d], isn[1 - d] + sent[1 - d] + 1, 0, 1)
            for d in (0, 1)]
    return segs + body + fins


def seeds() -> list[bytes]:
    """Made-up conversations (some across the sequence wrap, with small caps), and the TCP
    connections of the sample captures, each in its own numbering."""
    rng = random.Random(9)
    out = []
    for caps in (b"\0", b"\x07\x01\x00\x04\x00\x02\x00", b"\x48\x01"):
        for isn in ((1000, 2000), ((1 << 32) - 300, (1 << 32) - 5), (rng.getrandbits(32), 7)):
            out.append(encode(_conversation(rng, isn), isn, caps))
    conns: dict[tuple, list] = {}
    for pkt in capture_packets():
        tcp, ip = pkt.tcp, pkt.ip
        if tcp is None or ip is None or tcp.flags is None or tcp.seq is None:
            continue
        ends = ((ip.src, tcp.src_port), (ip.dst, tcp.dst_port))
        key = tuple(sorted(ends))
        conns.setdefault(key, []).append((ends[0] == key[0], tcp.seq, tcp.ack or 0, tcp.flags,
                                          len(pkt.payload)))
    for segs in list(conns.values())[:60]:
        first = [next((s for f, s, *_ in segs if f == want), 0) for want in (True, False)]
        bases = (first[0], first[1])
        rows = [(0, 0 if fwd else 1, flags, seq, ack, n, 1)
                for fwd, seq, ack, flags, n in segs[:MAX_SEGMENTS]]
        out.append(encode(rows, bases))
    return out
