"""Damage after good records never costs the records before it (issue 11, item 3).

Every class of file-level damage the reader can find, in pcap and pcapng, in both byte
orders, after 1 packet, at the end of the first batch, exactly at a batch boundary and
deep in the file (several read chunks): iteration, batches() and table() deliver every
packet before the damage, then the error is reported with the offset of the bad block
(a CaptureDamagedWarning by default, the CaptureFileError with errors="raise").
"""

from __future__ import annotations

import functools
import struct
import warnings

import pytest

import wirecraft
from wirecraft.capture import CaptureDamagedWarning, CaptureTruncatedWarning
from wirecraft.errors import CaptureFileError

from pcapbuild import block, epb, idb, opb, pcap, shb, udp_frame

TS = 1_700_000_000_000_000_000
POSITIONS = [1, 4095, 4096, 20000]       # default batch size is 4096; 20000 spans chunks
ENDIAN = {"le": "<", "be": ">"}


def frame(i: int) -> bytes:
    return udp_frame(struct.pack("!I", i), sport=1 + i % 60000)


@functools.lru_cache(maxsize=16)
def good(kind: str, e: str, n: int) -> bytes:
    if kind == "pcap":
        return pcap([(TS + i * 1000, frame(i)) for i in range(n)], big_endian=e == ">")
    return shb(e) + idb(1, e=e) + b"".join(epb(0, TS // 1000 + i, frame(i), e=e)
                                           for i in range(n))


def _epb_body(e: str, caplen: int, data: bytes) -> bytes:
    return struct.pack(e + "IIIII", 0, 0, 0, caplen, caplen) + data


# name -> (kind, builder(e) -> bad bytes, offset of the error inside them, reason)
DAMAGE = {
    "caplen 0xFFFFFFFF": ("pcap", lambda e: struct.pack(e + "IIII", 0, 0, 0xFFFFFFFF, 60)
                          + b"\0" * 60, 0, "absurd"),
    "caplen just over the limit": ("pcap", lambda e: struct.pack(e + "IIII", 0, 0, (1 << 24) + 1,
                                                                 60) + b"\0" * 60, 0, "absurd"),
    "unknown interface (EPB)": ("pcapng", lambda e: epb(7, 0, frame(0), e=e), 0, "interface 7"),
    "unknown interface (OPB)": ("pcapng", lambda e: opb(3, 0, frame(0), e=e), 0, "interface 3"),
    "packet option overrun": ("pcapng", lambda e: block(6, _epb_body(e, 4, b"abcd")
                                                        + struct.pack(e + "HH", 1, 200) + b"xy",
                                                        e), 0, "runs past its block"),
    "interface option overrun": ("pcapng", lambda e: block(1, struct.pack(e + "HHI", 1, 0, 0)
                                                           + struct.pack(e + "HH", 2, 99) + b"ab",
                                                           e), 0, "runs past its block"),
    "section option overrun": ("pcapng", lambda e: block(0x0A0D0D0A, struct.pack(
        e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + struct.pack(e + "HH", 1, 50) + b"abcd", e), 0,
        "runs past its block"),
    "trailer mismatch": ("pcapng", lambda e: epb(0, 0, frame(0), e=e)[:-4]
                         + struct.pack(e + "I", 999), 0, "disagrees with its trailer"),
    "length not a multiple of 4": ("pcapng", lambda e: struct.pack(e + "II", 6, 30) + b"\0" * 24,
                                   0, "not a multiple of 4"),
    "length below 12": ("pcapng", lambda e: struct.pack(e + "II", 6, 8) + b"\0" * 8, 0,
                        "not a multiple of 4"),
    "absurd block length": ("pcapng", lambda e: struct.pack(e + "II", 6, 0xFFFFFFF0) + b"\0" * 8,
                            0, "absurd"),
    "packet past its block": ("pcapng", lambda e: block(6, _epb_body(e, 500, b"\0" * 8), e), 0,
                              "runs past its block"),
    "packet block too short": ("pcapng", lambda e: block(6, b"\0" * 8, e), 0, "too short"),
    "simple packet block too short": ("pcapng", lambda e: block(3, b"", e), 0, "too short"),
    "interface block too short": ("pcapng", lambda e: block(1, b"\0" * 4, e), 0, "too short"),
    "section block too short": ("pcapng", lambda e: block(0x0A0D0D0A, struct.pack(
        e + "I", 0x1A2B3C4D), e), 0, "too short"),
    "second section: bad byte-order magic": ("pcapng", lambda e: shb(e)[:8] + b"\0\0\0\0"
                                             + shb(e)[12:], 8, "byte-order magic"),
    "second section: unsupported version": ("pcapng", lambda e: block(0x0A0D0D0A, struct.pack(
        e + "IHHq", 0x1A2B3C4D, 2, 0, -1), e), 12, "unsupported pcapng version 2"),
}


def damaged(tmp_path, name: str, e: str, n: int):
    kind, build, delta, reason = DAMAGE[name]
    head = good(kind, e, n)
    p = tmp_path / f"d.{kind}"
    p.write_bytes(head + build(e) + good(kind, e, 3)[24 if kind == "pcap" else 0:])
    return p, len(head) + delta, reason


def check_error(err: CaptureFileError, p, offset: int, reason: str) -> None:
    assert isinstance(err, CaptureFileError)
    assert err.path == str(p) and err.offset == offset and reason in err.reason, err
    assert f"at byte {offset}" in str(err)


@pytest.mark.parametrize("n", POSITIONS)
@pytest.mark.parametrize("e", list(ENDIAN))
@pytest.mark.parametrize("name", list(DAMAGE))
def test_packets_before_damage_are_delivered_then_reported(tmp_path, name, e, n) -> None:
    p, offset, reason = damaged(tmp_path, name, ENDIAN[e], n)

    # iteration (the default errors="warn"): every packet, in order, then the warning
    with pytest.warns(CaptureDamagedWarning) as w:
        got = [pkt.payload for pkt in wirecraft.read(p)]
    assert got == [struct.pack("!I", i) for i in range(n)]
    damage = [x.message for x in w if isinstance(x.message, CaptureDamagedWarning)]
    assert len(damage) == 1
    check_error(damage[0].error, p, offset, reason)
    assert f"after {n} packets" in str(damage[0])

    # errors="raise": the same packets, then the error itself
    seen = 0
    with pytest.raises(CaptureFileError) as info:
        for pkt in wirecraft.read(p, errors="raise"):
            assert pkt.index == seen
            seen += 1
    assert seen == n
    check_error(info.value, p, offset, reason)
    assert info.value.packets_read == n

    # batches
    with pytest.warns(CaptureDamagedWarning), wirecraft.open(p) as cap:
        assert sum(len(t) for t in cap.batches()) == n
        check_error(cap.error, p, offset, reason)
        assert cap.stats["error"] is cap.error

    # table(): the good rows with the error attached, or raised with the rows
    with pytest.warns(CaptureDamagedWarning), wirecraft.open(p) as cap:
        table = cap.table()
    assert table["index"].tolist() == list(range(n))
    check_error(table.error, p, offset, reason)
    with wirecraft.open(p, errors="raise") as cap, pytest.raises(CaptureFileError) as info:
        cap.table()
    assert len(info.value.table) == n
    check_error(info.value, p, offset, reason)


@pytest.mark.parametrize("batch_size", [1, 7, 4096])
def test_damage_with_a_filter_and_any_batch_size(tmp_path, batch_size) -> None:
    """Only matching packets count as delivered; those before the damage all arrive."""
    p, offset, reason = damaged(tmp_path, "trailer mismatch", "<", 5000)
    with pytest.warns(CaptureDamagedWarning), \
            wirecraft.open(p, filter="udp src port 7 or udp src port 4999",
                           batch_size=batch_size) as cap:
        got = [pkt.payload for pkt in cap]
    assert got == [struct.pack("!I", 6), struct.pack("!I", 4998)]


def test_damage_before_any_packet_still_raises(tmp_path) -> None:
    """A file whose first record is bad is not a readable capture: one error, as before."""
    p = tmp_path / "x.pcapng"
    p.write_bytes(shb() + idb(1) + epb(4, 0, frame(0)))
    with pytest.raises(CaptureFileError, match="interface 4"):
        list(wirecraft.read(p))
    with pytest.raises(CaptureFileError, match="interface 4"), wirecraft.open(p) as cap:
        cap.table()


def test_the_error_repeats_and_iteration_stays_ended(tmp_path) -> None:
    p, offset, _ = damaged(tmp_path, "caplen 0xFFFFFFFF", "<", 10)
    from wirecraft import _core

    with open(p, "rb") as f:
        r = _core.Reader(f, str(p), 1 << 20, None)
        assert len(r.read_batch(4096)) == 10
        for _ in range(2):
            with pytest.raises(CaptureFileError) as info:
                r.read_batch(4096)
            assert info.value.offset == offset
        r.soft = True
        assert r.read_batch(4096) is None


def test_damage_warning_is_a_truncation_warning(tmp_path) -> None:
    """Code (and the read CLI) that reports CaptureTruncatedWarning reports damage too."""
    assert issubclass(CaptureDamagedWarning, CaptureTruncatedWarning)
    p, _, _ = damaged(tmp_path, "trailer mismatch", ">", 3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert len(list(wirecraft.read(p))) == 3
    assert any(issubclass(x.category, CaptureTruncatedWarning) for x in w)


def test_read_cli_prints_every_packet_then_the_damage(tmp_path) -> None:
    from click.testing import CliRunner

    from wirecraft.cli import main

    p, offset, _ = damaged(tmp_path, "unknown interface (EPB)", "<", 4100)
    res = CliRunner().invoke(main, ["read", str(p)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert len(res.stdout.splitlines()) == 4100
    assert f"at byte {offset}" in res.stderr and "Traceback" not in res.stderr


def _append_damage(src, tmp_path):
    data = src.read_bytes()
    p = tmp_path / ("damaged-" + src.name)
    p.write_bytes(data + struct.pack("<IIII" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">IIII",
                                     0, 0, 0xFFFFFFFF, 0))
    return p


@pytest.mark.parametrize("sub,capture", [("dns", "tcpdump__dnssec.pcap"),
                                         ("smtp", "zeek__smtp.pcap")])
def test_protocol_subcommands_keep_what_was_read(tmp_path, captures_dir, sub, capture) -> None:
    """dns/smtp build their logs from read(): damage at the end must not cost the log, and
    the damage is still reported on stderr, with its offset."""
    import os
    import subprocess
    import sys

    src = captures_dir / capture
    if src.read_bytes()[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"):
        pytest.skip(f"{capture} is not a microsecond pcap here")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def run(path):
        return subprocess.run([sys.executable, "-m", "wirecraft", sub, str(path)], env=env,
                              capture_output=True, text=True, timeout=120)
    clean = run(src)
    bad_path = _append_damage(src, tmp_path)
    bad = run(bad_path)
    assert clean.returncode == 0 and clean.stdout
    assert bad.stdout == clean.stdout
    assert f"at byte {src.stat().st_size}" in bad.stderr and "absurd" in bad.stderr
    assert "Traceback" not in bad.stderr
