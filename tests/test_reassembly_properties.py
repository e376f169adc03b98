"""Reassembly terminates on any segment order, and delivered bytes plus gaps tile the stream.

Random conversations in both directions: segment orders, drops, duplicates, overlaps, data
sent past the FIN, FINs (with and without data, retransmitted) anywhere in the order, an
RST anywhere, honest or arbitrary ACKs, sequence numbers near the wrap, and tiny caps.
Each example runs in a forked child with a time limit (`reasm_support.run_guarded`), so a
loop that makes no progress fails the test instead of hanging the suite.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reasm_support import ACK, FIN, RST, SYN, run_guarded
from test_reassembly_helpers import fake_packet

from wirecraft.reassembly import Reassembler

ENDS = (("10.0.0.1", 40000), ("10.0.0.2", 25))


@dataclass
class Direction:
    data: bytes          # the stream (its first `end` bytes) and bytes sent past the FIN
    end: int             # offset of the FIN
    isn: int             # sequence number of byte 0
    fin: bool            # whether the FIN is sent at all
    segments: list[tuple[int, int, int]] = field(default_factory=list)  # (start, stop, flags)


@dataclass
class Plan:
    dirs: tuple[Direction, Direction]
    order: list[tuple[str, int, int, int, int]]   # (kind, direction, start, stop, flags)
    honest: bool         # ACKs acknowledge what was sent in order, or any offset
    caps: dict
    seed: int


@st.composite
def plans(draw) -> Plan:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(seed)
    dirs = []
    for _ in range(2):
        end = draw(st.one_of(st.just(0), st.integers(1, 200), st.integers(200, 3000)))
        extra = draw(st.one_of(st.just(0), st.integers(1, 600)))
        if draw(st.booleans()):
            isn = (1 << 32) - draw(st.integers(1, end + extra + 3))     # crosses the wrap
        else:
            isn = draw(st.integers(1, (1 << 32) - 1))
        d = Direction(rng.randbytes(end + extra), end, isn, draw(st.booleans()))
        drop, dup, overlap = (draw(st.floats(0, 0.4)) for _ in range(3))
        pos = 0
        while pos < end + extra:
            stop = min(end + extra, pos + rng.randint(1, 400))
            if rng.random() >= drop:
                d.segments.append((pos, stop, ACK))
            if rng.random() < dup:
                d.segments.append((pos, stop, ACK))
            if rng.random() < overlap:
                d.segments.append((max(0, pos - rng.randint(1, 300)),
                                   min(end + extra, stop + rng.randint(0, 300)), ACK))
            pos = stop
        if d.fin:
            carry = rng.randint(0, min(end, 50))
            for _ in range(1 + (rng.random() < 0.3)):   # sometimes retransmitted
                d.segments.append((end - carry, end, FIN | ACK))
        window = draw(st.integers(0, 30))
        for i in range(len(d.segments)):
            j = min(len(d.segments) - 1, i + rng.randint(0, window))
            d.segments[i], d.segments[j] = d.segments[j], d.segments[i]
        dirs.append(d)
    # interleave the two directions, with pure ACKs now and then
    order: list[tuple[str, int, int, int, int]] = []
    queues = [list(dirs[0].segments), list(dirs[1].segments)]
    while queues[0] or queues[1]:
        k = rng.randrange(2) if queues[0] and queues[1] else (0 if queues[0] else 1)
        a, b, flags = queues[k].pop(0)
        order.append(("seg", k, a, b, flags))
        if rng.random() < 0.2:
            order.append(("ack", 1 - k, 0, 0, ACK))
    if draw(st.booleans()):
        order.insert(draw(st.integers(0, len(order))), ("rst", draw(st.integers(0, 1)), 0, 0,
                                                        RST | ACK))
    caps = {}
    if draw(st.booleans()):
        caps["max_ooo_per_direction"] = draw(st.integers(0, 3000))
    if draw(st.booleans()):
        caps["max_buffered"] = draw(st.integers(0, 6000))
    if draw(st.booleans()):
        caps["history"] = draw(st.integers(0, 600))
    return Plan((dirs[0], dirs[1]), order, draw(st.booleans()), caps, seed)


def _prefix(fed: bytearray, end: int, fin_fed: bool) -> int:
    """Offset an honest receiver acknowledges: contiguous bytes received (+1 for the FIN)."""
    i = 0
    while i < end and fed[i]:
        i += 1
    return i + 1 if fin_fed and i >= end else i


def _run(plan: Plan) -> dict:
    """Feed the plan to a Reassembler (in the guarded child) and report what came out."""
    events: dict[int, list] = {}
    closed: list[int] = []
    r = Reassembler(lambda c, d, x: events.setdefault(c.index, []).append((d, bytes(x))),
                    lambda c, d, n: events.setdefault(c.index, []).append((d, n)),
                    lambda c: closed.append(c.index), **plan.caps)
    rng = random.Random(plan.seed ^ 0xACC)
    dirs = plan.dirs
    c0, s0 = dirs
    (ca, cp), (sa, sp) = ENDS
    r.feed(fake_packet(ca, cp, sa, sp, c0.isn - 1, SYN))
    r.feed(fake_packet(sa, sp, ca, cp, s0.isn - 1, SYN | ACK, ack=c0.isn))
    r.feed(fake_packet(ca, cp, sa, sp, c0.isn, ACK, ack=s0.isn))
    conn0 = r.connections[0]
    fed = [bytearray(len(dirs[0].data)), bytearray(len(dirs[1].data))]
    fin_fed = [False, False]
    close_at = None
    max_ooo = plan.caps.get("max_ooo_per_direction", 1 << 20)
    max_buffered = plan.caps.get("max_buffered", 64 << 20)
    for i, (kind, d, a, b, flags) in enumerate(plan.order):
        src, dst = ENDS[d], ENDS[1 - d]
        other = dirs[1 - d]
        if plan.honest:
            ack_off = _prefix(fed[1 - d], other.end, fin_fed[1 - d])
        else:
            ack_off = rng.randint(0, len(other.data) + 1)   # at most all it sent, and a FIN
        if kind == "seg":
            seq = dirs[d].isn + a
        else:   # a pure ACK or the RST: at the sender's next byte as far as it knows
            seq = dirs[d].isn + _prefix(fed[d], dirs[d].end, False)
        r.feed(fake_packet(*src, *dst, seq, flags, dirs[d].data[a:b] if kind == "seg" else b"",
                           ack=other.isn + ack_off))
        if close_at is None:
            if kind == "seg":
                fed[d][a:b] = b"\1" * (b - a)
                if flags & FIN:
                    fin_fed[d] = True
            if conn0.finished:
                close_at = i
        assert r.buffered <= max_buffered, (i, r.buffered)
        for conn in r.connections:
            assert conn.c2s.ooo_bytes <= max_ooo and conn.s2c.ooo_bytes <= max_ooo
    r.flush()
    assert r.buffered == 0 and len(r.connections) == 0
    return dict(events=events.get(0, []), gaps=list(conn0.gaps), gap_count=conn0.gap_count,
                flags=set(conn0.flags), stats=r.stats, close_at=close_at,
                connections=r.stats["connections"], fed=[bytes(f) for f in fed],
                gap_bytes=(conn0.c2s.gap_bytes, conn0.s2c.gap_bytes),
                delivered=(conn0.bytes_to_server, conn0.bytes_to_client))


def _check(plan: Plan, out: dict) -> None:
    stats = out["stats"]
    cap_hit = stats["ooo_cap_hits"] or stats["buffer_cap_hits"] or stats["resyncs"]
    assert "overlap_conflict" not in out["flags"]      # every copy carried the same bytes
    gap_events = []
    for d, sent in enumerate(plan.dirs):
        pos, gaps = 0, []
        for ed, item in out["events"]:
            if ed != d:
                continue
            if isinstance(item, int):
                assert item > 0
                gaps.append((pos, pos + item))
                gap_events.append((d, pos, item))
                pos += item
            else:
                assert item and item == sent.data[pos:pos + len(item)], (d, pos)
                pos += len(item)
        end = pos   # delivered bytes and gaps tile [0, end) in order, without overlap
        assert out["delivered"][d] + out["gap_bytes"][d] == end
        assert end <= len(sent.data)
        fed = out["fed"][d]
        in_gap = bytearray(end)
        for a, b in gaps:
            in_gap[a:b] = b"\1" * (b - a)
        # a byte that never arrived before the connection closed lies in a reported gap
        assert all(in_gap[i] for i in range(end) if not fed[i])
        # when the FIN was fed, the stream reaches it; with nothing fed past it before the
        # FIN, the stream ends exactly there and anything sent past it is counted
        order = plan.order if out["close_at"] is None else plan.order[:out["close_at"] + 1]
        fin_at = next((i for i, (k, od, _a, _b, f) in enumerate(order)
                       if k == "seg" and od == d and f & FIN), None)
        if fin_at is not None:
            assert end >= sent.end
            early_junk = any(k == "seg" and od == d and b > sent.end
                             for k, od, _a, b, _f in order[:fin_at])
            late_junk = any(k == "seg" and od == d and b > sent.end
                            for k, od, _a, b, _f in order[fin_at + 1:])
            if not early_junk:
                assert end == sent.end
                if late_junk:
                    assert "data_after_fin" in out["flags"] and stats["data_after_fin"] > 0
            if plan.honest and not cap_hit and not early_junk:
                # exactly the bytes that never arrived are gaps: nothing else was skipped
                assert all(in_gap[i] == (not fed[i]) for i in range(end))
    if out["gap_count"] <= 1024:
        assert sorted(out["gaps"]) == sorted(gap_events)


@pytest.mark.slow
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(plans())
def test_reassembly_terminates_and_tiles_every_stream(plan):
    out = run_guarded(lambda: _run(plan))
    _check(plan, out)


@st.composite
def arbitrary_segments(draw):
    """Segments with any flags, sequence and ack numbers near a base or anywhere."""
    base = draw(st.integers(0, (1 << 32) - 1))
    near = st.integers(-3000, 3000).map(lambda x: (base + x) % (1 << 32))
    anywhere = st.integers(0, (1 << 32) - 1)
    seg = st.tuples(st.integers(0, 1),                          # direction
                    st.integers(0, 1),                          # which of two client ports
                    st.one_of(near, near, near, anywhere),      # seq
                    st.one_of(near, near, anywhere),            # ack
                    st.integers(0, 31),                         # FIN SYN RST PSH ACK
                    st.integers(0, 1500))                       # payload length
    caps = draw(st.fixed_dictionaries({}, optional={
        "max_ooo_per_direction": st.integers(0, 4000), "max_buffered": st.integers(0, 8000),
        "history": st.integers(0, 2000), "max_connections": st.integers(1, 3),
        "idle_timeout": st.floats(0.000001, 0.01), "max_window": st.integers(1, 70000)}))
    return draw(st.lists(seg, max_size=120)), caps


def _run_arbitrary(segments, caps) -> dict:
    totals: dict[tuple[int, int], int] = {}

    def count(c, d, size):
        totals[c.index, d] = totals.get((c.index, d), 0) + size

    closed = []
    r = Reassembler(lambda c, d, x: count(c, d, len(x)), count, closed.append, **caps)
    max_buffered = caps.get("max_buffered", 64 << 20)
    for i, (d, port, seq, ack, flags, n) in enumerate(segments):
        (ca, _), (sa, sp) = ENDS
        cp = 40000 + port
        ends = (ca, cp, sa, sp) if d == 0 else (sa, sp, ca, cp)
        r.feed(fake_packet(*ends, seq, flags, bytes([i % 256]) * n, ack=ack, time_ns=i * 10**6))
        assert r.buffered <= max_buffered
    r.flush()
    assert r.buffered == 0 and len(r.connections) == 0
    for c in closed:     # what was reported covers exactly what was counted
        assert totals.get((c.index, 0), 0) == c.bytes_to_server + c.c2s.gap_bytes
        assert totals.get((c.index, 1), 0) == c.bytes_to_client + c.s2c.gap_bytes
    return r.stats


@pytest.mark.slow
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(arbitrary_segments())
def test_arbitrary_segments_terminate_and_account(case):
    segments, caps = case
    stats = run_guarded(lambda: _run_arbitrary(segments, caps))
    assert stats["connections"] == stats["closed"]
