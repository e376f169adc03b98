"""Any bytes at all: the decoder and the reader flag or raise one error, never crash or hang."""

from __future__ import annotations

import io
import socket
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wirecraft
from wirecraft import CaptureFileError

from pcapbuild import epb, idb, pcap, shb, udp_frame

LINKTYPES = [0, 1, 12, 101, 108, 113, 228, 229, 276, 147]
SEED_FRAME = udp_frame(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x00\x00\x01\x00\x01")


def touch(pkt) -> None:
    """Read every attribute a user might, so that each view runs."""
    seen = [pkt.summary(), pkt.problems, pkt.payload, pkt.vlan]
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


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SEED_FRAME) - 1), st.integers(0, 255)), max_size=6),
       st.integers(0, len(SEED_FRAME)))
def test_mutated_real_frames_decode(edits, cut) -> None:
    frame = bytearray(SEED_FRAME)
    for pos, value in edits:
        frame[pos] = value
    touch(wirecraft.decode(bytes(frame[:cut]), 1, wire_len=len(frame)))


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
