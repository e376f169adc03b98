"""The surfaces derived from the field catalogue: `wirecraft.proto.value`, Table columns by
dotted name, `read --json` keys, `wirecraft fields`; and the catalogue against tshark
(same type family for the names both have, same values on real captures)."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import wirecraft
from wirecraft import proto as P
from wirecraft.cli import main
from wirecraft.summary import to_json

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark not installed")

# captures with Ethernet, VLAN, SLL v2, ARP, IPv4 (options, fragments), IPv6 with
# hop-by-hop, routing, fragment and destination headers, TCP options, UDP, ICMP, ICMPv6 ND
CROSS_CHECKED = [
    "tcpdump__tcp-handshake-nano.pcap", "zeek__icmp_dot1q.pcap", "zeek__ipv4__fragmented-1.pcap",
    "zeek__ipv6-fragmented-dns.pcap", "zeek__linux_dlt_sll2.pcap", "tcpdump__icmpv6.pcap",
    "libpcap__ipv6_ext_headers.pcap", "pcapyng__96pings.pcap", "zeek__http-vlan-0.pcap",
    "tcpdump__ipv6-routing-header.pcap", "zeek__pcapng-multi-interface.pcapng",
    "dpkt__dns_icmp.pcap",
]

# type families: tshark's FT_* grouped by the kind of value they hold
_FAMILY = {"FT_BOOLEAN": "bool", "FT_ETHER": "ether", "FT_IPv4": "ipv4", "FT_IPv6": "ipv6",
           "FT_BYTES": "bytes", "FT_STRING": "string", "FT_NONE": "none",
           "FT_ABSOLUTE_TIME": "time", "FT_RELATIVE_TIME": "time", "FT_DOUBLE": "float"}


def family(ft: str) -> str:
    if ft.startswith(("FT_UINT", "FT_INT", "FT_FRAMENUM")):
        return "int"
    return _FAMILY.get(ft, ft)


@cache
def tshark_fields() -> dict[str, str]:
    """tshark's field names -> their FT_* type (`tshark -G fields`)."""
    assert TSHARK is not None
    out = subprocess.run([TSHARK, "-G", "fields"], capture_output=True, text=True,
                         check=True).stdout
    names = {}
    for line in out.splitlines():
        cols = line.split("\t")
        if cols[0] == "F" and len(cols) > 3:
            names[cols[2]] = cols[3]
    return names


def shared_names() -> list[str]:
    return [n for n in P.FIELDS if n in tshark_fields()]


@needs_tshark
def test_names_shared_with_tshark_have_its_type_family() -> None:
    tshark = tshark_fields()
    names = shared_names()
    assert len(names) > 100        # most of the catalogue uses tshark's names
    wrong = {n: (P.FIELDS[n].type, tshark[n]) for n in names
             if family(P.FIELDS[n].type) != family(tshark[n])}
    assert wrong == {}


def _normal(text: str, ours: Any) -> Any:
    """A tshark -T fields value (first occurrence) in the type of ours."""
    if text == "":
        return None
    text = text.split(",")[0]
    if text == "<Root>":
        return "."     # tshark's rendering of the DNS root name, wirecraft's presentation
    if isinstance(ours, bool):
        return text in ("1", "True")
    if isinstance(ours, int):
        return int(text, 0)
    if isinstance(ours, float):
        return float(text)
    if isinstance(ours, bytes):
        return bytes.fromhex(text.replace(":", ""))
    return text


def _ours(pkt: Any, name: str) -> Any:
    v = P.value(pkt, name)
    if isinstance(v, list):     # multi-valued (ipv6.ext_headers): tshark's first
        return v[0] if v else None
    return v


# tshark leaves these absent where wirecraft has a value, by design of either side
_ONLY_PCAPNG = {"frame.interface_id"}   # tshark shows an interface id for pcapng only


@needs_tshark
@pytest.mark.parametrize("capture", CROSS_CHECKED)
def test_values_equal_tsharks(capture: str) -> None:
    path = CAPTURES / capture
    names = [n for n in shared_names()
             if not (n in _ONLY_PCAPNG and path.suffix != ".pcapng")]
    cmd = [TSHARK, "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f"]
    for n in names:
        cmd += ["-e", n]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    packets = list(wirecraft.open(str(path)))
    assert len(lines) == len(packets)
    compared = 0
    mismatches = []
    for pkt, line in zip(packets, lines, strict=True):
        for name, text in zip(names, line.split("\t"), strict=True):
            # tshark reassembles IP fragments and decodes the transport (and what it
            # carries) in the last one; wirecraft reads no payload protocol (NTP) from a
            # fragment at all
            if pkt.has("fragment") and (
                    name.split(".")[0] in ("tcp", "udp", "icmp", "icmpv6", "dns", "smtp")
                    or P.PROTOCOL_OF[name].extra.get("payload")):
                continue
            ours = _ours(pkt, name)
            theirs = _normal(text, ours)
            if isinstance(ours, float) and theirs is not None:
                same = abs(ours - theirs) < 1e-6
            else:
                same = ours == theirs
            if not same:
                mismatches.append((pkt.index, name, ours, text))
            compared += ours is not None
    assert mismatches == []
    assert compared > 10 * len(packets)


def _capture_packets() -> list[Any]:
    out = []
    for name in CROSS_CHECKED:
        out.extend(wirecraft.open(str(CAPTURES / name)))
    return out


def test_value_reads_views_slots_hooks_and_positions() -> None:
    syn = next(iter(wirecraft.open(str(CAPTURES / "tcpdump__tcp-handshake-nano.pcap"))))
    assert P.value(syn, "tcp.srcport") == syn.tcp.src_port
    assert P.value(syn, "tcp.flags.syn") is True and P.value(syn, "tcp.flags.ack") is False
    assert P.value(syn, "tcp.options.mss_val") == dict(syn.tcp.options)["mss"]
    assert P.value(syn, "ip.flags.df") is syn.ip.df
    assert P.value(syn, "ip.flags.rb") is False
    assert P.value(syn, "frame.number") == syn.index + 1
    # absent protocols and unknown names
    assert P.value(syn, "udp.srcport") is None and P.value(syn, "arp.opcode") is None
    with pytest.raises(KeyError):
        P.value(syn, "tcp.nonexistent")
    arp = [p for p in wirecraft.open(str(CAPTURES / "zeek__icmp_dot1q.pcap")) if p.arp][0]
    assert P.value(arp, "arp.hw.type") == 1 and P.value(arp, "arp.proto.size") == 4
    assert P.value(arp, "eth.type") == 0x8100 and P.value(arp, "eth.ethertype") == 0x0806
    assert P.value(arp, "vlan.etype") == 0x0806 and P.value(arp, "vlan.id") == arp.vlan[0].id


def _column_value(field: P.Field, v: Any) -> Any:
    """A value() result as the Table column holds it."""
    if field.type == "FT_IPv4" and field.getter in ("ip", "ipv4u32"):
        return int(ipaddress.IPv4Address(v))
    if field.type == "FT_IPv6":
        return ipaddress.IPv6Address(v).packed
    if field.getter == "mac":
        return int(v.replace(":", ""), 16)
    return v


def test_table_columns_by_dotted_name_equal_per_packet_values() -> None:
    from wirecraft.table import DOTTED
    for name in CROSS_CHECKED:
        path = str(CAPTURES / name)
        table = wirecraft.open(path).table()
        packets = list(wirecraft.open(path))
        for dotted in DOTTED:
            f = P.FIELDS[dotted]
            col = table[dotted]
            for i, pkt in enumerate(packets):
                v = P.value(pkt, dotted)
                cell = col[i].tobytes() if col.dtype.kind == "V" else col[i].item()
                if v is None or (f.getter == "custom" and not isinstance(v, int)):
                    proto = P.PROTOCOL_OF[dotted]
                    if proto.layer_bit and not pkt.has(proto.layer_bit):
                        assert (not any(bytes(cell)) if isinstance(cell, bytes) else not cell), (
                            name, i, dotted, cell)
                    continue
                assert cell == _column_value(f, v), (name, i, dotted)


def test_table_old_column_names_and_dotted_names() -> None:
    table = wirecraft.open(str(CAPTURES / "tcpdump__tcp-handshake-nano.pcap")).table()
    assert (table["tcp.srcport"] == table["tcp_src_port"]).all()
    assert "tcp.srcport" in table and "tcp_src_port" in table.columns
    assert table["tcp.flags.syn"].dtype == np.bool_
    assert int(table["tcp.flags.syn"].sum()) == 2     # SYN and SYN-ACK
    with pytest.raises(KeyError, match="no record slot"):
        table["tcp.options.mss_val"]


def test_json_keys_are_the_catalogues() -> None:
    """Every key of a layer's `read --json` object is a catalogue field's json key."""
    declared: dict[str, set[str]] = {}
    for p in P.PROTOCOLS:
        for f in p.fields:
            if f.json is not None:
                declared.setdefault(p.json or "", set()).add(f.json)
    for pkt in _capture_packets():
        out = to_json(pkt)
        for key, obj in out.items():
            if isinstance(obj, dict):
                assert set(obj) <= declared[key], key
            elif isinstance(obj, list) and obj and isinstance(obj[0], dict):
                assert set(obj[0]) <= declared[key], key
            else:
                assert key in declared[""], key


def test_fields_command_lists_the_catalogue() -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["fields"])
    assert res.exit_code == 0
    rows = [line.split("\t") for line in res.output.splitlines()]
    assert all(len(r) == 3 for r in rows)
    names = {r[0] for r in rows}
    assert names == set(P.FIELDS)
    assert ["tcp.srcport", "FT_UINT16", "Source port"] in rows
    tcp = runner.invoke(main, ["fields", "tcp"])
    assert tcp.exit_code == 0
    assert {line.split("\t")[0].split(".")[0] for line in tcp.output.splitlines()} == {"tcp"}
    v6 = runner.invoke(main, ["fields", "ipv6"]).output
    assert "ipv6.fraghdr.nxt\t" in v6 and "\nip.src\t" not in v6
    bad = runner.invoke(main, ["fields", "nosuch"])
    assert bad.exit_code == 2


def test_tcp_ae_and_reserved_bits_on_every_surface(tmp_path: Path) -> None:
    """TCP's AE flag (tcp.flags.ae, formerly tcp.flags.ns) and reserved bits, declared
    once in proto/tcp.py, reach the view, Table columns, JSON, value() and the listing."""
    from wirecraft.craft import TCP, Ethernet, IPv4
    frames = [bytes(Ethernet() / IPv4() / TCP(flags=0x112, reserved=5)),   # SYN ACK AE, 101
              bytes(Ethernet() / IPv4() / TCP(flags=0x002))]
    pkt = wirecraft.decode(frames[0])
    assert pkt.tcp.flags == 0xB12
    assert pkt.tcp.ae is True and pkt.tcp.res is True and pkt.tcp.reserved == 5
    plain = wirecraft.decode(frames[1]).tcp
    assert (plain.ae, plain.res, plain.reserved) == (False, False, 0)
    assert to_json(pkt)["tcp"]["ae"] is True and to_json(pkt)["tcp"]["reserved"] == 5
    for name, want in (("tcp.flags.ae", True), ("tcp.flags.ns", True), ("tcp.flags.res", True),
                       ("tcp.flags.reserved", 5)):
        assert P.value(pkt, name) == want, name
    from wirecraft.capture import decode_many
    from wirecraft.table import Table
    table = Table.from_batches([decode_many(frames)])
    assert table["tcp_flags_ae"].tolist() == [True, False]
    assert table["tcp_flags_reserved"].tolist() == [5, 0]
    assert table["tcp.flags.res"].tolist() == [True, False]
    assert {"tcp_flags_ae", "tcp_flags_res", "tcp_flags_reserved"} <= set(table.columns)
    listing = CliRunner().invoke(main, ["fields", "tcp"]).output
    assert "tcp.flags.ae\tFT_BOOLEAN\t" in listing and "tcp.flags.ns\tFT_BOOLEAN\t" in listing
    assert "tcp.flags.res\tFT_BOOLEAN\t" in listing
    if TSHARK is not None:
        path = tmp_path / "ae.pcap"
        with wirecraft.PcapWriter(str(path)) as w:
            for f in frames:
                w.write(f, 0)
        out = subprocess.run([TSHARK, "-r", str(path), "-T", "fields", "-e", "tcp.flags.ae",
                              "-e", "tcp.flags.res"], capture_output=True, text=True,
                             check=True).stdout.split()
        assert [_normal(v, True) for v in out] == [True, True, False, False]
