"""BPF on files (compiled by libpcap, run by our machine), the `read` CLI, and import cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest

import wirecraft
from wirecraft import FilterError
from wirecraft._core import BPFProgram

from conftest import REPO, capture_files, require_tool
from pcapbuild import pcap, udp_frame

EXPRESSIONS = ["tcp port 25", "udp port 53", "icmp or icmp6", "ip6", "vlan", "arp",
               "tcp[tcpflags] & tcp-syn != 0", "ip[8] > 64", "less 100", "net 10.0.0.0/8",
               "ip and udp and not port 53"]
FILES = [p for p in capture_files("*.pcap") if "truncated" not in p.name]


def tcpdump_count(path, expr: str) -> int | None:
    out = subprocess.run([require_tool("tcpdump"), "-n", "-r", str(path), expr],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return None
    return len(out.stdout.splitlines())


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_filter_counts_match_tcpdump(expr) -> None:
    compared = 0
    for path in FILES:
        theirs = tcpdump_count(path, expr)
        if theirs is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = sum(1 for _ in wirecraft.read(path, filter=expr))
        assert ours == theirs, f"{path.name}: {expr!r} ours={ours} tcpdump={theirs}"
        compared += 1
    assert compared >= 20


def test_filter_on_columns_and_indices(captures_dir) -> None:
    path = captures_dir / "zeek__smtp.pcap"
    t = wirecraft.open(path, filter="tcp port 25").table()
    assert len(t) > 0 and set(t["tcp_dst_port"]) | set(t["tcp_src_port"]) >= {25}
    full = wirecraft.open(path).table()
    mask = (full["tcp_src_port"] == 25) | (full["tcp_dst_port"] == 25)
    assert list(t["index"]) == list(full["index"][mask])


def test_bad_filter_is_one_clear_error(captures_dir) -> None:
    with pytest.raises(FilterError, match="cannot compile filter"):
        list(wirecraft.read(captures_dir / "zeek__smtp.pcap", filter="tcp port"))


def test_bpf_programs_are_validated() -> None:
    with pytest.raises(ValueError, match="jump out of range"):
        BPFProgram([(0x15, 5, 0, 1), (0x06, 0, 0, 0)], 1)    # jeq past the end
    with pytest.raises(ValueError, match="end with a return"):
        BPFProgram([(0x28, 0, 0, 12)], 1)
    with pytest.raises(ValueError, match="scratch"):
        BPFProgram([(0x02, 0, 0, 99), (0x06, 0, 0, 1)], 1)
    # out-of-bounds loads reject the packet instead of reading past it
    prog = BPFProgram([(0x20, 0, 0, 1000), (0x06, 0, 0, 1)], 1)
    assert prog.matches(b"\0" * 20) is False
    # division by zero rejects too
    prog = BPFProgram([(0x00, 0, 0, 5), (0x34, 0, 0, 0), (0x06, 0, 0, 1)], 1)
    assert prog.matches(b"\0" * 20) is False


def run_cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wirecraft", *args], capture_output=True,
                          text=True, timeout=60, **kw)


def test_read_cli_text_and_json(captures_dir) -> None:
    path = str(captures_dir / "zeek__smtp.pcap")
    out = run_cli("read", path, "-c", "5")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 5
    assert "IP 10.10.1.4.1470 > 74.53.140.153.25: Flags [S], seq 2126795696" in lines[2]
    out = run_cli("read", path, "--json", "-f", "tcp port 25")
    objs = [json.loads(x) for x in out.stdout.splitlines()]
    assert objs and all(25 in (o["tcp"]["src_port"], o["tcp"]["dst_port"]) for o in objs)
    assert {"index", "time_ns", "caplen", "wire_len", "ip", "tcp", "problems"} <= set(objs[0])


def test_read_cli_errors(tmp_path, captures_dir) -> None:
    bad = tmp_path / "x.pcap"
    bad.write_bytes(b"not a capture at all")
    out = run_cli("read", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0 and "not a pcap or pcapng file" in out.stderr
    out = run_cli("read", str(captures_dir / "zeek__smtp.pcap"), "-f", "port nope")
    assert out.returncode == 2 and "cannot compile filter" in out.stderr
    cut = tmp_path / "cut.pcap"
    data = pcap([(0, udp_frame(b"a")), (1, udp_frame(b"b"))])
    cut.write_bytes(data[:-5])
    out = run_cli("read", str(cut))
    assert out.returncode == 0 and len(out.stdout.splitlines()) == 1
    assert "warning" in out.stderr and "cut short" in out.stderr


def test_import_is_lazy() -> None:
    code = ("import sys, wirecraft; p = list(wirecraft.read(sys.argv[1])); "
            "heavy = [m for m in ('numpy', 'pcapy', 'scapy', 'rich', 'wirecraft.dns', "
            "'wirecraft.craft') if m in sys.modules]; print(heavy, len(p))")
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "captures" / "zeek__smtp.pcap")],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[] 125", out.stdout + out.stderr


def test_streaming_memory_is_flat(tmp_path) -> None:
    """A 150 MB capture streams in both modes with far less memory than its size."""
    frame = udp_frame(b"m" * 1400)
    one = pcap([(i, frame) for i in range(1000)])
    path = tmp_path / "big.pcap"
    with open(path, "wb") as f:
        f.write(one)
        body = one[24:]
        for _ in range(104):
            f.write(body)
    size = os.path.getsize(path)
    assert size > 150e6
    # VmHWM belongs to the new process image; ru_maxrss would include the forking parent
    code = ("import sys, wirecraft\n"
            "n = 0\n"
            "for p in wirecraft.read(sys.argv[1]):\n"
            "    n += p.udp.dst_port == 53\n"
            "with wirecraft.open(sys.argv[1]) as cap:\n"
            "    m = sum(int((b['udp_dst_port'] == 53).sum()) for b in cap.batches())\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print(n, m, hwm.split()[1])")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         timeout=300)
    n, m, rss_kb = (int(x) for x in out.stdout.split())
    assert n == m == 105_000
    assert rss_kb * 1024 < 120e6, f"peak RSS {rss_kb} KiB for a {size} byte file"
