"""wirecraft split against editcap -c and -i on the sample captures: the same file names
(PREFIX_NNNNN_YYYYmmddHHMMSS.ext), frames per file, frame bytes, lengths and times."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import wirecraft
from wirecraft.filetools import split
from wirecraft.writers import PcapWriter

from conftest import require_tool

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
ENV = {**os.environ, "PYTHONPATH": str(Path(wirecraft.__file__).resolve().parent.parent)}

BY_COUNT = [("zeek__smtp.pcap", 40), ("zeek__pcapng-multi-interface.pcapng", 4),
            ("zeek__wikipedia.pcap", 50), ("zeek__var-services-std-ports.pcap", 100),
            ("tcpdump__tcp-handshake-nano.pcap", 2), ("zeek__dns__mdns.pcap", 1)]
# captures short enough for editcap -i, which writes an empty file for every interval
# without a frame (wirecraft writes none: those files are left out of the comparison)
BY_TIME = [("pcapyng__96pings.pcap", 10), ("zeek__pcapng-multi-interface.pcapng", 60),
           ("zeek__var-services-std-ports.pcap", 5), ("zeek__wikipedia.pcap", 1),
           ("dpkt__dns_icmp.pcap", 3), ("zeek__smtp-multi-addr.pcap", 7),
           ("tcpdump__tcp-handshake-nano.pcap", 1), ("zeek__linux_dlt_sll2.pcap", 120)]


def _frames(path: Path) -> list[tuple[int, int, int, bytes]]:
    return [(p.time_ns, p.wire_len, p.linktype, bytes(p.data)) for p in wirecraft.open(path)]


def _parts(folder: Path) -> dict[str, list[tuple[int, int, int, bytes]]]:
    """The non-empty captures in `folder` by name, with their frames."""
    found = {p.name: _frames(p) for p in sorted(folder.iterdir())}
    return {name: frames for name, frames in found.items() if frames}


def _compare(tmp_path: Path, name: str, editcap_args: list[str], **kw: object) -> dict:
    src = CAPTURES / name
    ext = Path(name).suffix
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    result = split(src, ours / f"part{ext}", **kw)  # type: ignore[arg-type]
    subprocess.run([require_tool("editcap"), *editcap_args, str(src), str(theirs / f"part{ext}")],
                   check=True, capture_output=True)
    got, want = _parts(ours), _parts(theirs)
    assert list(got) == list(want)
    assert got == want
    assert [Path(p["path"]).name for p in result["files"]] == list(want)
    assert [p["frames"] for p in result["files"]] == [len(f) for f in want.values()]
    assert sum(len(f) for f in got.values()) == result["frames_read"] == len(_frames(src))
    for part in ours.iterdir():
        assert wirecraft.open(part).format == wirecraft.open(src).format
    return result


@pytest.mark.parametrize(("name", "count"), BY_COUNT)
def test_split_by_count_matches_editcap_c(tmp_path: Path, name: str, count: int) -> None:
    result = _compare(tmp_path, name, ["-c", str(count)], count=count)
    n = result["frames_read"]
    assert len(result["files"]) == -(-n // count)


@pytest.mark.parametrize(("name", "seconds"), BY_TIME)
def test_split_by_time_matches_editcap_i(tmp_path: Path, name: str, seconds: int) -> None:
    _compare(tmp_path, name, ["-i", str(seconds)], seconds=seconds)


def test_interval_edges_and_gaps(tmp_path: Path) -> None:
    """A frame exactly at the end of an interval stays in it (editcap compares strictly);
    an interval with no frame is skipped but still counted in the numbers; fractional
    seconds are read to the nanosecond; times going backwards stay in the open part."""
    t0 = 1_700_000_000_000_000_000
    offsets = [0, 500_000_000, 500_000_001, 2_400_000_000, 1_000_000_000, 2_500_000_000]
    src = tmp_path / "in.pcap"
    with PcapWriter(src, linktype=1, nanosecond=True) as w:
        for i, off in enumerate(offsets):
            w.write(bytes([i]) * 60, t0 + off)
    result = split(src, tmp_path / "p.pcap", seconds="0.5")
    numbers = [int(Path(p["path"]).name.split("_")[1]) for p in result["files"]]
    assert numbers == [0, 1, 4]
    assert [p["frames"] for p in result["files"]] == [2, 1, 3]
    assert [f[3][0] for f in _frames(Path(result["files"][2]["path"]))] == [3, 4, 5]


def test_errors(tmp_path: Path) -> None:
    src = CAPTURES / "zeek__smtp.pcap"
    with pytest.raises(ValueError, match="one of them"):
        split(src, tmp_path / "x", count=3, seconds=1)
    with pytest.raises(ValueError, match="positive"):
        split(src, tmp_path / "x", seconds="-1")
    with pytest.raises(ValueError, match="at least 1"):
        split(src, tmp_path / "x", count=0)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wirecraft", *args], capture_output=True,
                          text=True, env=ENV, timeout=60, cwd=cwd)


def test_cli_split(tmp_path: Path) -> None:
    src = CAPTURES / "zeek__smtp-multi-addr.pcap"
    r = _cli("split", str(src), "-c", "10", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    names = r.stdout.split()
    assert len(names) == 3 and all(n.startswith("zeek__smtp-multi-addr_0000") and
                                   n.endswith(".pcap") for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert "21 frames written to 3 files" in r.stderr
    r = _cli("split", str(src), "-i", "7", "--pcapng", "-o", "t", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert all(n.startswith("t_") and n.endswith(".pcapng") for n in r.stdout.split())
    for bad in (["split", str(src)], ["split", str(src), "-c", "2", "-i", "3"],
                ["split", str(src), "-i", "soon"], ["split", str(src), "-c", "0"],
                ["split", str(tmp_path / "missing.pcap"), "-c", "3"]):
        r = _cli(*bad, cwd=tmp_path)
        assert r.returncode == 2, (bad, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("wirecraft"), (bad, r.stderr)


@pytest.mark.parametrize("args", [("-c", 700), ("-i", 7)])
def test_split_across_batches_matches_editcap(tmp_path: Path, args: tuple[str, int]) -> None:
    """Parts that start inside one read batch and go on into the next (3000 frames)."""
    src = tmp_path / "many.pcap"
    t0 = 1_700_000_000_000_000_000
    with PcapWriter(src, linktype=1, nanosecond=True) as w:
        for i in range(3000):
            w.write(i.to_bytes(4, "big") * 16, t0 + i * 10_000_000 + (i % 7) * 1000)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    flag, value = args
    kw = {"count": value} if flag == "-c" else {"seconds": value}
    split(src, ours / "p.pcap", **kw)  # type: ignore[arg-type]
    subprocess.run([require_tool("editcap"), flag, str(value), str(src), str(theirs / "p.pcap")],
                   check=True, capture_output=True)
    got, want = _parts(ours), _parts(theirs)
    assert list(got) == list(want) and len(want) >= 4
    assert got == want
