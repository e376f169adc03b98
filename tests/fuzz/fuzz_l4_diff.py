"""Differential fuzz target: wirecraft's L2-L4 decoder against dpkt's.

Input: one Ethernet frame. dpkt is the oracle for what it decodes: for each layer dpkt
builds (Ethernet with its 802.1Q tags, IPv4, IPv6, TCP, UDP, ICMP, ICMPv6), wirecraft
must either have the same layer with the same value in every field of its fixed header
(addresses, ports, lengths, identifiers, flags, checksums, sequence numbers, options
bytes), or say why it has not: a problem, a stop reason or a truncation mark. Silently
lacking a layer dpkt found, or reading one of its fields differently, is a bug.

dpkt is lenient where wirecraft is strict, so only dpkt's successes are compared, and
only in Ethernet II frames (in 802.3 frames dpkt guesses at Cisco ISL and Novell raw
framing, which wirecraft does not decode): a layer dpkt rejects is not, nor one dpkt builds against its own rules (an IPv4 header
whose version nibble is not 4, say, which dpkt decodes anyway). Fields wirecraft leaves
absent because their bytes were not captured are absent for dpkt too (it raises on a
header cut short), so `None` against a dpkt value is a disagreement.
"""

from __future__ import annotations

import socket

import dpkt
from fuzzkit import capture_packets, distinct

import wirecraft

ETHERNET = 1
VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _explained(pkt: wirecraft.Packet) -> bool:
    """Whether wirecraft says why it stopped short of a layer."""
    return bool(pkt.problems) or pkt.stop_reason is not None or pkt.truncated


def _same(layer: str, pairs: list[tuple[str, object, object]], where: str) -> None:
    for name, ours, theirs in pairs:
        assert ours == theirs, (f"{layer}.{name}", ours, theirs, where)


def _ethernet(pkt: wirecraft.Packet, eth: dpkt.ethernet.Ethernet, where: str) -> int:
    """Compare the Ethernet header and tags; returns the ethertype of the payload."""
    ours = pkt.eth
    assert ours is not None, ("no eth", where)
    tags = list(getattr(eth, "vlan_tags", []) or [])
    inner = tags[-1].type if tags else eth.type
    _same("eth", [("src", ours.src, _mac(eth.src)), ("dst", ours.dst, _mac(eth.dst))], where)
    ours_tags = pkt.vlan or ()
    if tags and len(ours_tags) == len(tags):
        for k, (tag, theirs) in enumerate(zip(ours_tags, tags, strict=True)):
            _same(f"vlan[{k}]", [("id", tag.id, theirs.id), ("pcp", tag.pcp, theirs.pri),
                                 ("dei", tag.dei, theirs.cfi)], where)
        _same("eth", [("type", ours.type, inner)], where)
    elif not tags:
        _same("eth", [("type", ours.type, eth.type)], where)
    return inner


def _ipv4(pkt: wirecraft.Packet, ip: dpkt.ip.IP, where: str) -> bool:
    """Compare an IPv4 header; returns whether wirecraft has it (False: explained)."""
    ours = pkt.ipv4
    if ours is None:
        assert _explained(pkt), ("dpkt decodes IPv4, wirecraft has none and says nothing",
                                 where)
        return False
    _same("ipv4", [
        ("version", ours.version, ip.v), ("header_length", ours.header_length, ip.hl * 4),
        ("tos", ours.tos, ip.tos), ("total_length", ours.total_length, ip.len),
        ("id", ours.id, ip.id), ("df", bool(ours.df), bool(ip.df)),
        ("mf", bool(ours.mf), bool(ip.mf)), ("frag_offset", ours.frag_offset, ip.offset * 8),
        ("ttl", ours.ttl, ip.ttl), ("protocol", ours.protocol, ip.p),
        ("checksum", ours.checksum, ip.sum),
        ("src", ours.src, socket.inet_ntop(socket.AF_INET, ip.src)),
        ("dst", ours.dst, socket.inet_ntop(socket.AF_INET, ip.dst)),
    ], where)
    if len(ip.opts) == ip.hl * 4 - 20:          # the whole option area was captured
        _same("ipv4", [("options", bytes(ours.options), bytes(ip.opts))], where)
    return True


def _ipv6(pkt: wirecraft.Packet, ip: dpkt.ip6.IP6, where: str) -> bool:
    ours = pkt.ipv6
    if ours is None:
        assert _explained(pkt), ("dpkt decodes IPv6, wirecraft has none and says nothing",
                                 where)
        return False
    _same("ipv6", [
        ("traffic_class", ours.traffic_class, ip.fc), ("flow_label", ours.flow_label, ip.flow),
        ("payload_length", ours.payload_length, ip.plen),
        ("next_header", ours.next_header, ip.nxt), ("hop_limit", ours.hop_limit, ip.hlim),
        ("src", ours.src, socket.inet_ntop(socket.AF_INET6, ip.src)),
        ("dst", ours.dst, socket.inet_ntop(socket.AF_INET6, ip.dst)),
    ], where)
    return True


def _transport(pkt: wirecraft.Packet, l4: object, where: str) -> None:
    """Compare the transport header dpkt decoded inside the IP layer."""
    if isinstance(l4, dpkt.tcp.TCP):
        ours = pkt.tcp
        if ours is None:
            assert _explained(pkt), ("dpkt decodes TCP, wirecraft has none", where)
            return
        _same("tcp", [
            ("src_port", ours.src_port, l4.sport), ("dst_port", ours.dst_port, l4.dport),
            ("seq", ours.seq, l4.seq), ("ack", ours.ack, l4.ack),
            ("header_length", ours.header_length, l4.off * 4),
            ("flags", ours.flags & 0xFF, l4.flags & 0xFF), ("window", ours.window, l4.win),
            ("checksum", ours.checksum, l4.sum), ("urgent", ours.urgent, l4.urp),
        ], where)
        if len(l4.opts) == l4.off * 4 - 20 and ours.options_bytes is not None:
            _same("tcp", [("options", bytes(ours.options_bytes), bytes(l4.opts))], where)
    elif isinstance(l4, dpkt.udp.UDP):
        ours = pkt.udp
        if ours is None:
            assert _explained(pkt), ("dpkt decodes UDP, wirecraft has none", where)
            return
        _same("udp", [
            ("src_port", ours.src_port, l4.sport), ("dst_port", ours.dst_port, l4.dport),
            ("length", ours.length, l4.ulen), ("checksum", ours.checksum, l4.sum),
        ], where)
    elif isinstance(l4, dpkt.icmp.ICMP | dpkt.icmp6.ICMP6):
        ours = pkt.icmp if isinstance(l4, dpkt.icmp.ICMP) else pkt.icmpv6
        if ours is None:
            assert _explained(pkt), ("dpkt decodes ICMP, wirecraft has none", where)
            return
        _same("icmp", [("type", ours.type, l4.type), ("code", ours.code, l4.code),
                       ("checksum", ours.checksum, l4.sum)], where)
        echo = getattr(l4, "echo", None)
        if isinstance(echo, dpkt.icmp.ICMP.Echo | dpkt.icmp6.ICMP6.Echo) and ours.id is not None:
            _same("icmp", [("id", ours.id, echo.id), ("seq", ours.seq, echo.seq)], where)


def compare(frame: bytes) -> None:
    pkt = wirecraft.decode(frame, ETHERNET)
    if len(frame) < 14 or int.from_bytes(frame[12:14], "big") <= 1500:
        return      # 802.3 with LLC, where dpkt also guesses Cisco ISL and Novell raw
    try:
        eth = dpkt.ethernet.Ethernet(frame)
    except (dpkt.UnpackError, dpkt.NeedData, ValueError, IndexError, KeyError, TypeError,
            AttributeError, OverflowError):
        return
    where = frame.hex()
    ethertype = _ethernet(pkt, eth, where)
    ip = eth.data
    if ethertype == 0x0800 and isinstance(ip, dpkt.ip.IP) and ip.v == 4 and ip.hl >= 5:
        if _ipv4(pkt, ip, where) and ip.offset == 0 and not isinstance(ip.data, bytes):
            _transport(pkt, ip.data, where)
    elif ethertype == 0x86DD and isinstance(ip, dpkt.ip6.IP6) and ip.v == 6:
        if _ipv6(pkt, ip, where) and not isinstance(ip.data, bytes) and not _fragmented(ip):
            _transport(pkt, ip.data, where)


def _fragmented(ip: dpkt.ip6.IP6) -> bool:
    """Whether the IPv6 packet carries a fragment header (dpkt decodes the data after it
    as the next protocol even in a later fragment; wirecraft does not)."""
    return 44 in getattr(ip, "extension_hdrs", {}) and ip.extension_hdrs[44] is not None


def TestOneInput(data: bytes) -> None:
    compare(data)


def seeds() -> list[bytes]:
    """The Ethernet frames of the sample captures, one of each kind (layers, application,
    stop reason, problems), and the Ethernet frames of tests/test_core_fuzz.py's
    generator."""
    out = []
    seen = set()
    for pkt in capture_packets(limit_per_file=2000):
        kind = (pkt.layers, pkt.app, pkt.stop_reason, tuple(pkt.problems))
        if pkt.linktype != ETHERNET or kind in seen:
            continue
        seen.add(kind)
        out.append(pkt.data)
    from test_core_fuzz import SEEDS

    out.extend(frame for frame, linktype in SEEDS if linktype == ETHERNET)
    return distinct(iter(out), 2000)
