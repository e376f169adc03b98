"""Reassembly core: ordering, overlaps, wrap-around, gaps and caps (property tests)."""

from __future__ import annotations

import random
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reassembly_helpers import ACK, FIN, RST, SYN, fake_packet

from wirecraft.reassembly import Reassembler

C, S = "10.0.0.1", "10.0.0.2"
CP, SP = 40000, 25


class Recorder:
    """Collect per-direction events: data bytes and gaps, in delivery order."""

    def __init__(self) -> None:
        self.events: list[tuple[int, str, object]] = []
        self.closed: list = []

    def on_data(self, conn, direction, data):
        self.events.append((direction, "data", bytes(data)))

    def on_gap(self, conn, direction, size):
        self.events.append((direction, "gap", size))

    def on_close(self, conn):
        self.closed.append(conn)

    def rebuild(self, direction: int) -> tuple[bytes, list[tuple[int, int]]]:
        """Stream of a direction with gaps as NUL bytes, and the gap ranges."""
        out = bytearray()
        gaps = []
        for d, kind, v in self.events:
            if d != direction:
                continue
            if kind == "data":
                out += v
            else:
                gaps.append((len(out), len(out) + v))
                out += bytes(v)
        return bytes(out), gaps


def new(rec: Recorder, **caps) -> Reassembler:
    return Reassembler(rec.on_data, rec.on_gap, rec.on_close, **caps)


def handshake(r: Reassembler, isn_c: int, isn_s: int) -> None:
    r.feed(fake_packet(C, CP, S, SP, isn_c, SYN))
    r.feed(fake_packet(S, SP, C, CP, isn_s, SYN | ACK, ack=isn_c + 1))
    r.feed(fake_packet(C, CP, S, SP, isn_c + 1, ACK, ack=isn_s + 1))


def uncovered(n: int, sent: list[tuple[int, int]]) -> list[tuple[int, int]]:
    covered = bytearray(n)
    for a, b in sent:
        covered[a:b] = b"\1" * (b - a)
    out, i = [], 0
    while i < n:
        if not covered[i]:
            j = i
            while j < n and not covered[j]:
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


def merge(ranges):
    out = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


@st.composite
def scenarios(draw):
    n = draw(st.one_of(st.integers(1, 600), st.integers(600, 20000)))
    seed = draw(st.integers(0, 2**32 - 1))
    near_wrap = draw(st.booleans())
    if near_wrap:
        isn = (1 << 32) - draw(st.integers(1, n + 2))
    else:
        isn = draw(st.integers(0, (1 << 32) - 1))
    drop = draw(st.floats(0, 0.3))
    dup = draw(st.floats(0, 0.3))
    overlap = draw(st.floats(0, 0.3))
    window = draw(st.integers(1, 12))
    return n, seed, isn, drop, dup, overlap, window


def make_segments(n, seed, drop, dup, overlap, window):
    rng = random.Random(seed)
    data = rng.randbytes(n)
    cuts, pos = [], 0
    while pos < n:
        size = rng.randint(1, 700)
        cuts.append((pos, min(n, pos + size)))
        pos += size
    segs = []
    for a, b in cuts:
        if rng.random() < drop:
            continue
        segs.append((a, b))
        if rng.random() < dup:
            segs.append((a, b))
        if rng.random() < overlap:
            a2 = max(0, a - rng.randint(1, 300))
            b2 = min(n, b + rng.randint(0, 300))
            segs.append((a2, b2))
    # local reordering: shuffle inside a sliding window
    for i in range(len(segs)):
        j = min(len(segs) - 1, i + rng.randint(0, window))
        segs[i], segs[j] = segs[j], segs[i]
    return data, segs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_stream_is_delivered_exactly_except_gaps(sc):
    n, seed, isn, drop, dup, overlap, window = sc
    data, segs = make_segments(n, seed, drop, dup, overlap, window)
    rec = Recorder()
    r = new(rec)
    handshake(r, isn - 1, 7)
    for a, b in segs:
        r.feed(fake_packet(C, CP, S, SP, isn + a, ACK, data[a:b], ack=8))
    r.feed(fake_packet(C, CP, S, SP, isn + n, FIN | ACK, ack=8))
    r.feed(fake_packet(S, SP, C, CP, 8, FIN | ACK, ack=isn + n + 1))
    assert len(rec.closed) == 1
    conn = rec.closed[0]
    got, gaps = rec.rebuild(0)
    assert len(got) == n
    assert merge(gaps) == uncovered(n, segs)
    for a, b in merge(gaps):
        assert got[a:b] == bytes(b - a)
    mask = bytearray(data)
    for a, b in gaps:
        mask[a:b] = bytes(b - a)
    assert got == bytes(mask)
    assert conn.bytes_to_server == n - sum(b - a for a, b in gaps)
    assert "overlap_conflict" not in conn.flags
    assert r.buffered == 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(200, 3000), st.integers(500, 6000))
def test_memory_stays_under_caps(sc, ooo_cap, total_cap):
    n, seed, isn, drop, dup, overlap, window = sc
    data, segs = make_segments(n, seed, drop, dup, overlap, window + 10)
    rec = Recorder()
    r = new(rec, max_ooo_per_direction=ooo_cap, max_buffered=total_cap, history=256)
    handshake(r, isn - 1, 7)
    for a, b in segs:
        r.feed(fake_packet(C, CP, S, SP, isn + a, ACK, data[a:b], ack=8))
        assert r.buffered <= total_cap
        for conn in r.connections:
            assert conn.c2s.ooo_bytes <= ooo_cap
    r.feed(fake_packet(C, CP, S, SP, isn + n, FIN | ACK, ack=8))
    r.flush()
    got, gaps = rec.rebuild(0)
    assert len(got) == n
    mask = bytearray(data)
    for a, b in gaps:
        mask[a:b] = bytes(b - a)
    assert got == bytes(mask)
    # every byte that never arrived lies in a reported gap
    in_gap = bytearray(n)
    for a, b in gaps:
        in_gap[a:b] = b"\1" * (b - a)
    for a, b in uncovered(n, segs):
        assert all(in_gap[a:b])
    assert r.buffered == 0


def test_wrap_is_delivered_once():
    rec = Recorder()
    r = new(rec)
    isn = (1 << 32) - 5
    handshake(r, isn - 1, 100)
    payload = bytes(range(20))
    r.feed(fake_packet(C, CP, S, SP, isn + 10, ACK, payload[10:]))    # crosses wrap, early
    r.feed(fake_packet(C, CP, S, SP, isn, ACK, payload[:10]))
    r.feed(fake_packet(C, CP, S, SP, isn, ACK, payload))               # full retransmission
    r.flush()
    assert rec.rebuild(0) == (payload, [])
    assert rec.closed[0].flags >= {"open_at_end"}


def test_overlap_first_wins_and_conflict_is_flagged():
    rec = Recorder()
    r = new(rec)
    handshake(r, 999, 5000)
    r.feed(fake_packet(C, CP, S, SP, 1005, ACK, b"WORLD"))            # out of order
    r.feed(fake_packet(C, CP, S, SP, 1003, ACK, b"xxXXXXXXX"))        # overlaps buffered
    r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"hel"))
    r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"HEL"))              # conflicts with history
    r.flush()
    assert rec.rebuild(0) == (b"helxxWORLDXX", [])
    assert "overlap_conflict" in rec.closed[0].flags


def test_ack_above_hole_becomes_gap_and_delivery_continues():
    rec = Recorder()
    r = new(rec)
    handshake(r, 999, 5000)
    r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"MAIL FROM:<a@b>\r\n"))
    lost = b"RCPT TO:<c@d>\r\n"
    r.feed(fake_packet(C, CP, S, SP, 1017 + len(lost), ACK, b"DATA\r\n"))
    assert rec.rebuild(0)[0] == b"MAIL FROM:<a@b>\r\n"
    # the server acknowledges everything: the missing range is a gap of known size
    r.feed(fake_packet(S, SP, C, CP, 5001, ACK, b"250 ok\r\n", ack=1017 + len(lost) + 6))
    got, gaps = rec.rebuild(0)
    assert gaps == [(17, 17 + len(lost))]
    assert got.endswith(b"DATA\r\n")
    conn = r.connections[0]
    assert conn.gaps == [(0, 17, len(lost))]


def test_segment_2_31_ahead_allocates_nothing():
    rec = Recorder()
    r = new(rec)
    handshake(r, 999, 5000)
    big = bytes(1400)
    r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"x"))
    pkts = [fake_packet(C, CP, S, SP, 1001 + off, ACK, big)
            for off in ((1 << 31), (1 << 31) - 1, (1 << 31) + 1, (1 << 30), (1 << 32) - 2000)]
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for p in pkts:
        r.feed(p)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 1400            # no payload was stored
    assert r.buffered == 1 + 64    # only the one delivered byte kept as history
    assert r.stats["out_of_window"] == 4   # the last one is 2000 bytes behind: old data
    r.feed(fake_packet(C, CP, S, SP, 1001, ACK, b"yz"))
    assert rec.rebuild(0) == (b"xyz", [])


def test_out_of_window_streak_resyncs_with_gap():
    rec = Recorder()
    r = new(rec, max_ooo_per_direction=1000, max_window=4000)
    handshake(r, 999, 5000)
    r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"a"))
    for i in range(4):
        r.feed(fake_packet(C, CP, S, SP, 1001 + 100000 + i, ACK, b"b"))
    got, gaps = rec.rebuild(0)
    # the first three far segments are dropped; the fourth in a row resyncs the stream
    assert gaps == [(1, 100004)]
    assert got[-1:] == b"b"
    assert r.stats["resyncs"] == 1


def test_rst_closes_and_reports_missing_tail():
    rec = Recorder()
    r = new(rec)
    handshake(r, 999, 5000)
    r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"abc"))
    r.feed(fake_packet(C, CP, S, SP, 1010, ACK, b"klm"))
    r.feed(fake_packet(S, SP, C, CP, 5001, RST | ACK))
    assert len(rec.closed) == 1 and "rst" in rec.closed[0].flags
    assert rec.rebuild(0) == (b"abc" + bytes(7) + b"klm", [(3, 10)])
    # a late segment of the closed connection is ignored, nothing re-opened for a bare ACK
    assert r.feed(fake_packet(C, CP, S, SP, 1013, ACK)) is None


def test_midstream_pickup_guesses_roles():
    rec = Recorder()
    r = new(rec)
    r.feed(fake_packet(S, 25, C, 51000, 777, ACK | 8, b"250 ok\r\n", ack=123))
    r.feed(fake_packet(C, 51000, S, 25, 123, ACK | 8, b"QUIT\r\n", ack=785))
    conn = r.connections[0]
    assert (conn.client, conn.client_port, conn.server, conn.server_port) == (C, 51000, S, 25)
    assert "midstream" in conn.flags
    assert rec.rebuild(0)[0] == b"QUIT\r\n"
    assert rec.rebuild(1)[0] == b"250 ok\r\n"


def test_connection_cap_and_idle_timeout():
    rec = Recorder()
    r = new(rec, max_connections=10, idle_timeout=1.0)
    for i in range(50):
        r.feed(fake_packet(C, 10000 + i, S, 80, 1, SYN, time_ns=i * 1000))
        assert len(r.connections) <= 10
    assert r.stats["connection_cap_evictions"] >= 40
    r.feed(fake_packet(C, 9999, S, 80, 1, SYN, time_ns=5 * 10**9))
    assert len(r.connections) == 1
    assert r.stats["idle_timeouts"] >= 1
    assert all("evicted" in c.flags or "idle_timeout" in c.flags for c in rec.closed)


def test_ipv6_and_both_directions_with_handler_factory():
    events = []

    class Handler:
        def __init__(self, conn):
            self.conn = conn

        def on_data(self, direction, data):
            events.append((direction, data))

        def on_close(self):
            events.append(("close", self.conn.index))

    r = Reassembler(handler=Handler)
    c6, s6 = "fd00::1", "fd00::2"
    r.feed(fake_packet(c6, 5000, s6, 53, 10, SYN))
    r.feed(fake_packet(s6, 53, c6, 5000, 90, SYN | ACK, ack=11))
    r.feed(fake_packet(c6, 5000, s6, 53, 11, ACK | 8, b"\x00\x02hi", ack=91))
    r.feed(fake_packet(s6, 53, c6, 5000, 91, ACK | 8 | FIN, b"\x00\x02yo", ack=15))
    r.feed(fake_packet(c6, 5000, s6, 53, 15, ACK | FIN, ack=96))
    assert events == [(0, b"\x00\x02hi"), (1, b"\x00\x02yo"), ("close", 0)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.floats(0, 0.5))
def test_first_received_bytes_win_and_conflicts_are_flagged(sc, corrupt):
    n, seed, isn, _drop, dup, overlap, window = sc
    data, segs = make_segments(n, seed, 0.0, max(dup, 0.2), max(overlap, 0.2), window)
    rng = random.Random(seed ^ 0x5EED)
    sent = []
    for a, b in segs:
        chunk = bytearray(data[a:b])
        if sent and rng.random() < corrupt:
            chunk[rng.randrange(len(chunk))] ^= 0xFF
        sent.append((a, bytes(chunk)))
    # model of the policy: each byte comes from the first segment that carried it
    model = bytearray(n)
    seen = bytearray(n)
    conflict = False
    for a, chunk in sent:
        for i, byte in enumerate(chunk):
            if not seen[a + i]:
                seen[a + i] = 1
                model[a + i] = byte
            elif model[a + i] != byte:
                conflict = True
    rec = Recorder()
    r = new(rec)
    handshake(r, isn - 1, 7)
    for a, chunk in sent:
        r.feed(fake_packet(C, CP, S, SP, isn + a, ACK, chunk, ack=8))
    r.feed(fake_packet(C, CP, S, SP, isn + n, FIN | ACK, ack=8))
    r.flush()
    got, gaps = rec.rebuild(0)
    assert gaps == [] and got == bytes(model)
    assert ("overlap_conflict" in rec.closed[0].flags) == conflict


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.floats(0, 0.3))
def test_two_directions_with_acks_report_lost_ranges_while_reading(seed, isn_s, drop):
    """The receiver's ACKs turn lost ranges into gaps before the connection ends."""
    rng = random.Random(seed)
    isn_c = (1 << 32) - rng.randint(1, 3000)
    streams = {0: rng.randbytes(rng.randint(1, 4000)), 1: rng.randbytes(rng.randint(1, 4000))}
    rec = Recorder()
    r = new(rec, max_ooo_per_direction=100000)
    handshake(r, isn_c - 1, isn_s - 1)
    pos = {0: 0, 1: 0}
    base = {0: isn_c, 1: isn_s}
    lost = {0: [], 1: []}
    while pos[0] < len(streams[0]) or pos[1] < len(streams[1]):
        d = rng.randrange(2)
        if pos[d] >= len(streams[d]):
            d ^= 1
        size = rng.randint(1, 500)
        a, b = pos[d], min(len(streams[d]), pos[d] + size)
        pos[d] = b
        if rng.random() < drop:
            lost[d].append((a, b))
            continue
        src = (C, CP, S, SP) if d == 0 else (S, SP, C, CP)
        r.feed(fake_packet(*src, base[d] + a, ACK, streams[d][a:b], ack=base[1 - d] + pos[1 - d]))
    # both ends acknowledge everything, then close
    r.feed(fake_packet(C, CP, S, SP, base[0] + pos[0], ACK | FIN, ack=base[1] + pos[1]))
    r.feed(fake_packet(S, SP, C, CP, base[1] + pos[1], ACK | FIN, ack=base[0] + pos[0] + 1))
    r.feed(fake_packet(C, CP, S, SP, base[0] + pos[0] + 1, ACK, ack=base[1] + pos[1] + 1))
    assert len(rec.closed) == 1 and "fin" in rec.closed[0].flags
    for d in (0, 1):
        got, gaps = rec.rebuild(d)
        assert merge(gaps) == merge(lost[d])
        mask = bytearray(streams[d])
        for a, b in gaps:
            mask[a:b] = bytes(b - a)
        assert got == bytes(mask)
    assert r.buffered == 0


def test_gap_records_are_capped_but_counted():
    rec = Recorder()
    r = new(rec, history=0)
    handshake(r, 999, 5000)
    seq = 1000
    for _ in range(3000):
        # a byte goes missing before every segment; the server's ACK confirms the loss
        r.feed(fake_packet(C, CP, S, SP, seq + 1, ACK, b"x"))
        r.feed(fake_packet(S, SP, C, CP, 5001, ACK, ack=seq + 2))
        seq += 2
    conn = r.connections[0]
    assert conn.gap_count == 3000 and len(conn.gaps) == 1024
    assert "gaps_truncated" in conn.flags
    r.flush()
    got, gaps = rec.rebuild(0)
    assert got == b"\0x" * 3000


def test_flood_of_one_byte_segments_is_bounded_by_the_caps():
    rec = Recorder()
    cap = 64 * 1024
    r = new(rec, max_ooo_per_direction=cap, max_buffered=4 * cap)
    handshake(r, 999, 5000)
    # every other byte, so nothing is ever in order: all of it would be buffered
    for i in range(0, 200000, 2):
        r.feed(fake_packet(C, CP, S, SP, 1001 + i, ACK, b"z"))
        assert r.connections[0].c2s.ooo_bytes <= cap
    held = r.connections[0].c2s.segments_buffered
    assert held <= cap // 65
    assert r.stats["ooo_cap_hits"] > 0


def test_total_buffer_cap_across_connections():
    rec = Recorder()
    total = 20000
    r = new(rec, max_ooo_per_direction=10000, max_buffered=total, history=0)
    rng = random.Random(7)
    data = {}
    for i in range(40):
        r.feed(fake_packet(C, 20000 + i, S, SP, 99, SYN))
        data[i] = rng.randbytes(3000)
    for i in range(40):
        # the first 100 bytes are held back: the rest must wait out of order
        for a in range(100, 3000, 300):
            r.feed(fake_packet(C, 20000 + i, S, SP, 100 + a, ACK, data[i][a:a + 300]))
            assert r.buffered <= total
    assert r.stats["buffer_cap_hits"] > 0
    for i in range(40):
        r.feed(fake_packet(C, 20000 + i, S, SP, 100, ACK, data[i][:100]))
    r.flush()
    by_conn = {}
    for conn in rec.closed:
        by_conn[conn.client_port - 20000] = conn
    for conn in by_conn.values():
        assert conn.bytes_to_server + conn.c2s.gap_bytes == 3000
    flushed = [c for c in rec.closed if "buffer_cap" in c.flags]
    assert flushed and all(c.gaps == [(0, 0, 100)] for c in flushed)
