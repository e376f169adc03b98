"""The native pcap/pcapng reader: formats, byte orders, resolutions, and damaged files."""

from __future__ import annotations

import gzip
import io
import struct
import warnings

import pytest

import wirecraft
from wirecraft import CaptureFileError
from wirecraft.capture import CaptureTruncatedWarning

from pcapbuild import epb, idb, opb, pcap, raw_ipv4_udp, shb, spb, udp_frame

TS = 1_700_000_000_123_456_789  # ns


def write(tmp_path, name: str, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_byte_orders_and_resolutions(tmp_path, big_endian, nano) -> None:
    frames = [(TS + i * 1_000_001, udp_frame(bytes([i]) * i, sport=1000 + i)) for i in range(5)]
    p = write(tmp_path, "a.pcap", pcap(frames, big_endian=big_endian, nano=nano))
    pkts = list(wirecraft.read(p))
    assert [x.udp.src_port for x in pkts] == [1000 + i for i in range(5)]
    expect = [t if nano else t // 1000 * 1000 for t, _ in frames]
    assert [x.time_ns for x in pkts] == expect
    assert [x.data for x in pkts] == [f for _, f in frames]
    assert all(not x.problems for x in pkts)


def test_pcap_keeps_wire_length_and_flags_snaplen_cut(tmp_path) -> None:
    frame = udp_frame(b"A" * 100)
    p = write(tmp_path, "cut.pcap", pcap([(TS, frame[:60], len(frame))], snaplen=60))
    (pkt,) = wirecraft.read(p)
    assert (pkt.caplen, pkt.wire_len) == (60, len(frame))
    assert pkt.truncated
    assert pkt.stop_reason == "truncated payload"
    assert pkt.udp.dst_port == 53 and len(pkt.payload) == 60 - 42


def test_unknown_linktype_stops_at_link(tmp_path) -> None:
    p = write(tmp_path, "lt.pcap", pcap([(TS, b"\x01\x02\x03\x04")], linktype=147))
    (pkt,) = wirecraft.read(p)
    assert pkt.linktype == 147 and pkt.ip is None
    assert (pkt.stop_layer, pkt.stop_reason) == ("link", "unsupported")
    assert pkt.problems == []


def test_raw_and_null_linktypes(tmp_path) -> None:
    raw = raw_ipv4_udp(b"zz")
    for lt, frame in ((101, raw), (228, raw), (0, struct.pack("<I", 2) + raw),
                      (108, struct.pack(">I", 2) + raw), (0, struct.pack(">I", 2) + raw)):
        (pkt,) = wirecraft.read(write(tmp_path, f"{lt}.pcap", pcap([(TS, frame)], linktype=lt)))
        assert pkt.ip.dst == "10.0.0.2" and pkt.udp.length == 10, lt


@pytest.mark.parametrize("e", ["<", ">"])
def test_pcapng_sections_interfaces_resolutions(tmp_path, e) -> None:
    f1, f2, f3 = udp_frame(b"one"), raw_ipv4_udp(b"two"), udp_frame(b"three")
    data = (
        shb(e, comment="first section")
        + idb(1, 65535, name="eth0", e=e)                      # microseconds (default)
        + idb(101, 0, tsresol=9, tsoffset=10, e=e)             # ns, +10 s offset
        + block_unknown(e)
        + epb(0, TS // 1000, f1, comment="hello", e=e)
        + epb(1, TS, f2, e=e)
        + spb(f3, e=e)
        + shb(e)                                               # new section: interfaces reset
        + idb(1, 0, tsresol=0x80 | 20, e=e)                    # 2^-20 s units
        + opb(0, (5 << 20) + (1 << 19), f1, e=e)
    )
    p = write(tmp_path, "a.pcapng", data)
    with wirecraft.open(p) as cap:
        pkts = list(cap)
        assert cap.format == "pcapng"
        assert cap.comments == ["first section"]
        assert [i["linktype"] for i in cap.interfaces] == [1, 101, 1]
        assert cap.interfaces[0]["name"] == "eth0"
        assert cap.stats["blocks_skipped"] == 1
    assert [x.linktype for x in pkts] == [1, 101, 1, 1]
    assert pkts[0].time_ns == TS // 1000 * 1000 and pkts[0].comment == "hello"
    assert pkts[1].time_ns == TS + 10 * 10**9
    assert pkts[2].time_ns == 0                     # simple packet blocks carry no time
    assert pkts[3].time_ns == 5_500_000_000
    assert [x.payload for x in pkts] == [b"one", b"two", b"three", b"one"]
    assert pkts[3].iface == 2 and pkts[3].interface["ts_resolution"] == 0x80 | 20


def block_unknown(e: str) -> bytes:
    from pcapbuild import block
    return block(0x0BAD, b"custom block body", e)


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_gzip_is_transparent(tmp_path, kind) -> None:
    frame = udp_frame(b"gz")
    data = pcap([(TS, frame)]) if kind == "pcap" else shb() + idb(1) + epb(0, 5, frame)
    p = write(tmp_path, f"a.{kind}.gz", gzip.compress(data))
    (pkt,) = wirecraft.read(p)
    assert pkt.payload == b"gz"


def test_file_objects_are_accepted() -> None:
    data = pcap([(TS, udp_frame(b"mem"))])
    (pkt,) = wirecraft.read(io.BytesIO(data))
    assert pkt.payload == b"mem"


BAD_FILES = {
    "empty": (b"", 0, "shorter than any capture header"),
    "wrong magic": (b"GIF89a" + b"\0" * 40, 0, "not a pcap or pcapng file"),
    "short pcap header": (pcap([])[:20], 0, "pcap file header is truncated"),
    "absurd caplen": (pcap([]) + struct.pack("<IIII", 0, 0, 0xFFFFFFFF, 60), 24, "absurd"),
    "pcapng length not multiple of 4": (shb()[:4] + struct.pack("<I", 30) + shb()[8:], 0,
                                        "not a multiple of 4"),
    "pcapng trailer disagrees": (shb()[:-4] + struct.pack("<I", 999), 0, "disagrees with its trailer"),
    "pcapng absurd block": (shb() + struct.pack("<II", 6, 0xFFFFFFF0), 28, "absurd"),
    "pcapng bad byte-order magic": (shb()[:8] + b"\0\0\0\0" + shb()[12:], 8, "byte-order magic"),
    "pcapng unknown interface": (shb() + idb(1) + epb(3, 0, udp_frame()), 48, "interface 3"),
    "pcapng packet past block": (shb() + idb(1) + struct.pack("<IIIIIII", 6, 40, 0, 0, 0, 500, 500)
                                 + b"\0" * 8 + struct.pack("<I", 40), 48, "runs past its block"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_raise_one_documented_error(tmp_path, name) -> None:
    data, offset, reason = BAD_FILES[name]
    p = write(tmp_path, "bad.pcap", data)
    with pytest.raises(CaptureFileError) as info:
        list(wirecraft.read(p))
    err = info.value
    assert err.path == str(p)
    if offset is not None:
        assert err.offset == offset, err
    if reason:
        assert reason in err.reason
    assert str(p) in str(err) and f"at byte {err.offset}" in str(err)


def test_missing_file_is_a_capture_error(tmp_path) -> None:
    with pytest.raises(CaptureFileError, match="No such file"):
        wirecraft.open(tmp_path / "nope.pcap")


@pytest.mark.parametrize("cut", [3, 10, 16 + 20])
def test_truncated_last_record_delivers_the_rest_and_warns(tmp_path, cut) -> None:
    frames = [(TS + i, udp_frame(bytes([65 + i]) * 30)) for i in range(3)]
    data = pcap(frames)
    p = write(tmp_path, "t.pcap", data[: len(data) - len(frames[-1][1]) - 16 + cut])
    with pytest.warns(CaptureTruncatedWarning, match="cut short") as w:
        with wirecraft.open(p) as cap:
            got = [x.payload for x in cap]
            assert cap.truncated is not None
    assert got == [b"A" * 30, b"B" * 30]
    assert "at byte" in str(w[0].message)


def test_truncated_pcapng_block_warns(tmp_path) -> None:
    data = shb() + idb(1) + epb(0, 1, udp_frame(b"ok")) + epb(0, 2, udp_frame(b"cut"))
    p = write(tmp_path, "t.pcapng", data[:-10])
    with pytest.warns(CaptureTruncatedWarning):
        got = [x.payload for x in wirecraft.read(p)]
    assert got == [b"ok"]


def test_large_records_span_chunks(tmp_path) -> None:
    big = udp_frame(b"x" * 60000)
    frames = [(TS + i, big) for i in range(40)]     # 2.4 MB, more than one 1 MiB chunk
    p = write(tmp_path, "big.pcap", pcap(frames))
    with wirecraft.open(p, batch_size=7) as cap:
        sizes = [len(b) for b in cap.batches()]
    assert sum(sizes) == 40 and max(sizes) <= 7
    assert all(len(x.payload) == 60000 for x in wirecraft.read(p))


def test_modified_pcap_magic(tmp_path) -> None:
    frame = udp_frame(b"kuz")
    data = (struct.pack("<IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)
            + struct.pack("<IIII", 1, 2, len(frame), len(frame)) + b"\0" * 8 + frame)
    (pkt,) = wirecraft.read(write(tmp_path, "k.pcap", data))
    assert pkt.payload == b"kuz"


def test_no_warning_for_clean_files(captures_dir) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(wirecraft.read(captures_dir / "zeek__smtp.pcap"))) == 125


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_records_straddling_every_chunk_boundary(kind) -> None:
    """Small read chunks put headers and frames across every possible boundary."""
    from wirecraft import _core

    frames = [udp_frame(bytes([i]) * (i * 7 % 50), sport=i) for i in range(40)]
    if kind == "pcap":
        data = pcap([(i, f) for i, f in enumerate(frames)])
    else:
        data = shb() + idb(1) + b"".join(epb(0, i, f) for i, f in enumerate(frames))
    for chunk in range(1, 130, 3):
        reader = _core.Reader(io.BytesIO(data), "mem", chunk, None)
        got = []
        while (b := reader.read_batch(5)) is not None:
            got += [p.data for p in b]
        assert got == frames, chunk


def test_buffers_are_reused_only_when_no_batch_holds_them() -> None:
    """Dropped batches let the reader refill its buffer in place; held ones keep their bytes."""
    from wirecraft import _core

    frames = [udp_frame(bytes([i % 251]) * (50 + i % 40), sport=i) for i in range(600)]
    data = pcap([(i, f) for i, f in enumerate(frames)])
    reader = _core.Reader(io.BytesIO(data), "mem", 2000, None)
    kept, seen = [], []
    while (b := reader.read_batch(7)) is not None:
        seen += [p.data for p in b]
        if len(seen) % 3 == 0:
            kept.append((len(seen) - len(b), b))     # hold this batch to the end
    assert seen == frames
    for start, b in kept:
        assert [p.data for p in b] == frames[start:start + len(b)]


def test_record_areas_are_reused_only_when_nothing_holds_them() -> None:
    """Batches and Tables a caller keeps keep their records while later reads reuse free areas."""
    from wirecraft import _core

    frames = [udp_frame(bytes([i % 251]) * (i % 30), sport=1000 + i) for i in range(500)]
    data = pcap([(i, f) for i, f in enumerate(frames)])
    reader = _core.Reader(io.BytesIO(data), "mem", 3000, None)
    kept_batches, kept_packets = [], []
    n = 0
    while (b := reader.read_batch(16)) is not None:
        if n % 3 == 0:
            kept_batches.append((n, b))
        elif n % 3 == 1:
            kept_packets.append((n, b[0]))   # a view keeps its batch, and so its records
        n += len(b)
    assert n == len(frames)
    for start, b in kept_batches:
        assert [p.udp.src_port for p in b] == list(range(1000 + start, 1000 + start + len(b)))
    for start, p in kept_packets:
        assert p.udp.src_port == 1000 + start and p.index == start

    # Tables from batches() hold numpy views of their records
    src = io.BytesIO(data)
    with wirecraft.open(src, batch_size=16) as cap:
        tables = list(cap.batches())
    ports = [int(x) for t in tables for x in t["udp_src_port"]]
    assert ports == list(range(1000, 1500))


@pytest.mark.parametrize("flt", [None, "udp src port 1003 or udp src port 1400"])
def test_table_over_many_growing_chunks(monkeypatch, flt) -> None:
    """table() decodes into arrays that grow and roll over; every record lands once, in order."""
    import wirecraft.capture as capture

    monkeypatch.setattr(capture, "TABLE_FIRST_CHUNK", 8)
    monkeypatch.setattr(capture, "TABLE_MAX_CHUNK", 32)
    frames = [udp_frame(bytes([i % 251]) * (i % 30), sport=1000 + i) for i in range(700)]
    data = pcap([(i, f) for i, f in enumerate(frames)])
    with wirecraft.open(io.BytesIO(data), filter=flt, batch_size=5) as cap:
        table = cap.table()
    with wirecraft.open(io.BytesIO(data), filter=flt) as cap:
        expect = [(p.index, p.udp.src_port, p.caplen) for p in cap]
    assert len(table) == len(expect)
    got = list(zip(table["index"].tolist(), table["udp_src_port"].tolist(),
                   table["caplen"].tolist(), strict=True))
    assert got == expect
