"""Transactions: the batch path and the per-Packet path agree; pairing rules; the CLI."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

import wirecraft
from wirecraft import _dns, dns
from wirecraft.cli import main

from conftest import CAPTURES, capture_files

DNS_CAPTURES = [p for p in capture_files() if p.name in {
    "dpkt__dns_icmp.pcap", "gopacket__test_dns.pcap", "tcpdump__dns_tcp.pcap",
    "tcpdump__dnssec.pcap", "tcpdump__edns-opts.pcap", "zeek__dns-edns-cookie.pcap",
    "zeek__dns__mdns.pcap", "zeek__dns__sshfp-trunc.pcap", "zeek__ipv6-fragmented-dns.pcap",
    "zeek__var-services-std-ports.pcap", "zeek__wikipedia.pcap", "zeek__smtp.pcap",
    "zeek__pcapng-multi-interface.pcapng", "tcpdump__time_2107.pcapng"}]


@pytest.mark.parametrize("path", DNS_CAPTURES, ids=[p.name for p in DNS_CAPTURES])
def test_batch_and_packet_paths_agree(path: Path) -> None:
    fast = dns.transactions(path)                                   # core batches
    slow = dns.transactions(list(wirecraft.read(path, defrag=True)))  # Packet objects
    assert [r.to_dict() for r in fast] == [r.to_dict() for r in slow]
    # and every message the transactions saw is one messages() yields
    events = list(dns.messages(path))
    # the light decode the table uses reports what the full one does
    for pkt in wirecraft.read(path):
        if pkt.udp is not None and len(pkt.payload) >= 12:
            full, light = dns.decode(pkt.payload), _dns.decode_light(pkt.payload)
            assert (full.problems, full.rcode, full.questions, full.answers) == (
                light.problems, light.rcode, light.questions, light.answers)
    assert sum(1 + r["duplicate_queries"] + r["duplicate_responses"]
               + (r["status"] == "answered") for r in fast) == len(events)


@pytest.mark.parametrize("path", DNS_CAPTURES, ids=[p.name for p in DNS_CAPTURES])
def test_columnar_output_agrees_with_messages(path: Path) -> None:
    # the parser's columnar mode (transactions) and its Message mode, on every DNS
    # payload of the capture and every prefix of it
    for pkt in wirecraft.read(path):
        if pkt.udp is None or len(pkt.payload) < 12:
            continue
        data = pkt.payload
        for cut in range(len(data) + 1) if len(data) < 600 else (len(data), 12, 40):
            columnar, from_message = _dns._columnar_agrees(data[:cut], pkt.udp.dst_port == 5353)
            assert columnar == from_message, cut


def test_address_text_is_inet_ntop() -> None:
    import random
    import socket

    rng = random.Random(7)
    cases = [bytes(16), bytes(15) + b"\x01", bytes(10) + b"\xff\xff\x01\x02\x03\x04",
             bytes(12) + b"\x01\x02\x03\x04", bytes(11) + b"\x01" + bytes(4),
             b"\x20\x01\x0d\xb8" + bytes(12), bytes(8) + b"\x00\x01" + bytes(6)]
    cases += [bytes(rng.choice((0, 0, 0, 1, 0xFF, rng.randrange(256))) for _ in range(16))
              for _ in range(20000)]
    for raw in cases:
        assert _dns._ip6_text(raw) == socket.inet_ntop(socket.AF_INET6, raw), raw.hex()


def test_wikipedia_transactions() -> None:
    rows = dns.transactions(CAPTURES / "zeek__wikipedia.pcap")
    by_status = {s: [r for r in rows if r["status"] == s]
                 for s in ("answered", "unanswered", "no_query")}
    first = next(r for r in rows if r["query"] == "upload.wikimedia.org" and r["qtype"] == 1)
    assert first["id_orig_h"] == "141.142.220.118" and first["id_resp_h"] == "141.142.2.2"
    assert first["answers"] == ["upload.pmtpa.wikimedia.org.", "208.80.152.3"]
    assert first["TTLs"] == [124, 2156] and first["rcode_name"] == "NOERROR"
    assert 0.0001 < first["rtt"] < 0.01 and first["RD"] and first["RA"] and not first["AA"]
    nx = next(r for r in rows if r["rcode_name"] == "NXDOMAIN")
    assert nx["answers"] == [] and nx["status"] == "answered" and not nx["rejected"]
    # mDNS: a query to 224.0.0.251 answered by a host, matched through the group
    mdns = [r for r in by_status["answered"] if r["id_resp_h"] == "224.0.0.251"]
    assert mdns and all(r["id_resp_p"] == 5353 for r in mdns)
    # LLMNR queries sent twice and never answered
    llmnr = [r for r in rows if r["id_resp_p"] == 5355]
    assert llmnr and all(r["status"] == "unanswered" and r["duplicate_queries"] == 1
                         for r in llmnr)
    table = rows.to_arrow()
    assert table.num_rows == len(rows) and table.column_names == list(rows.columns)
    frame = rows.to_pandas()
    assert [q if isinstance(q, str) else None for q in frame["query"]] == [
        r["query"] for r in rows]
    assert list(frame["status"]) == [r["status"] for r in rows]
    assert list(frame["uid"]) == [r["uid"] for r in rows]


def test_dns_over_tcp_transactions() -> None:
    rows = dns.transactions(CAPTURES / "tcpdump__dns_tcp.pcap")
    assert len(rows) == 1
    row = rows[0]
    assert row["proto"] == "tcp" and row["status"] == "answered"
    assert row["query"] == "www.tcpdump.org" and row["answers"] == [
        "192.139.46.66", "198.199.88.104"]


def _ipv4(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    """Ethernet + IPv4 (header checksum computed) around payload, built by hand so these
    tests depend on the decoder only."""
    import socket

    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst))
    total = sum(struct.unpack("!10H", head))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    head = head[:10] + struct.pack("!H", ~total & 0xFFFF) + head[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + head + payload


def _udp_packet(ts: int, src: str, sport: int, dst: str, dport: int, payload: bytes):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return wirecraft.decode(_ipv4(src, dst, 17, udp), time_ns=ts)


def _msg(ident: int, flags: int, name: bytes = b"\x01a\x00") -> bytes:
    return struct.pack("!HHHHHH", ident, flags, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1)


PAIR_CLIENT, PAIR_SERVER = "10.0.0.1", "10.0.0.53"


def _pairing_packets(pending_at_end: bool = False) -> list:
    """Every pairing case on one client and server: retransmission, duplicate answer, no
    answer, no query, another question, an answer after the timeout (and optionally a
    query still pending when the packets end)."""
    c, s = PAIR_CLIENT, PAIR_SERVER
    s_ = 1_000_000_000
    pkts = [
        _udp_packet(0, c, 1000, s, 53, _msg(1, 0x0100)),
        _udp_packet(1 * s_, c, 1000, s, 53, _msg(1, 0x0100)),          # retransmitted query
        _udp_packet(2 * s_, s, 53, c, 1000, _msg(1, 0x8180)),          # answer (RTT 2 s)
        _udp_packet(3 * s_, s, 53, c, 1000, _msg(1, 0x8180)),          # duplicate answer
        _udp_packet(4 * s_, c, 1001, s, 53, _msg(2, 0x0100)),          # never answered
        _udp_packet(5 * s_, s, 53, c, 1002, _msg(3, 0x8183)),          # no query
        _udp_packet(6 * s_, c, 1003, s, 53, _msg(4, 0x0100)),
        _udp_packet(6 * s_, s, 53, c, 1003, _msg(4, 0x8180, b"\x01b\x00")),  # other question
        _udp_packet(7 * s_, c, 1004, s, 53, _msg(5, 0x0100)),
    ]
    if pending_at_end:
        pkts.append(_udp_packet(25 * s_, c, 1005, s, 53, _msg(6, 0x0100)))
    pkts.append(_udp_packet(30 * s_, s, 53, c, 1004, _msg(5, 0x8180)))  # after the timeout
    return pkts


def test_pairing_rules() -> None:
    pkts = _pairing_packets()
    rows = dns.transactions(pkts, timeout=10)
    got = [(r["trans_id"], r["status"], r["duplicate_queries"], r["duplicate_responses"],
            r["rtt"]) for r in rows]
    assert got == [
        (1, "answered", 1, 1, 2.0),
        (2, "unanswered", 0, 0, None),
        (3, "no_query", 0, 0, None),
        (4, "unanswered", 0, 0, None),
        (4, "no_query", 0, 0, None),
        (5, "unanswered", 0, 0, None),
        (5, "no_query", 0, 0, None),
    ]
    no_query = rows[2]
    assert (no_query["id_orig_h"], no_query["id_orig_p"]) == (PAIR_CLIENT, 1002)
    assert no_query["rcode_name"] == "NXDOMAIN" and not no_query["rejected"]


def test_cli_lines_and_json() -> None:
    runner = CliRunner()
    path = str(CAPTURES / "tcpdump__dns_tcp.pcap")
    out = runner.invoke(main, ["dns", path])
    assert out.exit_code == 0, out.output
    line = out.stdout.splitlines()[0]
    assert " tcp 192.168.1.11:33779 > 209.87.249.18:53 id=17177 www.tcpdump.org A NOERROR " \
        "192.139.46.66 (60),198.199.88.104 (60) rtt=125.857ms flags=aa,rd" in line
    out = runner.invoke(main, ["dns", "--json", path])
    assert out.exit_code == 0
    row = json.loads(out.stdout.splitlines()[0])
    assert row["query"] == "www.tcpdump.org" and row["TTLs"] == [60, 60]
    out = runner.invoke(main, ["dns", "-f", "udp", path])
    assert out.exit_code == 0 and out.stdout == ""
    # --port: DNS on a port that is not 53
    out = runner.invoke(main, ["dns", "--json", "--port", "33779",
                               str(CAPTURES / "gopacket__test_dns.pcap")])
    assert out.exit_code == 0 and len(out.stdout.splitlines()) == 10


def _tcp_packet(ts: int, src: str, sport: int, dst: str, dport: int, seq: int, ack: int,
                flags: int, payload: bytes = b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    return wirecraft.decode(_ipv4(src, dst, 6, tcp + payload), time_ns=ts)


@pytest.mark.parametrize("order", ["in_order", "reordered_and_retransmitted"])
def test_tcp_several_messages_split_across_segments(order: str) -> None:
    c, s = "10.0.0.1", "10.0.0.53"
    queries = [_msg(i, 0x0100, bytes([1, 96 + i, 0])) for i in (1, 2, 3)]
    answers = [_msg(i, 0x8180, bytes([1, 96 + i, 0])) for i in (1, 2, 3)]
    up = b"".join(struct.pack("!H", len(m)) + m for m in queries)
    down = b"".join(struct.pack("!H", len(m)) + m for m in answers)
    cseq, sseq = 1000, 5000
    syn = [_tcp_packet(0, c, 4000, s, 53, cseq, 0, 2),
           _tcp_packet(1, s, 53, c, 4000, sseq, cseq + 1, 18),
           _tcp_packet(2, c, 4000, s, 53, cseq + 1, sseq + 1, 16)]
    # the client's bytes in three segments cutting through length prefixes and messages
    cuts = [0, 1, 20, len(up)]
    segs = [_tcp_packet(10 + i, c, 4000, s, 53, cseq + 1 + a, sseq + 1, 24, up[a:b])
            for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False))]
    if order != "in_order":
        segs = [segs[0], segs[2], segs[1], segs[1]]  # out of order, then a retransmission
    reply = [_tcp_packet(100, s, 53, c, 4000, sseq + 1, cseq + 1 + len(up), 24, down)]
    pkts = syn + segs + reply
    events = list(dns.messages(pkts))
    assert [(e.proto, e.message.qr, e.message.id) for e in events] == [
        ("tcp", False, 1), ("tcp", False, 2), ("tcp", False, 3),
        ("tcp", True, 1), ("tcp", True, 2), ("tcp", True, 3)]
    assert all(e.message.problems == [] for e in events)
    rows = dns.transactions(pkts)
    assert [(r["trans_id"], r["status"], r["query"]) for r in rows] == [
        (1, "answered", "a"), (2, "answered", "b"), (3, "answered", "c")]


# --------------------------------------------------------------------------- streaming


def _tracked(pkts: list, **kw) -> list[list[dict]]:
    tracker = dns.TransactionTracker(**kw)
    return [tracker.feed(p) for p in pkts] + [tracker.flush()]


@pytest.mark.parametrize("path", DNS_CAPTURES, ids=[p.name for p in DNS_CAPTURES])
def test_tracker_gives_the_rows_of_transactions(path: Path) -> None:
    pkts = list(wirecraft.read(path))
    streamed = [row for step in _tracked(pkts) for row in step]
    table = dns.transactions(pkts).to_dicts()
    assert all(list(r) == [name for name, _ in dns.COLUMNS] for r in streamed)
    # the same rows; only the order differs (the tracker hands a row out when it is
    # complete) and a response repeated after that is not counted on the row handed out
    later = sum(r["duplicate_responses"] for r in table)
    for r in streamed + table:
        r["duplicate_responses"] = 0
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    assert sorted(map(key, streamed)) == sorted(map(key, table))
    assert later == 0 or path.name in ("zeek__dns__mdns.pcap", "zeek__wikipedia.pcap")


def test_tracker_hands_out_each_row_when_it_completes() -> None:
    pkts = _pairing_packets(pending_at_end=True)
    steps = [[(r["trans_id"], r["status"], r["duplicate_queries"], r["rtt"]) for r in step]
             for step in _tracked(pkts, timeout=10)]
    assert steps == [
        [], [],
        [(1, "answered", 1, 2.0)],
        [],                                 # a repeated answer is not a new transaction
        [],
        [(3, "no_query", 0, None)],
        [],
        [(4, "no_query", 0, None)],
        [],
        # 25 s puts the queries of 4, 6 and 7 s past the timeout
        [(2, "unanswered", 0, None), (4, "unanswered", 0, None), (5, "unanswered", 0, None)],
        [(5, "no_query", 0, None)],         # the answer came too late
        [(6, "unanswered", 0, None)],       # flush
    ]


def test_tracker_tcp_messages_split_across_segments() -> None:
    c, s = "10.0.0.1", "10.0.0.53"
    queries = [_msg(i, 0x0100, bytes([1, 96 + i, 0])) for i in (1, 2, 3)]
    answers = [_msg(i, 0x8180, bytes([1, 96 + i, 0])) for i in (1, 2, 3)]
    up = b"".join(struct.pack("!H", len(m)) + m for m in queries)
    down = b"".join(struct.pack("!H", len(m)) + m for m in answers)
    cseq, sseq = 1000, 5000
    pkts = [_tcp_packet(0, c, 4000, s, 53, cseq, 0, 2),
            _tcp_packet(1, s, 53, c, 4000, sseq, cseq + 1, 18),
            _tcp_packet(2, c, 4000, s, 53, cseq + 1, sseq + 1, 16)]
    cuts = [0, 1, 20, len(up)]
    pkts += [_tcp_packet(10 + i, c, 4000, s, 53, cseq + 1 + a, sseq + 1, 24, up[a:b])
             for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False))]
    # the answers: the first one and a half in one segment, the rest in another
    pkts += [_tcp_packet(100, s, 53, c, 4000, sseq + 1, cseq + 1 + len(up), 24, down[:40]),
             _tcp_packet(101, s, 53, c, 4000, sseq + 41, cseq + 1 + len(up), 24, down[40:])]
    steps = [[(r["proto"], r["trans_id"], r["status"], r["query"], r["rtt"] is not None)
              for r in step] for step in _tracked(pkts)]
    assert steps[:-3] == [[]] * (len(pkts) - 2)
    assert steps[-3] == [("tcp", 1, "answered", "a", True)]
    assert steps[-2] == [("tcp", 2, "answered", "b", True), ("tcp", 3, "answered", "c", True)]
    assert steps[-1] == []


def test_tracker_memory_is_one_timeout_window() -> None:
    c, s = "10.0.0.1", "10.0.0.53"
    tracker = dns.TransactionTracker(timeout=1.0)
    held = []
    done = 0
    for i in range(4000):  # a query every 10 ms, every other one answered
        ts = i * 10_000_000
        done += len(tracker.feed(_udp_packet(ts, c, 2000 + i % 1000, s, 53,
                                             _msg(i & 0xFFFF, 0x0100))))
        if i % 2:
            done += len(tracker.feed(_udp_packet(ts + 1000, s, 53, c, 2000 + i % 1000,
                                                 _msg(i & 0xFFFF, 0x8180))))
        held.append(tracker.held)
    done += len(tracker.flush())
    assert done == 4000
    # a 1 s window holds 100 queries; rows are dropped in chunks of at least 256
    assert max(held) <= 2 * 256 + 200
