"""Reassembled streams of every sample capture compared with tshark's follow tcp."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wirecraft.reassembly import Reassembler, streams

from conftest import REPO, WIRECRAFT_PATH, capture_files, require_tool


def _tshark_streams(pcap: Path) -> dict[int, tuple[str, dict[str, bytes]]]:
    """{tcp.stream: (node0 "addr:port", {node: bytes sent})} from tshark follow,tcp,raw."""
    tshark = require_tool("tshark")
    ids = subprocess.run([tshark, "-n", "-r", str(pcap), "-T", "fields", "-e", "tcp.stream"],
                         capture_output=True, text=True, timeout=60).stdout.split()
    ids = sorted({int(i) for i in ids if i})
    if not ids:
        return {}
    cmd = [tshark, "-n", "-r", str(pcap), "-q"]
    for i in ids:
        cmd += ["-z", f"follow,tcp,raw,{i}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    result = {}
    for block in out.split("Follow: tcp,raw")[1:]:
        lines = block.splitlines()
        stream = int(lines[1].split("eq")[1])
        node0 = lines[2].split(": ", 1)[1]
        node1 = lines[3].split(": ", 1)[1]
        data = {node0: b"", node1: b""}
        for line in lines[4:]:
            if line.startswith("="):
                break
            if line.startswith("\t"):
                data[node1] += bytes.fromhex(line[1:])
            elif line:
                data[node0] += bytes.fromhex(line)
        result[stream] = (node0, data)
    return result


def _ep(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


TCP_CAPTURES = [p for p in capture_files() if p.name not in {
    "tcpdump__tcp_header_heapoverflow.pcap", "zeek__trunc__ip4-trunc.pcap"}]


@pytest.mark.parametrize("pcap", TCP_CAPTURES, ids=lambda p: p.name)
def test_stream_bytes_equal_tshark_follow(pcap):
    theirs = _tshark_streams(pcap)
    ours = {}
    for s in streams(pcap, keep_data=True):
        ours[(_ep(s.client, s.client_port), _ep(s.server, s.server_port))] = s
    # every stream that carried data in tshark's view carries the same bytes in ours
    for stream, (_node0, data) in theirs.items():
        if not any(data.values()):
            continue
        (a, da), (b, db) = data.items()
        s = ours.get((a, b)) or ours.get((b, a))
        assert s is not None, (pcap.name, stream)
        by_end = {_ep(s.client, s.client_port): s.data_to_server,
                  _ep(s.server, s.server_port): s.data_to_client}
        assert by_end[a] == da and by_end[b] == db, (pcap.name, stream)
        assert not s.gaps


def test_zeek_smtp_retransmissions_and_roles():
    pcap = REPO / "captures" / "zeek__smtp.pcap"
    r = Reassembler()
    r.feed_all(pcap)
    st = r.stats
    # the capture holds the original 1460-byte segments and their 1452-byte re-sends
    assert st["retransmitted_bytes"] >= 4 * 1452
    assert st["overlap_conflicts"] == 0 and st["gaps"] == 0
    assert st["buffered"] == 0 and st["open"] == 0
    (smtp_stream,) = [s for s in streams(pcap) if s.server_port == 25 and s.client_port == 1470]
    assert smtp_stream.client == "10.10.1.4" and "midstream" not in smtp_stream.flags
    assert smtp_stream.bytes_to_server == 14705 and smtp_stream.bytes_to_client == 538
    # a SYN-ACK first (SYN not captured): roles come from it, not from the first packet
    (ctu,) = streams(REPO / "captures" / "zeek__tcp__ctu-64702-888.pcap")
    assert (ctu.client_port, ctu.server_port) == (64702, 888)
    assert "syn_missing" in ctu.flags


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wirecraft.cli", *args], capture_output=True,
                          text=True, timeout=60, cwd=REPO,
                          env={"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("name,number", [("zeek__smtp.pcap", 0), ("zeek__smtp.pcap", 2),
                                         ("zeek__smtp-multi-addr.pcap", 0),
                                         ("zeek__wikipedia.pcap", 1)])
def test_follow_cli_prints_what_tshark_prints(name, number):
    tshark = require_tool("tshark")
    pcap = REPO / "captures" / name
    want = subprocess.run([tshark, "-n", "-r", str(pcap), "-q", "-z",
                           f"follow,tcp,ascii,{number}"], capture_output=True, text=True,
                          timeout=60).stdout
    got = _cli("follow", str(pcap), str(number))
    assert got.returncode == 0, got.stderr
    assert got.stdout == want


def test_follow_cli_lists_and_handles_bad_numbers():
    pcap = REPO / "captures" / "zeek__smtp.pcap"
    listing = _cli("follow", str(pcap))
    assert listing.returncode == 0
    rows = listing.stdout.splitlines()[1:]
    assert len(rows) == 6 and "74.53.140.153:25" in rows[0] and "14705" in rows[0]
    hexed = _cli("follow", str(pcap), "2", "--hex")
    assert "\t" + b"220 uprise ESMTP SubEthaSMTP null\r\n".hex() in hexed.stdout
    raw = subprocess.run([sys.executable, "-m", "wirecraft.cli", "follow", str(pcap), "2",
                          "--raw"], capture_output=True, timeout=60, cwd=REPO,
                         env={"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/bin:/bin"}).stdout
    assert len(raw) == 969 + 162
    assert raw.startswith(b"220 uprise ESMTP SubEthaSMTP null\r\nEHLO [192.168.133.100]\r\n")
    missing = _cli("follow", str(pcap), "99")
    assert missing.returncode == 2 and "no TCP conversation 99" in missing.stderr
    notfile = _cli("follow", str(REPO / "captures" / "SOURCES.md"))
    assert notfile.returncode == 2 and notfile.stderr.startswith("wirecraft: ")


def test_sources_path_capture_and_packets_agree():
    import wirecraft

    pcap = REPO / "captures" / "zeek__smtp.pcap"

    def summary(it):
        return [(s.index, s.client, s.client_port, s.bytes_to_server, s.bytes_to_client,
                 s.data_to_server, s.data_to_client, sorted(s.flags)) for s in it]

    by_path = summary(wirecraft.streams(str(pcap), keep_data=True))
    with wirecraft.open(pcap) as cap:
        by_capture = summary(wirecraft.streams(cap, keep_data=True))
    by_packets = summary(wirecraft.streams(list(wirecraft.read(pcap)), keep_data=True))
    assert by_path == by_capture == by_packets and len(by_path) == 6
