"""Templates and the Cython checksum helpers: incremental updates must equal full rebuilds."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.utils import checksum as scapy_checksum

import wirecraft
from wirecraft import _craft
from wirecraft.craft import (
    AUTO,
    DNS,
    ICMP,
    TCP,
    UDP,
    Ethernet,
    ICMPv6,
    IPv4,
    IPv6,
    from_bytes,
)
from wirecraft.craft.template import Counter, RandomValues, Range, Template, Values


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_checksum_equals_scapy(data: bytes) -> None:
    assert _craft.checksum(data) == scapy_checksum(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=2, max_size=200), at=st.integers(0, 199), new=st.binary(
    min_size=1, max_size=6))
def test_incremental_update_equals_recompute(data: bytes, at: int, new: bytes) -> None:
    at = at % len(data)
    new = new[: len(data) - at]
    old_sum = _craft.checksum(data)
    changed = data[:at] + new + data[at + len(new):]
    got = _craft.update(old_sum, data[at:at + len(new)], new, odd=bool(at & 1))
    want = _craft.checksum(changed)
    # one's complement: 0x0000 and 0xFFFF are the same number
    assert got == want or {got, want} == {0, 0xFFFF}
    if at % 2 == 0 and len(new) >= 2:
        w_old = int.from_bytes(data[at:at + 2], "big")
        w_new = int.from_bytes(new[:2], "big")
        one = data[:at] + new[:2] + data[at + 2:]
        got16 = _craft.update16(old_sum, w_old, w_new)
        assert got16 == _craft.checksum(one) or {got16, _craft.checksum(one)} == {0, 0xFFFF}


def test_bad_arguments_raise_not_crash() -> None:
    with pytest.raises(ValueError):
        _craft.fill_checksum(bytearray(4), 3, 0, 4)
    with pytest.raises(ValueError):
        _craft.pseudo_header_sum(b"\0" * 4, b"\0" * 16, 6, 20)
    with pytest.raises(ValueError):
        _craft.expand(b"abcd", 2, np.array([3], np.int64), np.array([2], np.int64),
                      np.zeros((2, 1), np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                      np.zeros(0, np.uint8), np.zeros((1, 0), np.uint8), bytearray(8))


def _rebuild_with_fresh_checksums(frame: bytes) -> bytes:
    layers = from_bytes(frame)
    for layer in layers.layers():
        if "checksum" in layer._field_names:
            layer.checksum = AUTO
    return bytes(layers)


TEMPLATES = [
    ("udp4", Ethernet() / IPv4(src="198.18.0.1", dst="198.18.0.2") / UDP(dst_port=9)
     / (b"x" * 18)),
    ("tcp6", Ethernet() / IPv6(src="fd00::1", dst="fd00::2") / TCP(options=[("MSS", 1400)])
     / b"hello"),
    ("dns4", Ethernet() / IPv4() / UDP() / DNS.query("example.com", "A")),
    ("icmp4", Ethernet() / IPv4() / ICMP(id=1) / (b"p" * 11)),
    ("icmp6", Ethernet() / IPv6(src="fd00::1", dst="fd00::2") / ICMPv6(id=1) / (b"p" * 9)),
]


@pytest.mark.parametrize("name,pkt", TEMPLATES, ids=[t[0] for t in TEMPLATES])
def test_template_frames_equal_full_rebuild(name: str, pkt) -> None:
    t = Template(pkt)
    v4 = IPv4 in pkt
    t.vary("ip.src", RandomValues(0, 2**32 - 1 if v4 else 2**64 - 1, seed=1))
    t.vary("ip.dst", Range("10.0.0.1", "10.0.0.9") if v4 else Counter(5))
    if UDP in pkt or TCP in pkt:
        t.vary("src_port", Counter(65530))
    if ICMP in pkt or ICMPv6 in pkt:
        t.vary("seq", Counter(0, 3))
    if DNS in pkt:
        t.vary("dns.id", Range(1, 5))
    if v4:
        t.vary("ttl", [1, 2, 255]).vary("ipv4.id", Counter(0, 7))
    else:
        t.vary("hop_limit", Values([0, 64]))
    if TCP in pkt:
        t.vary("tcp.seq", Counter(2**32 - 3, 1000)).vary("tcp.flags", [2, 16, 0x12])
    n = 3000
    buf = t.batch(n)
    fl = t.frame_length
    assert len(buf) == n * fl
    seen_src = set()
    for i in range(n):
        frame = bytes(buf[i * fl:(i + 1) * fl])
        assert _rebuild_with_fresh_checksums(frame) == frame, i
        p = wirecraft.decode(frame)
        assert p.problems == []
        seen_src.add(p.ip.src)
    assert len(seen_src) > n // 2  # the random source really varies
    # frames() and a batch starting mid-way give the same frames
    again = list(t.frames(10, start=100))
    assert again == [bytes(buf[i * fl:(i + 1) * fl]) for i in range(100, 110)]


def test_template_counters_ranges_lists_and_seeds() -> None:
    t = Template(Ethernet() / IPv4(src="10.0.0.1") / UDP(src_port=1) / b"abc")
    t.vary("udp.dst_port", Counter(65534)).vary("ipv4.dst", Range("192.0.2.1", "192.0.2.3"))
    t.vary("udp.src_port", RandomValues(1000, 1010, seed=42)).vary("ttl", [9, 8])
    frames = list(t.frames(7))
    decoded = [wirecraft.decode(f) for f in frames]
    assert [p.udp.dst_port for p in decoded] == [65534, 65535, 0, 1, 2, 3, 4]
    assert [p.ip.dst for p in decoded] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"] * 2 + [
        "192.0.2.1"]
    assert [p.ip.ttl for p in decoded] == [9, 8, 9, 8, 9, 8, 9]
    assert all(1000 <= p.udp.src_port <= 1010 for p in decoded)
    t2 = Template(Ethernet() / IPv4(src="10.0.0.1") / UDP(src_port=1) / b"abc")
    t2.vary("udp.dst_port", Counter(65534)).vary("ipv4.dst", Range("192.0.2.1", "192.0.2.3"))
    t2.vary("udp.src_port", RandomValues(1000, 1010, seed=42)).vary("ttl", [9, 8])
    assert list(t2.frames(7)) == frames  # same seed, same frames
    with pytest.raises(ValueError):
        t.vary("udp.checksum", [1])  # not a variable field


def test_template_keeps_an_explicit_bad_checksum() -> None:
    t = Template(Ethernet() / IPv4() / UDP(checksum=0xBAD) / b"x")
    t.vary("udp.src_port", Counter(1))
    for f in t.frames(5):
        assert f[40:42] == b"\x0b\xad"


def test_template_million_frames_without_objects(tmp_path) -> None:
    t = Template(Ethernet() / IPv4(dst="198.18.0.2") / UDP(dst_port=9) / (b"x" * 18))
    t.vary("ipv4.src", Range("10.0.0.1", "10.0.255.254")).vary(
        "udp.src_port", RandomValues(1024, 65535, seed=3))
    buf = t.batch(1_000_000)
    fl = t.frame_length
    rng = random.Random(1)
    for i in [0, 1, 999_999] + [rng.randrange(1_000_000) for _ in range(200)]:
        frame = bytes(buf[i * fl:(i + 1) * fl])
        assert _rebuild_with_fresh_checksums(frame) == frame
    path = tmp_path / "t.pcap"
    assert t.write(path, 20000) == 20000
    assert os.path.getsize(path) == 24 + 20000 * (16 + fl)
    pkts = list(wirecraft.read(path))
    assert len(pkts) == 20000 and all(not p.problems for p in pkts[:2000])


def test_fields_by_catalogue_name_and_new_catalogue_positions() -> None:
    # the catalogue's dotted names reach the same fields as the crafting names
    t = Template(Ethernet() / IPv4(src="10.0.0.1") / TCP(src_port=1, dst_port=2) / b"x")
    t.vary("tcp.srcport", Counter(1000)).vary("ip.ttl", [7, 8]).vary("eth.src",
                                                                      ["02:00:00:00:00:09"])
    decoded = [wirecraft.decode(f) for f in t.frames(3)]
    assert [p.tcp.src_port for p in decoded] == [1000, 1001, 1002]
    assert [p.ip.ttl for p in decoded] == [7, 8, 7]
    assert {p.eth.src for p in decoded} == {"02:00:00:00:00:09"}
    assert all(p.verify_checksums() == {"ip": True, "tcp": True} for p in decoded)
    # a field the catalogue positions that the old hand table did not: UDP's length
    u = Template(Ethernet() / IPv4() / UDP(src_port=1, dst_port=2) / b"abcd")
    u.vary("udp.length", [12, 13])
    assert [wirecraft.decode(f).udp.length for f in u.frames(2)] == [12, 13]
    with pytest.raises(ValueError):
        t.vary("ip.flags", [2])         # three bits of a 16-bit word: not a whole byte
