"""wirecraft.flows: Zeek conn.log's connections.

Oracles: Zeek's own conn.log baselines for the sample captures (../shared/zeek-baselines,
copied here as expected values are read from there when it is beside the checkout), and
tshark's per-packet addresses and ports (every packet of a connection counted in it);
crafted conversations for each conn_state, history letter and the table's limits.
"""

from __future__ import annotations

import subprocess
import warnings
from collections import Counter
from pathlib import Path

import pytest

import wirecraft
from wirecraft.capture import batch_from_buffer
from wirecraft.conn import COLUMNS, FlowTracker, flows
from wirecraft.craft import ARP, ICMP, TCP, UDP, Ethernet, ICMPv6, IPv4, IPv6

from conftest import CAPTURES, require_tool

BASELINES = Path(__file__).resolve().parents[2] / "shared" / "zeek-baselines"
# (capture, log, capture filter Zeek ran with)
ZEEK_LOGS = [("zeek__wikipedia.pcap", "conn.log", None),
             ("zeek__pcapng-multi-interface.pcapng", "conn.log", None),
             ("zeek__tls__irc-starttls.pcap", "conn.log", None),
             ("zeek__tcp__ctu-64702-888.pcap", "conn.log.cut", None),
             ("zeek__smtp.pcap", "conn.log.cut", "tcp port 25"),
             ("zeek__http-vlan-0.pcap", "conn.log.cut", None)]
# services Zeek names that wirecraft does not decode (so cannot confirm): left out of
# the comparison of `service`; NetBIOS name service (137) is parsed by Zeek's DNS analyzer
NOT_DECODED = {"http", "irc", "ssl"}
T0 = 1_700_000_000 * 10**9


def _zeek_rows(path: Path) -> list[dict[str, str]]:
    fields: list[str] | None = None
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line.startswith("#") or not line:
            continue
        elif fields is None:
            fields = line.split("\t")             # a zeek-cut -m header
        else:
            rows.append(dict(zip(fields, line.split("\t"), strict=True)))
    return rows


def _text(col: str, v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "T" if v else "F"
    if col == "duration":
        return f"{v:.6f}"
    return str(v)


def _zeek_service(row: dict[str, str]) -> str:
    names = [s for s in row["service"].split(",") if s not in NOT_DECODED and s != "-"]
    if row.get("id.resp_p") == "137":
        names = [s for s in names if s != "dns"]
    return ",".join(names) or "-"


@pytest.mark.parametrize(("capture", "log", "bpf"), ZEEK_LOGS, ids=[c for c, _, _ in ZEEK_LOGS])
def test_conn_rows_equal_zeeks(capture: str, log: str, bpf: str | None) -> None:
    path = BASELINES / capture.rsplit(".", 1)[0] / log
    if not path.exists():
        pytest.skip(f"no Zeek baseline at {path}")
    expected = _zeek_rows(path)
    got = flows(CAPTURES / capture, local_nets="private", filter=bpf)
    assert len(got) == len(expected)
    cols = [c for c in expected[0] if c in COLUMNS and c not in ("uid", "ts")]
    keys = [c for c in ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto")
            if c in expected[0]]
    pairs = []
    if keys:
        by_key = {tuple(_text(c, r[c]) for c in keys): r for r in got}
        for z in expected:
            k = tuple(z[c] for c in keys)
            assert k in by_key, f"no connection {k}"
            pairs.append((z, by_key[k]))
    else:
        pairs = list(zip(expected, got, strict=True))
    for z, w in pairs:
        for c in cols:
            want = _zeek_service(z) if c == "service" else z[c]
            assert _text(c, w[c]) == want, (c, z, w)


def _tshark_keys(path: Path) -> Counter:
    """Packets per (transport, unordered ends) by tshark's dissection."""
    tshark = require_tool("tshark")
    out = subprocess.run(
        [tshark, "-r", str(path), "-o", "ip.defragment:TRUE", "-T", "fields", "-E",
         "separator=|", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
         "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport", "-e", "udp.dstport",
         "-e", "ip.proto", "-e", "ipv6.nxt", "-Y", "(tcp or udp) and not icmp and not icmpv6"],
        capture_output=True, text=True, check=True).stdout
    keys: Counter = Counter()
    for line in out.splitlines():
        f = line.split("|")
        src = (f[0] or f[1]).split(",")[-1]
        dst = (f[2] or f[3]).split(",")[-1]
        proto = "tcp" if f[4] else "udp"
        sp, dp = (f[4], f[5]) if f[4] else (f[6], f[7])
        keys[(proto, frozenset({(src, int(sp)), (dst, int(dp))}))] += 1
    return keys


@pytest.mark.parametrize("capture", ["zeek__smtp.pcap", "zeek__var-services-std-ports.pcap",
                                     "zeek__wikipedia.pcap", "dpkt__dns_icmp.pcap",
                                     "zeek__ipv6-fragmented-dns.pcap"])
def test_every_tcp_and_udp_packet_counted_in_its_connection(capture: str) -> None:
    expected = _tshark_keys(CAPTURES / capture)
    got: Counter = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = flows(CAPTURES / capture)
    for r in table:
        if r["proto"] in ("tcp", "udp"):
            k = (r["proto"], frozenset({(r["id.orig_h"], r["id.orig_p"]),
                                        (r["id.resp_h"], r["id.resp_p"])}))
            got[k] += r["orig_pkts"] + r["resp_pkts"]
    assert got == expected


# ---------------------------------------------------------------- crafted conversations

A, B = "10.0.0.1", "10.0.0.2"


def _tcp(src: str, dst: str, sp: int, dp: int, flags: str, seq: int = 0, ack: int = 0,
         data: bytes = b"", window: int = 8192) -> bytes:
    return bytes(Ethernet() / IPv4(src=src, dst=dst) / TCP(
        src_port=sp, dst_port=dp, flags=flags, seq=seq, ack=ack, window=window) / data)


def _c2s(flags: str, seq: int, ack: int = 0, data: bytes = b"") -> bytes:
    return _tcp(A, B, 40000, 25, flags, seq, ack, data)


def _s2c(flags: str, seq: int, ack: int = 0, data: bytes = b"") -> bytes:
    return _tcp(B, A, 25, 40000, flags, seq, ack, data)


def _batch(frames: list[bytes], step_ns: int = 1_000_000, first: int = 0) -> object:
    offsets, pos = [], 0
    for f in frames:
        offsets.append(pos)
        pos += len(f)
    lens = [len(f) for f in frames]
    times = [T0 + first * step_ns + i * step_ns for i in range(len(frames))]
    return batch_from_buffer(b"".join(frames), offsets, lens, lens, times, 1, first)


def _one(frames: list[bytes], **kw: object) -> dict:
    (row,) = flows(_batch(frames), **kw)
    return row


def _handshake() -> list[bytes]:
    return [_c2s("S", 100), _s2c("SA", 500, 101), _c2s("A", 101, 501)]


def test_handshake_data_and_close_is_sf() -> None:
    frames = _handshake() + [
        _s2c("PA", 501, 101, b"220 ready\r\n"), _c2s("PA", 101, 512, b"QUIT\r\n"),
        _c2s("FA", 107, 512), _s2c("FA", 512, 108), _c2s("A", 108, 513)]
    r = _one(frames)
    assert (r["conn_state"], r["history"]) == ("SF", "ShAdDFf")
    assert (r["orig_bytes"], r["resp_bytes"], r["missed_bytes"]) == (6, 11, 0)
    assert (r["orig_pkts"], r["resp_pkts"]) == (5, 3)
    assert r["service"] == "smtp" and r["proto"] == "tcp" and r["ended"] == "end"
    assert (r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"]) == (A, 40000, B, 25)


@pytest.mark.parametrize(("frames", "state", "history"), [
    ([_c2s("S", 1)], "S0", "S"),
    ([_c2s("S", 1), _s2c("RA", 0, 2)], "REJ", "Sr"),
    (_handshake(), "S1", "ShA"),
    (_handshake() + [_c2s("RA", 101, 501)], "RSTO", "ShAR"),
    (_handshake() + [_s2c("RA", 501, 101)], "RSTR", "ShAr"),
    ([_c2s("S", 1), _c2s("F", 2)], "SH", "SF"),
    (_handshake() + [_c2s("FA", 101, 501)], "S2", "ShAF"),
    (_handshake() + [_s2c("FA", 501, 101)], "S3", "ShAf"),
    ([_c2s("S", 1), _c2s("R", 2)], "RSTOS0", "SR"),
    ([_c2s("PA", 1000, 9, b"x" * 10), _s2c("A", 9, 1010)], "OTH", "Da"),
    ([_s2c("SA", 500, 101)], "OTH", "^h"),
    ([_s2c("PA", 1000, 9, b"x" * 10), _c2s("R", 9)], "OTH", "^dR"),
])
def test_tcp_conn_states(frames: list[bytes], state: str, history: str) -> None:
    r = _one(frames)
    assert (r["conn_state"], r["history"]) == (state, history)


def test_retransmitted_data_counts_once_and_marks_t() -> None:
    data = _c2s("PA", 101, 501, b"y" * 100)
    r = _one(_handshake() + [data, data, _s2c("A", 501, 201)])
    assert r["orig_bytes"] == 100 and r["orig_pkts"] == 4
    assert r["history"] == "ShADTa"


def test_a_gap_is_missed_bytes() -> None:
    frames = _handshake() + [_c2s("PA", 101, 501, b"a" * 10), _c2s("PA", 151, 501, b"b" * 10),
                             _s2c("A", 501, 161)]
    r = _one(frames)
    assert (r["orig_bytes"], r["missed_bytes"]) == (60, 40)


def test_zero_window_letters_repeat_at_powers_of_ten() -> None:
    frames = _handshake() + [_tcp(B, A, 25, 40000, "A", 501, 101, window=0)] * 10
    assert _one(frames)["history"] == "ShAaww"


def test_port_reuse_after_close_starts_a_new_connection() -> None:
    first = _handshake() + [_c2s("FA", 101, 501), _s2c("FA", 501, 102), _c2s("A", 102, 502)]
    again = [_c2s("S", 9000), _s2c("SA", 7000, 9001)]
    table = flows(_batch(first + again))
    assert [r["conn_state"] for r in table] == ["SF", "OTH"]
    assert [r["ended"] for r in table] == ["reuse", "end"]
    assert table[0]["uid"] != table[1]["uid"]
    assert table[1]["history"] == "Sh"


def test_udp_states_and_a_reply_seen_first_is_turned_round() -> None:
    q = bytes(Ethernet() / IPv4(src=A, dst=B) / UDP(src_port=5555, dst_port=53) / (b"\0" * 20))
    a = bytes(Ethernet() / IPv4(src=B, dst=A) / UDP(src_port=53, dst_port=5555) / (b"\0" * 30))
    r = _one([q, a])
    assert (r["conn_state"], r["history"], r["service"]) == ("SF", "Dd", "dns")
    assert (r["orig_bytes"], r["resp_bytes"], r["orig_ip_bytes"]) == (20, 30, 48)
    r = _one([q])
    assert (r["conn_state"], r["duration"], r["orig_bytes"]) == ("S0", None, None)
    r = _one([a])
    assert (r["id.orig_h"], r["id.orig_p"], r["history"], r["conn_state"]) == (
        A, 5555, "^d", "SHR")


def test_icmp_echo_pairs_request_and_reply() -> None:
    req = bytes(Ethernet() / IPv4(src=A, dst=B) / ICMP(type=8, id=1, seq=1) / (b"p" * 56))
    rep = bytes(Ethernet() / IPv4(src=B, dst=A) / ICMP(type=0, id=1, seq=1) / (b"p" * 56))
    r = _one([req, rep])
    assert (r["proto"], r["id.orig_p"], r["id.resp_p"]) == ("icmp", 8, 0)
    assert (r["orig_pkts"], r["resp_pkts"], r["orig_bytes"], r["resp_bytes"]) == (1, 1, 56, 56)
    assert r["conn_state"] == "OTH"
    r = _one([rep])
    assert (r["id.orig_h"], r["id.orig_p"], r["id.resp_p"]) == (A, 8, 0)
    v6req = bytes(Ethernet() / IPv6(src="2001:db8::1", dst="2001:db8::2") / ICMPv6(type=128))
    v6rep = bytes(Ethernet() / IPv6(src="2001:db8::2", dst="2001:db8::1") / ICMPv6(type=129))
    r = _one([v6req, v6rep])
    assert (r["id.orig_h"], r["id.orig_p"], r["id.resp_p"], r["resp_pkts"]) == (
        "2001:db8::1", 128, 129, 1)


def test_idle_timeout_ends_a_connection_in_capture_time() -> None:
    q = bytes(Ethernet() / IPv4(src=A, dst=B) / UDP(src_port=5555, dst_port=53) / b"x")
    b = _batch([q, q, q], step_ns=40 * 10**9)      # 40 s apart: one connection at 60 s
    assert len(flows(b)) == 1
    table = flows(b, udp_timeout=30.0)
    assert [r["ended"] for r in table] == ["timeout", "timeout", "end"]
    assert table.stats["timeouts"] == 2


def test_the_table_cap_evicts_the_least_recent_and_counts_it() -> None:
    frames = [bytes(Ethernet() / IPv4(src=A, dst=B) / UDP(src_port=1000 + i, dst_port=53) / b"x")
              for i in range(10)]
    table = flows(_batch(frames), max_connections=4)
    assert len(table) == 10 and table.stats["evicted"] == 6
    assert sorted(r["id.orig_p"] for r in table if r["ended"] == "evicted") == list(
        range(1000, 1006))


def test_streaming_rows_come_out_as_connections_end() -> None:
    q = bytes(Ethernet() / IPv4(src=A, dst=B) / UDP(src_port=5555, dst_port=53) / b"x")
    t = FlowTracker(udp_timeout=1.0)
    assert t.feed(_batch([q], first=0)) == []
    assert t.stats["live"] == 1
    later = _batch([_c2s("S", 1)], step_ns=5 * 10**9, first=1)
    ended = t.feed(later)
    assert [r["proto"] for r in ended] == ["udp"] and ended[0]["ended"] == "timeout"
    assert [r["proto"] for r in t.flush()] == ["tcp"]


def test_where_counts_only_the_packets_it_selects() -> None:
    full = flows(CAPTURES / "zeek__smtp.pcap")
    only = flows(CAPTURES / "zeek__smtp.pcap", where="tcp.port == 25")
    assert {r["id.resp_p"] for r in only} == {25}
    assert len(only) == len([r for r in full if r["id.resp_p"] == 25])


def test_columns_types_and_arrow() -> None:
    pa = pytest.importorskip("pyarrow")
    table = flows(CAPTURES / "zeek__smtp.pcap", local_nets=["10.0.0.0/8"])
    assert table.columns == list(COLUMNS) and set(table[0]) == set(COLUMNS)
    at = table.to_arrow()
    assert at.schema.field("ts").type == pa.timestamp("ns", tz="UTC")
    assert at.num_rows == len(table)
    assert all(u.startswith("C") and len(u) == 17 for u in table.column("uid"))
    assert len(set(table.column("uid"))) == len(table)
    assert {r["local_orig"] for r in table} <= {True, False}
    assert wirecraft.flows is flows


def test_packets_in_no_connection_are_counted() -> None:
    arp = bytes(Ethernet() / ARP())
    table = flows(_batch([arp, _c2s("S", 1)]))
    assert len(table) == 1
    assert table.stats["not_ip"] == 1 and table.stats["in_connections"] == 1


LIVE = """
    import socket, sys, threading, time
    from wirecraft.conn import FlowTracker
    from wirecraft.craft import ICMP
    from wirecraft.live import Sniffer
    iface, peer = sys.argv[1:3]
    s = Sniffer(iface, filter="icmp or tcp", timeout=5, immediate=True)
    t = FlowTracker(icmp_timeout=1.0)
    during = []
    def run():
        for batch in s.packet_batches():
            during.extend((r, time.monotonic()) for r in t.feed(batch))
    th = threading.Thread(target=run)
    th.start()
    time.sleep(0.5)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    for seq in range(3):               # echo requests; the peer's kernel answers
        raw.sendto(bytes(ICMP(type=8, id=77, seq=seq) / (b"p" * 32)), (peer, 0))
        time.sleep(0.2)
    raw.close()
    time.sleep(1.6)
    syn_at = time.monotonic()
    c = socket.socket()
    c.settimeout(2)
    try:
        c.connect((peer, 9))          # closed: the peer's kernel answers with a RST
    except OSError:
        pass
    c.close()
    th.join()
    after = t.flush()
    for r, when in during:
        print("during", r["proto"], r["id.orig_p"], r["id.resp_p"], r["orig_pkts"],
              r["resp_pkts"], r["ended"], when >= syn_at)
    for r in after:
        print("after", r["proto"], r["id.resp_p"], r["conn_state"], r["history"], r["ended"])
"""


@pytest.mark.live
def test_a_live_capture_gets_rows_as_connections_end() -> None:
    import sys
    import textwrap

    from conftest import WIRECRAFT_PATH
    from netns import VethPair

    with VethPair() as pair:
        r = pair.run("b", [sys.executable, "-c", textwrap.dedent(LIVE), pair.iface_b,
                           pair.addr_a], capture_output=True, text=True, timeout=60,
                     env={"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # the pings' connection ended by its idle timeout while the capture ran, when the
    # SYN's packets came; the refused connection at the end of the capture
    assert lines == ["during icmp 8 0 3 3 timeout True", "after tcp 9 REJ Sr end"], lines
