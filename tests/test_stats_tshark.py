"""wirecraft.stats against tshark's own `-z` reports, run in the test on the sample
captures: conversations (eth, ip, ipv6, tcp, udp), endpoints and io,stat with two
filtered series.  tshark's text tables are parsed here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from wirecraft import stats

from conftest import capture_files, require_tool

# captures where tshark's counting differs from wirecraft's by design (see README,
# "Statistics"): tshark reassembles IP fragments (the transport conversation gets one
# packet at the last fragment, the IPv6 one the reassembled length) and counts tunnelled
# packets as conversations of their own; an IPv6 routing header makes tshark use the
# final destination; a TCP header tshark calls malformed is no TCP conversation to it;
# a capture of zero duration gets no interval row from tshark's io,stat; a capture
# spanning months or years (zeek__smtp.pcap, tcpdump__icmpv6.pcap) makes tshark's io,stat 1 run for minutes
_FRAG = {"udp", "ipv6", "io"}
_DIFFERENT: dict[str, set[str]] = {
    "zeek__ipv4__fragmented-1.pcap": _FRAG, "zeek__ipv6-fragmented-dns.pcap": _FRAG,
    "tcpdump__ipv6-routing-header.pcap": {"udp"},
    "tcpdump__tcp_header_heapoverflow.pcap": {"tcp", "io"},
    "zeek__smtp.pcap": {"io"}, "tcpdump__icmpv6.pcap": {"io"},
    **{name: {"io"} for name in (
        "dpkt__truncated_dns_2.pcap", "libpcap__ipv6_ext_headers.pcap",
        "tcpdump__dns-badlabel.pcap", "tcpdump__ipv6_invalid_length.pcap",
        "tcpdump__time_2107.pcapng", "zeek__dns__dns-edns-bad-length.pcap",
        "zeek__trunc__ip4-trunc.pcap")},
}

_CAPTURES = [p for p in capture_files("*") if p.suffix in (".pcap", ".pcapng")]
_UNIT = {"bytes": 1, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


def _tshark(path: Path, *z: str) -> str:
    tshark = require_tool("tshark")
    out = subprocess.run([tshark, "-n", "-r", str(path), "-q", *z], capture_output=True,
                         text=True, check=False, timeout=120)
    assert out.returncode in (0, 2), out.stderr
    return out.stdout


def _split(side: str, ports: bool) -> tuple[str, int | None]:
    side = side.strip()
    if not ports:
        return side, None
    addr, _, port = side.rpartition(":")
    return addr, int(port)


def tshark_conv(path: Path, type: str) -> dict[tuple, dict]:  # noqa: A002
    """{(A, port, B, port): numbers} from `tshark -q -z conv,<type>`."""
    ports = type in ("tcp", "udp")
    rows = {}
    size = r"(\d+) (bytes|kB|MB|GB)"
    pat = re.compile(rf"^(\S+)\s+<->\s+(\S+)\s+(\d+) {size}\s+(\d+) {size}\s+(\d+) {size}"
                     r"\s+(-?[\d.]+)\s+([\d.]+)\s*$")
    for line in _tshark(path, "-z", f"conv,{type}").splitlines():
        m = pat.match(line)
        if not m:
            continue
        a, pa = _split(m.group(1), ports)
        b, pb = _split(m.group(2), ports)
        g = m.groups()
        rows[(a, pa, b, pb)] = {
            "frames_ba": int(g[2]), "bytes_ba": (int(g[3]), g[4]),
            "frames_ab": int(g[5]), "bytes_ab": (int(g[6]), g[7]),
            "frames": int(g[8]), "bytes": (int(g[9]), g[10]),
            "rel_start": float(g[11]), "duration": float(g[12])}
    return rows


def _same_size(ours: int, theirs: tuple[int, str]) -> bool:
    """tshark prints sizes over 9999 bytes in kB/MB rounded; compare at its precision."""
    value, unit = theirs
    if unit == "bytes":
        return ours == value
    return abs(ours / _UNIT[unit] - value) <= 1


def _ours_conv(path: Path, type: str) -> dict[tuple, dict]:  # noqa: A002
    t = stats.conv(path, type)
    out = {}
    for r in t:
        key = (r["address_a"], r.get("port_a"), r["address_b"], r.get("port_b"))
        assert key not in out
        out[key] = r
    return out


@pytest.mark.parametrize("type", stats.TYPES)
@pytest.mark.parametrize("path", _CAPTURES, ids=lambda p: p.name)
def test_conv_matches_tshark(path: Path, type: str) -> None:  # noqa: A002
    if type in _DIFFERENT.get(path.name, ()):
        pytest.skip("counted differently by design (see _DIFFERENT)")
    theirs = tshark_conv(path, type)
    ours = _ours_conv(path, type)
    assert set(ours) == set(theirs)
    for key, t in theirs.items():
        o = ours[key]
        assert (o["frames_ab"], o["frames_ba"], o["frames"]) == (
            t["frames_ab"], t["frames_ba"], t["frames"]), key
        for k in ("bytes_ab", "bytes_ba", "bytes"):
            assert _same_size(o[k], t[k]), (key, k, o[k], t[k])
        assert o["rel_start"] == pytest.approx(t["rel_start"], abs=2e-6), key
        assert o["duration"] == pytest.approx(t["duration"], abs=1e-4), key


def tshark_endpoints(path: Path, type: str) -> dict[tuple, tuple[int, ...]]:  # noqa: A002
    """{(address, port): (packets, bytes, tx packets, tx bytes, rx packets, rx bytes)}."""
    ports = type in ("tcp", "udp")
    n = 8 if ports else 7
    rows = {}
    for line in _tshark(path, "-z", f"endpoints,{type}").splitlines():
        parts = line.split()
        if len(parts) != n or not all(p.isdigit() for p in parts[1:]):
            continue
        nums = tuple(int(p) for p in parts[1:])
        if ports:
            rows[(parts[0], nums[0])] = nums[1:]
        else:
            rows[(parts[0], None)] = nums
    return rows


@pytest.mark.parametrize("type", stats.TYPES)
@pytest.mark.parametrize("path", _CAPTURES, ids=lambda p: p.name)
def test_endpoints_match_tshark(path: Path, type: str) -> None:  # noqa: A002
    if type in _DIFFERENT.get(path.name, ()):
        pytest.skip("counted differently by design (see _DIFFERENT)")
    theirs = tshark_endpoints(path, type)
    t = stats.endpoints(path, type)
    ours = {(r["address"], r.get("port")): (r["frames"], r["bytes"], r["tx_frames"],
                                            r["tx_bytes"], r["rx_frames"], r["rx_bytes"])
            for r in t}
    assert ours == theirs


def tshark_io(path: Path, interval: str, *series: str) -> list[tuple[int, ...]]:
    """Rows of `tshark -q -z io,stat,<interval>,<series>...`: frames, bytes per series."""
    out = _tshark(path, "-z", ",".join(["io,stat", interval, *series]))
    rows = []
    for line in out.splitlines():
        if "<>" not in line:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append(tuple(int(c) for c in cells[1:]))
    return rows


@pytest.mark.parametrize("path", _CAPTURES, ids=lambda p: p.name)
def test_io_two_series_match_tshark(path: Path) -> None:
    if "io" in _DIFFERENT.get(path.name, ()):
        pytest.skip("counted differently by design (see _DIFFERENT)")
    series = ("tcp", "udp")
    theirs = tshark_io(path, "1", *series)
    t = stats.io(path, 1.0, series)
    ours = [(f1, b1, f2, b2) for f1, b1, f2, b2 in zip(
        t["frames_1"], t["bytes_1"], t["frames_2"], t["bytes_2"], strict=True)]
    assert ours == theirs


def test_io_subsecond_interval_and_display_filter() -> None:
    path = Path(__file__).parent.parent / "captures" / "zeek__wikipedia.pcap"
    theirs = tshark_io(path, "0.25", "dns", "tcp.flags.syn == 1")
    t = stats.io(path, 0.25, ("dns", "tcp.flags.syn == 1"))
    ours = [(f1, b1, f2, b2) for f1, b1, f2, b2 in zip(
        t["frames_1"], t["bytes_1"], t["frames_2"], t["bytes_2"], strict=True)]
    assert ours == theirs
    assert sum(t["frames_1"]) > 0 and sum(t["frames_2"]) > 0
