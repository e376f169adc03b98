"""ARP (RFC 826) and RARP (RFC 903) for IPv4 over Ethernet: annotated vectors, decode,
craft, round trip, catalogue names against tshark.

Frames built by hand from the RFC layout; the comment above each is what
`tcpdump -nn -v -t -S -e` prints for it.
"""

from __future__ import annotations

import pytest

from wirecraft.craft import ARP, Ethernet

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

MAC_1, MAC_2 = "02:00:00:00:00:01", "02:00:00:00:00:02"
BROADCAST, ZERO_MAC = "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"

# 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: Ethernet (len 6), IPv4 (len 4), Request who-has 192.0.2.2 tell 192.0.2.1, length 46
REQUEST = Vector("request", """
    ffff ffff ffff 0200 0000 0001 0806        # Ethernet 02:00:00:00:00:01 > broadcast, ARP
    0001 0800 0604 0001 0200 0000 0001 c000   # ARP Ethernet/IPv4, request, sender 02:..:01
    0201 0000 0000 0000 c000 0202             #   192.0.2.1, target 00:..:00 192.0.2.2
    0000 0000 0000 0000 0000 0000 0000 0000   # Ethernet padding to 60 bytes
    0000
""", tcpdump_e=True)

# 02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Reply 192.0.2.2 is-at 02:00:00:00:00:02, length 28
REPLY = Vector("reply", """
    0200 0000 0001 0200 0000 0002 0806        # Ethernet 02:00:00:00:00:02 > 02:00:00:00:00:01, ARP
    0001 0800 0604 0002 0200 0000 0002 c000   # ARP reply, sender 02:..:02 192.0.2.2,
    0202 0200 0000 0001 c000 0201             #   target 02:..:01 192.0.2.1
""", tcpdump_e=True)

# 02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Ethernet (len 6), IPv4 (len 4), Request who-has 192.0.2.2 (ff:ff:ff:ff:ff:ff) tell 192.0.2.2, length 28
GRATUITOUS = Vector("gratuitous", """
    ffff ffff ffff 0200 0000 0002 0806        # Ethernet > broadcast, ARP
    0001 0800 0604 0001 0200 0000 0002 c000   # ARP request for its own address 192.0.2.2
    0202 ffff ffff ffff c000 0202
""", tcpdump_e=True)

# 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype Reverse ARP (0x8035), length 42: Ethernet (len 6), IPv4 (len 4), Reverse Request who-is 02:00:00:00:00:01 tell 02:00:00:00:00:01, length 28
RARP = Vector("rarp", """
    ffff ffff ffff 0200 0000 0001 8035        # Ethernet > broadcast, RARP (0x8035)
    0001 0800 0604 0003 0200 0000 0001 0000   # RARP request reverse (3): who is 02:..:01?
    0000 0200 0000 0001 0000 0000
""", tcpdump_e=True)

# 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 66: Ethernet (len 6), IPv6 (len 16), Request who-has <wrong proto type> tell <wrong proto type>, length 52
IPV6_SIZED = Vector("not_ethernet_ipv4", """
    ffff ffff ffff 0200 0000 0001 0806        # Ethernet > broadcast, ARP
    0001 86dd 0610 0001 0200 0000 0001 2001   # ARP with protocol 0x86dd, 16-byte addresses:
    0db8 0000 0000 0000 0000 0000 0001 0000   #   not the Ethernet/IPv4 form the decoder reads
    0000 0000 2001 0db8 0000 0000 0000 0000
    0000 0002
""", tcpdump_e=True)

VECTORS = [REQUEST, REPLY, GRATUITOUS, RARP, IPV6_SIZED]
DECODED = [REQUEST, REPLY, GRATUITOUS, RARP]

VIEW = {
    "request": dict(opcode=1, sender_mac=MAC_1, sender_ip="192.0.2.1", target_mac=ZERO_MAC,
                    target_ip="192.0.2.2"),
    "reply": dict(opcode=2, sender_mac=MAC_2, sender_ip="192.0.2.2", target_mac=MAC_1,
                  target_ip="192.0.2.1"),
    "gratuitous": dict(opcode=1, sender_mac=MAC_2, sender_ip="192.0.2.2", target_mac=BROADCAST,
                       target_ip="192.0.2.2"),
    "rarp": dict(opcode=3, sender_mac=MAC_1, sender_ip="0.0.0.0", target_mac=MAC_1,
                 target_ip="0.0.0.0"),
}


@pytest.mark.parametrize("v", DECODED, ids=ids(DECODED))
def test_decode(v: Vector) -> None:
    pkt = v.decode()
    assert_view(pkt.arp, VIEW[v.name])
    assert pkt.has("arp") and pkt.ip is None
    # ARP carries no payload: the padding after its 28 bytes is the link's
    assert (pkt.stop_layer, pkt.stop_reason, pkt.problems, pkt.payload) == ("arp", None, [], b"")
    assert pkt.eth.type == (0x8035 if v is RARP else 0x0806)


def test_other_hardware_or_protocol_is_unsupported() -> None:
    pkt = IPV6_SIZED.decode()
    assert (pkt.stop_layer, pkt.stop_reason, pkt.problems) == ("arp", "unsupported", [])
    assert pkt.arp.opcode == 1


def test_addresses_not_decoded_read_none() -> None:
    for pkt in (IPV6_SIZED.decode(), Vector("cut", REPLY.hex, cut=14 + 20).decode()):
        view = pkt.arp
        assert (view.sender_mac, view.sender_ip, view.target_mac, view.target_ip) == (
            None, None, None, None)


@pytest.mark.parametrize("have", range(0, 28))
def test_cut_by_snaplen(have: int) -> None:
    pkt = Vector(f"cut_{have}", REPLY.hex, cut=14 + have).decode()
    assert (pkt.stop_layer, pkt.stop_reason) == ("arp", "truncated header")
    assert pkt.problems == ["truncated header at arp", "frame cut by snaplen"]
    if have < 8:
        assert pkt.arp is None and not pkt.has("arp")
    else:
        assert pkt.arp.opcode == 2


# ---------------------------------------------------------------- craft

CRAFT = {
    "request": lambda: Ethernet(src=MAC_1, dst=BROADCAST, trailer=bytes(18)) / ARP(
        opcode=1, sender_mac=MAC_1, sender_ip="192.0.2.1", target_ip="192.0.2.2"),
    "reply": lambda: Ethernet(src=MAC_2, dst=MAC_1) / ARP(
        opcode=2, sender_mac=MAC_2, sender_ip="192.0.2.2", target_mac=MAC_1,
        target_ip="192.0.2.1"),
    "gratuitous": lambda: Ethernet(src=MAC_2, dst=BROADCAST) / ARP(
        sender_mac=MAC_2, sender_ip="192.0.2.2", target_mac=BROADCAST, target_ip="192.0.2.2"),
    "rarp": lambda: Ethernet(src=MAC_1, dst=BROADCAST, type=0x8035) / ARP(
        opcode=3, sender_mac=MAC_1, target_mac=MAC_1),
    "not_ethernet_ipv4": lambda: Ethernet(src=MAC_1, dst=BROADCAST) / ARP(
        protocol_type=0x86DD, sender_mac=MAC_1, sender_ip=IPV6_SIZED.frame[28:44],
        target_ip=IPV6_SIZED.frame[50:66]),
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_craft(v: Vector) -> None:
    assert bytes(CRAFT[v.name]()) == v.frame


def test_crafted_arp_is_0806_whatever_the_opcode() -> None:
    """An ARP layer is sent as ARP (0x0806, the binding's first value) unless told: RARP
    needs its ethertype given."""
    frame = bytes(Ethernet() / ARP(opcode=3))
    assert frame[12:14] == b"\x08\x06"


# ---------------------------------------------------------------- round trip

ROUND_TRIP_XFAIL = {
}


@pytest.mark.parametrize("v", [
    pytest.param(v, marks=pytest.mark.xfail(strict=True, reason=ROUND_TRIP_XFAIL[v.name]))
    if v.name in ROUND_TRIP_XFAIL else v for v in DECODED], ids=ids(DECODED))
def test_round_trip(v: Vector) -> None:
    pkt = v.decode()
    layers = pkt.to_layers()
    assert bytes(layers) == v.frame
    assert_layer_matches(pkt, layers.getlayer(ARP), "arp")


def test_round_trip_bytes_of_unsupported_arp() -> None:
    assert bytes(IPV6_SIZED.decode().to_layers()) == IPV6_SIZED.frame


# ---------------------------------------------------------------- field names

def test_catalogue_fields_against_tshark() -> None:
    names = [f.name for f in catalogue("arp").fields]
    check_fields_against_tshark(DECODED, names)


def test_dpkt_cross_check() -> None:
    dpkt = pytest.importorskip("dpkt")
    for v in (REQUEST, REPLY, GRATUITOUS):
        arp = dpkt.ethernet.Ethernet(v.frame).data
        view = VIEW[v.name]
        assert (arp.op, arp.sha.hex(), bytes(arp.spa), arp.tha.hex(), bytes(arp.tpa)) == (
            view["opcode"], view["sender_mac"].replace(":", ""),
            bytes(int(x) for x in view["sender_ip"].split(".")),
            view["target_mac"].replace(":", ""),
            bytes(int(x) for x in view["target_ip"].split("."))), v.name


def test_catalogue_value_reads_the_view() -> None:
    """Each catalogue field with a view attribute reads through `value` as the view."""
    check_value_reads_view(DECODED, "arp")


def test_tcpdump_lines() -> None:
    check_tcpdump_lines(__file__, VECTORS)
