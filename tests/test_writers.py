"""pcap / pcapng writers: tshark, capinfos, tcpdump and wirecraft read what they write;
rotation follows tcpdump's -C/-W/-G; a writer killed by a signal keeps every packet."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dpkt
import pytest

import wirecraft
from wirecraft.craft import DNS, TCP, UDP, Ethernet, IPv4, IPv6
from wirecraft.writers import PcapngWriter, PcapWriter, RotatingWriter

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
