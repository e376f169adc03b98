"""ICMP (RFC 792; timestamp messages RFC 792, id/seq on echo, timestamp and information
messages only): annotated vectors, decode, craft, round trip, catalogue names against tshark.

Frames are Ethernet / IPv4 / ICMP built by hand from the RFC layouts; the comment above
each is what `tcpdump -nn -v -t -S` prints for it.
"""

from __future__ import annotations

import pytest

from wirecraft.craft import ICMP, Ethernet, IPv4, Raw

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

A, B = "192.0.2.1", "198.51.100.2"

# IP (tos 0x0, ttl 64, id 48, offset 0, flags [DF], proto ICMP (1), length 36) 192.0.2.1 > 198.51.100.2: ICMP echo request, id 4660, seq 1, length 16
ECHO_REQUEST = Vector("echo_request", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02, IPv4
    4500 0024 0030 4000 4001 4e72 c000 0201   # IPv4 192.0.2.1 > 198.51.100.2, ICMP, DF
    c633 6402
    0800 5435 1234 0001                       # ICMP echo request, id 0x1234, seq 1
    6162 6364 6566 6768                       # data "abcdefgh"
""")

# IP (tos 0x0, ttl 64, id 49, offset 0, flags [none], proto ICMP (1), length 36) 198.51.100.2 > 192.0.2.1: ICMP echo reply, id 4660, seq 1, length 16
ECHO_REPLY = Vector("echo_reply", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0024 0031 0000 4001 8e71 c633 6402   # IPv4 198.51.100.2 > 192.0.2.1, ICMP
    c000 0201
    0000 5c35 1234 0001                       # ICMP echo reply, id 0x1234, seq 1
    6162 6364 6566 6768                       # data "abcdefgh"
""")

# IP (tos 0x0, ttl 64, id 50, offset 0, flags [none], proto ICMP (1), length 56) 192.0.2.1 > 198.51.100.2: ICMP 192.0.2.1 udp port 1234 unreachable, length 36 IP (tos 0x0, ttl 64, id 153, offset 0, flags [DF], proto UDP (17), length 32) 198.51.100.2.5678 > 192.0.2.1.1234: UDP, length 4
PORT_UNREACHABLE = Vector("port_unreachable", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0038 0032 0000 4001 8e5c c000 0201   # IPv4, ICMP
    c633 6402
    0303 c822 0000 0000                       # ICMP destination unreachable, port; unused
    4500 0020 0099 4000 4011 4dfd c633 6402   # the datagram it answers: IPv4 header
    c000 0201 162e 04d2 000c 19ce             #   and its first 8 bytes (UDP 5678 > 1234)
""")

# IP (tos 0x0, ttl 64, id 51, offset 0, flags [none], proto ICMP (1), length 56) 192.0.2.1 > 198.51.100.2: ICMP time exceeded in-transit, length 36 IP (tos 0x0, ttl 64, id 153, offset 0, flags [DF], proto UDP (17), length 32) 198.51.100.2.5678 > 192.0.2.1.1234: UDP, length 4
TIME_EXCEEDED = Vector("time_exceeded", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0038 0033 0000 4001 8e5b c000 0201   # IPv4, ICMP
    c633 6402
    0b00 c025 0000 0000                       # ICMP time exceeded in transit; unused
    4500 0020 0099 4000 4011 4dfd c633 6402   # the datagram it answers
    c000 0201 162e 04d2 000c 19ce
""")

# IP (tos 0x0, ttl 64, id 52, offset 0, flags [DF], proto ICMP (1), length 40) 192.0.2.1 > 198.51.100.2: ICMP time stamp query id 16962 seq 7, length 20
TIMESTAMP = Vector("timestamp", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0028 0034 4000 4001 4e6a c000 0201   # IPv4, ICMP
    c633 6402
    0d00 acce 4242 0007 0000 03e8 0000 0000   # ICMP timestamp request, id 0x4242, seq 7,
    0000 0000                                 #   originate 1000 ms, receive 0, transmit 0
""")

# IP (tos 0x0, ttl 64, id 53, offset 0, flags [DF], proto ICMP (1), length 36) 192.0.2.1 > 198.51.100.2: ICMP echo request, id 4660, seq 2, length 16 (wrong icmp cksum ffff (->5434)!)
BAD_CHECKSUM = Vector("bad_checksum", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0024 0035 4000 4001 4e6d c000 0201   # IPv4, ICMP
    c633 6402
    0800 ffff 1234 0002                       # ICMP echo request, checksum 0xffff (wrong)
    6162 6364 6566 6768
""")

VECTORS = [ECHO_REQUEST, ECHO_REPLY, PORT_UNREACHABLE, TIME_EXCEEDED, TIMESTAMP, BAD_CHECKSUM]

# every ICMPView field; id/seq only on echo/timestamp/information messages
VIEW = {
    "echo_request": dict(version=4, type=8, code=0, checksum=0x5435, id=0x1234, seq=1),
    "echo_reply": dict(version=4, type=0, code=0, checksum=0x5C35, id=0x1234, seq=1),
    "port_unreachable": dict(version=4, type=3, code=3, checksum=0xC822, id=None, seq=None),
    "time_exceeded": dict(version=4, type=11, code=0, checksum=0xC025, id=None, seq=None),
    "timestamp": dict(version=4, type=13, code=0, checksum=0xACCE, id=0x4242, seq=7),
    "bad_checksum": dict(version=4, type=8, code=0, checksum=0xFFFF, id=0x1234, seq=2),
}
# the payload is what follows the 8-byte header
PAYLOAD = {
    "echo_request": b"abcdefgh", "echo_reply": b"abcdefgh",
    "port_unreachable": PORT_UNREACHABLE.frame[42:], "time_exceeded": TIME_EXCEEDED.frame[42:],
    "timestamp": bytes.fromhex("000003e80000000000000000"), "bad_checksum": b"abcdefgh",
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_decode(v: Vector) -> None:
    pkt = v.decode()
    assert_view(pkt.icmp, VIEW[v.name])
    assert pkt.icmpv6 is None and pkt.has("icmp") and pkt.ip.protocol == 1
    assert (pkt.stop_layer, pkt.stop_reason, pkt.problems) == ("transport", None, [])
    assert pkt.payload == PAYLOAD[v.name]


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_checksum(v: Vector) -> None:
    pkt = v.decode(checksums=True)
    good = v is not BAD_CHECKSUM
    assert pkt.verify_checksums() == {"ip": True, "icmp": good}
    assert ("icmp_bad_checksum" in pkt.problems) is not good


# ---------------------------------------------------------------- cut headers

@pytest.mark.parametrize("have", range(0, 8))
def test_echo_cut_by_snaplen(have: int) -> None:
    """The echo request with `have` bytes of its 8-byte header captured."""
    pkt = Vector(f"cut_{have}", ECHO_REQUEST.hex, cut=34 + have).decode()
    assert pkt.truncated
    if have < 4:
        assert pkt.icmp is None and pkt.payload == b""
        assert (pkt.stop_layer, pkt.stop_reason) == ("transport", "truncated header")
        return
    # type, code and checksum make the header; a cut id/seq is a cut payload (and is the
    # payload: the 8-byte header counts only when it is whole)
    assert (pkt.stop_layer, pkt.stop_reason) == ("payload", "truncated payload")
    assert pkt.payload == ECHO_REQUEST.frame[38:34 + have]
    assert_view(pkt.icmp, dict(VIEW["echo_request"], id=0x1234 if have >= 6 else None,
                               seq=None))


# ---------------------------------------------------------------- craft

def _eth(ip: IPv4, *layers: object) -> object:
    frame = Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / ip
    for layer in layers:
        frame = frame / layer
    return frame


CRAFT = {
    "echo_request": lambda: _eth(IPv4(src=A, dst=B, id=0x30, flags="DF"),
                                 ICMP(type=8, id=0x1234, seq=1), Raw(b"abcdefgh")),
    "echo_reply": lambda: _eth(IPv4(src=B, dst=A, id=0x31), ICMP(type=0, id=0x1234, seq=1),
                               Raw(b"abcdefgh")),
    "port_unreachable": lambda: _eth(IPv4(src=A, dst=B, id=0x32), ICMP(type=3, code=3),
                                     Raw(PORT_UNREACHABLE.frame[42:])),
    "time_exceeded": lambda: _eth(IPv4(src=A, dst=B, id=0x33), ICMP(type=11),
                                  Raw(TIME_EXCEEDED.frame[42:])),
    "timestamp": lambda: _eth(IPv4(src=A, dst=B, id=0x34, flags="DF"),
                              ICMP(type=13, id=0x4242, seq=7),
                              Raw(bytes.fromhex("000003e80000000000000000"))),
    "bad_checksum": lambda: _eth(IPv4(src=A, dst=B, id=0x35, flags="DF"),
                                 ICMP(type=8, id=0x1234, seq=2, checksum=0xFFFF),
                                 Raw(b"abcdefgh")),
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_craft(v: Vector) -> None:
    assert bytes(CRAFT[v.name]()) == v.frame


# ---------------------------------------------------------------- round trip

ROUND_TRIP_XFAIL: dict[str, str] = {}


@pytest.mark.parametrize("v", [
    pytest.param(v, marks=pytest.mark.xfail(strict=True, reason=ROUND_TRIP_XFAIL[v.name]))
    if v.name in ROUND_TRIP_XFAIL else v for v in VECTORS], ids=ids(VECTORS))
def test_round_trip(v: Vector) -> None:
    pkt = v.decode()
    layers = pkt.to_layers()
    assert bytes(layers) == v.frame
    assert_layer_matches(pkt, layers.getlayer(ICMP), "icmp")


# ---------------------------------------------------------------- field names

def test_catalogue_fields_against_tshark() -> None:
    names = [f.name for f in catalogue("icmp").fields]
    check_fields_against_tshark(VECTORS, names)


def test_dpkt_cross_check() -> None:
    dpkt = pytest.importorskip("dpkt")
    for v in VECTORS:
        icmp = dpkt.ethernet.Ethernet(v.frame).data.data
        view = VIEW[v.name]
        assert (icmp.type, icmp.code, icmp.sum) == (view["type"], view["code"],
                                                     view["checksum"]), v.name
        if v.name in ("echo_request", "echo_reply", "bad_checksum"):
            assert (icmp.data.id, icmp.data.seq) == (view["id"], view["seq"])


def test_catalogue_value_reads_the_view() -> None:
    """Each catalogue field with a view attribute reads through `value` as the view."""
    check_value_reads_view(VECTORS, "icmp")


def test_tcpdump_lines() -> None:
    check_tcpdump_lines(__file__, VECTORS)
