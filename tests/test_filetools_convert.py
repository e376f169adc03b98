"""wirecraft convert against editcap -F on the sample captures: same frames, same
original lengths and timestamps (read back with tshark and wirecraft's reader)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import wirecraft
from wirecraft.filetools import convert

from conftest import WIRECRAFT_PATH, require_tool

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
CASES = ["zeek__pcapng-multi-interface.pcapng", "tcpdump__tcp-handshake-nano.pcap",
         "zeek__linux_dlt_sll2.pcap", "dpkt__dns_icmp.pcap", "zeek__http-vlan-0.pcap"]



def _frames(path: Path) -> list[tuple[int, int, bytes]]:
    return [(p.time_ns, p.wire_len, bytes(p.data)) for p in wirecraft.open(path)]


def _tshark(path: Path) -> list[str]:
    out = subprocess.run([require_tool("tshark"), "-r", str(path), "-T", "fields", "-e",
                          "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len"],
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("fmt", ["pcapng", "pcap-ns"])
def test_convert_matches_editcap(tmp_path: Path, name: str, fmt: str) -> None:
    src = CAPTURES / name
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    pcapng = fmt == "pcapng"
    if not pcapng and len({i["linktype"] for i in wirecraft.open(src).interfaces}) > 1:
        pytest.skip("several link types")
    counts = convert(src, ours, pcapng=pcapng, nanosecond=not pcapng)
    subprocess.run([require_tool("editcap"), "-F", "pcapng" if pcapng else "nsecpcap", str(src),
                    str(theirs)], check=True, capture_output=True)
    assert counts["frames_read"] == counts["frames_written"] == len(_frames(theirs))
    assert _frames(ours) == _frames(theirs)
    assert _tshark(ours) == _tshark(theirs) == _tshark(src)
    with open(ours, "rb") as f:
        magic = f.read(4)
    assert magic == (b"\x0a\x0d\x0d\x0a" if pcapng else b"\x4d\x3c\xb2\xa1")


def test_convert_cli_errors(tmp_path: Path) -> None:
    notcap = tmp_path / "x.txt"
    notcap.write_text("hello\n")
    for args in (["convert", str(tmp_path / "missing.pcap"), "-o", str(tmp_path / "o")],
                 ["convert", str(notcap), "-o", str(tmp_path / "o")]):
        r = subprocess.run([sys.executable, "-m", "wirecraft", *args], capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": WIRECRAFT_PATH})
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith("wirecraft: ") and len(r.stderr.strip().splitlines()) == 1
