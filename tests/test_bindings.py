"""The binding table drives the decoder: its ethertype, IP protocol and port rows are
what the C decoder dispatches on (wirecraft._core fills its tables from them at import,
from a generated copy of the rows), and a number no row holds selects no decoder."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from wirecraft import _ext
from wirecraft.capture import decode, decode_many
from wirecraft.proto import PROTOCOLS
from wirecraft.proto._bind import BINDINGS, Binding
from wirecraft.table import RECORD_DTYPE

_core = _ext.load("_core")
ROOT = Path(__file__).resolve().parent.parent
L = _core.LAYER_BITS
APP = {name: code for code, name in _core.APP_NAMES.items() if name}

TABLE_OF_FIELD = {"eth.type": "ethertype", "ip.proto": "ip.proto", "ipv6.nxt": "ip.proto",
                  "udp.port": "udp.port", "tcp.port": "tcp.port"}
ETH = bytes.fromhex("020000000002020000000001")
# the rows the C decoder dispatches on: a payload protocol's rows (NTP) choose no C
# decoder (wirecraft.proto._payload reads it), so the core carries no copy of them
_PAYLOAD = {p.name for p in PROTOCOLS if p.extra.get("payload")}
# and rows for crafting only (decode=False) are not the decoder's either
_DECODER_ROWS = tuple(b for b in BINDINGS if b.decode and b.upper not in _PAYLOAD)


def ipv4(proto: int, payload: bytes) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                       bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + payload


def udp_frame(sport: int, dport: int) -> bytes:
    return ETH + b"\x08\x00" + ipv4(17, struct.pack("!HHHH", sport, dport, 12, 0) + b"abcd")


def tcp_frame(sport: int, dport: int) -> bytes:
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x18, 512, 0, 0) + b"abcd"
    return ETH + b"\x08\x00" + ipv4(6, seg)


def records(frames: list[bytes]) -> np.ndarray:
    return np.frombuffer(decode_many(frames).record_bytes(), dtype=RECORD_DTYPE)


@pytest.fixture
def rows() -> Iterator[list[Binding]]:
    """A copy of the binding rows to edit; the decoder gets the real table back after."""
    try:
        yield list(BINDINGS)
    finally:
        _core.load_bindings()


def test_tables_are_the_binding_rows() -> None:
    expected: dict[str, dict[int, str]] = {t: {} for t in set(TABLE_OF_FIELD.values())}
    for b in _DECODER_ROWS:
        if b.field in TABLE_OF_FIELD:
            for v in b.values:
                expected[TABLE_OF_FIELD[b.field]][v] = b.upper
    assert _core.dispatch_tables() == expected
    # every row on a dispatch field reached a table (none was skipped as unknown)
    assert sum(len(t) for t in expected.values()) == len(
        {(TABLE_OF_FIELD[b.field], v) for b in _DECODER_ROWS if b.field in TABLE_OF_FIELD
         for v in b.values})


def test_dns_on_5353_is_mdns_and_precedence() -> None:
    assert decode(udp_frame(40000, 5353)).app == "mdns"
    assert decode(udp_frame(5355, 40000)).app == "llmnr"
    # both ports bound: DNS over mDNS over LLMNR over SMTP, whichever side each is on
    assert decode(udp_frame(5353, 53)).app == "dns"
    assert decode(udp_frame(5355, 5353)).app == "mdns"
    assert decode(tcp_frame(25, 53)).app == "dns"
    assert decode(tcp_frame(40000, 587)).app == "smtp"
    # TCP and UDP are apart: SMTP's ports are bound for TCP only
    assert decode(udp_frame(40000, 25)).app is None


def test_a_new_row_drives_the_decoder(rows: list[Binding]) -> None:
    frame = udp_frame(40000, 5300)
    assert decode(frame).app is None
    _core.load_bindings([*rows, Binding("udp", "dns", "udp.port", (5300,))])
    assert decode(frame).app == "dns"
    assert _core.dispatch_tables()["udp.port"][5300] == "dns"


def test_a_removed_row_stops_the_decoder(rows: list[Binding]) -> None:
    frame = tcp_frame(40000, 80)
    assert decode(frame).tcp is not None
    _core.load_bindings([b for b in rows if b.upper != "tcp"])
    pkt = decode(frame)
    assert pkt.tcp is None and pkt.ip is not None
    assert (pkt.stop_layer, pkt.stop_reason) == ("network", "unsupported")
    _core.load_bindings([b for b in rows if not (b.lower == "eth" and b.upper == "ip")])
    pkt = decode(frame)
    assert pkt.ip is None and (pkt.stop_layer, pkt.stop_reason) == ("link", "unsupported")


def test_bad_rows_are_refused_and_change_nothing(rows: list[Binding]) -> None:
    before = _core.dispatch_tables()
    with pytest.raises(ValueError, match="out of range"):
        _core.load_bindings([*rows, Binding("ip", "tcp", "ip.proto", (256,))])
    with pytest.raises(ValueError, match="another protocol"):
        _core.load_bindings([*rows, Binding("udp", "mdns", "udp.port", (53,))])
    assert _core.dispatch_tables() == before


def test_nothing_dispatches_on_a_number_the_table_does_not_hold() -> None:
    tables = _core.dispatch_tables()
    # every IP protocol number: a transport layer exactly for those the table holds
    rec = records([ETH + b"\x08\x00" + ipv4(p, bytes(40)) for p in range(256)])
    transport = L["tcp"] | L["udp"] | L["icmp"] | L["icmpv6"]
    got = {p for p in range(256) if rec["layers"][p] & transport}
    assert got == set(tables["ip.proto"])
    for p, name in tables["ip.proto"].items():
        assert rec["layers"][p] & L[name], (p, name)
    # every ethertype (above the 802.3 length range): decoding goes past the link layer
    # exactly when the type is bound (an IPv6 type over these IPv4 bytes stops in the
    # network layer: bad version)
    s_link = {name: code for code, name in _core.STOP_LAYERS.items()}["link"]
    types = range(1501, 65536)
    rec = records([ETH + struct.pack("!H", t) + ipv4(17, bytes(40)) for t in types])
    got = {t for t, st in zip(types, rec["stop_layer"], strict=True) if st != s_link}
    assert got == set(tables["ethertype"])
    # every port, with an unbound one on the other side: a hint exactly when bound
    for name, make in (("udp.port", udp_frame), ("tcp.port", tcp_frame)):
        apps = records([make(1, port) for port in range(65536)])["app"]
        assert {int(p) for p in np.flatnonzero(apps)} == set(tables[name]), name
        for port, upper in tables[name].items():
            assert apps[port] == APP[upper], (name, port)


def test_the_compiled_rows_are_the_binding_table() -> None:
    # the core carries a generated copy of the rows (tools/gen_bindings.py)
    assert _core.BINDING_ROWS == tuple((b.lower, b.upper, b.field, b.values)
                                       for b in _DECODER_ROWS)
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_bindings.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_fresh_process_decodes_by_the_table_without_importing_the_catalogue() -> None:
    code = ("import sys; from wirecraft.capture import decode; "
            f"print(decode({udp_frame(40000, 5353)!r}).app, 'wirecraft.proto' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ), check=True, timeout=60)
    assert out.stdout.split() == ["mdns", "False"]
