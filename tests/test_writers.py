"""pcap / pcapng writers: tshark, capinfos, tcpdump and wirecraft read what they write;
rotation follows tcpdump's -C/-W/-G; a writer killed by a signal keeps every packet."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import dpkt
import pytest

import wirecraft
from wirecraft.craft import DNS, TCP, UDP, Ethernet, IPv4, IPv6
from wirecraft.writers import PcapngWriter, PcapWriter, RotatingWriter, WriteError

from conftest import WIRECRAFT_PATH, require_tool

T0 = 1_700_000_000_123_456_789


def _frames(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        if i % 3 == 0:
            pkt = Ethernet() / IPv4(src="10.0.0.1", dst="10.0.0.2", id=i) / UDP(
                src_port=1000 + i, dst_port=53) / DNS.query(f"h{i}.example.com", "A", id=i)
        elif i % 3 == 1:
            pkt = Ethernet() / IPv6(src="fd00::1", dst="fd00::2") / TCP(seq=i) / (b"x" * i)
        else:
            pkt = Ethernet() / IPv4(src="10.0.0.3", dst="10.0.0.4", id=i) / UDP() / bytes(i % 256)
        out.append(bytes(pkt))
    return out


def _tshark_clean(path: Path) -> str:
    tshark = require_tool("tshark")
    out = subprocess.run([tshark, "-n", "-r", str(path)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0
    # tshark always warns when run as root; anything else is a complaint about the file
    stderr = [line for line in out.stderr.splitlines() if "Running as user" not in line]
    assert stderr == [], stderr
    return out.stdout


def _capinfos(path: Path) -> dict[str, str]:
    capinfos = require_tool("capinfos")
    out = subprocess.run([capinfos, "-T", "-r", "-t", "-E", "-c", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    fields = out.stdout.strip().split("\t")
    return {"file": fields[0], "type": fields[1], "encap": fields[2], "packets": fields[3]}


@pytest.mark.parametrize("nanosecond", [False, True])
def test_pcap_read_by_tshark_capinfos_tcpdump_and_wirecraft(tmp_path: Path,
                                                             nanosecond: bool) -> None:
    frames = _frames(50)
    path = tmp_path / "out.pcap"
    with PcapWriter(path, nanosecond=nanosecond, snaplen=100) as w:
        for i, f in enumerate(frames):
            w.write(f, T0 + i * 1_000_001)
        assert w.packets_written == 50
    text = _tshark_clean(path)
    assert len(text.strip().splitlines()) == 50
    info = _capinfos(path)
    assert info["packets"] == "50"
    assert info["type"] == ("nsecpcap" if nanosecond else "pcap")
    td = subprocess.run([require_tool("tcpdump"), "-nr", str(path)], capture_output=True,
                        text=True, timeout=60)
    assert td.returncode == 0 and len(td.stdout.strip().splitlines()) == 50
    got = list(wirecraft.read(path))
    assert len(got) == 50
    for i, (p, f) in enumerate(zip(got, frames, strict=True)):
        assert p.data == f[:100] and p.wire_len == len(f) and p.caplen == min(100, len(f))
        want = T0 + i * 1_000_001
        assert p.time_ns == (want if nanosecond else want // 1000 * 1000)
    with open(path, "rb") as fh:  # an independent reader agrees
        assert [bytes(b) for _, b in dpkt.pcap.Reader(fh)] == [f[:100] for f in frames]


def test_pcapng_interfaces_comments_read_by_tshark_and_wirecraft(tmp_path: Path) -> None:
    path = tmp_path / "out.pcapng"
    eth = _frames(6)
    with PcapngWriter(path, [(1, 262144, "eth0"), (101, 65535, "tun0")],
                      comment="made by the test suite") as w:
        for i, f in enumerate(eth):
            w.write(f, T0 + i, iface=0, comment=f"packet {i}" if i % 2 == 0 else None)
            w.write(f[14:], T0 + i, iface=1)
        with pytest.raises(ValueError):
            w.write(b"x", 0, iface=2)
    text = _tshark_clean(path)
    assert len(text.strip().splitlines()) == 12
    info = _capinfos(path)
    assert info["packets"] == "12" and "pcapng" in info["type"]
    cap = subprocess.run([require_tool("capinfos"), str(path)], capture_output=True, text=True)
    assert "made by the test suite" in cap.stdout
    rows = subprocess.run([require_tool("tshark"), "-n", "-r", str(path), "-T", "fields", "-e",
                           "frame.interface_name", "-e", "frame.comment", "-e",
                           "frame.time_epoch"], capture_output=True, text=True).stdout
    lines = [r.split("\t") for r in rows.strip().splitlines()]
    assert [r[0] for r in lines] == ["eth0", "tun0"] * 6
    assert [r[1] for r in lines[::2]] == ["packet 0", "", "packet 2", "", "packet 4", ""]
    assert lines[0][2] == "1700000000.123456789"  # nanosecond resolution kept
    got = list(wirecraft.read(path))
    assert [p.data for p in got] == [x for f in eth for x in (f, f[14:])]
    assert [p.linktype for p in got[:2]] == [1, 101]
    assert got[0].time_ns == T0


def test_rotation_by_size_and_ring(tmp_path: Path) -> None:
    frames = _frames(60)
    size = 1000
    w = RotatingWriter(tmp_path / "size.pcap", max_bytes=size)
    for i, f in enumerate(frames):
        assert w.write(f, T0 + i * 1000)
    w.close()
    names = [Path(n).name for n in w.files]
    assert names[0] == "size.pcap" and names[1:3] == ["size.pcap1", "size.pcap2"]
    back = [p.data for n in w.files for p in wirecraft.read(n)]
    assert back == frames  # every packet, in order, across the files
    for n in w.files:
        assert Path(n).stat().st_size <= size
        _tshark_clean(Path(n))

    ring = RotatingWriter(tmp_path / "ring", max_bytes=size, max_files=3)
    for i, f in enumerate(frames):
        ring.write(f, T0 + i * 1000)
    ring.close()
    assert sorted(Path(n).name for n in ring.files) == ["ring0", "ring1", "ring2"]
    # the ring keeps the newest packets: the last file written ends with the last frame
    newest = list(wirecraft.read(tmp_path / f"ring{(len(w.files) - 1) % 3}"))
    assert newest[-1].data == frames[-1]


def test_rotation_by_time_and_file_limit(tmp_path: Path) -> None:
    frames = _frames(10)
    pattern = str(tmp_path / "t-%H%M%S.pcapng")
    w = RotatingWriter(pattern, seconds=60, format="pcapng")
    for i, f in enumerate(frames):
        w.write(f, T0 + i * 30 * 10**9)  # one packet every 30 s: two per file
    w.close()
    assert len(w.files) == 5
    assert [len(list(wirecraft.read(n))) for n in w.files] == [2] * 5
    stamps = [time.strftime("t-%H%M%S.pcapng", time.localtime((T0 + i * 60 * 10**9) / 1e9))
              for i in range(5)]
    assert [Path(n).name for n in w.files] == stamps
    limited = RotatingWriter(tmp_path / "lim-%s.pcap", seconds=60, max_files=2)
    accepted = [limited.write(f, T0 + i * 30 * 10**9) for i, f in enumerate(frames)]
    assert accepted == [True] * 4 + [False] * 6 and limited.done
    limited.close()


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {src!r})
    from wirecraft.writers import {cls}
    from wirecraft.craft import Ethernet, IPv4, UDP
    w = {cls}({path!r}{extra}, flush="buffer", buffer_size=1 << 20)
    i = 0
    while i < 200000:
        frame = bytes(Ethernet() / IPv4(id=i & 0xFFFF) / UDP(src_port=i & 0xFFFF) / i.to_bytes(4, "big"))
        w.write(frame, 1_700_000_000_000_000_000 + i)
        i += 1
        print(i, flush=True)
""")


@pytest.mark.parametrize("sig,cls", [(signal.SIGINT, "PcapWriter"),
                                     (signal.SIGTERM, "PcapWriter"),
                                     (signal.SIGTERM, "PcapngWriter")])
def test_writer_killed_by_signal_keeps_every_accepted_packet(tmp_path: Path, sig: int,
                                                             cls: str) -> None:
    path = tmp_path / ("killed.pcapng" if cls == "PcapngWriter" else "killed.pcap")
    extra = ", nanosecond=True" if cls == "PcapWriter" else ", [(1, 262144, 'eth0')]"
    code = CHILD.format(src=WIRECRAFT_PATH, cls=cls, path=str(path), extra=extra)
    errfile = tmp_path / "stderr.txt"
    with open(errfile, "w") as errs:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                stderr=errs, text=True)
    accepted = 0
    assert proc.stdout is not None
    while accepted < 500:
        line = proc.stdout.readline()
        assert line, "the writer child died early: " + errfile.read_text()
        accepted = int(line)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    lines = proc.stdout.read().split()  # what the child reported after the last line read
    proc.stdout.close()
    err = errfile.read_text()
    if lines:
        accepted = int(lines[-1])  # printed after the write returned, before the signal landed
    assert proc.returncode != 0
    assert "Traceback" not in err or sig == signal.SIGINT
    pkts = list(wirecraft.read(path))
    # every accepted packet is there, whole; at most the one in flight beyond it
    assert accepted <= len(pkts) <= accepted + 1
    for i, p in enumerate(pkts):
        assert p.data[-4:] == i.to_bytes(4, "big") and p.time_ns == 1_700_000_000_000_000_000 + i
    _tshark_clean(path)


def test_writers_accept_file_objects_and_flush_policies(tmp_path: Path) -> None:
    import io

    frames = _frames(5)
    buf = io.BytesIO()
    w = PcapWriter(buf, linktype=1, flush="packet")
    for i, f in enumerate(frames):
        w.write(f, T0 + i)
        assert len(buf.getvalue()) == 24 + sum(16 + len(x) for x in frames[: i + 1])
    w.close()
    assert not buf.closed  # a file object passed in is flushed, not closed
    path = tmp_path / "from-bytesio.pcap"
    path.write_bytes(buf.getvalue())
    assert [p.data for p in wirecraft.read(path)] == frames
    held = PcapWriter(tmp_path / "held.pcap", flush="buffer")
    held.write(frames[0], T0)
    assert (tmp_path / "held.pcap").stat().st_size == 24  # still in our buffer
    held.flush()
    assert (tmp_path / "held.pcap").stat().st_size == 24 + 16 + len(frames[0])
    held.close()
    with pytest.raises(ValueError):
        held.write(frames[0], T0)
    with pytest.raises(ValueError):
        PcapWriter(io.BytesIO(), flush="sometimes")


# --------------------------------------------------------------------------- full disk
# A writer that meets ENOSPC / EFBIG / EIO must leave a file cut back to its last
# whole record, raise one WriteError, and never write its buffer a second time when
# space comes back (close() used to rewrite the whole buffer after a partial write).


@contextlib.contextmanager
def small_tmpfs(size: str = "64k") -> Iterator[Path]:
    """A tmpfs of `size` mounted for the test, unmounted (and removed) afterwards."""
    mnt = Path(tempfile.mkdtemp(prefix="wc-enospc-"))
    try:
        if os.geteuid() != 0:
            if os.environ.get("CI"):
                pytest.fail("the disk-full tests mount a tmpfs: CI runs as root")
            pytest.skip("mounting a tmpfs needs root")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            if os.environ.get("CI"):
                pytest.fail(f"cannot mount a tmpfs: {done.stderr.strip()}")
            pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
        try:
            yield mnt
        finally:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)
    finally:
        shutil.rmtree(mnt, ignore_errors=True)


def _numbered_frames(n: int, seed: int) -> list[bytes]:
    """Frames of varied lengths whose last 4 bytes number them (partial writes land mid-record)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pad = bytes(rng.randrange(0, 1400))
        pkt = Ethernet() / IPv4(src="10.0.0.1", dst="10.0.0.2", id=i & 0xFFFF) / UDP() / pad
        out.append(bytes(pkt) + i.to_bytes(4, "big"))
    return out


def _fill(path: Path) -> None:
    """Write to `path` until the file system is full."""
    with open(path, "wb", buffering=0) as fh:
        chunk = bytes(4096)
        try:
            while True:
                fh.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def _check_cut_file(path: Path, frames: list[bytes], kept: int, ng: bool,
                    ts_step: int = 1000) -> None:
    """The file holds exactly frames[:kept], ends on a record, and tshark reads it cleanly."""
    raw = path.read_bytes()
    if ng:
        want = len(raw)  # walk the blocks: each one whole, the last one ending the file
        pos = 0
        while pos < len(raw):
            (total,) = struct.unpack_from("<I", raw, pos + 4)
            assert total >= 12 and pos + total <= len(raw)
            assert struct.unpack_from("<I", raw, pos + total - 4)[0] == total
            pos += total
        assert pos == want
    else:
        assert len(raw) == 24 + sum(16 + len(f) for f in frames[:kept])
    got = list(wirecraft.read(path))
    assert [p.data for p in got] == frames[:kept]
    assert [p.time_ns // 1000 for p in got] == [(T0 + i * ts_step) // 1000 for i in range(kept)]
    text = _tshark_clean(path)
    assert len(text.strip().splitlines()) == kept


@pytest.mark.parametrize("kind", ["pcap", "pcap-ns", "pcapng"])
@pytest.mark.parametrize("flush", ["packet", "buffer", 1.0])
@pytest.mark.parametrize("free", ["delete", "remount"])
def test_disk_full_leaves_whole_records_and_close_writes_nothing_twice(
        kind: str, flush: str | float, free: str) -> None:
    frames = _numbered_frames(400, seed=len(kind) * 7 + len(str(flush)) + len(free))
    with small_tmpfs("64k") as mnt:
        filler = mnt / "filler"
        filler.write_bytes(bytes(12 * 1024))
        path = mnt / ("out.pcapng" if kind == "pcapng" else "out.pcap")
        if kind == "pcapng":
            w: PcapWriter | PcapngWriter = PcapngWriter(path, flush=flush, buffer_size=8192)
        else:
            w = PcapWriter(path, nanosecond=kind == "pcap-ns", flush=flush, buffer_size=8192)
        accepted = 0
        with pytest.raises(WriteError) as info:
            for i, f in enumerate(frames):
                w.write(f, T0 + i * 1000)
                accepted += 1
            w.flush()
        err = info.value
        assert isinstance(err, wirecraft.errors.WirecraftError) and isinstance(err, OSError)
        assert err.errno == errno.ENOSPC and err.path == str(path)
        assert str(path) in str(err) and "ENOSPC" in str(err)
        assert err.truncated and err.packets_kept == w.packets_written
        assert err.packets_kept + err.packets_lost == accepted + (accepted < len(frames))
        assert 0 < err.packets_kept < len(frames)
        size_at_error = path.stat().st_size
        # later writes raise again instead of vanishing; flush() too
        with pytest.raises(WriteError):
            w.write(frames[0], T0)
        with pytest.raises(WriteError):
            w.flush()
        # space comes back: close() must not write the lost buffer (or anything) now
        if free == "delete":
            filler.unlink()
        else:
            subprocess.run(["mount", "-o", "remount,size=4m", str(mnt)], check=True,
                           timeout=30)
        w.close()
        w.close()
        assert path.stat().st_size == size_at_error
        _check_cut_file(path, frames, err.packets_kept, kind == "pcapng")


def test_disk_full_in_write_frames_batch() -> None:
    from wirecraft.craft import Template

    frame = bytes(Ethernet() / IPv4() / UDP() / bytes(300))
    n = 400
    block = frame * n
    with small_tmpfs("64k") as mnt:
        path = mnt / "batch.pcap"
        w = PcapWriter(path, nanosecond=True, flush="buffer", buffer_size=1 << 20)
        w.write_frames(block, len(frame), T0, 1000, n)  # 400 * 346 bytes: over 64 KiB
        with pytest.raises(WriteError) as info:
            w.close()
        w.close()
        kept = info.value.packets_kept
        assert 0 < kept < n and kept + info.value.packets_lost == n
        _check_cut_file(path, [frame] * n, kept, ng=False)
    assert Template  # the batch path is the one Template.write_pcap uses


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_rotation_onto_a_full_disk(fmt: str) -> None:
    frames = _numbered_frames(300, seed=3)
    with small_tmpfs("64k") as mnt:
        w = RotatingWriter(mnt / f"ring.{fmt}", max_bytes=6000, max_files=50, format=fmt,
                           flush="packet")
        i = 0
        while len(w.files) < 3:  # three files begun, two of them complete
            w.write(frames[i], T0 + i * 1000)
            i += 1
        first_files = list(w.files)
        filler = mnt / "filler"
        _fill(filler)  # nothing left: the next rotation cannot write even a header
        with pytest.raises(WriteError) as info:
            while True:
                w.write(frames[i], T0 + i * 1000)
                i += 1
        assert info.value.errno == errno.ENOSPC
        with pytest.raises(WriteError):
            w.write(frames[0], T0)
        filler.unlink()
        w.close()
        assert w.packets_written + w.packets_lost == i + 1
        back: list[bytes] = []
        for name in w.files:
            pkts = [p.data for p in wirecraft.read(name)]
            assert pkts, f"{name} holds no packet"
            back += pkts
            _tshark_clean(Path(name))
        assert set(first_files) <= set(w.files) | {first_files[-1]}
        assert back == frames[: w.packets_written]  # every packet before the error, in order
        for name in sorted(set(p.name for p in mnt.iterdir()) - {"filler"}):
            assert str(mnt / name) in w.files  # no empty stub left from the failed rotation


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_rotation_file_filling_up_mid_file(fmt: str) -> None:
    frames = _numbered_frames(400, seed=11)
    with small_tmpfs("64k") as mnt:
        w = RotatingWriter(mnt / f"r.{fmt}", max_bytes=20000, format=fmt, flush="buffer")
        with pytest.raises(WriteError):
            for i, f in enumerate(frames):
                w.write(f, T0 + i * 1000)
            w.close()
        w.close()
        back = [p.data for name in w.files for p in wirecraft.read(name)]
        assert back == frames[: w.packets_written] and w.packets_written > 0
        assert w.packets_lost > 0
        for name in w.files:
            _tshark_clean(Path(name))


def test_dev_full() -> None:
    # by path: the header cannot be written; /dev/full is a device, so nothing is cut
    # and (above all) nothing is removed
    with pytest.raises(WriteError) as info:
        PcapWriter("/dev/full")
    assert info.value.errno == errno.ENOSPC and not info.value.truncated
    assert "/dev/full" in str(info.value) and Path("/dev/full").exists()
    # a buffered file object: our bytes go straight to its descriptor, so closing
    # the object afterwards has nothing left to retry
    fh = open("/dev/full", "wb")  # noqa: SIM115
    with pytest.raises(WriteError):
        PcapngWriter(fh)
    fh.close()
    with open("/dev/full", "wb", buffering=0) as raw:
        w = PcapWriter.__new__(PcapWriter)
        with pytest.raises(WriteError):
            w.__init__(raw, flush="buffer")
        w.close()
        with pytest.raises(WriteError):
            w.write(b"x" * 60, T0)


EFBIG_CHILD = textwrap.dedent("""
    import resource, signal, sys
    sys.path.insert(0, {src!r})
    from wirecraft.writers import {cls}, WriteError
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # then write() fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    w = {cls}({path!r}, flush={flush!r}, buffer_size=5000)
    n = 0
    try:
        for i in range(10000):
            w.write(bytes(60 + (i * 37) % 900) + i.to_bytes(4, "big"), {t0} + i * 1000)
            n += 1
    except WriteError as exc:
        print(exc.errno, exc.packets_kept, exc.packets_lost, n)
        w.close()
        print(exc)
""")


@pytest.mark.parametrize("cls", ["PcapWriter", "PcapngWriter"])
@pytest.mark.parametrize("flush", ["packet", "buffer"])
def test_file_size_limit_efbig(tmp_path: Path, cls: str, flush: str) -> None:
    path = tmp_path / "big.cap"
    code = EFBIG_CHILD.format(src=WIRECRAFT_PATH, cls=cls, path=str(path), flush=flush,
                              limit=30011, t0=T0)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    first, message = out.stdout.splitlines()[:2]
    code_, kept, lost, accepted = (int(x) for x in first.split())
    assert code_ == errno.EFBIG and kept > 0 and lost > 0
    assert kept + lost == accepted + 1
    assert str(path) in message and "EFBIG" in message
    frames = [bytes(60 + (i * 37) % 900) + i.to_bytes(4, "big") for i in range(kept)]
    _check_cut_file(path, frames, kept, ng=cls == "PcapngWriter")


@pytest.mark.parametrize("cls", ["PcapWriter", "PcapngWriter"])
def test_disk_full_through_a_buffered_file_object(cls: str) -> None:
    # e.g. `sniff -w - > file`: the writer gets sys.stdout.buffer, a BufferedWriter
    frames = _numbered_frames(300, seed=5)
    with small_tmpfs("64k") as mnt:
        path = mnt / "obj.cap"
        fh = open(path, "wb")  # noqa: SIM115
        fh.write(b"")  # the owner may have used it; the writer starts where it stands
        w = PcapWriter(fh, flush="buffer") if cls == "PcapWriter" else PcapngWriter(fh)
        with pytest.raises(WriteError) as info:
            for i, f in enumerate(frames):
                w.write(f, T0 + i * 1000)
            w.close()
        assert info.value.truncated and info.value.path == str(path)
        w.close()
        size = path.stat().st_size
        fh.close()  # its own buffer holds nothing of ours: closing writes nothing
        assert path.stat().st_size == size
        _check_cut_file(path, frames, info.value.packets_kept, ng=cls == "PcapngWriter")


def test_file_objects_that_fail_or_take_nothing() -> None:
    import io

    class TakesNothing(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            return 0

    class Breaks(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def writable(self) -> bool:
            return True

        def write(self, b: object) -> int:
            self.calls += 1
            raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(WriteError) as info:  # an error, never an endless loop
        PcapWriter(TakesNothing())
    assert info.value.errno == errno.EIO and not info.value.truncated
    sink = Breaks()
    w = PcapngWriter.__new__(PcapngWriter)
    with pytest.raises(WriteError) as info:
        w.__init__(sink)
    assert info.value.errno == errno.EIO and "<stream>" in str(info.value)
    calls = sink.calls
    w.close()
    with pytest.raises(WriteError):
        w.write(b"x" * 60, T0)
    assert sink.calls == calls  # nothing is retried


@pytest.mark.parametrize("end", ["exit", "dropped"])
def test_disk_full_met_by_the_exit_flush_is_reported(end: str) -> None:
    # a script that never closes its writer: the flush at interpreter exit (or when
    # the writer is garbage) meets ENOSPC, and says so once
    with small_tmpfs("64k") as mnt:
        path = mnt / "atexit.pcap"
        code = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {WIRECRAFT_PATH!r})
            from wirecraft.writers import PcapWriter
            w = PcapWriter({str(path)!r}, flush="buffer", buffer_size=1 << 22)
            for i in range(400):
                w.write(bytes(300) + i.to_bytes(4, "big"), {T0} + i * 1000)
            if {end == "dropped"!r}:
                del w
                print("after del", file=sys.stderr)
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60)
        assert "Traceback" not in out.stderr, out.stderr
        lines = [x for x in out.stderr.strip().splitlines() if x != "after del"]
        assert len(lines) == 1 and str(path) in lines[0] and "ENOSPC" in lines[0], out.stderr
        if end == "dropped":  # reported when the writer went, not at exit
            assert out.stderr.index("ENOSPC") < out.stderr.index("after del")
        kept = len(list(wirecraft.read(path)))
        assert 0 < kept < 400
        frames = [bytes(300) + i.to_bytes(4, "big") for i in range(400)]
        _check_cut_file(path, frames, kept, ng=False)
