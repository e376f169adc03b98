"""Field correctness of the L2-L4 decoder (issue 11 items 9 and 13).

Checksums (RFC 768 UDP length, RFC 8200 8.1 routing-header destination, atomic
fragments), all 12 TCP flag bits, absent fields reading None, SLL addresses, and
what stop_layer / stop_reason mean. Frames are built here byte by byte.
"""

from __future__ import annotations

import io
import json
import socket
import struct

import pytest
from decodecheck import check_bounds

import wirecraft
from wirecraft.packet import ANOMALIES
from wirecraft.summary import to_json

from pcapbuild import pcap

SRC4, DST4 = socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.2")
SRC6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
DST6 = socket.inet_pton(socket.AF_INET6, "2001:db8::2")
FINAL6 = socket.inet_pton(socket.AF_INET6, "2001:db8::99")


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(payload: bytes, etype: int) -> bytes:
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + struct.pack("!H", etype) + payload


def ipv4(proto: int, body: bytes, total: int | None = None, frag: int = 0,
         src: bytes = SRC4, dst: bytes = DST4) -> bytes:
    tl = 20 + len(body) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tl, 7, frag, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + body


def ipv6(nh: int, body: bytes, src: bytes = SRC6, dst: bytes = DST6) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), nh, 64, src, dst) + body


def l4_sum(src: bytes, dst: bytes, proto: int, seg: bytes) -> int:
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), proto)
    return csum(pseudo + seg)


def udp(payload: bytes, src: bytes, dst: bytes, sport: int = 1234, dport: int = 9) -> bytes:
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    c = l4_sum(src, dst, 17, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def tcp(payload: bytes, src: bytes, dst: bytes, flags: int = 0x18) -> bytes:
    seg = struct.pack("!HHIIHHHH", 1234, 80, 1000, 2000, (5 << 12) | flags, 512, 0, 0) + payload
    c = l4_sum(src, dst, 6, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


# -- checksums ----------------------------------------------------------------

def test_udp_checksum_covers_the_udp_length_not_the_ip_payload() -> None:
    # RFC 768: bytes after the UDP length (inside the IP payload) are not summed
    seg = udp(b"hello", SRC4, DST4) + b"\xde\xad\xbe\xef"
    pkt = wirecraft.decode(eth(ipv4(17, seg), 0x0800))
    assert pkt.udp.length == 13 and pkt.payload == b"hello"
    assert pkt.verify_checksums() == {"ip": True, "udp": True}
    seg6 = udp(b"hello", SRC6, DST6) + b"\xde\xad"
    assert wirecraft.decode(eth(ipv6(17, seg6), 0x86DD)).verify_checksums() == {"udp": True}


def routing(rtype: int, addresses: list[bytes], segleft: int, nh: int) -> bytes:
    if rtype == 4:   # segment routing header: last entry, flags, tag
        head = struct.pack("!BBBBBBH", nh, 2 * len(addresses), 4, segleft, len(addresses) - 1,
                           0, 0)
    else:
        head = struct.pack("!BBBBI", nh, 2 * len(addresses), rtype, segleft, 0)
    return head + b"".join(addresses)


@pytest.mark.parametrize("rtype,addresses", [
    (0, [socket.inet_pton(socket.AF_INET6, "2001:db8::50"), FINAL6]),
    (2, [FINAL6]),
    (4, [FINAL6, socket.inet_pton(socket.AF_INET6, "2001:db8::50"), DST6]),
])
@pytest.mark.parametrize("proto", [6, 17, 58])
def test_ipv6_checksum_uses_the_final_destination_of_a_routing_header(rtype, addresses,
                                                                      proto) -> None:
    if proto == 17:
        seg = udp(b"data", SRC6, FINAL6)
    elif proto == 6:
        seg = tcp(b"data", SRC6, FINAL6)
    else:
        raw = struct.pack("!BBHHH", 128, 0, 0, 5, 6) + b"ping"
        c = l4_sum(SRC6, FINAL6, 58, raw)
        seg = raw[:2] + struct.pack("!H", c) + raw[4:]
    frame = eth(ipv6(43, routing(rtype, addresses, 1, proto) + seg), 0x86DD)
    pkt = wirecraft.decode(frame)
    name = {6: "tcp", 17: "udp", 58: "icmpv6"}[proto]
    assert pkt.verify_checksums() == {name: True}
    assert wirecraft.decode(frame, checksums=True).problems == []
    # with no segments left the header's own destination is the final one
    frame0 = eth(ipv6(43, routing(rtype, addresses, 0, proto) + seg), 0x86DD)
    assert wirecraft.decode(frame0).verify_checksums() == {name: False}


def test_atomic_ipv6_fragment_is_verified() -> None:
    seg = udp(b"whole", SRC6, DST6)
    frag = struct.pack("!BBHI", 17, 0, 0, 0x1234)          # offset 0, M=0
    pkt = wirecraft.decode(eth(ipv6(44, frag + seg), 0x86DD))
    assert pkt.has("fragment")
    assert pkt.verify_checksums() == {"udp": True}
    bad = bytearray(eth(ipv6(44, frag + seg), 0x86DD))
    bad[-1] ^= 1
    assert wirecraft.decode(bytes(bad)).verify_checksums() == {"udp": False}
    # a real first fragment (M=1) cannot be verified
    more = struct.pack("!BBHI", 17, 0, 1, 0x1234)
    assert wirecraft.decode(eth(ipv6(44, more + seg), 0x86DD)).verify_checksums() == {"udp": None}


def frames_with_bad_checksums() -> dict[str, bytes]:
    good_udp = eth(ipv4(17, udp(b"abc", SRC4, DST4)), 0x0800)
    good_tcp = eth(ipv4(6, tcp(b"abc", SRC4, DST4)), 0x0800)
    icmp = struct.pack("!BBHHH", 8, 0, 0, 1, 2) + b"ping"
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    good_icmp = eth(ipv4(1, icmp), 0x0800)
    raw6 = struct.pack("!BBHHH", 128, 0, 0, 5, 6) + b"ping"
    raw6 = raw6[:2] + struct.pack("!H", l4_sum(SRC6, DST6, 58, raw6)) + raw6[4:]
    good_icmp6 = eth(ipv6(58, raw6), 0x86DD)
    good_udp6 = eth(ipv6(17, udp(b"abc", SRC6, DST6)), 0x86DD)

    def flip(frame: bytes, at: int) -> bytes:
        b = bytearray(frame)
        b[at] ^= 0x40
        return bytes(b)
    return {
        "good_udp": good_udp, "good_tcp": good_tcp, "good_icmp": good_icmp,
        "good_icmp6": good_icmp6, "good_udp6": good_udp6,
        "ip_bad_checksum": flip(good_udp, 14 + 10),
        "udp_bad_checksum": flip(good_udp, 14 + 20 + 6),
        "tcp_bad_checksum": flip(good_tcp, 14 + 20 + 16),
        "icmp_bad_checksum": flip(good_icmp, 14 + 20 + 2),
        "icmpv6_bad_checksum": flip(good_icmp6, 14 + 40 + 2),
        "udp6_bad_checksum": flip(good_udp6, 14 + 40 + 7),
    }


def test_checksums_option_names_bad_checksums_in_problems() -> None:
    frames = frames_with_bad_checksums()
    for name, frame in frames.items():
        checked = wirecraft.decode(frame, checksums=True)
        plain = wirecraft.decode(frame)
        assert not [p for p in plain.problems if "checksum" in p], name
        want = [] if name.startswith("good") else [name.replace("udp6", "udp")]
        assert [p for p in checked.problems if "checksum" in p] == want, name
        assert "checksum" not in plain.summary()
        if want:
            assert want[0] in checked.summary()
    # the same through a file: open().table(), open() iteration, read()
    data = pcap([(i, f) for i, f in enumerate(frames.values())])
    names = [n.replace("udp6", "udp") for n in frames]
    got = [[p for p in pkt.problems if "checksum" in p]
           for pkt in wirecraft.read(io.BytesIO(data), checksums=True)]
    assert got == [[] if n.startswith("good") else [n] for n in names]
    with wirecraft.open(io.BytesIO(data), checksums=True) as cap:
        assert [[p for p in pkt.problems if "checksum" in p] for pkt in cap] == got
    t = wirecraft.open(io.BytesIO(data), checksums=True).table()
    bits = {v: k for k, v in ANOMALIES.items()}
    for i, n in enumerate(names):
        if not n.startswith("good"):
            assert t["anomalies"][i] & bits[n], n
    plain_t = wirecraft.open(io.BytesIO(data)).table()
    assert not (plain_t["anomalies"] & sum(bits[n] for n in set(names) if "bad" in n)).any()


def test_ipv4_udp_zero_checksum_is_not_a_bad_checksum() -> None:
    seg = bytearray(udp(b"abc", SRC4, DST4))
    seg[6:8] = b"\0\0"
    pkt = wirecraft.decode(eth(ipv4(17, bytes(seg)), 0x0800), checksums=True)
    assert pkt.verify_checksums()["udp"] is None and pkt.problems == []


# -- TCP flags ------------------------------------------------------------------

@pytest.mark.parametrize("flags", [0x012, 0x112, 0x212, 0xE00, 0xFFF, 0x100])
def test_tcp_flags_keep_all_twelve_bits(flags: int) -> None:
    pkt = wirecraft.decode(eth(ipv4(6, tcp(b"", SRC4, DST4, flags)), 0x0800))
    assert pkt.tcp.flags == flags
    letters = pkt.tcp.flags_str
    assert ("S" in letters) == bool(flags & 2) and ("N" in letters) == bool(flags & 0x100)
    assert pkt.summary().count("Flags [") == 1
    assert to_json(pkt)["tcp"]["flags"] == flags


# -- absent fields ----------------------------------------------------------------

def icmp_echo(t: int = 8) -> bytes:
    body = struct.pack("!BBHHH", t, 0, 0, 0x4242, 0x0007) + b"data"
    return body[:2] + struct.pack("!H", csum(body)) + body[4:]


@pytest.mark.parametrize("keep,id_,seq", [(4, None, None), (5, None, None), (6, 0x4242, None),
                                          (7, 0x4242, None), (8, 0x4242, 7), (12, 0x4242, 7)])
def test_icmp_echo_id_and_seq_are_present_exactly_when_captured(keep, id_, seq) -> None:
    full = eth(ipv4(1, icmp_echo()), 0x0800)
    pkt = wirecraft.decode(full[:14 + 20 + keep], wire_len=len(full))
    assert (pkt.icmp.id, pkt.icmp.seq) == (id_, seq)
    check_bounds(pkt)
    text = pkt.summary()
    assert ("id 16962" in text) == (id_ is not None) and ("seq 7" in text) == (seq is not None)


def test_icmp_id_is_absent_for_types_without_one() -> None:
    unreach = struct.pack("!BBHI", 3, 1, 0, 0) + bytes(28)
    pkt = wirecraft.decode(eth(ipv4(1, unreach), 0x0800))
    assert pkt.icmp.id is None and pkt.icmp.seq is None


def sll(addr: bytes, halen: int) -> bytes:
    return struct.pack("!HHH", 0, 1, halen) + addr.ljust(8, b"\0") + struct.pack("!H", 0x0800)


def test_sll_all_zero_address_reads_as_a_mac() -> None:
    ip = ipv4(59, b"")
    assert wirecraft.decode(sll(b"\0" * 6, 6) + ip, 113).sll.src == "00:00:00:00:00:00"
    assert wirecraft.decode(sll(b"\x02\0\0\0\0\x09", 6) + ip, 113).sll.src == "02:00:00:00:00:09"
    assert wirecraft.decode(sll(b"", 0) + ip, 113).sll.src is None
    v2 = struct.pack("!HHIHBB", 0x0800, 0, 1, 1, 0, 6) + b"\0" * 8 + ip
    assert wirecraft.decode(v2, 276).sll.src == "00:00:00:00:00:00"


@pytest.mark.parametrize("keep", range(1, 20))
def test_cut_ipv4_header_invents_no_addresses(keep: int) -> None:
    full = eth(ipv4(17, udp(b"abc", SRC4, DST4)), 0x0800)
    pkt = wirecraft.decode(full[:14 + keep], wire_len=len(full))
    ip = pkt.ip
    assert ip is not None and pkt.stop_reason == "truncated header"
    assert ip.src == ("192.0.2.1" if keep >= 16 else None)
    assert ip.dst is None and "0.0.0.0" not in pkt.summary()
    assert ip.ttl == (64 if keep >= 9 else None)
    assert ip.protocol == (17 if keep >= 10 else None)
    j = to_json(pkt)["ip"]
    assert "dst" not in j and ("src" in j) == (keep >= 16)
    json.dumps(to_json(pkt))
    data = pcap([(1, full[:14 + keep], len(full))])
    t = wirecraft.open(io.BytesIO(data)).table()
    assert list(t["has_ip_dst"]) == [False]
    assert list(t["has_ip_src"]) == [keep >= 16]
    assert t.text("ip_dst") == [""]
    assert t.text("ip_src") == ["192.0.2.1" if keep >= 16 else ""]
    assert list(t["ipv4_dst"]) == [0]


def test_cut_ipv6_header_invents_no_addresses() -> None:
    full = eth(ipv6(17, udp(b"abc", SRC6, DST6)), 0x86DD)
    for keep in range(1, 40):
        pkt = wirecraft.decode(full[:14 + keep], wire_len=len(full))
        assert pkt.ip.src == ("2001:db8::1" if keep >= 24 else None)
        assert pkt.ip.dst is None and "::" not in pkt.summary().split(":", 1)[1][:3]
        assert ("dst" in to_json(pkt)["ip"]) is False


@pytest.mark.parametrize("keep", range(4, 20))
def test_cut_tcp_header_reads_none_for_missing_fields(keep: int) -> None:
    full = eth(ipv4(6, tcp(b"x", SRC4, DST4)), 0x0800)
    pkt = wirecraft.decode(full[:34 + keep], wire_len=len(full))
    t = pkt.tcp
    assert t.src_port == 1234 and t.dst_port == 80
    assert t.seq == (1000 if keep >= 8 else None)
    assert t.ack == (2000 if keep >= 12 else None)
    assert t.flags == (0x18 if keep >= 14 else None)
    assert t.window == (512 if keep >= 16 else None)
    pkt.summary()
    check_bounds(pkt)


# -- stop_layer / stop_reason ----------------------------------------------------

def test_stop_layer_is_where_decoding_ended_not_the_first_problem() -> None:
    # IP says 10 more bytes than the frame holds (no snaplen cut): UDP and DNS decoded
    dnsq = bytes.fromhex("123401000001000000000000037777770000010001")
    seg = udp(dnsq, SRC4, DST4, 5353, 53)
    frame = eth(ipv4(17, seg, total=20 + len(seg) + 10), 0x0800)
    pkt = wirecraft.decode(frame)
    assert pkt.udp is not None and pkt.dns is not None
    assert (pkt.stop_layer, pkt.stop_reason) == ("payload", "bad length")
    assert "IP length beyond captured bytes" in pkt.problems
    # cut by snaplen instead: truncated payload, still at the payload
    cut = wirecraft.decode(frame, wire_len=len(frame) + 10)
    assert (cut.stop_layer, cut.stop_reason) == ("payload", "truncated payload")
    # a cut header stops at its own layer
    hdr = wirecraft.decode(frame[:14 + 20 + 5], wire_len=len(frame))
    assert (hdr.stop_layer, hdr.stop_reason) == ("transport", "truncated header")
    # a clean packet: decoded to the end
    ok = wirecraft.decode(eth(ipv4(17, seg), 0x0800))
    assert (ok.stop_layer, ok.stop_reason, ok.problems) == ("transport", None, [])


@pytest.mark.parametrize("proto,keep", [(6, 8), (6, 12), (6, 19), (17, 4), (1, 2)])
def test_first_fragment_with_a_split_transport_header(proto: int, keep: int) -> None:
    body = {6: tcp(b"payload!", SRC4, DST4), 17: udp(b"payload", SRC4, DST4),
            1: icmp_echo()}[proto][:keep]
    frame = eth(ipv4(proto, body, frag=0x2000), 0x0800)        # MF=1, offset 0
    pkt = wirecraft.decode(frame)
    assert (pkt.stop_layer, pkt.stop_reason) == ("transport", "fragmented header")
    assert not pkt.truncated
    assert not [p for p in pkt.problems if "length" in p or "header" in p], pkt.problems
    check_bounds(pkt)
    # the same bytes without MF: IP's length leaves no room, a malformed packet
    whole = wirecraft.decode(eth(ipv4(proto, body), 0x0800))
    assert whole.stop_reason == "bad length" and whole.problems


def test_tcp_options_longer_than_a_first_fragment() -> None:
    seg = bytearray(tcp(b"", SRC4, DST4))
    seg[12] = 10 << 4                                    # 40-byte header, 20 in this fragment
    pkt = wirecraft.decode(eth(ipv4(6, bytes(seg), frag=0x2000), 0x0800))
    assert (pkt.stop_layer, pkt.stop_reason) == ("transport", "fragmented header")
    assert pkt.tcp.seq == 1000


@pytest.mark.parametrize("port", [53, 25])
def test_cut_tcp_headers_do_not_break_stream_consumers(port: int) -> None:
    """TCP fields a cut header lacks read None: DNS-over-TCP, reassembly and SMTP skip
    such segments rather than fail on them."""
    from wirecraft import dns, reassembly, smtp

    frames = []
    for i, keep in enumerate(range(4, 32)):
        seg = bytearray(tcp(b"\x00\x05hello", SRC4, DST4))
        seg[2:4] = struct.pack("!H", port)
        full = eth(ipv4(6, bytes(seg)), 0x0800)
        frames.append((i, full[:34 + keep], len(full)))
    pkts = list(wirecraft.read(io.BytesIO(pcap(frames))))
    assert any(p.tcp is not None and p.tcp.seq is None for p in pkts)
    list(dns.messages(pkts))
    dns.transactions(pkts)
    list(reassembly.streams(pkts))
    smtp.transactions(pkts)


INNER6_SRC = socket.inet_pton(socket.AF_INET6, "fd00::1")
INNER6_DST = socket.inet_pton(socket.AF_INET6, "fd00::2")


@pytest.mark.parametrize("outer", ["srh", "hbh+srh", "ipv4", "plain6"])
@pytest.mark.parametrize("inner", [6, 4])
def test_ip_in_ip_behind_segment_routing_is_flagged_and_decodable(outer: str, inner: int) -> None:
    if inner == 6:
        packet = ipv6(6, tcp(b"in", INNER6_SRC, INNER6_DST), INNER6_SRC, INNER6_DST)
        nh = 41
    else:
        packet = ipv4(17, udp(b"in", SRC4, DST4, 1000, 53))
        nh = 4
    if outer == "ipv4":
        frame = eth(ipv4(nh, packet), 0x0800)
    elif outer == "plain6":
        frame = eth(ipv6(nh, packet), 0x86DD)
    else:
        chain = routing(4, [FINAL6, DST6], 1, nh)
        first = 43
        if outer == "hbh+srh":
            chain = struct.pack("!BB", 43, 0) + b"\x01\x04\0\0\0\0" + chain
            first = 0
        frame = eth(ipv6(first, chain + packet), 0x86DD)
    pkt = wirecraft.decode(frame)
    assert pkt.ip.protocol == nh
    assert (pkt.stop_layer, pkt.stop_reason) == ("network", "unsupported")
    assert pkt.anomalies & {v: k for k, v in ANOMALIES.items()}["tunnelled IP (not decoded)"]
    assert pkt.payload == packet
    inner_pkt = pkt.inner
    assert inner_pkt is not None and inner_pkt.ip.version == inner
    if inner == 6:
        assert inner_pkt.ip.dst == "fd00::2" and inner_pkt.tcp.dst_port == 80
    else:
        assert inner_pkt.udp.dst_port == 53 and inner_pkt.app == "dns"
    assert inner_pkt.verify_checksums()[("tcp" if inner == 6 else "udp")] is True
    check_bounds(inner_pkt)
    # a cut outer frame gives a cut inner packet, flagged as truncated
    cut = wirecraft.decode(frame[:-3], wire_len=len(frame)).inner
    assert cut is not None and cut.truncated
    assert wirecraft.decode(eth(ipv4(17, udp(b"x", SRC4, DST4)), 0x0800)).inner is None


def test_ipv6_header_chain_split_by_fragmentation() -> None:
    dest_opts = struct.pack("!BB", 17, 1) + bytes(14)           # 16 bytes, 8 in this fragment
    first = struct.pack("!BBHI", 60, 0, 1, 9) + dest_opts[:8]    # offset 0, M=1
    pkt = wirecraft.decode(eth(ipv6(44, first), 0x86DD))
    assert (pkt.stop_layer, pkt.stop_reason) == ("network", "fragmented header")
    assert pkt.problems == [] and not pkt.truncated
    check_bounds(pkt)
    # no fragmentation: the payload length leaves the chain short, a malformed packet
    whole = wirecraft.decode(eth(ipv6(60, dest_opts[:8]), 0x86DD))
    assert whole.stop_reason == "bad length"
    assert "IPv6 extension headers truncated" in whole.problems
    # a snaplen cut stays a truncated header
    full = eth(ipv6(60, dest_opts + udp(b"x", SRC6, DST6)), 0x86DD)
    cut = wirecraft.decode(full[:14 + 40 + 10], wire_len=len(full))
    assert cut.stop_reason == "truncated header" and cut.truncated
