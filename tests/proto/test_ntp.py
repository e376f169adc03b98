"""NTP (RFC 5905): annotated vectors, decode, craft, round trip, columns, JSON, tshark.

NTP is a payload protocol: src/wirecraft/proto/ntp.py declares its 48-byte header and
one binding row carries it on UDP port 123; every surface below comes from those rows.
The comment above each vector is what `tcpdump -nn -t` prints for it (tcpdump 4.99).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

import wirecraft
from wirecraft import proto
from wirecraft.craft import UDP, Ethernet, IPv4, Raw
from wirecraft.summary import to_json

from .vectors import Vector, pcap_bytes

A, B = "192.0.2.1", "192.0.2.2"
T0 = 1764640800.5           # 2025-12-02T02:00:00.5Z as Unix time

# IP 192.0.2.1.123 > 192.0.2.2.123: NTPv4, Client, length 48
CLIENT = Vector("client", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02
    4500 004c 0001 0000 4011 f69c c000 0201   # IPv4 192.0.2.1 > 192.0.2.2, UDP, length 76
    c000 0202
    007b 007b 0038 240a                       # UDP 123 > 123, length 56
    23 00 00 00                               # NTP: LI 0, VN 4, mode 3 (client); stratum 0
    0000 0000 0000 0000 0000 0000             # root delay, root dispersion, reference ID
    0000 0000 0000 0000                       # reference timestamp 0 (unknown)
    0000 0000 0000 0000                       # origin timestamp
    0000 0000 0000 0000                       # receive timestamp
    ecd8 c6a0 8000 0000                       # transmit 3973629600.5 (NTP era 0)
""")

# IP 192.0.2.2.123 > 192.0.2.1.123: NTPv4, Server, length 48
SERVER = Vector("server", """
    0200 0000 0001 0200 0000 0002 0800        # Ethernet 02:00:00:00:00:02 > 02:00:00:00:00:01
    4500 004c 0001 0000 4011 f69c c000 0202   # IPv4 192.0.2.2 > 192.0.2.1, UDP, length 76
    c000 0201
    007b 007b 0038 11d4                       # UDP 123 > 123, length 56
    24 02 06 e9                               # LI 0, VN 4, mode 4 (server); stratum 2; poll 6; precision -23
    0000 0123 0000 0000 4750 5300             # root delay 0x123/65536 s, dispersion 0, ref ID "GPS"
    ecd8 c63c 4000 0000                       # reference 3973629500.25
    ecd8 c6a0 8000 0000                       # origin 3973629600.5 (the client's transmit)
    ecd8 c6a0 9999 9800                       # receive 3973629600.6
    ecd8 c6a0 b333 3000                       # transmit 3973629600.7
""")

# IP 192.0.2.2.123 > 192.0.2.1.123: NTPv4, Server, length 48
SERVER_CUT = Vector("server_cut_by_snaplen", SERVER.hex, cut=42 + 20, wire_len=90)

# IP 192.0.2.1.5000 > 192.0.2.2.5001: UDP, length 48
NOT_NTP = Vector("other_port", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet
    4500 004c 0001 0000 4011 f69c c000 0201   # IPv4, UDP
    c000 0202
    1388 1389 0038 a9ef                       # UDP 5000 > 5001: no binding carries NTP here
    23 00 00 00 0000 0000 0000 0000 0000 0000 # the same bytes as the client's request
    0000 0000 0000 0000 0000 0000 0000 0000
    0000 0000 0000 0000 ecd8 c6a0 8000 0000
""")

VECTORS = [CLIENT, SERVER, SERVER_CUT, NOT_NTP]

EXPECTED = {
    "client": dict(flags=0x23, li=0, version=4, mode=3, stratum=0, poll=0, precision=0,
                   root_delay=0, root_dispersion=0, refid=b"\0\0\0\0", reftime=0.0,
                   reftime_raw=0, org=0.0, org_raw=0, rec=0.0, rec_raw=0, xmt=T0,
                   xmt_raw=0xECD8C6A080000000),
    "server": dict(flags=0x24, li=0, version=4, mode=4, stratum=2, poll=6, precision=0xE9,
                   root_delay=0x123, root_dispersion=0, refid=b"GPS\0",
                   reftime=T0 - 100.25, reftime_raw=0xECD8C63C40000000, org=T0,
                   org_raw=0xECD8C6A080000000, rec=pytest.approx(T0 + 0.1, abs=1e-6),
                   rec_raw=0xECD8C6A099999800, xmt=pytest.approx(T0 + 0.2, abs=1e-6),
                   xmt_raw=0xECD8C6A0B3333000),
}


def _attrs() -> list[str]:
    return [f.attr for f in proto.protocol("ntp").fields if f.attr]


def test_every_field_is_expected() -> None:
    assert sorted(EXPECTED["client"]) == sorted(_attrs())


@pytest.mark.parametrize("v", [CLIENT, SERVER], ids=str)
def test_decode(v: Vector) -> None:
    pkt = v.decode()
    assert pkt.stop_reason is None and pkt.problems == []
    got = {a: getattr(pkt.ntp, a) for a in _attrs()}
    assert got == EXPECTED[v.name]
    assert {a: proto.value(pkt, f"ntp.{n}") for a, n in [("stratum", "stratum"),
            ("mode", "flags.mode")]} == {"stratum": got["stratum"], "mode": got["mode"]}


def test_cut_by_the_snaplen_reads_none_for_what_was_not_captured() -> None:
    pkt = SERVER_CUT.decode()
    n = pkt.ntp
    # 20 of its 48 bytes: through the reference ID, none of the timestamps
    assert (n.mode, n.stratum, n.root_delay, n.refid) == (4, 2, 0x123, b"GPS\0")
    assert n.reftime is None and n.xmt is None and n.xmt_raw is None
    assert bytes(pkt.to_layers()) == pkt.data       # a cut layout stays Raw
    assert isinstance(pkt.to_layers().layers()[-1], Raw)


def test_not_on_a_bound_port() -> None:
    pkt = NOT_NTP.decode()
    assert pkt.udp is not None and pkt.ntp is None
    assert proto.value(pkt, "ntp.stratum") is None
    assert "ntp" not in to_json(pkt)


def _client() -> object:
    return (Ethernet(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
            / IPv4(src=A, dst=B) / UDP() / wirecraft.NTP(xmt=T0))


def test_craft() -> None:
    assert bytes(_client()) == CLIENT.frame          # UDP()'s ports from the binding: 123
    server = (Ethernet(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
              / IPv4(src=B, dst=A) / UDP()
              / wirecraft.craft.NTP(mode=4, stratum=2, poll=6, precision=0xE9,
                                    root_delay=0x123, refid=b"GPS\0",
                                    reftime=0xECD8C63C40000000, org=T0,
                                    rec=0xECD8C6A099999800, xmt=0xECD8C6A0B3333000))
    assert bytes(server) == SERVER.frame
    with pytest.raises(ValueError):
        bytes(wirecraft.NTP(stratum=256))
    with pytest.raises(ValueError):
        bytes(wirecraft.NTP(refid=b"toolong"))


@pytest.mark.parametrize("v", [CLIENT, SERVER], ids=str)
def test_round_trip(v: Vector) -> None:
    pkt = v.decode()
    layers = pkt.to_layers()
    assert bytes(layers) == pkt.data
    ntp = layers.layers()[-1]
    assert type(ntp) is wirecraft.NTP
    for f in proto.protocol("ntp").fields:
        if f.craft:
            assert getattr(ntp, f.craft) == getattr(pkt.ntp, f.attr), f.name


def _pcap(tmp_path: Path, vectors: list[Vector]) -> Path:
    path = tmp_path / "ntp.pcap"
    path.write_bytes(pcap_bytes([(v.frame, v.wire) for v in vectors], 1))
    return path


def test_columns_json_and_listing(tmp_path: Path) -> None:
    path = _pcap(tmp_path, VECTORS)
    names = ["ntp.stratum", "ntp.flags.mode", "ntp.xmt", "ntp.refid"]
    t = wirecraft.open(str(path)).table(fields=names)
    pkts = list(wirecraft.read(str(path)))
    for n in names:
        want = [proto.value(p, n) for p in pkts]
        zero = None if n == "ntp.refid" else 0
        assert list(t[n]) == [zero if w is None else w for w in want], n
    j = to_json(pkts[1])["ntp"]
    assert (j["mode"], j["stratum"], j["poll"], j["version"]) == (4, 2, 6, 4)
    assert "refid" not in j                             # bytes are no JSON value
    from click.testing import CliRunner

    from wirecraft.cli import main
    out = CliRunner().invoke(main, ["fields", "ntp"]).output
    assert "ntp.stratum\tFT_UINT8\tPeer clock stratum" in out.splitlines()


def _tshark_time(text: str) -> float:
    if text == "NULL" or not text:
        return 0.0
    stamp, frac = text.rsplit(".", 1)
    base = datetime.strptime(stamp.replace("  ", " "), "%b %d, %Y %H:%M:%S")
    return base.replace(tzinfo=UTC).timestamp() + float("0." + frac.split()[0])


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_fields_against_tshark(tmp_path: Path) -> None:
    path = _pcap(tmp_path, [CLIENT, SERVER])
    known = set(subprocess.run(["tshark", "-G", "fields"], capture_output=True,
                               text=True, check=True).stdout.split("\t"))
    fields = [f for f in proto.protocol("ntp").fields if f.name in known]
    assert len(fields) == 14                            # all but our *_raw spellings
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|",
                          *[a for f in fields for a in ("-e", f.name)]],
                         capture_output=True, text=True, check=True).stdout
    for pkt, line in zip(wirecraft.read(str(path)), out.splitlines(), strict=True):
        for f, text in zip(fields, line.split("|"), strict=True):
            ours = proto.value(pkt, f.name)
            if f.type == "FT_ABSOLUTE_TIME":
                assert ours == pytest.approx(_tshark_time(text), abs=1e-6), f.name
            elif f.type == "FT_BYTES":
                assert ours.hex() == text.replace(":", ""), f.name
            else:
                assert ours == int(text, 0), f.name


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_tcpdump_lines(tmp_path: Path) -> None:
    path = _pcap(tmp_path, [CLIENT, SERVER, NOT_NTP])
    out = subprocess.run(["tcpdump", "-nn", "-t", "-r", str(path)], capture_output=True,
                         text=True).stdout.splitlines()
    here = Path(__file__).read_text().splitlines()
    for var, line in zip(["CLIENT", "SERVER", "NOT_NTP"], out, strict=True):
        at = next(i for i, s in enumerate(here) if s.startswith(f"{var} = Vector("))
        assert here[at - 1] == f"# {line}"
