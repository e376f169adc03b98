"""`to_layers()` is a view of the one decode: layer fields equal view fields, bytes round-trip.

The second L2-L4 parser that `to_layers()` used (craft/dissect.py) disagreed with
the decoder on seven kinds of input; each is a test here, passing by construction
because the layers are built from what the decoder decoded. Also: one TCP option
vocabulary, and crafting's AUTO type fields and ports following the binding table.
"""

from __future__ import annotations

from typing import Any

import pytest

import wirecraft
from wirecraft.craft import (
    AH,
    ARP,
    AUTO,
    DNS,
    HIP,
    ICMP,
    TCP,
    UDP,
    Dot1Q,
    Ethernet,
    ICMPv6,
    IPv4,
    IPv6,
    IPv6Fragment,
    IPv6HopByHop,
    IPv6Mobility,
    Layer,
    Loopback,
    Raw,
    Shim6,
    from_bytes,
    from_packet,
)
from wirecraft.craft import layers as craft_layers
from wirecraft.proto import _bind

MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"

_EXT_NUMBERS = {"IPv6HopByHop": 0, "IPv6Routing": 43, "IPv6Fragment": 44,
                "IPv6DestOptions": 60, "AH": 51, "IPv6Mobility": 135, "HIP": 139,
                "Shim6": 140}


def _layers_of(top: Layer, cls: type) -> list[Any]:
    return [x for x in top.layers() if type(x) is cls]


def agrees(pkt: Any, top: Layer) -> None:
    """Every layer's fields equal the fields of the matching view, and the bytes are the
    frame's. Derived fields left AUTO are compared through their built value."""
    assert bytes(top) == pkt.data
    assert bytes(from_packet(pkt)) == pkt.data
    v = lambda layer, f: layer.value(f)  # noqa: E731 - the value as built (AUTO resolved)
    eth = top.getlayer(Ethernet)
    assert (eth is None) == (pkt.eth is None)
    tags = _layers_of(top, Dot1Q)
    assert len(tags) == len(pkt.vlan or [])
    if eth is not None:
        assert (eth.src, eth.dst) == (pkt.eth.src, pkt.eth.dst)
        # the wire field: the first tag's TPID on a tagged frame, else the view's type
        assert v(eth, "type") == (pkt.vlan[0].tpid if pkt.vlan else pkt.eth.type)
    for i, (layer, tag) in enumerate(zip(tags, pkt.vlan or [], strict=True)):
        assert (layer.id, layer.pcp, layer.dei) == (tag.id, tag.pcp, tag.dei)
        inner = pkt.vlan[i + 1].tpid if i + 1 < len(tags) else pkt.eth.type
        assert v(layer, "type") == inner
    arp = top.getlayer(ARP)
    if arp is not None:
        a = pkt.arp
        assert (arp.opcode, arp.sender_mac, arp.sender_ip, arp.target_mac, arp.target_ip) == (
            a.opcode, a.sender_mac, a.sender_ip, a.target_mac, a.target_ip)
    ip4 = _layers_of(top, IPv4)
    assert len(ip4) <= 1, "one decode, one IPv4 layer (a tunnel's inner packet is Raw)"
    if ip4:
        layer, view = ip4[0], pkt.ipv4
        for f in ("header_length", "tos", "total_length", "id", "flags", "frag_offset", "ttl",
                  "protocol", "checksum", "src", "dst", "options"):
            assert v(layer, f) == getattr(view, f), f
    ip6 = _layers_of(top, IPv6)
    assert len(ip6) <= 1
    if ip6:
        layer, view = ip6[0], pkt.ipv6
        for f in ("traffic_class", "flow_label", "payload_length", "next_header", "hop_limit",
                  "src", "dst"):
            assert v(layer, f) == getattr(view, f), f
        chain = [_EXT_NUMBERS[type(x).__name__] for x in top.layers()
                 if type(x).__name__ in _EXT_NUMBERS]
        assert chain == view.extension_headers[:len(chain)]
    tcp = top.getlayer(TCP)
    if tcp is not None:
        t = pkt.tcp
        for f in ("src_port", "dst_port", "seq", "ack", "header_length", "window", "checksum",
                  "urgent"):
            assert v(tcp, f) == getattr(t, f), f
        assert tcp.flags_int() | tcp.reserved << 9 == t.flags
        if isinstance(tcp.options, list):
            assert tcp.options == t.options
    udp = top.getlayer(UDP)
    if udp is not None:
        for f in ("src_port", "dst_port", "length", "checksum"):
            assert v(udp, f) == getattr(pkt.udp, f), f
    for cls, view in ((ICMP, pkt.icmp), (ICMPv6, pkt.icmpv6)):
        layer = top.getlayer(cls)
        if view is None:
            assert layer is None
        else:
            for f in ("type", "code", "checksum", "id", "seq"):
                assert layer is None or v(layer, f) == getattr(view, f), f


def check(frame: bytes, linktype: int = 1) -> tuple[Any, Layer]:
    pkt = wirecraft.decode(frame, linktype)
    top = pkt.to_layers()
    agrees(pkt, top)
    assert bytes(from_bytes(frame, linktype)) == frame
    for k in range(len(frame)):          # every prefix: still the decoder's view, still exact
        cut = wirecraft.decode(frame[:k], linktype)
        agrees(cut, cut.to_layers())
    return pkt, top


# ---------------------------------------------------------------- the seven disagreements

def test_rarp_is_arp_as_the_decoder_says() -> None:
    frame = bytes(Ethernet(src=MAC_A, dst=MAC_B, type=0x8035)
                  / ARP(opcode=3, sender_mac=MAC_A, target_mac=MAC_A, sender_ip="0.0.0.0"))
    pkt, top = check(frame)
    assert pkt.arp is not None and pkt.arp.opcode == 3
    assert top.getlayer(ARP) is not None and top.eth.type == 0x8035   # explicit: not 0x0806
    assert top.arp.opcode == 3


def test_four_vlan_tags_stop_at_three_like_the_decoder() -> None:
    stack: Layer = Ethernet(src=MAC_A, dst=MAC_B)
    for vid in (10, 20, 30, 40):
        stack = stack / Dot1Q(id=vid)
    frame = bytes(stack / IPv4(src="192.0.2.1", dst="192.0.2.2") / UDP(src_port=1, dst_port=2))
    pkt, top = check(frame)
    assert [t.id for t in pkt.vlan] == [10, 20, 30] and pkt.ip is None
    assert [t.id for t in _layers_of(top, Dot1Q)] == [10, 20, 30]
    assert top.getlayer(IPv4) is None
    raw = top.layers()[-1]
    assert type(raw) is Raw and bytes(raw.load) == pkt.payload   # the fourth tag onwards


@pytest.mark.parametrize(("linktype", "order"), [(108, "big"), (0, "little")])
def test_loopback_af_10_is_ipv6(linktype: int, order: str) -> None:
    frame = bytes(Loopback(family=10, byteorder=order) / IPv6(src="fd00::1", dst="fd00::2")
                  / UDP(src_port=7, dst_port=9) / b"ping")
    pkt, top = check(frame, linktype)
    assert pkt.ipv6 is not None and pkt.udp.dst_port == 9
    lo = top.getlayer(Loopback)
    assert lo is not None and lo.family == 10 and lo.byteorder == order
    assert top.getlayer(IPv6) is not None and top.getlayer(UDP) is not None


@pytest.mark.parametrize("ext", [
    AH(spi=0x1234, seq=7, icv=bytes(range(12))),
    IPv6Mobility(data=bytes([5, 0, 0, 0]) + bytes(10)),
    HIP(data=bytes(range(30))),
    Shim6(data=bytes(6)),
], ids=["ah", "mobility", "hip", "shim6"])
def test_ipv6_extension_headers_the_decoder_walks(ext: Layer) -> None:
    frame = bytes(Ethernet(src=MAC_A, dst=MAC_B) / IPv6(src="fd00::1", dst="fd00::2")
                  / IPv6HopByHop() / ext / UDP(src_port=5, dst_port=6) / b"data")
    pkt, top = check(frame)
    number = _EXT_NUMBERS[type(ext).__name__]
    assert pkt.ipv6.extension_headers == [0, number] and pkt.udp.dst_port == 6
    assert [type(x) for x in top.layers()][3:5] == [type(ext), UDP]
    assert top.getlayer(type(ext)).next_header is AUTO    # 17, derived from the UDP above


@pytest.mark.parametrize("inner", [IPv4(src="10.9.9.1", dst="10.9.9.2"),
                                   IPv6(src="fd00::9", dst="fd00::a")], ids=["4in4", "6in4"])
@pytest.mark.parametrize("outer", [IPv4(src="192.0.2.1", dst="192.0.2.2"),
                                   IPv6(src="fd00::1", dst="fd00::2")], ids=["ipv4", "ipv6"])
def test_ip_in_ip_is_a_tunnel_the_decoder_does_not_decode(outer: Layer, inner: Layer) -> None:
    frame = bytes(Ethernet(src=MAC_A, dst=MAC_B) / outer.copy() / inner.copy()
                  / UDP(src_port=1, dst_port=2) / b"x")
    pkt, top = check(frame)
    assert pkt.stop_reason == "unsupported" and pkt.inner is not None and pkt.udp is None
    kinds = [type(x) for x in top.layers()]
    assert kinds == [Ethernet, type(outer), Raw]
    assert bytes(top.layers()[-1].load) == pkt.payload == pkt.inner.data
    number = 4 if isinstance(inner, IPv4) else 41
    ip = top.layers()[1]
    assert ip.value("protocol" if isinstance(outer, IPv4) else "next_header") == number


def test_icmp_id_and_seq_only_where_the_type_has_them() -> None:
    # destination unreachable, fragmentation needed: bytes 4-8 are unused + next-hop MTU
    inner = bytes(IPv4(src="10.0.0.2", dst="10.0.0.1") / UDP(src_port=1, dst_port=2))
    frame = bytes(Ethernet(src=MAC_A, dst=MAC_B) / IPv4(src="10.0.0.1", dst="10.0.0.2")
                  / ICMP(type=3, code=4, rest=b"\x00\x00\x05\xdc") / inner)
    pkt, top = check(frame)
    assert pkt.icmp.id is None and pkt.icmp.seq is None
    icmp = top.getlayer(ICMP)
    assert icmp.id is None and icmp.seq is None and icmp.rest == b"\x00\x00\x05\xdc"
    echo = bytes(Ethernet() / IPv4() / ICMP(type=8, id=0x1234, seq=9) / b"payload")
    pkt, top = check(echo)
    assert (top.icmp.id, top.icmp.seq, top.icmp.rest) == (0x1234, 9, None)
    too_big = bytes(Ethernet() / IPv6(src="fd00::1", dst="fd00::2")
                    / ICMPv6(type=2, rest=(1280).to_bytes(4, "big")) / bytes(48))
    pkt, top = check(too_big)
    assert pkt.icmpv6.id is None and top.icmpv6.id is None
    assert top.icmpv6.rest == (1280).to_bytes(4, "big")


def test_ethernet_type_on_a_tagged_frame() -> None:
    frame = bytes(Ethernet(src=MAC_A, dst=MAC_B) / Dot1Q(id=7) / IPv4() / UDP(src_port=1,
                                                                           dst_port=2))
    pkt, top = check(frame)
    assert pkt.eth.type == 0x0800                      # the view: the innermost ethertype
    assert top.eth.value("type") == 0x8100 == pkt.vlan[0].tpid   # the layer: the wire field
    assert top.vlan.value("type") == pkt.eth.type
    qinq = bytes(Ethernet(src=MAC_A, dst=MAC_B, type=0x88A8) / Dot1Q(id=100) / Dot1Q(id=7)
                 / IPv6() / UDP())
    pkt, top = check(qinq)
    assert top.eth.type == 0x88A8 and [t.tpid for t in pkt.vlan] == [0x88A8, 0x8100]


# ---------------------------------------------------------------- one vocabulary

def test_tcp_options_spelled_the_same_by_view_and_layer() -> None:
    scapy_names = [("MSS", 1460), ("SAckOK", None), ("Timestamp", (5, 6)), ("NOP", None),
                   ("WScale", 7), ("NOP", None), ("NOP", None), ("SAck", [(1, 2)])]
    view_names = [("mss", 1460), ("sack_permitted", True), ("timestamp", (5, 6)),
                  ("nop", None), ("wscale", 7), ("nop", None), ("nop", None),
                  ("sack", [(1, 2)])]
    frame = bytes(Ethernet() / IPv4() / TCP(flags="S", options=scapy_names))
    assert frame == bytes(Ethernet() / IPv4() / TCP(flags="S", options=view_names))
    pkt, top = check(frame)
    assert pkt.tcp.options == top[TCP].options == view_names
    # flags: scapy's letters and tcpdump's mean the same bits
    assert TCP(flags="SA").flags_int() == TCP(flags="S.").flags_int() == 0x12
    assert TCP(flags="C").flags_int() == TCP(flags="W").flags_int() == 0x80


def test_tcp_reserved_bits_and_unknown_options_round_trip() -> None:
    frame = bytes(Ethernet() / IPv4() / TCP(reserved=5, flags=0x1FF,
                                             options=[("user_timeout", b"\x80\x10"),
                                                      (254, b"\x01\x02")]))
    pkt, top = check(frame)
    assert pkt.tcp.flags == 0xBFF and top[TCP].reserved == 5
    assert top[TCP].options == pkt.tcp.options


# ---------------------------------------------------------------- one binding table

def test_auto_fields_follow_the_binding_table() -> None:
    dns = Ethernet() / IPv4() / UDP() / DNS.query("example.com")
    p = wirecraft.decode(bytes(dns))
    assert (p.udp.src_port, p.udp.dst_port, p.ip.protocol, p.eth.type) == (53, 53, 17, 0x0800)
    assert wirecraft.decode(bytes(Ethernet() / IPv4() / TCP())).ip.protocol == 6
    assert wirecraft.decode(bytes(Ethernet() / IPv6() / ICMPv6())).ipv6.next_header == 58
    assert wirecraft.decode(bytes(Ethernet() / Dot1Q() / ARP())).vlan[0].tpid == 0x8100
    plain = wirecraft.decode(bytes(Ethernet() / IPv4() / UDP() / b"x"))
    assert (plain.udp.src_port, plain.udp.dst_port) == (53, 53)      # scapy's default
    tcp = wirecraft.decode(bytes(Ethernet() / IPv4() / TCP() / b"x"))
    assert (tcp.tcp.src_port, tcp.tcp.dst_port) == (20, 80)
    assert wirecraft.decode(bytes(IPv4() / TCP() / DNS.query("a.example")), 101).tcp.dst_port \
        == 53
    explicit = wirecraft.decode(bytes(Ethernet() / IPv4() / UDP(src_port=9) / DNS.query("x.y")))
    assert (explicit.udp.src_port, explicit.udp.dst_port) == (9, 53)


class _Toy(Layer):
    """A throwaway protocol for the binding test."""

    name = "toyproto"
    fields = (("value", 0),)

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        return bytes([self.value]) + payload


@pytest.fixture
def toy_bindings(monkeypatch: pytest.MonkeyPatch) -> Any:
    rows = (_bind.Binding("eth", "toyproto", "eth.type", (0x88B5,)),
            _bind.Binding("ip", "toyproto", "ip.proto", (253,)),
            _bind.Binding("udp", "toyproto", "udp.port", (4242,)),
            _bind.Binding("tcp", "toyproto", "tcp.port", (4243,)))
    monkeypatch.setattr(_bind, "BINDINGS", (*_bind.BINDINGS, *rows))
    craft_layers.refresh_bindings()
    yield
    monkeypatch.undo()
    craft_layers.refresh_bindings()


def test_a_new_binding_row_drives_crafting(toy_bindings: Any) -> None:
    assert wirecraft.decode(bytes(Ethernet() / _Toy())).eth.type == 0x88B5
    assert wirecraft.decode(bytes(Ethernet() / IPv4() / _Toy())).ip.protocol == 253
    assert wirecraft.decode(bytes(Ethernet() / IPv6() / _Toy())).ipv6.next_header == 253
    u = wirecraft.decode(bytes(Ethernet() / IPv4() / UDP() / _Toy(value=1))).udp
    assert (u.src_port, u.dst_port) == (4242, 4242)
    t = wirecraft.decode(bytes(Ethernet() / IPv4() / TCP() / _Toy(value=1))).tcp
    assert (t.src_port, t.dst_port) == (4243, 4243)


def test_without_the_row_the_toy_is_unbound() -> None:
    assert wirecraft.decode(bytes(Ethernet() / _Toy())).eth.type == 0x9000
    assert wirecraft.decode(bytes(Ethernet() / IPv4() / UDP() / _Toy())).udp.dst_port == 53


# ---------------------------------------------------------------- the rest of the stack

def test_other_link_types_and_layers_agree_with_the_views() -> None:
    frames = [
        (bytes(IPv6(src="fd00::1", dst="fd00::2") / IPv6Fragment(id=5, more_fragments=1)
               / UDP(src_port=1, dst_port=2) / bytes(16)), 101),
        (bytes(IPv6(src="fd00::1", dst="fd00::2") / IPv6Fragment(id=5, frag_offset=64)
               / bytes(16)), 229),
        (bytes(IPv4(src="10.0.0.1", dst="10.0.0.2", flags=1) / TCP() / bytes(8)), 228),
        (bytes(IPv4(frag_offset=8) / bytes(8)), 101),
        (bytes(Ethernet() / IPv4(options=b"\x94\x04\x00\x00") / UDP() / b"abc") + bytes(6), 1),
        (bytes(Ethernet() / IPv6() / ICMPv6(type=135, target="fd00::5",
                                            options=[(1, MAC_A)])), 1),
        (bytes(Ethernet() / IPv6() / ICMPv6(type=136, flags=0x60, target="fd00::5")), 1),
    ]
    for frame, lt in frames:
        check(frame, lt)


def test_real_frames_agree_with_their_views() -> None:
    import warnings

    from conftest import capture_files

    seen = 0
    for path in capture_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                for i, pkt in enumerate(wirecraft.read(path)):
                    if i >= 300:
                        break
                    agrees(pkt, pkt.to_layers())
                    seen += 1
            except wirecraft.CaptureFileError:
                continue
    assert seen > 500
