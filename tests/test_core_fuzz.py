"""Any bytes at all: the decoder and the reader flag or raise one error, never crash or hang."""

from __future__ import annotations

import io
import socket
import warnings

from decodecheck import check_bounds
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wirecraft
from wirecraft import CaptureFileError, summary

from pcapbuild import epb, idb, pcap, shb, udp_frame

LINKTYPES = [0, 1, 12, 101, 108, 113, 228, 229, 276, 147]
SEED_FRAME = udp_frame(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x00\x00\x01\x00\x01")


def touch(pkt) -> None:
    """Read every attribute a user might, so that each view runs; check the bounds invariant."""
    check_bounds(pkt)
    seen = [pkt.summary(), pkt.problems, pkt.payload, pkt.vlan, summary.to_json(pkt)]
    for name in ("eth", "sll", "arp", "ip", "tcp", "udp", "icmp", "icmpv6"):
        layer = getattr(pkt, name)
        if layer is not None:
            for attr in dir(layer):
                if not attr.startswith("_"):
                    value = getattr(layer, attr)
                    if callable(value) and attr in ("verify_checksum",):
                        value()
    seen.append(pkt.verify_checksums())
    if pkt.tcp is not None:
        seen.append(pkt.tcp.options)
    assert len(seen) >= 5


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LINKTYPES), st.binary(max_size=200))
def test_random_frames_decode(linktype, data) -> None:
    touch(wirecraft.decode(data, linktype))
    touch(wirecraft.decode(data, linktype, checksums=True))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SEED_FRAME) - 1), st.integers(0, 255)), max_size=6),
       st.integers(0, len(SEED_FRAME)))
def test_mutated_real_frames_decode(edits, cut) -> None:
    frame = bytearray(SEED_FRAME)
    for pos, value in edits:
        frame[pos] = value
    touch(wirecraft.decode(bytes(frame[:cut]), 1, wire_len=len(frame)))
    touch(wirecraft.decode(bytes(frame[:cut]), 1, checksums=True))


# frames of every kind the decoder walks: ARP, VLAN, IPv4 options/fragments, IPv6
# extension headers and routing, TCP options, ICMP, SLL v1/v2, null/loopback, raw IP
def _seed_frames() -> list[tuple[bytes, int]]:
    import struct

    ip4 = bytes.fromhex("4500001c000100004011f9e0c0000201c0000202")
    udp = bytes.fromhex("04d2003500080000")
    tcp = bytes.fromhex("04d2005000000001000000027012020000000000020405b401030307")
    addrs = bytes.fromhex("20010db8" + "00" * 11 + "01" + "20010db8" + "00" * 11 + "02")

    def ip6(nh: int, body: bytes) -> bytes:
        return struct.pack("!IHBB", 6 << 28, len(body), nh, 64) + addrs + body
    srh = bytes.fromhex("2902040100000000") + bytes(16)
    arp = bytes.fromhex("0001080006040001020000000001c0000201000000000000c0000202")
    eth = bytes.fromhex("020000000001020000000002")
    out = [
        (eth + b"\x08\x00" + ip4 + udp, 1),
        (eth + b"\x08\x06" + arp + bytes(18), 1),
        (eth + b"\x81\x00\x00\x05\x08\x00" + ip4[:2] + b"\x00\x30" + ip4[4:9] + b"\x06"
         + ip4[10:] + tcp, 1),
        (eth + b"\x86\xdd" + ip6(43, srh), 1),
        (eth + b"\x08\x00" + b"\x46" + ip4[1:] + b"\x01\x01\x01\x00" + udp, 1),
        (eth + b"\x08\x00" + ip4[:6] + b"\x20\x00" + ip4[8:9] + b"\x06" + ip4[10:] + tcp[:8], 1),
        (struct.pack("!HHH", 0, 1, 6) + bytes(8) + b"\x08\x00" + ip4 + udp, 113),
        (b"\x86\xdd" + bytes(9) + b"\x06" + bytes(8) + ip6(17, udp), 276),
        (struct.pack("<I", 2) + ip4 + udp, 0),
        (ip6(58, bytes.fromhex("8000000000010002")), 101),
        (ip6(59, b""), 229),
    ]
    return out


SEEDS = _seed_frames()


def test_every_prefix_of_every_seed_frame_decodes_in_bounds() -> None:
    for frame, lt in SEEDS:
        for k in range(len(frame) + 1):
            touch(wirecraft.decode(frame[:k], lt, wire_len=len(frame)))
            touch(wirecraft.decode(frame[:k], lt, checksums=True))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SEEDS),
       st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
       st.integers(0, 200))
def test_mutated_seed_frames_decode_in_bounds(seed, edits, cut) -> None:
    frame, lt = seed
    buf = bytearray(frame)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    touch(wirecraft.decode(bytes(buf[:cut]), lt, wire_len=len(buf)))
    touch(wirecraft.decode(bytes(buf[:cut]), lt))


VALID_FILES = [pcap([(1, SEED_FRAME), (2, SEED_FRAME)]),
               pcap([(1, SEED_FRAME)], big_endian=True, nano=True),
               shb() + idb(1) + epb(0, 7, SEED_FRAME, comment="c") + epb(0, 8, SEED_FRAME)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VALID_FILES),
       st.lists(st.tuples(st.integers(0, 300), st.integers(0, 255)), max_size=8),
       st.integers(0, 400))
def test_damaged_files_raise_or_read(data, edits, cut) -> None:
    buf = bytearray(data)
    for pos, value in edits:
        if pos < len(buf):
            buf[pos] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for pkt in wirecraft.read(io.BytesIO(bytes(buf[:cut]))):
                touch(pkt)
        except CaptureFileError as exc:
            assert exc.reason and exc.offset >= 0


SPECIAL_V6 = ["::", "::1", "::2", "::1.2.3.4", "::ffff:1.2.3.4", "::fffe:102:304", "fe80::1",
              "2001:db8::1:0:0:1", "2001:db8:0:1::1", "1:0:0:2:0:0:0:3", "1:2:3:4:5:6:7:8",
              "::1:2:3", "1::", "1:0::", "0:1::"]


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.binary(min_size=16, max_size=16),
                 st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0x1234]), min_size=8, max_size=8)
                 .map(lambda ws: b"".join(w.to_bytes(2, "big") for w in ws)),
                 st.sampled_from(SPECIAL_V6).map(lambda t: socket.inet_pton(socket.AF_INET6, t))))
def test_ipv6_text_matches_inet_ntop(address) -> None:
    from wirecraft._core import ipv6_text

    assert ipv6_text(address) == socket.inet_ntop(socket.AF_INET6, address)
