"""`Packet.to_layers()` on any bytes: it returns layers whose bytes equal the frame, or Raw.

Regression of issue 11 item 9: a window-scale option whose length is not 3, or a
SACK of odd length, made `to_layers()` raise TypeError. Every malformed option
must become opaque bytes that rebuild byte-identically.
"""

from __future__ import annotations

import struct
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wirecraft

from conftest import capture_files


def eth_tcp(options: bytes) -> bytes:
    options += b"\0" * (-len(options) % 4)
    hl = 20 + len(options)
    tcp = struct.pack("!HHIIHHHH", 1234, 80, 1, 2, (hl // 4) << 12 | 0x12, 512, 0, 0) + options
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     b"\xc0\0\2\1", b"\xc0\0\2\2")
    return b"\x02\0\0\0\0\1\x02\0\0\0\0\2\x08\0" + ip + tcp


def round_trip(frame: bytes, linktype: int = 1) -> None:
    pkt = wirecraft.decode(frame, linktype)
    layers = pkt.to_layers()
    assert bytes(layers) == frame


MALFORMED = [
    b"\x03\x04\x07\x00",                     # window scale of length 4
    b"\x03\x02",                             # window scale of length 2
    b"\x05\x0b" + bytes(9),                  # SACK of odd length
    b"\x05\x03\x00",                         # SACK shorter than one block
    b"\x02\x03\x05",                         # MSS of length 3
    b"\x02\x06\x05\xb4\x00\x00",             # MSS of length 6
    b"\x08\x06" + bytes(4),                  # timestamp of length 6
    b"\x04\x03\x00",                         # SACK-permitted with a body
    b"\x01\x01\x05\x0a" + bytes(8),          # well formed SACK after NOPs
    b"\x1e\x01",                             # length below 2
    b"\x22\xff",                             # length past the header
]


@pytest.mark.parametrize("options", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_tcp_options_rebuild_byte_identically(options: bytes) -> None:
    round_trip(eth_tcp(options))


def real_frames() -> list[tuple[bytes, int]]:
    out, seen = [], set()
    for path in capture_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for pkt in wirecraft.read(path):
                kind = (pkt.linktype, pkt.layers, pkt.app, pkt.stop_reason)
                if kind not in seen:
                    seen.add(kind)
                    out.append((pkt.data, pkt.linktype))
    return out


REAL = real_frames()


@pytest.mark.slow
def test_every_prefix_of_real_frames_round_trips() -> None:
    for frame, lt in REAL:
        for k in range(0, len(frame) + 1, 1 if len(frame) < 200 else 3):
            round_trip(frame[:k], lt)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(REAL + [(eth_tcp(o), 1) for o in MALFORMED]),
       st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=6),
       st.integers(0, 2000))
def test_mutated_real_frames_round_trip(sample, edits, cut) -> None:
    frame, lt = sample
    buf = bytearray(frame)
    for pos, value in edits:
        if buf:
            buf[pos % len(buf)] = value
    round_trip(bytes(buf[:cut]), lt)
