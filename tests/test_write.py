"""wirecraft.write: decoded Packets, crafted layers and bytes, mixed, to pcap or pcapng.

Round trips: every sample capture read and written back holds the same frames, times,
wire lengths (and on pcapng interfaces and comments); tshark and tcpdump read the files.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import wirecraft
from wirecraft.craft import DNS, SLL2, UDP, Ethernet, IPv4, IPv6

from conftest import CAPTURES, capture_files, require_tool
from tsharkutil import tshark_fields


def _same_packets(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.data, x.time_ns, x.wire_len, x.linktype) == (
            y.data, y.time_ns, y.wire_len, y.linktype)


@pytest.mark.parametrize("suffix", [".pcap", ".pcapng"])
@pytest.mark.parametrize("path", [p for p in capture_files() if not p.name.endswith(".gz")],
                         ids=lambda p: p.name)
def test_round_trip_keeps_bytes_times_and_lengths(tmp_path: Path, path: Path,
                                                 suffix: str) -> None:
    original = list(wirecraft.read(path))
    kinds = {p.linktype for p in original}
    out = tmp_path / f"copy{suffix}"
    if suffix == ".pcap" and len(kinds) > 1:
        with pytest.raises(ValueError, match="write a .pcapng file to mix link types"):
            wirecraft.write(out, original)
        return
    if suffix == ".pcap" and any(not 0 <= p.time_ns < 2**32 * 10**9 for p in original):
        # (tcpdump's 2107 capture) seconds past 2**32 do not fit pcap: refused, not cut
        with pytest.raises(ValueError, match=r"packet \d+: timestamp .* write pcapng"):
            wirecraft.write(out, original)
        return
    assert wirecraft.write(out, original) == len(original)
    again = wirecraft.open(out)
    back = list(again)
    assert again.format == suffix[1:]
    _same_packets(back, original)
    if suffix == ".pcapng":
        assert [p.comment for p in back] == [p.comment for p in original]
        names = [(p.interface or {}).get("name") for p in back]
        assert names == [(p.interface or {}).get("name") for p in original]


def test_micro_pcap_round_trip_is_byte_identical(tmp_path: Path) -> None:
    """A microsecond pcap written back with the same header fields is the same file."""
    path = CAPTURES / "zeek__smtp.pcap"
    with wirecraft.open(path) as cap:
        packets = list(cap)
        snaplen = cap.interfaces[0]["snaplen"]
    out = tmp_path / "same.pcap"
    wirecraft.write(out, packets, nanosecond=False, snaplen=snaplen)
    assert out.read_bytes() == path.read_bytes()


def test_mixed_packets_layers_and_bytes(tmp_path: Path) -> None:
    decoded = list(wirecraft.read(CAPTURES / "zeek__smtp.pcap"))[:3]
    layer = Ethernet(src="02:00:00:00:00:01") / IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(
        src_port=5000, dst_port=53) / DNS.query("example.com", "A", id=1)
    raw = bytes(Ethernet() / IPv6(src="fd00::1", dst="fd00::2") / UDP(src_port=1, dst_port=2))
    t = 1_700_000_000_123_456_789
    items = [decoded[0], layer, raw, (t, layer), decoded[1], (t + 1, raw), decoded[2]]
    for name in ("mixed.pcap", "mixed.pcapng"):
        out = tmp_path / name
        assert wirecraft.write(out, iter(items)) == 7
        back = list(wirecraft.read(out))
        assert [p.data for p in back] == [decoded[0].data, bytes(layer), raw, bytes(layer),
                                          decoded[1].data, raw, decoded[2].data]
        assert back[0].time_ns == decoded[0].time_ns and back[4].time_ns == decoded[1].time_ns
        assert back[3].time_ns == t and back[5].time_ns == t + 1
        assert back[1].time_ns >= decoded[0].time_ns   # stamped when written: now
        assert {p.linktype for p in back} == {1}
        # tshark reads them: the crafted DNS queries decode
        rows = tshark_fields(out, ["frame.number"], 'dns.qry.name == "example.com"')
        assert rows == [["2"], ["4"]]


def test_link_types_of_crafted_stacks(tmp_path: Path) -> None:
    ip = IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(src_port=1, dst_port=2) / b"raw ip"
    cooked = SLL2() / IPv4(src="10.0.0.3", dst="10.0.0.4") / UDP(src_port=3, dst_port=4)
    eth = Ethernet() / IPv4(src="10.0.0.5", dst="10.0.0.6") / UDP(src_port=5, dst_port=6)
    out = tmp_path / "kinds.pcapng"
    assert wirecraft.write(out, [ip, cooked, eth]) == 3
    back = list(wirecraft.read(out))
    assert [p.linktype for p in back] == [101, 276, 1]
    assert [p.udp.src_port for p in back] == [1, 3, 5]
    # tshark reads each interface's link type (libpcap, hence tcpdump, takes only one)
    assert tshark_fields(out, ["frame.interface_id", "udp.srcport"]) == [
        ["0", "1"], ["1", "3"], ["2", "5"]]
    # pcap: one link type per file
    single = tmp_path / "raw.pcap"
    assert wirecraft.write(single, ip) == 1
    assert [p.linktype for p in wirecraft.read(single)] == [101]
    text = subprocess.run([require_tool("tcpdump"), "-nn", "-r", str(single)],
                          capture_output=True, text=True, timeout=60).stdout
    assert "IP 10.0.0.1.1 > 10.0.0.2.2: UDP, length 6" in text
    with pytest.raises(ValueError, match="packet 1 has link type 1"):
        wirecraft.write(tmp_path / "two.pcap", [ip, eth])
    # the file keeps what came before the refusal, and stays readable
    assert len(list(wirecraft.read(tmp_path / "two.pcap"))) == 1


def test_bytes_take_the_linktype_given(tmp_path: Path) -> None:
    data = bytes(IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(src_port=7, dst_port=8))
    out = tmp_path / "b.pcap"
    wirecraft.write(out, [data, data], linktype=101)
    assert [p.udp.dst_port for p in wirecraft.read(out)] == [8, 8]
    empty = tmp_path / "empty.pcapng"
    assert wirecraft.write(empty, []) == 0
    assert list(wirecraft.read(empty)) == []


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"packet 1 is a int; give decoded Packets"):
        wirecraft.write(tmp_path / "x.pcap", [b"\x00" * 14, 5])
    with pytest.raises(ValueError, match="format must be"):
        wirecraft.write(tmp_path / "x.pcap", [], format="erf")


def test_write_pcap_takes_layers_in_pairs(tmp_path: Path) -> None:
    from wirecraft.writers import write_pcap
    layer = Ethernet() / IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(src_port=1, dst_port=2)
    out = tmp_path / "pairs.pcap"
    assert write_pcap(out, [(5, layer), (6, bytes(layer))]) == 2
    back = list(wirecraft.read(out))
    assert [p.time_ns for p in back] == [5, 6] and back[0].data == back[1].data == bytes(layer)


def test_file_objects_and_headerless_stacks(tmp_path: Path) -> None:
    import io
    buf = io.BytesIO()
    udp = UDP(src_port=1, dst_port=2) / b"payload"   # no link or IP header: `linktype`'s
    assert wirecraft.write(buf, [udp], linktype=147) == 1
    buf.seek(0)
    back = list(wirecraft.read(buf))
    assert [(p.linktype, p.data) for p in back] == [(147, bytes(udp))]
    with open(tmp_path / "named.pcapng", "wb") as f:
        wirecraft.write(f, [Ethernet() / IPv4(src="10.0.0.1", dst="10.0.0.2")])
    assert wirecraft.open(tmp_path / "named.pcapng").format == "pcapng"
