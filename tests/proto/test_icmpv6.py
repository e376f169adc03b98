"""ICMPv6 (RFC 4443; neighbour discovery RFC 4861; MLDv2 RFC 3810): annotated vectors,
decode, craft, round trip, catalogue names against tshark.

Frames are Ethernet / IPv6 / ICMPv6 built by hand from the RFC layouts (checksums over
the IPv6 pseudo-header); the comment above each is what `tcpdump -nn -v -t -S` prints.
"""

from __future__ import annotations

import pytest

from wirecraft.craft import Ethernet, ICMPv6, IPv6, IPv6HopByHop, Raw

from .vectors import (
    Vector,
    assert_layer_matches,
    assert_view,
    catalogue,
    check_fields_against_tshark,
    check_tcpdump_lines,
    check_value_reads_view,
    ids,
)

SRC, DST = "2001:db8::1", "2001:db8::2"
MAC_1, MAC_2 = "02:00:00:00:00:01", "02:00:00:00:00:02"

# IP6 (hlim 64, next-header ICMPv6 (58) payload length: 16) 2001:db8::1 > 2001:db8::2: [icmp6 sum ok] ICMP6, echo request, id 43981, seq 9
ECHO_REQUEST = Vector("echo_request", """
    0200 0000 0002 0200 0000 0001 86dd        # Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02, IPv6
    6000 0000 0010 3a40 2001 0db8 0000 0000   # IPv6 2001:db8::1 > 2001:db8::2, ICMPv6
    0000 0000 0000 0001 2001 0db8 0000 0000
    0000 0000 0000 0002
    8000 e6d3 abcd 0009                       # ICMPv6 echo request, id 0xabcd, seq 9
    6162 6364 6566 6768                       # data "abcdefgh"
""")

# IP6 (hlim 64, next-header ICMPv6 (58) payload length: 16) 2001:db8::2 > 2001:db8::1: [icmp6 sum ok] ICMP6, echo reply, id 43981, seq 9
ECHO_REPLY = Vector("echo_reply", """
    0200 0000 0002 0200 0000 0001 86dd        # Ethernet, IPv6
    6000 0000 0010 3a40 2001 0db8 0000 0000   # IPv6 2001:db8::2 > 2001:db8::1, ICMPv6
    0000 0000 0000 0002 2001 0db8 0000 0000
    0000 0000 0000 0001
    8100 e5d3 abcd 0009                       # ICMPv6 echo reply, id 0xabcd, seq 9
    6162 6364 6566 6768                       # data "abcdefgh"
""")

# IP6 (hlim 255, next-header ICMPv6 (58) payload length: 32) 2001:db8::1 > ff02::1:ff00:2: [icmp6 sum ok] ICMP6, neighbor solicitation, length 32, who has 2001:db8::2 source link-address option (1), length 8 (1): 02:00:00:00:00:01
NEIGHBOR_SOLICITATION = Vector("neighbor_solicitation", """
    3333 ff00 0002 0200 0000 0001 86dd        # Ethernet to 33:33:ff:00:00:02, IPv6
    6000 0000 0020 3aff 2001 0db8 0000 0000   # IPv6 2001:db8::1 > ff02::1:ff00:2, hlim 255
    0000 0000 0000 0001 ff02 0000 0000 0000
    0000 0001 ff00 0002
    8700 1c27 0000 0000 2001 0db8 0000 0000   # neighbour solicitation, reserved, target
    0000 0000 0000 0002 0101 0200 0000 0001   #   2001:db8::2; option source link-layer address
""")

# IP6 (hlim 255, next-header ICMPv6 (58) payload length: 32) 2001:db8::2 > 2001:db8::1: [icmp6 sum ok] ICMP6, neighbor advertisement, length 32, tgt is 2001:db8::2, Flags [solicited, override] destination link-address option (2), length 8 (1): 02:00:00:00:00:02
NEIGHBOR_ADVERTISEMENT = Vector("neighbor_advertisement", """
    0200 0000 0002 0200 0000 0001 86dd        # Ethernet, IPv6
    6000 0000 0020 3aff 2001 0db8 0000 0000   # IPv6 2001:db8::2 > 2001:db8::1, hlim 255
    0000 0000 0000 0002 2001 0db8 0000 0000
    0000 0000 0000 0001
    8800 8a71 6000 0000 2001 0db8 0000 0000   # neighbour advertisement, flags S O, target
    0000 0000 0000 0002 0201 0200 0000 0002   #   2001:db8::2; option target link-layer address
""")

# IP6 (hlim 64, next-header ICMPv6 (58) payload length: 60) 2001:db8::fe > 2001:db8::1: [icmp6 sum ok] ICMP6, packet too big, mtu 1280
PACKET_TOO_BIG = Vector("packet_too_big", """
    0200 0000 0002 0200 0000 0001 86dd        # Ethernet, IPv6
    6000 0000 003c 3a40 2001 0db8 0000 0000   # IPv6 2001:db8::fe > 2001:db8::1, ICMPv6
    0000 0000 0000 00fe 2001 0db8 0000 0000
    0000 0000 0000 0001
    0200 2ae9 0000 0500                       # packet too big, MTU 1280
    6000 0000 000c 1140 2001 0db8 0000 0000   # the packet it answers: IPv6 / UDP "ping"
    0000 0000 0000 0001 2001 0db8 0000 0000
    0000 0000 0000 0002 04d2 162e 000c aa90
    7069 6e67
""")

# IP6 (hlim 1, next-header Options (0) payload length: 36) fe80::1 > ff02::16: HBH (rtalert: 0x0000) (padn) [icmp6 sum ok] ICMP6, multicast listener report v2, 1 group record(s) [gaddr ff02::fb to_ex, 0 source(s)]
MLD_REPORT = Vector("mld_report", """
    3333 0000 0016 0200 0000 0001 86dd        # Ethernet to 33:33:00:00:00:16, IPv6
    6000 0000 0024 0001 fe80 0000 0000 0000   # IPv6 fe80::1 > ff02::16, hop-by-hop, hlim 1
    0000 0000 0000 0001 ff02 0000 0000 0000
    0000 0000 0000 0016
    3a00 0502 0000 0100                       # hop-by-hop: router alert (MLD), PadN
    8f00 6f0f 0000 0001                       # MLDv2 report, 1 record
    0400 0000 ff02 0000 0000 0000 0000 0000   #   change to exclude, ff02::fb, no sources
    0000 00fb
""")

# IP6 (hlim 64, next-header ICMPv6 (58) payload length: 16) 2001:db8::1 > 2001:db8::2: [bad icmp6 cksum 0x0001 -> 0xe6d2!] ICMP6, echo request, id 43981, seq 10
BAD_CHECKSUM = Vector("bad_checksum", """
    0200 0000 0002 0200 0000 0001 86dd        # Ethernet, IPv6
    6000 0000 0010 3a40 2001 0db8 0000 0000   # IPv6, ICMPv6
    0000 0000 0000 0001 2001 0db8 0000 0000
    0000 0000 0000 0002
    8000 0001 abcd 000a                       # echo request, checksum 0x0001 (wrong)
    6162 6364 6566 6768
""")

VECTORS = [ECHO_REQUEST, ECHO_REPLY, NEIGHBOR_SOLICITATION, NEIGHBOR_ADVERTISEMENT,
           PACKET_TOO_BIG, MLD_REPORT, BAD_CHECKSUM]

# every ICMPView field; id/seq only on echo messages (128, 129)
VIEW = {
    "echo_request": dict(version=6, type=128, code=0, checksum=0xE6D3, id=0xABCD, seq=9),
    "echo_reply": dict(version=6, type=129, code=0, checksum=0xE5D3, id=0xABCD, seq=9),
    "neighbor_solicitation": dict(version=6, type=135, code=0, checksum=0x1C27, id=None,
                                  seq=None),
    "neighbor_advertisement": dict(version=6, type=136, code=0, checksum=0x8A71, id=None,
                                   seq=None),
    "packet_too_big": dict(version=6, type=2, code=0, checksum=0x2AE9, id=None, seq=None),
    "mld_report": dict(version=6, type=143, code=0, checksum=0x6F0F, id=None, seq=None),
    "bad_checksum": dict(version=6, type=128, code=0, checksum=0x0001, id=0xABCD, seq=10),
}
# the payload: what follows the first 8 bytes of the message
PAYLOAD = {
    "echo_request": b"abcdefgh", "echo_reply": b"abcdefgh",
    "neighbor_solicitation": NEIGHBOR_SOLICITATION.frame[62:],
    "neighbor_advertisement": NEIGHBOR_ADVERTISEMENT.frame[62:],
    "packet_too_big": PACKET_TOO_BIG.frame[62:], "mld_report": MLD_REPORT.frame[70:],
    "bad_checksum": b"abcdefgh",
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_decode(v: Vector) -> None:
    pkt = v.decode()
    assert_view(pkt.icmpv6, VIEW[v.name])
    assert pkt.icmp is None and pkt.has("icmpv6") and pkt.ip.protocol == 58
    assert (pkt.stop_layer, pkt.stop_reason, pkt.problems) == ("transport", None, [])
    assert pkt.payload == PAYLOAD[v.name]
    assert pkt.ipv6.extension_headers == ([0] if v is MLD_REPORT else [])


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_checksum(v: Vector) -> None:
    pkt = v.decode(checksums=True)
    good = v is not BAD_CHECKSUM
    assert pkt.verify_checksums() == {"icmpv6": good}
    assert ("icmpv6_bad_checksum" in pkt.problems) is not good


@pytest.mark.parametrize("have", range(0, 8))
def test_echo_cut_by_snaplen(have: int) -> None:
    pkt = Vector(f"cut_{have}", ECHO_REQUEST.hex, cut=54 + have).decode()
    assert pkt.truncated
    if have < 4:
        assert pkt.icmpv6 is None
        assert (pkt.stop_layer, pkt.stop_reason) == ("transport", "truncated header")
        return
    assert (pkt.stop_layer, pkt.stop_reason) == ("payload", "truncated payload")
    assert_view(pkt.icmpv6, dict(VIEW["echo_request"], id=0xABCD if have >= 6 else None,
                                 seq=None))


# ---------------------------------------------------------------- craft

def _frame(ip: IPv6, *layers: object, dst_mac: str = MAC_2) -> object:
    frame = Ethernet(src=MAC_1, dst=dst_mac) / ip
    for layer in layers:
        frame = frame / layer
    return frame


CRAFT = {
    "echo_request": lambda: _frame(IPv6(src=SRC, dst=DST), ICMPv6(type=128, id=0xABCD, seq=9),
                                   Raw(b"abcdefgh")),
    "echo_reply": lambda: _frame(IPv6(src=DST, dst=SRC), ICMPv6(type=129, id=0xABCD, seq=9),
                                 Raw(b"abcdefgh")),
    "neighbor_solicitation": lambda: _frame(
        IPv6(src=SRC, dst="ff02::1:ff00:2", hop_limit=255),
        ICMPv6(type=135, target=DST, options=[(1, MAC_1)]), dst_mac="33:33:ff:00:00:02"),
    # flags as a number: R 0x80, S 0x40, O 0x20 (see test_na_flag_letters)
    "neighbor_advertisement": lambda: _frame(
        IPv6(src=DST, dst=SRC, hop_limit=255),
        ICMPv6(type=136, flags=0x60, target=DST, options=[(2, MAC_2)])),
    "packet_too_big": lambda: _frame(IPv6(src="2001:db8::fe", dst=SRC),
                                     ICMPv6(type=2, id=0, seq=1280),
                                     Raw(PACKET_TOO_BIG.frame[62:])),
    "mld_report": lambda: _frame(
        IPv6(src="fe80::1", dst="ff02::16", hop_limit=1),
        IPv6HopByHop(options=[(5, b"\0\0"), (1, b"")]), ICMPv6(type=143, id=0, seq=1),
        Raw(MLD_REPORT.frame[70:]), dst_mac="33:33:00:00:00:16"),
    "bad_checksum": lambda: _frame(IPv6(src=SRC, dst=DST),
                                   ICMPv6(type=128, id=0xABCD, seq=10, checksum=1),
                                   Raw(b"abcdefgh")),
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_craft(v: Vector) -> None:
    assert bytes(CRAFT[v.name]()) == v.frame


def test_na_flag_letters() -> None:
    frame = bytes(Ethernet() / IPv6() / ICMPv6(type=136, flags="SO", target=DST))
    assert frame[14 + 40 + 4] == 0x60


# ---------------------------------------------------------------- round trip

ROUND_TRIP_XFAIL: dict[str, str] = {}


@pytest.mark.parametrize("v", [
    pytest.param(v, marks=pytest.mark.xfail(strict=True, reason=ROUND_TRIP_XFAIL[v.name]))
    if v.name in ROUND_TRIP_XFAIL else v for v in VECTORS], ids=ids(VECTORS))
def test_round_trip(v: Vector) -> None:
    pkt = v.decode()
    layers = pkt.to_layers()
    assert bytes(layers) == v.frame
    assert_layer_matches(pkt, layers.getlayer(ICMPv6), "icmpv6")


# ---------------------------------------------------------------- field names

TSHARK_DIFFERS_AT: dict[tuple[str, str], str] = {}


def test_catalogue_fields_against_tshark() -> None:
    names = [f.name for f in catalogue("icmpv6").fields]
    check_fields_against_tshark(VECTORS, names, differs=TSHARK_DIFFERS_AT)


def test_scapy_cross_check() -> None:
    pytest.importorskip("scapy")
    from scapy.layers.inet6 import IPv6 as ScapyIPv6
    from scapy.layers.l2 import Ether

    for v in VECTORS:
        icmp = Ether(v.frame)[ScapyIPv6].payload
        if v is MLD_REPORT:
            icmp = icmp.payload     # behind the hop-by-hop header
        view = VIEW[v.name]
        code = getattr(icmp, "code", 0)     # (scapy's MLDv2 report has no code field)
        assert (icmp.type, code, icmp.cksum) == (view["type"], view["code"],
                                                 view["checksum"]), v.name
        if view["id"] is not None:
            assert (icmp.id, icmp.seq) == (view["id"], view["seq"])


def test_catalogue_value_reads_the_view() -> None:
    """Each catalogue field with a view attribute reads through `value` as the view."""
    check_value_reads_view(VECTORS, "icmpv6")


def test_tcpdump_lines() -> None:
    check_tcpdump_lines(__file__, VECTORS)
