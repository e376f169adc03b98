"""Bounds invariant of the decoder on every capture, every prefix, and the frames that broke it.

Regressions of issue 11 item 2: ARP and cut IPv4/IPv6 headers set a payload
range past the frame's end, so `payload` returned the next record's bytes
(from a file) or heap bytes (from `decode()`).
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import pytest
from decodecheck import check_bounds, record_of

import wirecraft

from conftest import SHARED_CAPTURES, capture_files
from pcapbuild import pcap

ALL_CAPTURES = capture_files() + sorted(
    p for p in SHARED_CAPTURES.glob("*") if p.suffix in {".pcap", ".pcapng", ".gz"}
) if SHARED_CAPTURES.is_dir() else capture_files()


def packets_of(path: Path) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(wirecraft.read(path))


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_packet_of_every_capture_stays_in_its_frame(path: Path) -> None:
    for pkt in packets_of(path):
        check_bounds(pkt)


def distinct_frames(per_file: int = 8) -> list[tuple[bytes, int]]:
    """A few frames of each kind (layers, stop) from every capture."""
    out, seen = [], set()
    for path in capture_files():
        taken = 0
        for pkt in packets_of(path):
            kind = (pkt.linktype, pkt.layers, pkt.stop_layer, pkt.stop_reason)
            if kind in seen:
                continue
            seen.add(kind)
            out.append((pkt.data, pkt.linktype))
            taken += 1
            if taken >= per_file:
                break
    return out


def test_every_prefix_of_every_kind_of_frame_stays_in_its_frame() -> None:
    frames = distinct_frames()
    assert len(frames) > 20
    for frame, lt in frames:
        for k in range(len(frame) + 1):
            # both as a snaplen cut and as a frame that simply is this short
            check_bounds(wirecraft.decode(frame[:k], lt, wire_len=len(frame)))
            check_bounds(wirecraft.decode(frame[:k], lt))


def eth(payload: bytes, etype: int) -> bytes:
    return b"\x02\0\0\0\0\x01" + b"\x02\0\0\0\0\x02" + struct.pack("!H", etype) + payload


ARP = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + b"\x02\0\0\0\0\x01" + bytes([10, 0, 0, 1]) \
    + b"\0" * 6 + bytes([10, 0, 0, 2])


@pytest.mark.parametrize("trailer", [b"", b"\0" * 18])
def test_arp_has_no_payload_and_reads_nothing_past_the_frame(trailer: bytes) -> None:
    frame = eth(ARP + trailer, 0x0806)
    pkt = wirecraft.decode(frame)
    assert pkt.arp is not None and pkt.arp.target_ip == "10.0.0.2"
    assert pkt.payload == b"" and pkt.payload_length == 0
    check_bounds(pkt)


CUT_HEADERS = [
    eth(bytes([0x45, 0, 0, 60, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1]), 0x0800),   # 16 of 20
    eth(bytes([0x4F, 0, 0, 60]) + bytes(20), 0x0800),                            # options cut
    eth(bytes([0x60, 0, 0, 0, 0, 8, 17, 64]) + bytes(16), 0x86DD),               # 24 of 40
    eth(bytes([0x60]), 0x86DD),
]


@pytest.mark.parametrize("frame", CUT_HEADERS, ids=range(len(CUT_HEADERS)))
def test_cut_ip_header_payload_does_not_reach_the_next_record(frame: bytes) -> None:
    marker = b"NEXT-RECORD" * 5
    data = pcap([(1, frame), (2, marker)])
    first = next(iter(wirecraft.read(io.BytesIO(data))))
    assert first.stop_reason == "truncated header"
    assert first.payload == b"" and b"NEXT" not in first.payload
    check_bounds(first)
    one = wirecraft.decode(frame)
    assert one.payload == b""
    check_bounds(one)


@pytest.mark.parametrize("name,count", [("zeek__wikipedia.pcap", 6), ("zeek__icmp_dot1q.pcap", 6)])
def test_payload_length_of_arp_packets_in_captures(name: str, count: int) -> None:
    path = Path(__file__).resolve().parent.parent / "captures" / name
    arp = [p for p in packets_of(path) if p.arp is not None]
    assert len(arp) >= count
    for pkt in arp:
        assert pkt.payload == b""
    t = wirecraft.open(path).table()
    assert not (t["payload_length"][t["has_arp"]]).any()
    assert (t["payload_offset"] + t["payload_length"] <= t["caplen"]).all()


def test_payload_view_is_clamped_even_if_a_record_is_not() -> None:
    pkt = wirecraft.decode(eth(ARP, 0x0806))
    rec = record_of(pkt)
    raw = pkt.batch.record_bytes()
    # forge a record whose payload range overruns: the view must still stay inside
    import numpy as np

    from wirecraft.table import RECORD_DTYPE
    recs = np.frombuffer(raw, dtype=RECORD_DTYPE)
    recs.flags.writeable or pytest.skip("record area is read-only")
    recs["payload_offset"][pkt.position] = rec["caplen"] - 2
    recs["payload_length"][pkt.position] = 1000
    assert pkt.payload == pkt.data[-2:]
    recs["payload_offset"][pkt.position] = 10**6
    assert pkt.payload == b""


def test_sll2_vlan_tpid_is_the_protocol_field() -> None:
    # SLL v2: protocol 0x8100 at byte 0, then a VLAN tag at 20, then IPv4
    ip = bytes([0x45, 0, 0, 20, 0, 1, 0, 0, 64, 59, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    sll2 = struct.pack("!HHIHBB", 0x8100, 0, 2, 1, 0, 6) + b"\x02\0\0\0\0\x01\0\0"
    frame = sll2 + struct.pack("!HH", 5, 0x0800) + ip
    pkt = wirecraft.decode(frame, 276)
    assert [(t.tpid, t.id) for t in pkt.vlan] == [(0x8100, 5)]
    assert pkt.ip.dst == "10.0.0.2"
    check_bounds(pkt)
