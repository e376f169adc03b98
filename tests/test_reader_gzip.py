"""Damaged gzip captures (issue 11, item 4): every complete packet the stream yields is
delivered, then the damage is reported with its offset in the uncompressed stream."""

from __future__ import annotations

import functools
import gzip
import io
import struct
import warnings
import zlib

import pytest

import wirecraft
from wirecraft.capture import CaptureDamagedWarning, CaptureTruncatedWarning, CaptureWarning
from wirecraft.errors import CaptureFileError

from pcapbuild import epb, idb, pcap, shb, udp_frame

N = 3000


def frame(i: int) -> bytes:
    # varied sizes and bytes so that deflate uses literals, matches and several blocks
    return udp_frame(struct.pack("!I", i) * (1 + i % 13), sport=1 + i)


@functools.lru_cache(maxsize=4)
def raw(kind: str) -> bytes:
    if kind == "pcap":
        return pcap([(i * 1000, frame(i)) for i in range(N)])
    return shb() + idb(1) + b"".join(epb(0, i, frame(i)) for i in range(N))


@functools.lru_cache(maxsize=4)
def ends(kind: str) -> list[int]:
    """Offset just past each packet record in the uncompressed stream."""
    data, out = raw(kind), []
    if kind == "pcap":
        pos = 24
        while pos < len(data):
            pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
            out.append(pos)
    else:
        pos = 0
        while pos < len(data):
            btype, blen = struct.unpack_from("<II", data, pos)
            pos += blen
            if btype == 6:
                out.append(pos)
    return out


def read_all(p) -> tuple[list[bytes], list[warnings.WarningMessage], Exception | None]:
    got: list[bytes] = []
    err = None
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            for pkt in wirecraft.read(p):
                got.append(pkt.data)
        except CaptureFileError as exc:
            err = exc
    return got, [x for x in w if issubclass(x.category, CaptureWarning)], err


def decompressible_prefix(gz: bytes) -> bytes:
    """What an ideal reader gets out of a (possibly cut or corrupt) single-member gzip file:
    the output of the longest deflate prefix zlib accepts (found by bisection: once a prefix
    is rejected, every longer one is too)."""
    body = gz[10:]                          # our test members have a 10-byte header

    def output(n: int) -> bytes | None:
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            return d.decompress(body[:n])
        except zlib.error:
            return None
    lo, hi = 0, len(body)
    if output(hi) is not None:
        return output(hi) or b""
    while hi - lo > 1:                      # output(lo) accepted, output(hi) rejected
        mid = (lo + hi) // 2
        if output(mid) is None:
            hi = mid
        else:
            lo = mid
    return output(lo) or b""


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_truncated_gzip_delivers_every_complete_packet(tmp_path, kind) -> None:
    data = raw(kind)
    gz = gzip.compress(data, compresslevel=6)
    frames = [frame(i) for i in range(N)]
    for cut in sorted({11, 20, 100, len(gz) // 3, len(gz) // 2, len(gz) - 9, len(gz) - 4,
                       len(gz) - 1, *range(1000, len(gz), len(gz) // 25)}):
        p = tmp_path / f"cut.{kind}.gz"
        p.write_bytes(gz[:cut])
        out = decompressible_prefix(gz[:cut])
        assert data.startswith(out)
        expect = sum(1 for e in ends(kind) if e <= len(out))
        got, w, err = read_all(p)
        if expect == 0 and len(out) < (24 if kind == "pcap" else 28):
            assert err is not None and got == []    # not even a header: one clear error
            continue
        assert err is None, (cut, err)
        assert got == frames[:expect], (cut, len(got), expect)
        trunc = [x for x in w if issubclass(x.category, CaptureTruncatedWarning)]
        assert trunc, cut
        assert f"at byte {len(out)}" in str(trunc[0].message) or \
            f"at byte {ends(kind)[expect - 1] if expect else 0}" in str(trunc[0].message)


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_corrupt_deflate_data_delivers_the_good_prefix(tmp_path, kind) -> None:
    data = raw(kind)
    gz = gzip.compress(data, compresslevel=6)
    frames = [frame(i) for i in range(N)]
    for pos in range(200, len(gz) - 8, len(gz) // 30):
        bad = bytearray(gz)
        bad[pos] ^= 0xFF
        bad[pos + 1] ^= 0x5A
        p = tmp_path / f"bad.{kind}.gz"
        p.write_bytes(bytes(bad))
        out = decompressible_prefix(bytes(bad))
        first_wrong = next((i for i, (a, b) in enumerate(zip(out, data, strict=False)) if a != b),
                           len(out))
        intact = sum(1 for e in ends(kind) if e <= first_wrong)
        got, w, err = read_all(p)      # never zlib.error, EOFError or a traceback
        assert got[:intact] == frames[:intact], pos
        # whatever follows the damage, the damage is reported
        assert err is not None or w, pos


def test_corrupt_deflate_error_names_the_uncompressed_offset(tmp_path) -> None:
    data = raw("pcap")
    gz = bytearray(gzip.compress(data))
    # a stored-looking block header with an invalid type (3) right after the member header
    comp = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = comp.compress(data[:50000]) + comp.flush(zlib.Z_SYNC_FLUSH)
    gz = gzip.compress(b"")[:10] + body + b"\x07\xff\xff\xff" + b"\0" * 100
    p = tmp_path / "x.pcap.gz"
    p.write_bytes(gz)
    got, w, err = read_all(p)
    expect = sum(1 for e in ends("pcap") if e <= 50000)
    assert len(got) == expect and err is None
    damage = [x.message for x in w if isinstance(x.message, CaptureDamagedWarning)]
    assert damage and damage[0].error.offset == 50000
    assert "gzip data is corrupt" in damage[0].error.reason
    with pytest.raises(CaptureFileError, match="at byte 50000: gzip data is corrupt"):
        list(wirecraft.read(p, errors="raise"))


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
@pytest.mark.parametrize("where,reason", [(-8, "CRC-32"), (-4, "length check")])
def test_bad_trailer_delivers_everything_then_reports(tmp_path, kind, where, reason) -> None:
    data = raw(kind)
    gz = bytearray(gzip.compress(data))
    gz[where] ^= 0x01
    p = tmp_path / f"t.{kind}.gz"
    p.write_bytes(bytes(gz))
    got, w, err = read_all(p)
    assert got == [frame(i) for i in range(N)] and err is None
    damage = [x.message for x in w if isinstance(x.message, CaptureDamagedWarning)]
    assert len(damage) == 1 and reason in damage[0].error.reason
    assert damage[0].error.offset == len(data)


@pytest.mark.parametrize("kind", ["pcap", "pcapng"])
def test_concatenated_members_are_one_stream(tmp_path, kind) -> None:
    data = raw(kind)
    cuts = [0, 7, 5000, 5001, len(data) // 2, len(data) - 3, len(data)]
    gz = b"".join(gzip.compress(data[a:b], mtime=0) for a, b in zip(cuts, cuts[1:], strict=False))
    p = tmp_path / f"m.{kind}.gz"
    p.write_bytes(gz)
    got, w, err = read_all(p)
    assert got == [frame(i) for i in range(N)] and err is None and not w


def test_member_header_fields_are_skipped(tmp_path) -> None:
    data = raw("pcap")
    body = gzip.compress(data)[10:]
    extra = b"AB\x03\0xyz"
    header = (b"\x1f\x8b\x08" + bytes([4 | 8 | 16 | 2]) + b"\0\0\0\0\0\xff"
              + struct.pack("<H", len(extra)) + extra + b"name.pcap\0" + b"a comment\0"
              + b"\0\0")
    p = tmp_path / "h.pcap.gz"
    p.write_bytes(header + body)
    got, w, err = read_all(p)
    assert len(got) == N and err is None and not w


@pytest.mark.parametrize("tail,warns", [(b"\0" * 5000, False), (b"garbage!", True),
                                        (b"\x1f", True), (b"PK\x03\x04" + b"\0" * 100, True)])
def test_trailing_data(tmp_path, tail, warns) -> None:
    data = raw("pcap")
    p = tmp_path / "g.pcap.gz"
    p.write_bytes(gzip.compress(data) + tail)
    got, w, err = read_all(p)
    assert len(got) == N and err is None
    assert bool(w) == warns
    if warns:
        assert "not gzip" in str(w[0].message)


def test_bad_second_member_header(tmp_path) -> None:
    data = raw("pcap")
    second = bytearray(gzip.compress(data[5000:]))
    second[2] = 7                               # compression method 7
    p = tmp_path / "b.pcap.gz"
    p.write_bytes(gzip.compress(data[:5000]) + bytes(second))
    got, w, err = read_all(p)
    assert len(got) == sum(1 for e in ends("pcap") if e <= 5000) and err is None
    damage = [x.message for x in w if isinstance(x.message, CaptureDamagedWarning)]
    assert damage and damage[0].error.offset == 5000 and "method 7" in damage[0].error.reason


def test_file_objects_and_table(tmp_path) -> None:
    data = raw("pcapng")
    gz = gzip.compress(data)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        src = io.BytesIO(gz[: len(gz) // 2])
        with wirecraft.open(src) as cap:
            table = cap.table()
        assert not src.closed               # a caller's file object stays open
    expect = sum(1 for e in ends("pcapng") if e <= len(decompressible_prefix(gz[: len(gz) // 2])))
    assert len(table) == expect > 0
    assert any(issubclass(x.category, CaptureTruncatedWarning) for x in w)


def test_read_cli_on_truncated_gzip(tmp_path) -> None:
    """No bare EOFError / 'Aborted!': the packets, then one warning line with the offset."""
    from click.testing import CliRunner

    from wirecraft.cli import main

    gz = gzip.compress(raw("pcap"))
    p = tmp_path / "c.pcap.gz"
    p.write_bytes(gz[: len(gz) * 3 // 4])
    res = CliRunner().invoke(main, ["read", str(p)])
    assert "Aborted" not in res.output and res.exit_code == 0, res.output
    n = len(res.stdout.splitlines())
    assert n == sum(1 for e in ends("pcap")
                    if e <= len(decompressible_prefix(gz[: len(gz) * 3 // 4])))
    assert "gzip stream is cut short" in res.stderr and "at byte" in res.stderr


@pytest.mark.parametrize("cut", [1, 2, 5, 10, 11, 15])
def test_gzip_cut_before_the_capture_header_is_one_clear_error(tmp_path, cut) -> None:
    gz = gzip.compress(raw("pcap"))
    p = tmp_path / "h.pcap.gz"
    p.write_bytes(gz[:cut])
    with pytest.raises(CaptureFileError) as info:
        list(wirecraft.read(p))
    assert info.value.path == str(p)
    assert "gzip" in info.value.reason or "shorter than any capture header" in info.value.reason
