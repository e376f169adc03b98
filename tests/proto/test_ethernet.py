"""Link layers: Ethernet II and IEEE 802.3 (length field), 802.1Q / 802.1ad tags, Linux
cooked captures v1 and v2 (LINKTYPE_LINUX_SLL 113, LINKTYPE_LINUX_SLL2 276) and BSD
null/loopback (LINKTYPE_NULL 0, LINKTYPE_LOOP 108): annotated vectors, decode, craft,
round trip, catalogue names against tshark.

Every frame carries the same IPv4/UDP datagram (192.0.2.1.1234 > 198.51.100.2.5678
"ping") or its IPv6 twin, built by hand; the comment above each is what
`tcpdump -nn -v -t -S -e` prints for it.
"""

from __future__ import annotations

import pytest

from wirecraft.craft import SLL, SLL2, UDP, Dot1Q, Ethernet, IPv4, IPv6, Loopback, Raw

from .vectors import (
    LT_LOOP,
    LT_NULL,
    LT_SLL,
    LT_SLL2,
    Vector,
    assert_layer_matches,
    assert_view,
    catalogue,
    check_differences,
    check_fields_against_tshark,
    check_frame_fields_against_tshark,
    check_tcpdump_lines,
    check_value_reads_view,
    hexframe,
    ids,
)

MAC_1, MAC_2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
IP4_PACKET = hexframe("450000200020400040114e76c0000201c633640204d2162e000c19ce70696e67")
IP6_PACKET = hexframe("60000000000c114020010db8000000000000000000000001"
                      "20010db800000000000000000000000204d2162e000caa9070696e67")

# ---------------------------------------------------------------- Ethernet and VLAN tags

# 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 50: vlan 100, p 5, DEI, ethertype IPv4 (0x0800), (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
DOT1Q = Vector("dot1q", """
    0200 0000 0002 0200 0000 0001 8100        # Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02, 802.1Q
    b064 0800                                 # tag: pcp 5, dei 1, vlan 100; IPv4
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 192.0.2.1 > 198.51.100.2, UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67   #   UDP 1234 > 5678 "ping"
""", tcpdump_e=True)

# 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q-QinQ (0x88a8), length 54: vlan 10, p 0, ethertype 802.1Q (0x8100), vlan 20, p 3, ethertype IPv4 (0x0800), (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
QINQ = Vector("qinq", """
    0200 0000 0002 0200 0000 0001 88a8        # Ethernet, 802.1ad service tag
    000a 8100                                 # S-tag: vlan 10; then an 802.1Q tag
    6014 0800                                 # C-tag: pcp 3, vlan 20; IPv4
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 / UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67
""", tcpdump_e=True)

# 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q-9100 (0x9100), length 58: vlan 1, p 0, ethertype 802.1Q (0x8100), vlan 2, p 0, ethertype 802.1Q (0x8100), vlan 4095, p 7, ethertype IPv4 (0x0800), (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
THREE_TAGS = Vector("three_tags", """
    0200 0000 0002 0200 0000 0001 9100        # Ethernet, 0x9100 (pre-standard QinQ)
    0001 8100                                 # vlan 1
    0002 8100                                 # vlan 2
    efff 0800                                 # pcp 7, vlan 4095; IPv4
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 / UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67
""", tcpdump_e=True)

# 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 62: vlan 1, p 0, ethertype 802.1Q (0x8100), vlan 2, p 0, ethertype 802.1Q (0x8100), vlan 3, p 0, ethertype 802.1Q (0x8100), vlan 4, p 0, ethertype IPv4 (0x0800), (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
FOUR_TAGS = Vector("four_tags", """
    0200 0000 0002 0200 0000 0001 8100        # Ethernet, 802.1Q
    0001 8100                                 # vlan 1
    0002 8100                                 # vlan 2
    0003 8100                                 # vlan 3: the decoder stops after three tags
    0004 0800                                 # vlan 4; IPv4
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 / UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67
""", tcpdump_e=True)

# 02:00:00:00:00:01 > 01:80:c2:00:00:00, 802.3, length 38: LLC, dsap STP (0x42) Individual, ssap STP (0x42) Command, ctrl 0x03: STP 802.1d, Config, Flags [none], bridge-id 0000.00:00:00:00:00:00.0000, length 35 message-age 0.00s, max-age 0.00s, hello-time 0.00s, forwarding-delay 0.00s root-id 0000.00:00:00:00:00:00, root-pathcost 0
LLC = Vector("ieee8023_llc", """
    0180 c200 0000 0200 0000 0001 0026        # 802.3: 02:00:00:00:00:01 > 01:80:c2:00:00:00, length 38
    4242 0300 0000 0000 0000 0000 0000 0000   # LLC DSAP/SSAP 0x42 (spanning tree), UI; BPDU
    0000 0000 0000 0000 0000 0000 0000 0000
    0000 0000 0000
""", tcpdump_e=True)

# 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype Unknown (0x88b5), length 30: 0x0000:  6c6f 6361 6c20 6578 7065 7269 6d65 6e74  local.experiment
UNKNOWN_TYPE = Vector("unknown_ethertype", """
    0200 0000 0002 0200 0000 0001 88b5        # Ethernet, 0x88b5 (local experimental)
    6c6f 6361 6c20 6578 7065 7269 6d65 6e74   # "local experiment"
""", tcpdump_e=True)

# ---------------------------------------------------------------- Linux cooked captures

#  In 02:00:00:00:00:01 ethertype IPv4 (0x0800), length 48: (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
SLL_V1 = Vector("sll", """
    0000 0001 0006 0200 0000 0001 0000 0800   # SLL: to us, ARPHRD_ETHER, 6-byte address, IPv4
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 / UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67
""", linktype=LT_SLL, tcpdump_e=True)

# Out ethertype IPv6 (0x86dd), length 68: (hlim 64, next-header UDP (17) payload length: 12) 2001:db8::1.1234 > 2001:db8::2.5678: [udp sum ok] UDP, length 4
SLL_NO_ADDRESS = Vector("sll_no_address", """
    0004 0304 0000 0000 0000 0000 0000 86dd   # SLL: sent by us, ARPHRD_LOOPBACK, no address, IPv6
    6000 0000 000c 1140 2001 0db8 0000 0000   # IPv6 2001:db8::1 > 2001:db8::2, UDP
    0000 0000 0000 0001 2001 0db8 0000 0000
    0000 0000 0000 0002 04d2 162e 000c aa90   #   UDP 1234 > 5678
    7069 6e67                                 #   "ping"
""", linktype=LT_SLL, tcpdump_e=True)

# ?     B   ifindex 32767 02:00:00:00:00:02 ethertype IPv4 (0x0800), length 52: (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
SLL_V2 = Vector("sll2", """
    0800 0000 0000 7fff 0001 0106 0200 0000   # SLL2: IPv4, ifindex 32767, ARPHRD_ETHER, broadcast,
    0002 0000                                 #   6-byte address 02:00:00:00:00:02
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 / UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67
""", linktype=LT_SLL2, tcpdump_e=True)

# ?     In  ifindex 32767 02:00:00:00:00:02 ethertype 802.1Q (0x8100), length 56: vlan 7, p 0, ethertype IPv4, (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
SLL_V2_VLAN = Vector("sll2_vlan", """
    8100 0000 0000 7fff 0001 0006 0200 0000   # SLL2: 802.1Q, ifindex 32767, to us, 6-byte address
    0002 0000
    0007 0800                                 # tag: vlan 7; IPv4
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 / UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67
""", linktype=LT_SLL2, tcpdump_e=True)

# ---------------------------------------------------------------- BSD null / loopback

# AF IPv4 (2), length 36: (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
NULL_IPV4 = Vector("null_ipv4", """
    0200 0000                                 # AF_INET (2), host byte order (little-endian)
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 / UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67
""", linktype=LT_NULL, tcpdump_e=True)

# AF IPv6 (30), length 56: (hlim 64, next-header UDP (17) payload length: 12) 2001:db8::1.1234 > 2001:db8::2.5678: [udp sum ok] UDP, length 4
NULL_IPV6 = Vector("null_ipv6_darwin", """
    1e00 0000                                 # AF_INET6 as Darwin numbers it (30)
    6000 0000 000c 1140 2001 0db8 0000 0000   # IPv6 / UDP
    0000 0000 0000 0001 2001 0db8 0000 0000
    0000 0000 0000 0002 04d2 162e 000c aa90
    7069 6e67
""", linktype=LT_NULL, tcpdump_e=True)

# AF IPv4 (2), length 36: (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
NULL_BIG_ENDIAN = Vector("null_big_endian", """
    0000 0002                                 # AF_INET written by a big-endian host
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 / UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67
""", linktype=LT_NULL, tcpdump_e=True)

# AF IPv4 (2), length 36: (tos 0x0, ttl 64, id 32, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
LOOP_IPV4 = Vector("loop_ipv4", """
    0000 0002                                 # LINKTYPE_LOOP: AF_INET, always big-endian
    4500 0020 0020 4000 4011 4e76 c000 0201   # IPv4 / UDP
    c633 6402 04d2 162e 000c 19ce 7069 6e67
""", linktype=LT_LOOP, tcpdump_e=True)

# AF Unknown (10), length 56: 0x0000:  6000 0000 000c 1140 2001 0db8 0000 0000  `......@........ 0x0010:  0000 0000 0000 0001 2001 0db8 0000 0000  ................ 0x0020:  0000 0000 0000 0002 04d2 162e 000c aa90  ................ 0x0030:  7069 6e67                                ping
LOOP_AF10 = Vector("loop_af10", """
    0000 000a                                 # LINKTYPE_LOOP: family 10 (Linux's AF_INET6)
    6000 0000 000c 1140 2001 0db8 0000 0000   # IPv6 / UDP
    0000 0000 0000 0001 2001 0db8 0000 0000
    0000 0000 0000 0002 04d2 162e 000c aa90
    7069 6e67
""", linktype=LT_LOOP, tcpdump_e=True)

# AF ISO (7), length 8: OSI NLPID Unknown (0x64): length: 4 0x0000:  6461 7461
NULL_UNKNOWN = Vector("null_unknown_family", """
    0700 0000                                 # family 7: not an IP family
    6461 7461                                 # "data"
""", linktype=LT_NULL, tcpdump_e=True)

ETHERNET_VECTORS = [DOT1Q, QINQ, THREE_TAGS, FOUR_TAGS, LLC, UNKNOWN_TYPE]
SLL_VECTORS = [SLL_V1, SLL_NO_ADDRESS, SLL_V2, SLL_V2_VLAN]
NULL_VECTORS = [NULL_IPV4, NULL_IPV6, NULL_BIG_ENDIAN, LOOP_IPV4, LOOP_AF10, NULL_UNKNOWN]
VECTORS = ETHERNET_VECTORS + SLL_VECTORS + NULL_VECTORS

Tag = tuple  # (tpid, id, pcp, dei), as VlanTag compares

# ---------------------------------------------------------------- expected decodes

ETH = {
    # the view's `type` is the ethertype after the tags (tshark's innermost)
    "dot1q": dict(src=MAC_1, dst=MAC_2, type=0x0800),
    "qinq": dict(src=MAC_1, dst=MAC_2, type=0x0800),
    "three_tags": dict(src=MAC_1, dst=MAC_2, type=0x0800),
    "four_tags": dict(src=MAC_1, dst=MAC_2, type=0x8100),
    "ieee8023_llc": dict(src=MAC_1, dst="01:80:c2:00:00:00", type=38),
    "unknown_ethertype": dict(src=MAC_1, dst=MAC_2, type=0x88B5),
}
VLAN = {
    "dot1q": [(0x8100, 100, 5, 1)],
    "qinq": [(0x88A8, 10, 0, 0), (0x8100, 20, 3, 0)],
    "three_tags": [(0x9100, 1, 0, 0), (0x8100, 2, 0, 0), (0x8100, 4095, 7, 0)],
    "four_tags": [(0x8100, 1, 0, 0), (0x8100, 2, 0, 0), (0x8100, 3, 0, 0)],
    "sll2_vlan": [(0x8100, 7, 0, 0)],
}
SLL_VIEW = {
    "sll": dict(packet_type=0, src=MAC_1, protocol=0x0800, version=1),
    "sll_no_address": dict(packet_type=4, src=None, protocol=0x86DD, version=1),
    "sll2": dict(packet_type=1, src=MAC_2, protocol=0x0800, version=2),
    "sll2_vlan": dict(packet_type=0, src=MAC_2, protocol=0x0800, version=2),
}
# (stop_layer, stop_reason, problems, payload, layers present)
UDP4 = ("transport", None, [], b"ping")
PACKET = {
    "dot1q": (*UDP4, {"eth", "vlan", "ipv4", "udp"}),
    "qinq": (*UDP4, {"eth", "vlan", "ipv4", "udp"}),
    "three_tags": (*UDP4, {"eth", "vlan", "ipv4", "udp"}),
    "four_tags": ("vlan", "unsupported", ["more than 3 VLAN tags"],
                  FOUR_TAGS.frame[26:], {"eth", "vlan"}),
    "ieee8023_llc": ("link", "unsupported", [], LLC.frame[14:], {"eth"}),
    "unknown_ethertype": ("link", "unsupported", [], b"local experiment", {"eth"}),
    "sll": (*UDP4, {"sll", "ipv4", "udp"}),
    "sll_no_address": (*UDP4, {"sll", "ipv6", "udp"}),
    "sll2": (*UDP4, {"sll", "ipv4", "udp"}),
    "sll2_vlan": (*UDP4, {"sll", "vlan", "ipv4", "udp"}),
    "null_ipv4": (*UDP4, {"null", "ipv4", "udp"}),
    "null_ipv6_darwin": (*UDP4, {"null", "ipv6", "udp"}),
    "null_big_endian": (*UDP4, {"null", "ipv4", "udp"}),
    "loop_ipv4": (*UDP4, {"null", "ipv4", "udp"}),
    "loop_af10": (*UDP4, {"null", "ipv6", "udp"}),
    "null_unknown_family": ("link", "unsupported", [], b"data", {"null"}),
}
LAYERS = ("eth", "vlan", "sll", "arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6",
          "fragment", "ip_options", "null")


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_decode(v: Vector) -> None:
    pkt = v.decode()
    if v.name in ETH:
        assert_view(pkt.eth, ETH[v.name])
    else:
        assert pkt.eth is None
    if v.name in SLL_VIEW:
        assert_view(pkt.sll, SLL_VIEW[v.name])
    else:
        assert pkt.sll is None
    tags = pkt.vlan
    if v.name in VLAN:
        assert [tuple(t) for t in tags] == VLAN[v.name]
        assert [(t.tpid, t.id, t.pcp, t.dei) for t in tags] == VLAN[v.name]
    else:
        assert tags is None
    stop_layer, stop_reason, problems, payload, layers = PACKET[v.name]
    assert (pkt.stop_layer, pkt.stop_reason, pkt.problems, pkt.payload) == (
        stop_layer, stop_reason, problems, payload)
    assert {name for name in LAYERS if pkt.has(name)} == layers
    assert pkt.linktype == v.linktype


@pytest.mark.parametrize("v", [DOT1Q, SLL_V1, NULL_IPV4, LOOP_AF10], ids=lambda v: v.name)
def test_network_layer_behind_the_link(v: Vector) -> None:
    """Whatever the link header, the same IP datagram decodes the same."""
    pkt = v.decode()
    assert (pkt.udp.src_port, pkt.udp.dst_port, pkt.udp.length) == (1234, 5678, 12)
    assert pkt.ip.src in ("192.0.2.1", "2001:db8::1")


# ---------------------------------------------------------------- cut headers

@pytest.mark.parametrize("have", range(0, 18))
def test_dot1q_cut_by_snaplen(have: int) -> None:
    """The tagged frame cut inside its Ethernet header (< 14) or its tag (14..17)."""
    pkt = Vector(f"cut_{have}", DOT1Q.hex, cut=have).decode()
    assert pkt.problems[1:] == ["frame cut by snaplen"] and pkt.truncated
    assert pkt.payload == DOT1Q.frame[14:have]
    assert pkt.vlan is None and pkt.ip is None
    if have < 14:
        assert pkt.eth is None and pkt.problems[0] == "truncated header at link"
        assert (pkt.stop_layer, pkt.stop_reason) == ("link", "truncated header")
    else:
        assert_view(pkt.eth, dict(src=MAC_1, dst=MAC_2, type=0x8100))
        assert (pkt.stop_layer, pkt.stop_reason) == ("vlan", "truncated header")


@pytest.mark.parametrize("v, size", [(SLL_V1, 16), (SLL_V2, 20), (NULL_IPV4, 4)],
                         ids=lambda x: x.name if isinstance(x, Vector) else str(x))
def test_link_header_cut_by_snaplen(v: Vector, size: int) -> None:
    for have in range(size):
        pkt = Vector(f"cut_{have}", v.hex, linktype=v.linktype, cut=have).decode()
        assert (pkt.stop_layer, pkt.stop_reason) == ("link", "truncated header"), have
        assert pkt.sll is None and pkt.ip is None and not pkt.has("null"), have


# ---------------------------------------------------------------- craft

def _ip4() -> object:
    return (IPv4(src="192.0.2.1", dst="198.51.100.2", id=0x20, flags="DF")
            / UDP(src_port=1234, dst_port=5678) / Raw(b"ping"))


def _ip6() -> object:
    return IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(src_port=1234, dst_port=5678) / Raw(
        b"ping")


def _eth(**kw: object) -> Ethernet:
    kw.setdefault("dst", MAC_2)
    return Ethernet(src=MAC_1, **kw)


MAC_1_BYTES, MAC_2_BYTES = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
CRAFT = {
    "dot1q": lambda: _eth() / Dot1Q(pcp=5, dei=1, id=100) / _ip4(),
    "qinq": lambda: _eth(type=0x88A8) / Dot1Q(id=10) / Dot1Q(pcp=3, id=20) / _ip4(),
    "three_tags": lambda: (_eth(type=0x9100) / Dot1Q(id=1) / Dot1Q(id=2) / Dot1Q(pcp=7, id=4095)
                           / _ip4()),
    "four_tags": lambda: (_eth() / Dot1Q(id=1) / Dot1Q(id=2) / Dot1Q(id=3) / Dot1Q(id=4)
                          / _ip4()),
    "ieee8023_llc": lambda: _eth(dst="01:80:c2:00:00:00", type=38) / Raw(LLC.frame[14:]),
    "unknown_ethertype": lambda: _eth(type=0x88B5) / Raw(b"local experiment"),
    "sll": lambda: SLL(packet_type=0, arphrd_type=1, address=MAC_1_BYTES) / _ip4(),
    "sll_no_address": lambda: SLL(packet_type=4, arphrd_type=772) / _ip6(),
    "sll2": lambda: SLL2(interface_index=0x7FFF, arphrd_type=1, packet_type=1,
                         address=MAC_2_BYTES) / _ip4(),
    "sll2_vlan": lambda: SLL2(interface_index=0x7FFF, arphrd_type=1, packet_type=0,
                              address=MAC_2_BYTES) / Dot1Q(id=7) / _ip4(),
    "null_ipv4": lambda: Loopback() / _ip4(),
    "null_ipv6_darwin": lambda: Loopback() / _ip6(),
    "null_big_endian": lambda: Loopback(byteorder="big") / _ip4(),
    "loop_ipv4": lambda: Loopback(byteorder="big") / _ip4(),
    "loop_af10": lambda: Loopback(family=10, byteorder="big") / _ip6(),
    "null_unknown_family": lambda: Loopback(family=7) / Raw(b"data"),
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_craft(v: Vector) -> None:
    assert bytes(CRAFT[v.name]()) == v.frame


# ---------------------------------------------------------------- round trip

ROUND_TRIP_XFAIL: dict[str, str] = {}


def _rt_params(vectors: list[Vector]) -> list:
    return [pytest.param(v, marks=pytest.mark.xfail(strict=True, reason=ROUND_TRIP_XFAIL[v.name]))
            if v.name in ROUND_TRIP_XFAIL else v for v in vectors]


@pytest.mark.parametrize("v", _rt_params(VECTORS), ids=ids(VECTORS))
def test_round_trip(v: Vector) -> None:
    """to_layers() rebuilds the frame; its link layers say what the views say."""
    pkt = v.decode()
    layers = pkt.to_layers()
    assert bytes(layers) == v.frame
    if pkt.eth is not None:     # eth.type is the outer (wire) type, as the layer's
        assert_layer_matches(pkt, layers.getlayer(Ethernet), "eth")
    tags = [layer for layer in layers.layers() if isinstance(layer, Dot1Q)]
    assert [(t.id, t.pcp, t.dei) for t in tags] == [
        (t.id, t.pcp, t.dei) for t in (pkt.vlan or [])]
    if tags:                    # vlan.* is the outermost tag
        assert_layer_matches(pkt, tags[0], "vlan")
    if pkt.sll is not None:
        assert_layer_matches(pkt, layers.getlayer(SLL2 if pkt.sll.version == 2 else SLL), "sll",
                             adapt={"sll.address": lambda a: bytes(a).ljust(8, b"\0")})
    if pkt.has("null"):
        assert_layer_matches(pkt, layers.getlayer(Loopback), "null")
    if pkt.ip is not None:
        ip = layers.getlayer(IPv4 if pkt.ip.version == 4 else IPv6)
        assert ip is not None, repr(layers)
        assert ip.value("src") == pkt.ip.src


# ---------------------------------------------------------------- field names

# (vector, catalogue field) -> why wirecraft's value is not tshark's
_S_TAG = ("tshark dissects an 802.1ad S-tag (0x88a8) as ieee8021ad.*, and vlan.* is the inner "
          "C-tag; the catalogue's vlan.* is the outermost tag of either kind")
TSHARK_DIFFERS_AT = {
    ("qinq", "vlan.id"): _S_TAG,
    ("qinq", "vlan.priority"): _S_TAG,
    ("qinq", "vlan.etype"): _S_TAG,
}


@pytest.mark.parametrize("name, vectors", [("eth", ETHERNET_VECTORS), ("vlan", ETHERNET_VECTORS),
                                           ("sll", SLL_VECTORS), ("null", NULL_VECTORS)])
def test_catalogue_fields_against_tshark(name: str, vectors: list[Vector]) -> None:
    names = [f.name for f in catalogue(name).fields]
    check_fields_against_tshark(vectors, names, differs=TSHARK_DIFFERS_AT)


@pytest.mark.parametrize("pair", [pytest.param(pair, marks=pytest.mark.xfail(strict=True,
                                                                            reason=reason))
                                  for pair, reason in TSHARK_DIFFERS_AT.items()],
                         ids=[f"{v}-{f}" for v, f in TSHARK_DIFFERS_AT])
def test_known_differences_from_tshark(pair: tuple[str, str]) -> None:
    check_differences(VECTORS, {pair: TSHARK_DIFFERS_AT[pair]})


def test_scapy_cross_check() -> None:
    pytest.importorskip("scapy")
    from scapy.layers.l2 import Dot1AD, Ether
    from scapy.layers.l2 import Dot1Q as ScapyDot1Q

    for v in (DOT1Q, QINQ):     # (scapy does not take 0x9100 for a tag)
        frame = Ether(v.frame)
        assert (frame.src, frame.dst) == (MAC_1, MAC_2)
        tags = [(layer.vlan, layer.prio, layer.dei) for layer in frame.iterpayloads()
                if isinstance(layer, (ScapyDot1Q, Dot1AD))]
        assert tags == [(t[1], t[2], t[3]) for t in VLAN[v.name]], v.name


def test_catalogue_value_reads_the_view() -> None:
    """Each catalogue field with a view attribute reads through `value` as the view."""
    check_value_reads_view(ETHERNET_VECTORS, "eth")
    check_value_reads_view(ETHERNET_VECTORS, "vlan")
    check_value_reads_view(SLL_VECTORS, "sll")
    check_value_reads_view(NULL_VECTORS, "null")


def test_frame_fields_against_tshark() -> None:
    """frame.number, times and lengths (a cut frame too) read from a pcap, against tshark."""
    check_frame_fields_against_tshark(
        [*VECTORS, Vector("dot1q_cut", DOT1Q.hex, cut=30)],
        known={"frame.interface_id": "a pcap has no interface blocks: tshark shows none, the "
                                     "catalogue 0 (documented)"})


def test_tcpdump_lines() -> None:
    check_tcpdump_lines(__file__, VECTORS)
