"""UDP (RFC 768): annotated vectors, decode, craft, round trip, catalogue names against tshark.

Frames are Ethernet / IPv4 / UDP built by hand from the RFC layouts (checksums over
the pseudo-header); the comment above each is what `tcpdump -nn -v -t -S` prints for it.
"""

from __future__ import annotations

import pytest

import wirecraft
from wirecraft.craft import UDP, Ethernet, IPv4, Raw

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

# IP (tos 0x0, ttl 64, id 16, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
DATAGRAM = Vector("datagram", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02, IPv4
    4500 0020 0010 4000 4011 4e86 c000 0201   # IPv4 192.0.2.1 > 198.51.100.2, UDP, DF
    c633 6402
    04d2 162e 000c 19ce                       # UDP 1234 > 5678, length 12, checksum
    7069 6e67                                 # payload "ping"
""")

# IP (tos 0x0, ttl 64, id 17, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
ZERO_CHECKSUM = Vector("zero_checksum", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0020 0011 4000 4011 4e85 c000 0201   # IPv4, UDP
    c633 6402
    04d2 162e 000c 0000                       # UDP, checksum 0: none computed (IPv4 only)
    7069 6e67                                 # payload "ping"
""")

# IP (tos 0x0, ttl 64, id 18, offset 0, flags [DF], proto UDP (17), length 30) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 2
PADDED = Vector("padded_frame", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 001e 0012 4000 4011 4e86 c000 0201   # IPv4, total length 30
    c633 6402
    04d2 162e 000a 9740                       # UDP, length 10
    6162                                      # payload "ab"
    0000 0000 0000 0000 0000 0000 0000 0000   # Ethernet padding to 60 bytes (not UDP's)
""")

# IP (tos 0x0, ttl 64, id 19, offset 0, flags [DF], proto UDP (17), length 34) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 2
SHORT_LENGTH = Vector("length_shorter_than_ip", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0022 0013 4000 4011 4e81 c000 0201   # IPv4, total length 34: 14 bytes for UDP
    c633 6402
    04d2 162e 000a 9039                       # UDP, length 10 (checksum over those 10)
    6869                                      # payload "hi"
    5858 5858                                 # 4 bytes inside IP, outside UDP
""")

# IP (tos 0x0, ttl 64, id 20, offset 0, flags [DF], proto UDP (17), length 28) 192.0.2.1.1234 > 198.51.100.2.5678: truncated-udplength 4
LENGTH_4 = Vector("length_below_8", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 001c 0014 4000 4011 4e86 c000 0201   # IPv4, total length 28
    c633 6402
    04d2 162e 0004 0000                       # UDP, length 4: below its own header
""")

# IP (tos 0x0, ttl 64, id 21, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, bad length 12 > 4
LONG_LENGTH = Vector("length_beyond_ip", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0020 0015 4000 4011 4e81 c000 0201   # IPv4, total length 32: 12 bytes for UDP
    c633 6402
    04d2 162e 0014 0000                       # UDP, length 20 (more than IP carries)
    7069 6e67                                 # payload "ping"
""")

# IP (tos 0x0, ttl 64, id 22, offset 0, flags [DF], proto UDP (17), length 32) 192.0.2.1.1234 > 198.51.100.2.5678: UDP, length 4
BAD_CHECKSUM = Vector("bad_checksum", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0020 0016 4000 4011 4e80 c000 0201   # IPv4, UDP
    c633 6402
    04d2 162e 000c 1234                       # UDP, checksum 0x1234 (wrong)
    7069 6e67                                 # payload "ping"
""")

# IP (tos 0x0, ttl 255, id 23, offset 0, flags [none], proto UDP (17), length 28) 192.0.2.1.5353 > 224.0.0.251.5353: domain [length 0 < 12] (invalid)
MDNS = Vector("mdns", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 001c 0017 0000 ff11 18bd c000 0201   # IPv4 192.0.2.1 > 224.0.0.251, UDP, ttl 255
    e000 00fb
    14e9 14e9 0008 330f                       # UDP 5353 > 5353, length 8, no payload
""")

VECTORS = [DATAGRAM, ZERO_CHECKSUM, PADDED, SHORT_LENGTH, LENGTH_4, LONG_LENGTH, BAD_CHECKSUM,
           MDNS]

MISMATCH, INVALID = "UDP length disagrees with IP payload length", "UDP length invalid"

# every UDPView field
VIEW = {
    "datagram": dict(src_port=1234, dst_port=5678, length=12, checksum=0x19CE),
    "zero_checksum": dict(src_port=1234, dst_port=5678, length=12, checksum=0),
    "padded_frame": dict(src_port=1234, dst_port=5678, length=10, checksum=0x9740),
    "length_shorter_than_ip": dict(src_port=1234, dst_port=5678, length=10, checksum=0x9039),
    "length_below_8": dict(src_port=1234, dst_port=5678, length=4, checksum=0),
    "length_beyond_ip": dict(src_port=1234, dst_port=5678, length=20, checksum=0),
    "bad_checksum": dict(src_port=1234, dst_port=5678, length=12, checksum=0x1234),
    "mdns": dict(src_port=5353, dst_port=5353, length=8, checksum=0x330F),
}
# (stop_layer, stop_reason, problems, payload, app, verify_checksums()['udp'])
PACKET = {
    "datagram": ("transport", None, [], b"ping", None, True),
    "zero_checksum": ("transport", None, [], b"ping", None, None),
    "padded_frame": ("transport", None, [], b"ab", None, True),
    # the UDP length wins: the 4 bytes after it are not payload
    "length_shorter_than_ip": ("transport", None, [MISMATCH], b"hi", None, True),
    "length_below_8": ("transport", "bad length", ["bad length at transport", INVALID], b"",
                       None, None),
    "length_beyond_ip": ("payload", "bad length", ["bad length at payload", MISMATCH, INVALID],
                         b"ping", None, None),
    "bad_checksum": ("transport", None, [], b"ping", None, False),
    "mdns": ("transport", None, [], b"", "mdns", True),
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_decode(v: Vector) -> None:
    pkt = v.decode()
    assert_view(pkt.udp, VIEW[v.name])
    stop_layer, stop_reason, problems, payload, app, _ = PACKET[v.name]
    assert (pkt.stop_layer, pkt.stop_reason, pkt.problems, pkt.payload, pkt.app) == (
        stop_layer, stop_reason, problems, payload, app)
    assert pkt.has("udp") and pkt.tcp is None and pkt.ip.protocol == 17


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_checksum(v: Vector) -> None:
    pkt = v.decode(checksums=True)
    ok = PACKET[v.name][5]
    assert pkt.verify_checksums() == {"ip": True, "udp": ok}
    assert ("udp_bad_checksum" in pkt.problems) is (ok is False)


# header bytes each view field needs
NEED = {"src_port": 4, "dst_port": 4, "length": 6, "checksum": 8}
CUT_PROBLEMS = ["frame cut by snaplen", "IP length beyond captured bytes"]


@pytest.mark.parametrize("have", range(0, 12))
def test_datagram_cut_by_snaplen(have: int) -> None:
    """The datagram captured with `have` of its 12 UDP bytes (header 8, payload 4)."""
    pkt = Vector(f"cut_{have}", DATAGRAM.hex, cut=34 + have).decode()
    assert pkt.truncated
    if have < 8:
        assert (pkt.stop_layer, pkt.stop_reason) == ("transport", "truncated header")
        assert pkt.problems == ["truncated header at transport", *CUT_PROBLEMS]
        assert pkt.payload == b""
    else:
        assert (pkt.stop_layer, pkt.stop_reason) == ("payload", "truncated payload")
        assert pkt.problems == ["truncated payload at payload", *CUT_PROBLEMS]
        assert pkt.payload == b"ping"[:have - 8]
    if have < 4:
        assert pkt.udp is None
        return
    full = VIEW["datagram"]
    assert_view(pkt.udp, {k: full[k] if have >= n else None for k, n in NEED.items()})


def test_frame_shorter_than_ip_length() -> None:
    """No snaplen cut, but the frame ends 2 bytes before IP's total length says: bad length."""
    pkt = Vector("short_frame", DATAGRAM.hex, cut=44, wire_len=44).decode()
    assert (pkt.stop_layer, pkt.stop_reason) == ("payload", "bad length")
    assert pkt.problems == ["bad length at payload", "IP length beyond captured bytes"]
    assert pkt.payload == b"pi"


# ---------------------------------------------------------------- craft

def _stack(udp: UDP, payload: bytes = b"", ip_id: int = 0, trailer: bytes = b"",
           **ip: object):
    ip.setdefault("flags", "DF")
    ip.setdefault("dst", B)
    frame = (Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", trailer=trailer)
             / IPv4(src=A, id=ip_id, **ip) / udp)
    return frame / Raw(payload) if payload else frame


CRAFT = {
    "datagram": lambda: _stack(UDP(src_port=1234, dst_port=5678), b"ping", 0x10),
    "zero_checksum": lambda: _stack(UDP(src_port=1234, dst_port=5678, checksum=0), b"ping", 0x11),
    "padded_frame": lambda: _stack(UDP(src_port=1234, dst_port=5678), b"ab", 0x12,
                                   trailer=bytes(16)),
    "length_shorter_than_ip": lambda: _stack(
        UDP(src_port=1234, dst_port=5678, length=10, checksum=0x9039), b"hiXXXX", 0x13),
    "length_below_8": lambda: _stack(UDP(src_port=1234, dst_port=5678, length=4, checksum=0),
                                     b"", 0x14),
    "length_beyond_ip": lambda: _stack(UDP(src_port=1234, dst_port=5678, length=20, checksum=0),
                                       b"ping", 0x15),
    "bad_checksum": lambda: _stack(UDP(src_port=1234, dst_port=5678, checksum=0x1234), b"ping",
                                   0x16),
    "mdns": lambda: _stack(UDP(src_port=5353, dst_port=5353), b"", 0x17, dst="224.0.0.251",
                           ttl=255, flags=0),
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_craft(v: Vector) -> None:
    assert bytes(CRAFT[v.name]()) == v.frame


def test_crafted_checksum_zero_is_sent_as_ffff() -> None:
    """RFC 768: a computed checksum of 0 goes out as 0xFFFF (0 means 'none')."""
    # with a 2-byte payload of 0 the sum is S and the checksum ~S; a payload word of ~S
    # makes the sum S + ~S = 0xFFFF, whose complement is 0
    base = bytes(Ethernet() / IPv4(src=A, dst=B) / UDP(src_port=1, dst_port=2) / Raw(b"\0\0"))
    fill = base[40:42]
    frame = bytes(Ethernet() / IPv4(src=A, dst=B) / UDP(src_port=1, dst_port=2) / Raw(fill))

    pkt = wirecraft.decode(frame)
    assert pkt.udp.checksum == 0xFFFF
    assert pkt.verify_checksums()["udp"] is True


# ---------------------------------------------------------------- round trip



@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_round_trip(v: Vector) -> None:
    pkt = v.decode()
    layers = pkt.to_layers()
    assert bytes(layers) == v.frame
    assert_layer_matches(pkt, layers.getlayer(UDP), "udp")


# ---------------------------------------------------------------- field names

def test_catalogue_fields_against_tshark() -> None:
    names = [f.name for f in catalogue("udp").fields]
    check_fields_against_tshark(VECTORS, names, tshark_rejects={
        "length_below_8": "tshark shows no UDP checksum for a length below 8"})


def test_dpkt_cross_check() -> None:
    dpkt = pytest.importorskip("dpkt")
    for v in VECTORS:
        if v is LENGTH_4:
            continue
        u = dpkt.ethernet.Ethernet(v.frame).data.data
        view = VIEW[v.name]
        assert (u.sport, u.dport, u.ulen, u.sum) == (
            view["src_port"], view["dst_port"], view["length"], view["checksum"]), v.name


def test_catalogue_value_reads_the_view() -> None:
    """Each catalogue field with a view attribute reads through `value` as the view."""
    check_value_reads_view(VECTORS, "udp")


def test_tcpdump_lines() -> None:
    check_tcpdump_lines(__file__, VECTORS)
