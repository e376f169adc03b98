"""scapy's conveniences on every packet: show(), summary(), hexdump() and ls().

hexdump() is compared with `tcpdump -X` and `-XX` on the sample captures and on frames
crafted here; show() with the catalogue (every line a catalogue name whose value
tshark agrees with); ls() and Layer.fields with the catalogue's types.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wirecraft
from wirecraft import proto
from wirecraft.craft import (
    ARP,
    DNS,
    ICMP,
    SLL2,
    TCP,
    UDP,
    Dot1Q,
    Ethernet,
    ICMPv6,
    IPv4,
    IPv6,
    Raw,
)
from wirecraft.craft.base import AUTO, FieldSpec

from conftest import CAPTURES, capture_files, require_tool
from tsharkutil import tshark_fields

PACKET_START = re.compile(r"^\d+\.\d+ ")
HEX_LINE = re.compile(r"^\t0x[0-9a-f]{4,}:  ")


def tcpdump_dumps(path: Path, flag: str) -> list[str]:
    """Each packet's hex lines as `tcpdump -tt -nn <flag> -r path` prints them."""
    tcpdump = require_tool("tcpdump")
    out = subprocess.run([tcpdump, "-tt", "-nn", flag, "-r", str(path)], capture_output=True,
                         text=True, errors="replace", timeout=120)
    assert out.returncode == 0, out.stderr
    dumps: list[list[str]] = []
    for line in out.stdout.split("\n"):
        if PACKET_START.match(line):
            dumps.append([])
        elif HEX_LINE.match(line) and dumps:
            dumps[-1].append(line)
    return ["\n".join(d) for d in dumps]


# a sample of the captures' link types and layers: Ethernet (IPv4, IPv6, ARP, VLAN),
# Linux cooked v2, pcapng with several interfaces, truncated frames
HEXDUMP_CAPTURES = ["zeek__smtp.pcap", "zeek__http-vlan-0.pcap", "zeek__icmp_dot1q.pcap",
                    "zeek__linux_dlt_sll2.pcap", "tcpdump__icmpv6.pcap",
                    "zeek__pcapng-multi-interface.pcapng", "zeek__trunc__ip4-trunc.pcap",
                    "dpkt__dns_icmp.pcap", "libpcap__ipv6_ext_headers.pcap",
                    "tcpdump__tcp-handshake-nano.pcap"]


@pytest.mark.parametrize("name", HEXDUMP_CAPTURES)
@pytest.mark.parametrize("flag,link", [("-X", False), ("-XX", True)])
def test_hexdump_is_tcpdumps(name: str, flag: str, link: bool) -> None:
    path = CAPTURES / name
    theirs = tcpdump_dumps(path, flag)
    ours = [pkt.hexdump(link=link, dump=True) for pkt in wirecraft.read(path)]
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a == b, f"{name} packet {i}:\nours:\n{a}\ntcpdump:\n{b}"


def test_hexdump_of_crafted_layers_matches_tcpdump(tmp_path: Path) -> None:
    stacks = [
        Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IPv4(
            src="10.0.0.1", dst="10.0.0.2") / TCP(src_port=1234, dst_port=25, flags="PA")
        / b"MAIL FROM:<a b@example.com>\r\n",
        Ethernet() / Dot1Q(id=7) / IPv6(src="fd00::1", dst="fd00::2") / UDP()
        / DNS.query("example.com", "AAAA", id=9),
        Ethernet() / ARP(sender_ip="10.0.0.1", target_ip="10.0.0.9"),
        Ethernet() / IPv4(src="10.0.0.1", dst="10.0.0.2") / ICMP(id=1, seq=2) / bytes(range(33)),
    ]
    path = tmp_path / "crafted.pcap"
    wirecraft.write(path, stacks)
    for flag, link in (("-X", False), ("-XX", True)):
        theirs = tcpdump_dumps(path, flag)
        assert [s.hexdump(link=link, dump=True) for s in stacks] == theirs
    # raw IP (a stack that starts at IPv4) has no link header: -X and -XX agree
    ip_only = IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP(src_port=1, dst_port=2) / b"hi"
    raw_path = tmp_path / "raw.pcap"
    wirecraft.write(raw_path, [ip_only])
    assert tcpdump_dumps(raw_path, "-X") == [ip_only.hexdump(dump=True)]
    assert ip_only.hexdump(dump=True) == ip_only.hexdump(link=True, dump=True)
    # a stack with no link or IP header first has nothing to skip: dumped whole
    bare = UDP(src_port=1, dst_port=2) / b"hi"
    assert bare.hexdump(dump=True) == wirecraft.present.hexdump_text(bytes(bare))


def test_hexdump_layout_and_printing(capsys: pytest.CaptureFixture[str]) -> None:
    text = wirecraft.present.hexdump_text(b"GET / HTTP/1.1\r\n\x00\x7f~!")
    assert text.split("\n") == [
        "\t0x0000:  4745 5420 2f20 4854 5450 2f31 2e31 0d0a  GET./.HTTP/1.1..",
        "\t0x0010:  007f 7e21                                ..~!",
    ]
    pkt = wirecraft.decode(bytes(Ethernet() / IPv4() / UDP()))
    assert pkt.hexdump() is None
    assert capsys.readouterr().out == pkt.hexdump(dump=True) + "\n"
    assert wirecraft.hexdump(pkt, dump=True) == pkt.hexdump(dump=True)
    assert wirecraft.hexdump(b"\x01", dump=True) == "\t0x0000:  01" + " " * 37 + "  ."
    assert wirecraft.hexdump(b"", dump=True) == ""
    with pytest.raises(TypeError, match="cannot hexdump"):
        wirecraft.hexdump(3)
    # a frame too short for its link header: tcpdump -X prints nothing after it
    short = wirecraft.decode(b"\x01\x02\x03")
    assert short.hexdump(dump=True) == ""
    assert short.hexdump(link=True, dump=True) == "\t0x0000:  0102 03" + " " * 32 + "  ..."


# ---------------------------------------------------------------- show, decoded

SECTION = re.compile(r"^###\[ (.+) \]###$")
LINE = re.compile(r"^  (\S+) +=(?: (.*))?$")


def parse_show(text: str) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    for line in text.split("\n"):
        m = SECTION.match(line)
        if m:
            out.append((m.group(1), {}))
            continue
        m = LINE.match(line)
        assert m and out, f"not a show() line: {line!r}"
        out[-1][1][m.group(1)] = m.group(2) or ""
    return out


def _titles() -> dict[str, proto.Protocol]:
    return {(p.craft or p.title): p for p in proto.PROTOCOLS}


@pytest.mark.parametrize("path", capture_files(), ids=lambda p: p.name)
def test_show_lists_catalogue_fields_of_the_layers_present(path: Path) -> None:
    titles = _titles()
    for i, pkt in enumerate(wirecraft.read(path)):
        if i >= 40:
            break
        sections = parse_show(pkt.show(dump=True))
        assert sections
        for title, rows in sections:
            if title == "Frame":
                continue
            p = titles[title]
            assert rows, title
            for name in rows:
                assert proto.PROTOCOL_OF[name] is p, (title, name)
                assert wirecraft.proto.value(pkt, name) is not None
                if pkt.inner is None:
                    # (an IP-in-IP packet shows the inner packet's fields after its own)
                    assert rows[name] == wirecraft.present._shown(
                        proto.FIELDS[name], wirecraft.proto.value(pkt, name))
        shown = {t for t, _ in sections}
        assert ("TCP" in shown) == (pkt.tcp is not None or (
            pkt.inner is not None and pkt.inner.tcp is not None))
        assert ("UDP" in shown) == (pkt.udp is not None or (
            pkt.inner is not None and pkt.inner.udp is not None))
        assert ("DNS" in shown) == (pkt.dns is not None or (
            pkt.inner is not None and pkt.inner.dns is not None))


# fields tshark prints as plain numbers or addresses, the same way show() does
TSHARK_SAME = ["eth.src", "eth.dst", "ip.src", "ip.dst", "ip.ttl", "ip.id", "ip.len",
               "ip.checksum", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw",
               "tcp.window_size_value", "tcp.checksum", "tcp.hdr_len", "tcp.flags", "udp.srcport",
               "udp.dstport", "udp.length", "dns.id", "dns.qry.name"]


@pytest.mark.parametrize("name", ["zeek__smtp.pcap", "zeek__dns__mdns.pcap",
                                  "tcpdump__dns_tcp.pcap"])
def test_show_values_agree_with_tshark(name: str) -> None:
    path = CAPTURES / name
    rows = tshark_fields(path, TSHARK_SAME)
    pkts = list(wirecraft.read(path))
    assert len(rows) == len(pkts)
    checked = 0
    for pkt, row in zip(pkts[:60], rows[:60], strict=False):
        shown: dict[str, str] = {}
        for _title, fields in parse_show(pkt.show(dump=True)):
            for k, v in fields.items():
                shown.setdefault(k, v)
        for field, theirs in zip(TSHARK_SAME, row, strict=True):
            if not theirs or "," in theirs:
                continue   # absent, or repeated (tunnels, several questions)
            if getattr(pkt, field.split(".")[0]) is None:
                # tshark also decodes what wirecraft's views leave to other objects: the
                # packet an ICMP error quotes, DNS over TCP (wirecraft.dns over streams)
                continue
            assert field in shown, (field, pkt.index)
            ours = shown[field]
            if theirs.startswith("0x"):
                assert int(ours, 0) == int(theirs, 16), (field, pkt.index)
            else:
                assert ours == theirs, (field, pkt.index)
            checked += 1
    assert checked > 100


def test_show_prints_or_returns(capsys: pytest.CaptureFixture[str]) -> None:
    pkt = next(iter(wirecraft.read(CAPTURES / "zeek__smtp.pcap")))
    assert pkt.show() is None
    printed = capsys.readouterr().out
    text = pkt.show(dump=True)
    assert printed == text + "\n"
    lines = text.split("\n")
    assert lines[0] == "###[ Ethernet ]###"
    assert any(re.fullmatch(rf"  eth\.src += {pkt.eth.src}", x) for x in lines)
    assert [x for x in lines if x.startswith("###")] == [
        "###[ Ethernet ]###", "###[ IPv4 ]###", "###[ UDP ]###", "###[ DNS ]###"]
    assert "  dns.qry.name           = mail.patriots.in" in lines
    assert any(re.fullmatch(r"  ip\.checksum += 0x[0-9a-f]{4}", x) for x in lines)


# ---------------------------------------------------------------- show, summary: crafted

def test_crafted_show_prints_or_returns(capsys: pytest.CaptureFixture[str]) -> None:
    pkt = Ethernet(src="02:00:00:00:00:01") / IPv4(dst="10.0.0.2") / UDP(dst_port=53) / b"x"
    assert pkt.show() is None
    printed = capsys.readouterr().out
    text = pkt.show(dump=True)
    assert printed == text + "\n"
    headers = [x for x in text.split("\n") if x.startswith("###")]
    assert headers == ["###[ Ethernet ]###", "###[ IPv4 ]###", "###[ UDP ]###", "###[ Raw ]###"]
    assert re.search(r"^  src += 127\.0\.0\.1$", text, re.M)          # the build default
    assert re.search(r"^  length += 9  \(auto\)$", text, re.M)        # derived, marked
    # every field of every layer, in declaration order
    names = [m.group(1) for m in re.finditer(r"^  (\w+) +=", text, re.M)]
    assert names == [n for layer in pkt.layers() for n, _ in layer.fields]


def test_summary_on_both() -> None:
    crafted = Ethernet() / IPv4(src="10.0.0.1", dst="10.0.0.2") / TCP(src_port=1, dst_port=2)
    assert crafted.summary() == ("Ethernet 00:00:00:00:00:00 > ff:ff:ff:ff:ff:ff type=0x0800 / "
                                 "IPv4 10.0.0.1 > 10.0.0.2 ttl=64 / TCP 1 > 2 [S] seq=0 ack=0")
    decoded = wirecraft.decode(bytes(crafted))
    assert decoded.summary() == ("IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 0, win 8192, "
                                 "length 0")


# ---------------------------------------------------------------- ls and Layer.fields

def test_layer_fields_name_type_default() -> None:
    specs = IPv4.fields
    assert all(isinstance(s, FieldSpec) for s in specs)
    by_name = {s.name: s for s in specs}
    assert by_name["src"].type == "FT_IPv4" and by_name["src"].default == "127.0.0.1"
    assert by_name["ttl"].type == "FT_UINT8" and by_name["ttl"].default == 64
    assert by_name["checksum"].auto and by_name["checksum"].type == "FT_UINT16"
    assert {s.name: s.type for s in Ethernet.fields}["dst"] == "FT_ETHER"
    assert {s.name: s.type for s in TCP.fields}["options"] == "FT_BYTES"
    assert {s.name: s.type for s in SLL2.fields}["interface_index"].startswith("FT_")
    # still (name, default) pairs for code that unpacks them
    assert [(n, d) for n, d in UDP.fields] == [("src_port", AUTO), ("dst_port", AUTO),
                                               ("length", AUTO), ("checksum", AUTO)]
    assert Raw.fields[0] == ("load", b"")


@pytest.mark.parametrize("cls", [Ethernet, Dot1Q, ARP, IPv4, IPv6, TCP, UDP, ICMP, ICMPv6, DNS,
                                 SLL2, Raw])
def test_field_types_come_from_the_catalogue(cls: type) -> None:
    from wirecraft.craft.layers import protocol_name
    name = protocol_name(cls)
    mapped = {f.craft: f.type for f in (proto.fields(name) if name else []) if f.craft}
    for spec in cls.fields:
        assert spec.type, spec
        if spec.name in mapped:
            # the first catalogue row naming the crafting field gives its type
            assert spec.type in {f.type for f in proto.fields(name) if f.craft == spec.name}


def test_ls(capsys: pytest.CaptureFixture[str]) -> None:
    text = wirecraft.ls(IPv4, dump=True)
    lines = text.split("\n")
    assert len(lines) == len(IPv4.fields)
    assert re.fullmatch(r"ttl +: FT_UINT8 += 64", lines[7])
    assert re.search(r"^checksum +: FT_UINT16 += AUTO$", text, re.M)
    assert re.search(r"^src +: FT_IPv4 += '127\.0\.0\.1'$", text, re.M)
    assert wirecraft.ls(TCP) is None
    assert capsys.readouterr().out == wirecraft.ls(TCP, dump=True) + "\n"
    # on a layer: the values it holds where they differ from the defaults
    inst = wirecraft.ls(IPv4(ttl=3, dst="10.0.0.1"), dump=True)
    assert re.search(r"^ttl +: FT_UINT8 += 64  \(now 3\)$", inst, re.M)
    assert re.search(r"^dst .*\(now '10\.0\.0\.1'\)$", inst, re.M)
    assert not re.search(r"^src .*now", inst, re.M)
    with pytest.raises(TypeError, match="ls\\(\\) takes"):
        wirecraft.ls(int)


# ---------------------------------------------------------------- any bytes

SEED = bytes(Ethernet() / Dot1Q(id=3) / IPv4(src="10.0.0.1", dst="10.0.0.2") / UDP()
             / DNS.query("example.com", "MX", id=3))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0, 1, 101, 113, 276, 228, 229]), st.binary(max_size=120),
       st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), max_size=5),
       st.integers(0, len(SEED)))
def test_show_and_hexdump_take_any_frame(linktype: int, data: bytes,
                                         edits: list[tuple[int, int]], cut: int) -> None:
    mutated = bytearray(SEED)
    for pos, value in edits:
        mutated[pos] = value
    for frame, lt in ((data, linktype), (bytes(mutated[:cut]), 1)):
        pkt = wirecraft.decode(frame, lt)
        for _title, rows in parse_show(pkt.show(dump=True)):
            assert all(name in proto.FIELDS for name in rows)
        whole = pkt.hexdump(link=True, dump=True)
        assert whole.count("\n") + 1 == -(-len(frame) // 16) or (whole == "" and not frame)
        tail = pkt.hexdump(dump=True)
        assert len(tail) <= len(whole)
