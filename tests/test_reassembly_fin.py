"""Data at or after a FIN: never held, counted as data_after_fin, and never a livelock.

A segment buffered beyond the FIN's sequence number used to make the reassembler spin
forever (the gap toward it stopped at the FIN). Every test runs the reassembler in a
guarded child process or a subprocess with a timeout, so a regression fails instead of
hanging the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from reasm_support import (
    ACK,
    CLIENT,
    FIN,
    PSH,
    RST,
    SERVER,
    SYN,
    fin_past_buffered_frames,
    frame,
    run_guarded,
    write_pcap,
)
from test_reassembly_helpers import fake_packet

from wirecraft.reassembly import Reassembler, streams

from conftest import WIRECRAFT_PATH

C, S, CP, SP = CLIENT, SERVER, 40000, 25


def _events(**caps):
    """A Reassembler whose callbacks record (direction, kind, value) and closed conns."""
    events: list[tuple[int, str, object]] = []
    closed: list = []
    r = Reassembler(lambda c, d, x: events.append((d, "data", bytes(x))),
                    lambda c, d, n: events.append((d, "gap", n)),
                    closed.append, **caps)
    return r, events, closed


def _handshake(r, isn_c=999, isn_s=4999):
    r.feed(fake_packet(C, CP, S, SP, isn_c, SYN))
    r.feed(fake_packet(S, SP, C, CP, isn_s, SYN | ACK, ack=isn_c + 1))
    r.feed(fake_packet(C, CP, S, SP, isn_c + 1, ACK, ack=isn_s + 1))


def _summary(r, events, closed):
    conn = closed[0] if closed else r.connections[0]
    return dict(events=events, flags=set(conn.flags), gaps=list(conn.gaps),
                stats=r.stats, closed=len(closed), c2s=conn.bytes_to_server,
                s2c=conn.bytes_to_client)


@pytest.mark.parametrize("ahead", [1, 2, 1000, 60000])
@pytest.mark.parametrize("ending", ["ack_of_fin", "end_of_input", "rst", "server_fin"])
def test_segment_buffered_past_the_fin_is_dropped_and_counted(ahead, ending):
    def run():
        r, events, closed = _events()
        _handshake(r)
        r.feed(fake_packet(C, CP, S, SP, 1000 + ahead, PSH | ACK, b"X" * 100, ack=5000))
        r.feed(fake_packet(S, SP, C, CP, 5000, PSH | ACK, b"220 ready\r\n", ack=1000))
        r.feed(fake_packet(C, CP, S, SP, 1000, FIN | ACK, ack=5011))
        buffered_after_fin = r.buffered
        if ending == "ack_of_fin":
            r.feed(fake_packet(S, SP, C, CP, 5011, ACK, ack=1001))
        elif ending == "rst":
            r.feed(fake_packet(S, SP, C, CP, 5011, RST | ACK, ack=1001))
        elif ending == "server_fin":
            r.feed(fake_packet(S, SP, C, CP, 5011, FIN | ACK, ack=1001))
            r.feed(fake_packet(C, CP, S, SP, 1001, ACK, ack=5012))
        r.flush()
        return dict(_summary(r, events, closed), buffered_after_fin=buffered_after_fin,
                    buffered=r.buffered)

    out = run_guarded(run)
    assert out["events"] == [(1, "data", b"220 ready\r\n")]
    assert out["c2s"] == 0 and out["gaps"] == []
    assert out["stats"]["data_after_fin"] == 100
    assert "data_after_fin" in out["flags"]
    # the FIN dropped what it found buffered beyond it: nothing is held from then on
    assert out["buffered_after_fin"] <= 11 + 64      # only the server's delivered history
    assert out["closed"] == 1 and out["buffered"] == 0


def test_fin_behind_a_hole_then_data_past_it_under_a_tiny_ooo_cap():
    """The out-of-order cap loop: data past a known FIN must not be buffered at all."""

    def run():
        r, events, closed = _events(max_ooo_per_direction=1000)
        _handshake(r)
        r.feed(fake_packet(C, CP, S, SP, 1000 + 400, ACK, b"b" * 100, ack=5000))   # [400, 500)
        r.feed(fake_packet(C, CP, S, SP, 1000 + 500, FIN | ACK, ack=5000))       # FIN at 500
        held = r.buffered
        for k in range(5):      # 2,000 bytes each, all past the FIN
            r.feed(fake_packet(C, CP, S, SP, 1000 + 600 + 2000 * k, ACK, b"z" * 2000, ack=5000))
            assert r.buffered == held
        r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"a" * 400, ack=5000))
        r.feed(fake_packet(S, SP, C, CP, 5000, FIN | ACK, ack=1501))
        return _summary(r, events, closed)

    out = run_guarded(run)
    assert out["events"] == [(0, "data", b"a" * 400), (0, "data", b"b" * 100)]
    assert out["stats"]["data_after_fin"] == 10000 and "data_after_fin" in out["flags"]
    assert out["closed"] == 1 and "fin" in out["flags"]


def test_segment_straddling_the_fin_keeps_the_bytes_before_it():
    def run():
        r, events, closed = _events()
        _handshake(r)
        r.feed(fake_packet(C, CP, S, SP, 1000 + 10, ACK, b"0123456789", ack=5000))  # [10, 20)
        r.feed(fake_packet(C, CP, S, SP, 1000 + 15, FIN | ACK, ack=5000))         # FIN at 15
        r.feed(fake_packet(C, CP, S, SP, 1000 + 12, ACK, b"ABCDEFGH", ack=5000))    # [12, 20)
        r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"x" * 10, ack=5000))
        r.flush()
        return _summary(r, events, closed)

    out = run_guarded(run)
    assert out["events"] == [(0, "data", b"x" * 10), (0, "data", b"01234")]
    assert out["stats"]["data_after_fin"] == 5 + 5
    assert out["stats"]["retransmitted_bytes"] == 3      # [12, 15) was already held
    assert "fin" in out["flags"]


@pytest.mark.parametrize("max_buffered", [0, 100, 400])
def test_total_buffer_cap_with_data_past_the_fin(max_buffered):
    """_relieve flushes the largest buffers: it must end even when a FIN is in the way."""

    def run():
        r, events, closed = _events(max_buffered=max_buffered, history=0)
        for i in range(3):
            port = CP + i
            r.feed(fake_packet(C, port, S, SP, 999, SYN))
            r.feed(fake_packet(C, port, S, SP, 1000 + 200, FIN | ACK, ack=5000))
            r.feed(fake_packet(C, port, S, SP, 1000 + 300, ACK, b"y" * 150, ack=5000))
            r.feed(fake_packet(C, port, S, SP, 1000 + 100, ACK, b"m" * 50, ack=5000))
        r.flush()
        return [(len(closed), r.buffered, r.stats["data_after_fin"]),
                [(c.bytes_to_server, c.c2s.gap_bytes) for c in closed]]

    (n_closed, buffered, after), per_conn = run_guarded(run)
    assert n_closed == 3 and buffered == 0 and after == 3 * 150
    for delivered, gap in per_conn:
        assert delivered + gap == 200        # the stream ends at the FIN, holes as gaps
        assert delivered == 50


def test_out_of_window_resync_past_a_fin_ends():
    def run():
        r, events, closed = _events(max_ooo_per_direction=1000, max_window=4000)
        _handshake(r)
        r.feed(fake_packet(C, CP, S, SP, 1000 + 300, FIN | ACK, ack=5000))
        for i in range(6):   # far ahead: the fourth in a row resyncs, beyond the FIN
            r.feed(fake_packet(C, CP, S, SP, 1000 + 100000 + i, ACK, b"q", ack=5000))
        r.flush()
        return _summary(r, events, closed)

    out = run_guarded(run)
    assert out["events"] == [(0, "gap", 300)]
    assert out["c2s"] == 0 and out["closed"] == 1


def test_data_after_fin_in_order_is_never_delivered():
    def run():
        r, events, closed = _events()
        _handshake(r)
        r.feed(fake_packet(C, CP, S, SP, 1000, FIN | ACK, b"bye", ack=5000))
        r.feed(fake_packet(C, CP, S, SP, 1003, ACK, b"more", ack=5000))
        r.feed(fake_packet(C, CP, S, SP, 1000, FIN | ACK, b"bye", ack=5000))   # retransmitted
        r.flush()
        return _summary(r, events, closed)

    out = run_guarded(run)
    assert out["events"] == [(0, "data", b"bye")]
    assert out["stats"]["data_after_fin"] == 4
    assert out["stats"]["retransmitted_bytes"] == 3


# ---------------------------------------------------------------- through the public API


@pytest.fixture(params=[True, False], ids=["ack_of_fin", "end_of_input"])
def fin_pcap(request, tmp_path):
    path = tmp_path / "fin-past-buffered.pcap"
    write_pcap(path, fin_past_buffered_frames(ack_the_fin=request.param))
    return path


def test_streams_on_the_seven_packet_capture(fin_pcap):
    def run():
        return [(s.index, s.bytes_to_server, s.data_to_server, s.data_to_client, set(s.flags))
                for s in streams(fin_pcap, keep_data=True)]

    (only,) = run_guarded(run)
    index, to_server, data_s, data_c, flags = only
    assert (index, to_server, data_s, data_c) == (0, 0, b"", b"220 ready\r\n")
    assert "data_after_fin" in flags


def test_reassembler_feed_and_flush_on_the_seven_packet_capture(fin_pcap):
    import wirecraft

    def run():
        got = []
        r = Reassembler(lambda c, d, x: got.append((d, bytes(x))))
        for pkt in wirecraft.read(fin_pcap):
            r.feed(pkt)
        r.flush()
        return got, r.stats

    got, stats = run_guarded(run)
    assert got == [(1, b"220 ready\r\n")]
    assert stats["data_after_fin"] == 100 and stats["buffered"] == 0 and stats["open"] == 0


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wirecraft.cli", *args], capture_output=True,
                          text=True, timeout=60,
                          env={"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/bin:/bin"})


def test_cli_follow_on_the_seven_packet_capture(fin_pcap):
    listing = _cli("follow", str(fin_pcap))
    assert listing.returncode == 0, listing.stderr
    assert "data_after_fin" in listing.stdout.splitlines()[1]
    out = _cli("follow", str(fin_pcap), "0")
    assert out.returncode == 0, out.stderr
    assert "\t11\n220 ready\n" in out.stdout
    assert "data_after_fin" in out.stderr and len(out.stderr.splitlines()) == 1


def test_cli_smtp_on_the_seven_packet_capture(fin_pcap):
    out = _cli("smtp", str(fin_pcap), "--json")
    assert out.returncode == 0, out.stderr
    for line in out.stdout.splitlines():
        json.loads(line)


def test_cli_dns_over_tcp_on_the_same_shape(tmp_path):
    path = tmp_path / "dns-tcp-fin.pcap"
    write_pcap(path, fin_past_buffered_frames(port=53, data=b"\x00\x10" + bytes(16)))
    out = _cli("dns", str(path))
    assert out.returncode == 0, out.stderr


def test_crafted_frames_decode_as_the_fake_packets_do():
    """The capture helper builds what it says: SYN, SYN-ACK, ACK, data 1,000 ahead, FIN."""
    import wirecraft

    frames = fin_past_buffered_frames()
    assert frames[0] == frame(C, CP, S, SP, 999, SYN)
    pkts = [wirecraft.decode(f) for f in frames]
    assert [p.tcp.flags for p in pkts] == [SYN, SYN | ACK, ACK, PSH | ACK, PSH | ACK,
                                           FIN | ACK, ACK]
    assert pkts[3].tcp.seq - pkts[5].tcp.seq == 1000 and len(pkts[3].payload) == 100


@pytest.mark.parametrize("distance", [(1 << 31), (1 << 31) - 1, (1 << 30) + 5, 5_000_000])
def test_fin_far_away_or_behind_the_delivered_data_ends_nothing(distance):
    """A FIN far behind (or before what was delivered) is stale, one far ahead out of window."""

    def run():
        r, events, closed = _events()
        _handshake(r)
        r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"hello ", ack=5000))
        r.feed(fake_packet(C, CP, S, SP, 1003, FIN | ACK, ack=5000))             # behind: 3
        r.feed(fake_packet(C, CP, S, SP, 1006 - distance, FIN | ACK, ack=5000))  # far behind
        r.feed(fake_packet(C, CP, S, SP, 1006 + distance, FIN | ACK, ack=5000))  # far ahead
        r.feed(fake_packet(C, CP, S, SP, 1006, ACK, b"world", ack=5000))
        r.feed(fake_packet(C, CP, S, SP, 1011, FIN | ACK, ack=5000))
        r.feed(fake_packet(S, SP, C, CP, 5000, FIN | ACK, ack=1012))
        return _summary(r, events, closed)

    out = run_guarded(run)
    assert out["events"] == [(0, "data", b"hello "), (0, "data", b"world")]
    # 2**31 ahead is the same sequence number as 2**31 behind: stale, not out of window
    assert out["stats"]["out_of_window"] == (0 if distance == 1 << 31 else 1)
    assert out["closed"] == 1 and "fin" in out["flags"] and "stale_fin" in out["flags"]
    assert "data_after_fin" not in out["flags"] and out["gaps"] == []


def test_fin_at_the_syn_sequence_number_is_stale():
    """Offset -1 (the SYN's own number) once read as 'no FIN seen'."""

    def run():
        r, events, closed = _events()
        _handshake(r)
        r.feed(fake_packet(C, CP, S, SP, 999, FIN | ACK, ack=5000))
        r.feed(fake_packet(C, CP, S, SP, 1000, ACK, b"data", ack=5000))
        r.feed(fake_packet(C, CP, S, SP, 1004, FIN | ACK, ack=5000))
        r.feed(fake_packet(S, SP, C, CP, 5000, FIN | ACK, ack=1005))
        return _summary(r, events, closed)

    out = run_guarded(run)
    assert out["events"] == [(0, "data", b"data")] and out["closed"] == 1
    assert "stale_fin" in out["flags"] and "fin" in out["flags"]


# ------------------------------------------------------------ total buffer cap, at scale


def _held_segment(core, port: int, size: int) -> None:
    """A connection from `port` whose only data waits behind a 100-byte hole."""
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    core.segment(4, src, dst, port, 80, 99, 0, SYN, b"", 0)
    core.segment(4, src, dst, port, 80, 200, 0, ACK, b"x" * size, 0)


def test_total_cap_relief_flushes_the_largest_buffers_first():
    r = Reassembler(max_buffered=1500, history=0)
    for port, size in ((1000, 300), (1001, 500), (1002, 500)):
        _held_segment(r._core, port, size)
    assert r.buffered == 364 + 564 + 564 and r.stats["buffer_cap_hits"] == 0
    _held_segment(r._core, 1003, 100)     # over the cap: relieve to 7/8 of it
    flushed = {c.client_port for c in r.connections if "buffer_cap" in c.flags}
    assert flushed == {1001}               # the largest; of equals, the oldest
    assert r.buffered == 364 + 564 + 164 and r.stats["buffer_cap_hits"] == 1


@pytest.mark.slow
def test_total_cap_relief_across_many_connections_terminates():
    """Each relief ranks the held buffers once: 60,000 connections, each holding data,
    ran for minutes when every flushed buffer was found by a scan of the whole table."""
    n = 60000

    def run():
        r = Reassembler(max_buffered=n * 100, history=0)
        for port in range(n):
            _held_segment(r._core, 1024 + port, 100)
        st = r.stats
        r.flush()
        return st["buffer_cap_hits"], st["gaps"], r.stats["open"], r.buffered

    hits, gaps, still_open, buffered = run_guarded(run, timeout=90)
    assert hits >= 5 and gaps > n // 3 and still_open == 0 and buffered == 0
