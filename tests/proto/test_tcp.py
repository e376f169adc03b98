"""TCP (RFC 9293; options RFC 7323, RFC 2018): annotated vectors, decode, craft, round trip,
catalogue names against tshark.

The frames are Ethernet / IPv4 / TCP, built by hand from the RFC layouts (checksums
computed over the pseudo-header); the comment above each is what `tcpdump -nn -v -t -S`
prints for it.
"""

from __future__ import annotations

import pytest

from wirecraft._core import TCPView
from wirecraft.craft import TCP, Ethernet, IPv4, Raw

from .vectors import (
    Vector,
    assert_layer_matches,
    assert_view,
    catalogue,
    check_fields_against_tshark,
    check_tcpdump_lines,
    check_value_reads_view,
    ids,
)

A, B = "192.0.2.1", "198.51.100.2"
MAC_A, MAC_B = "02:00:00:00:00:01", "02:00:00:00:00:02"

# ---------------------------------------------------------------- vectors

# IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60) 192.0.2.1.49152 > 198.51.100.2.80: Flags [S], cksum 0x581b (correct), seq 16909060, win 64240, options [mss 1460,sackOK,TS val 287454020 ecr 0,nop,wscale 7], length 0
SYN = Vector("syn", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet 02:00:00:00:00:01 > 02:00:00:00:00:02, IPv4
    4500 003c 0001 4000 4006 4e84 c000 0201   # IPv4 192.0.2.1 > 198.51.100.2, TCP, DF
    c633 6402
    c000 0050 0102 0304 0000 0000 a002 faf0   # TCP 49152 > 80 seq 0x01020304, doff 10, SYN, win 64240
    581b 0000                                 #   checksum, urgent 0
    0204 05b4 0402 080a 1122 3344 0000 0000   #   mss 1460, sackOK, TS 0x11223344/0
    0103 0307                                 #   nop, wscale 7
""")

# IP (tos 0x0, ttl 57, id 0, offset 0, flags [DF], proto TCP (6), length 52) 198.51.100.2.80 > 192.0.2.1.49152: Flags [S.], cksum 0x5d34 (correct), seq 2695938256, ack 16909061, win 65535, options [mss 1400,nop,nop,sackOK,nop,wscale 0], length 0
SYN_ACK = Vector("syn_ack", """
    0200 0000 0001 0200 0000 0002 0800        # Ethernet 02:00:00:00:00:02 > 02:00:00:00:00:01, IPv4
    4500 0034 0000 4000 3906 558d c633 6402   # IPv4 198.51.100.2 > 192.0.2.1, TCP, DF, ttl 57
    c000 0201
    0050 c000 a0b0 c0d0 0102 0305 8012 ffff   # TCP 80 > 49152, doff 8, SYN ACK, win 65535
    5d34 0000                                 #   checksum, urgent 0
    0204 0578 0101 0402 0103 0300             #   mss 1400, nop, nop, sackOK, nop, wscale 0
""")

# IP (tos 0x0, ttl 64, id 2, offset 0, flags [DF], proto TCP (6), length 45) 192.0.2.1.49152 > 198.51.100.2.80: Flags [P.], cksum 0x57ee (correct), seq 16909061:16909066, ack 2695938257, win 502, length 5: HTTP
PSH_ACK = Vector("psh_ack", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 002d 0002 4000 4006 4e92 c000 0201   # IPv4 192.0.2.1 > 198.51.100.2, TCP, DF
    c633 6402
    c000 0050 0102 0305 a0b0 c0d1 5018 01f6   # TCP 49152 > 80, doff 5, PSH ACK, win 502
    57ee 0000                                 #   checksum, urgent 0
    6865 6c6c 6f                              # payload "hello"
""")

# IP (tos 0x0, ttl 64, id 3, offset 0, flags [none], proto TCP (6), length 40) 192.0.2.1.1 > 198.51.100.2.2: Flags [FSRP.UEW], cksum 0x2177 (correct), seq 4294967295, ack 2147483648, win 0, urg 4660, length 0
ALL_FLAGS = Vector("all_flags", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0028 0003 0000 4006 8e96 c000 0201   # IPv4, no DF
    c633 6402
    0001 0002 ffff ffff 8000 0000 5fff 0000   # TCP 1 > 2, doff 5, all 12 flag bits (reserved, AE,
    2177 1234                                 #   CWR ... FIN), win 0; checksum, urgent 0x1234
""")

# IP (tos 0x0, ttl 64, id 4, offset 0, flags [DF], proto TCP (6), length 68) 192.0.2.1.25 > 198.51.100.2.40000: Flags [.], cksum 0xdb1d (correct), ack 200, win 1000, options [nop,nop,sack 2 {1000:2000}{3000:4000},exp-abcd,eol], length 0
SACK = Vector("sack_unknown_eol", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0044 0004 4000 4006 4e79 c000 0201   # IPv4, DF
    c633 6402
    0019 9c40 0000 0064 0000 00c8 c010 03e8   # TCP 25 > 40000, doff 12, ACK, win 1000
    db1d 0000                                 #   checksum, urgent 0
    0101 0512 0000 03e8 0000 07d0 0000 0bb8   #   nop, nop, SACK {1000:2000}{3000:4000}
    0000 0fa0 fe04 abcd 0000 0000             #   kind 254 (experimental) abcd, eol, padding
""")

# IP (tos 0x0, ttl 64, id 5, offset 0, flags [DF], proto TCP (6), length 48) 192.0.2.1.53 > 198.51.100.2.53: Flags [.], cksum 0xa21f (correct), ack 2, win 1, options [nop,[bad opt]]
OPT_LEN_ZERO = Vector("option_length_zero", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0030 0005 4000 4006 4e8c c000 0201   # IPv4, DF
    c633 6402
    0035 0035 0000 0001 0000 0002 7010 0001   # TCP 53 > 53, doff 7, ACK, win 1
    a21f 0000                                 #   checksum, urgent 0
    0108 0000 0000 0000                       #   nop, timestamp with length 0 (malformed)
""")

# IP (tos 0x0, ttl 64, id 6, offset 0, flags [DF], proto TCP (6), length 44) 192.0.2.1.1234 > 198.51.100.2.5678: Flags [.], cksum 0x958a (correct), ack 2, win 1, options [nop,nop,[bad opt]]
OPT_PAST_HEADER = Vector("option_past_header", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 002c 0006 4000 4006 4e8f c000 0201   # IPv4, DF
    c633 6402
    04d2 162e 0000 0001 0000 0002 6010 0001   # TCP 1234 > 5678, doff 6, ACK, win 1
    958a 0000                                 #   checksum, urgent 0
    0101 020a                                 #   nop, nop, mss of length 10 (runs past the header)
""")

# IP (tos 0x0, ttl 64, id 7, offset 0, flags [DF], proto TCP (6), length 40) 192.0.2.1.1234 > 198.51.100.2.80:  tcp 4 [bad hdr length 16 - too short, < 20]
DOFF_4 = Vector("doff_below_5", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0028 0007 4000 4006 4e92 c000 0201   # IPv4, DF
    c633 6402
    04d2 0050 0000 0007 0000 0008 4010 0200   # TCP 1234 > 80, doff 4 (16 bytes: too short)
    cc6c 0000
""")

# IP (tos 0x0, ttl 64, id 8, offset 0, flags [DF], proto TCP (6), length 44) 192.0.2.1.1234 > 198.51.100.2.80: Flags [.] [bad hdr length 60 - too long, > 24]
DOFF_15 = Vector("doff_beyond_segment", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 002c 0008 4000 4006 4e8d c000 0201   # IPv4 (total length 44: 24 bytes of TCP)
    c633 6402
    04d2 0050 0000 0007 0000 0008 f010 0200   # TCP doff 15 (60 bytes) in a 24-byte segment
    1a66 0000 0101 0101                       #   checksum, urgent 0, nop x4
""")

# IP (tos 0x0, ttl 64, id 9, offset 0, flags [DF], proto TCP (6), length 40) 192.0.2.1.1234 > 198.51.100.2.80: Flags [F.], cksum 0xbeef (incorrect -> 0xbc6b), seq 7, ack 8, win 512, length 0
BAD_CHECKSUM = Vector("bad_checksum", """
    0200 0000 0002 0200 0000 0001 0800        # Ethernet, IPv4
    4500 0028 0009 4000 4006 4e90 c000 0201   # IPv4, DF
    c633 6402
    04d2 0050 0000 0007 0000 0008 5011 0200   # TCP 1234 > 80, FIN ACK
    beef 0000                                 #   checksum 0xbeef (wrong; 0xcc6b is right)
""")

VECTORS = [SYN, SYN_ACK, PSH_ACK, ALL_FLAGS, SACK, OPT_LEN_ZERO, OPT_PAST_HEADER, DOFF_4,
           DOFF_15, BAD_CHECKSUM]

SYN_OPTIONS = bytes.fromhex("020405b4 0402 080a 11223344 00000000 01 030307".replace(" ", ""))

# ---------------------------------------------------------------- expected decodes

# every TCPView field, per vector
VIEW: dict[str, dict] = {
    "syn": dict(src_port=49152, dst_port=80, seq=0x01020304, ack=0, flags=0x002, flags_str="S",
                window=64240, header_length=40, urgent=0, checksum=0x581B,
                options_bytes=SYN_OPTIONS,
                options=[("mss", 1460), ("sack_permitted", True), ("timestamp", (0x11223344, 0)),
                         ("nop", None), ("wscale", 7)]),
    "syn_ack": dict(src_port=80, dst_port=49152, seq=0xA0B0C0D0, ack=0x01020305, flags=0x012,
                    flags_str="S.", window=65535, header_length=32, urgent=0, checksum=0x5D34,
                    options_bytes=bytes.fromhex("020405780101040201030300"),
                    options=[("mss", 1400), ("nop", None), ("nop", None),
                             ("sack_permitted", True), ("nop", None), ("wscale", 0)]),
    "psh_ack": dict(src_port=49152, dst_port=80, seq=0x01020305, ack=0xA0B0C0D1, flags=0x018,
                    flags_str="P.", window=502, header_length=20, urgent=0, checksum=0x57EE,
                    options_bytes=b"", options=[]),
    # the view keeps all 12 bits; tcpdump's letters exist for the 9 named ones (AE is N)
    "all_flags": dict(src_port=1, dst_port=2, seq=0xFFFFFFFF, ack=0x80000000, flags=0xFFF,
                      flags_str="FSRP.UEWN", window=0, header_length=20, urgent=0x1234,
                      checksum=0x2177, options_bytes=b"", options=[]),
    "sack_unknown_eol": dict(
        src_port=25, dst_port=40000, seq=100, ack=200, flags=0x010, flags_str=".", window=1000,
        header_length=48, urgent=0, checksum=0xDB1D,
        options_bytes=bytes.fromhex("01010512000003e8000007d000000bb800000fa0fe04abcd00000000"),
        options=[("nop", None), ("nop", None), ("sack", [(1000, 2000), (3000, 4000)]),
                 (254, b"\xab\xcd"), ("eol", None)]),
    "option_length_zero": dict(
        src_port=53, dst_port=53, seq=1, ack=2, flags=0x010, flags_str=".", window=1,
        header_length=28, urgent=0, checksum=0xA21F,
        options_bytes=bytes.fromhex("0108000000000000"),
        options=[("nop", None), ("malformed", bytes.fromhex("08000000000000"))]),
    "option_past_header": dict(
        src_port=1234, dst_port=5678, seq=1, ack=2, flags=0x010, flags_str=".", window=1,
        header_length=24, urgent=0, checksum=0x958A, options_bytes=bytes.fromhex("0101020a"),
        options=[("nop", None), ("nop", None), ("malformed", b"\x02\x0a")]),
    # a data offset below 5 is reported as decoded (16); nothing past byte 20 is options
    "doff_below_5": dict(src_port=1234, dst_port=80, seq=7, ack=8, flags=0x010, flags_str=".",
                         window=512, header_length=16, urgent=0, checksum=0xCC6C,
                         options_bytes=b"", options=[]),
    # a header longer than the segment: the options are the bytes the segment has
    "doff_beyond_segment": dict(
        src_port=1234, dst_port=80, seq=7, ack=8, flags=0x010, flags_str=".", window=512,
        header_length=60, urgent=0, checksum=0x1A66, options_bytes=b"\x01\x01\x01\x01",
        options=[("nop", None)] * 4),
    "bad_checksum": dict(src_port=1234, dst_port=80, seq=7, ack=8, flags=0x011, flags_str="F.",
                         window=512, header_length=20, urgent=0, checksum=0xBEEF,
                         options_bytes=b"", options=[]),
}



def _flag_fields(view: dict) -> dict:
    """The view's flag-word fields derived from its 12-bit `flags` (RFC 9768: AE is 0x100,
    the 3 bits above it are reserved), for the views that have them."""
    flags = view["flags"]
    derived = {"ae": None if flags is None else bool(flags & 0x100),
               "res": None if flags is None else bool(flags & 0xE00),
               "reserved": None if flags is None else flags >> 9 & 7}
    return view | {k: v for k, v in derived.items() if hasattr(TCPView, k)}


VIEW = {name: _flag_fields(view) for name, view in VIEW.items()}

# Packet-level outcome: (stop_layer, stop_reason, problems, payload, app)
PACKET: dict[str, tuple] = {
    "syn": ("transport", None, [], b"", None),
    "syn_ack": ("transport", None, [], b"", None),
    "psh_ack": ("transport", None, [], b"hello", None),
    "all_flags": ("transport", None, [], b"", None),
    "sack_unknown_eol": ("transport", None, [], b"", "smtp"),
    "option_length_zero": ("transport", None, [], b"", "dns"),
    "option_past_header": ("transport", None, [], b"", None),
    "doff_below_5": ("transport", "bad length",
                     ["bad length at transport", "TCP data offset below 5"], b"", None),
    "doff_beyond_segment": ("transport", "bad length",
                            ["bad length at transport", "TCP header beyond segment"], b"", None),
    "bad_checksum": ("transport", None, [], b"", None),
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_decode(v: Vector) -> None:
    pkt = v.decode()
    assert_view(pkt.tcp, VIEW[v.name])
    assert (pkt.stop_layer, pkt.stop_reason, pkt.problems, pkt.payload, pkt.app) == PACKET[v.name]
    assert pkt.has("tcp") and not pkt.has("udp")
    assert pkt.ip.protocol == 6


def test_checksums() -> None:
    for v in VECTORS:
        pkt = v.decode(checksums=True)
        good = v is not BAD_CHECKSUM
        assert pkt.verify_checksums() == {"ip": True, "tcp": good}, v.name
        assert ("tcp_bad_checksum" in pkt.problems) is not good, v.name


# ---------------------------------------------------------------- a header cut at every length

# byte count of the TCP header a view field needs (the catalogue's `need`)
NEED = {"src_port": 4, "dst_port": 4, "seq": 8, "ack": 12, "flags": 14, "flags_str": 14,
        "header_length": 14, "window": 16, "checksum": 18, "urgent": 20}
# the SYN's options end at these offsets (mss, sackOK, timestamp, nop, wscale)
SYN_OPTION_ENDS = [(4, ("mss", 1460)), (6, ("sack_permitted", True)),
                   (16, ("timestamp", (0x11223344, 0))), (17, ("nop", None)), (20, ("wscale", 7))]


def _cut_options(have: int) -> list:
    """The SYN's options as a capture of `have` option bytes shows them: the whole ones,
    then the one that was cut as ('malformed', its captured bytes)."""
    out, start = [], 0
    for end, option in SYN_OPTION_ENDS:
        if end > have:
            if have > start:
                out.append(("malformed", SYN_OPTIONS[start:have]))
            break
        out.append(option)
        start = end
    return out


@pytest.mark.parametrize("have", range(0, 40))
def test_syn_cut_by_snaplen(have: int) -> None:
    """The SYN captured with a snaplen that keeps `have` bytes of its 40-byte TCP header."""
    v = Vector(f"syn_cut_{have}", SYN.hex, cut=34 + have)
    pkt = v.decode()
    assert pkt.stop_layer == "transport"
    assert pkt.stop_reason == "truncated header"
    # (from 20 bytes on the decoder also says 'TCP header beyond segment': see below)
    assert pkt.problems[:3] == ["truncated header at transport", "frame cut by snaplen",
                                "IP length beyond captured bytes"]
    assert pkt.truncated and pkt.payload == b""
    if have < 4:
        assert pkt.tcp is None and not pkt.has("tcp")
        return
    full = VIEW["syn"]
    expected = {k: (full[k] if have >= need else None) for k, need in NEED.items()}
    expected["options_bytes"] = SYN_OPTIONS[:max(have - 20, 0)]
    expected["options"] = _cut_options(have - 20) if have > 20 else []
    assert_view(pkt.tcp, _flag_fields(expected))


@pytest.mark.parametrize("have", [20, 30, 39])
def test_syn_cut_in_its_options_is_not_malformed(have: int) -> None:
    pkt = Vector(f"syn_cut_{have}", SYN.hex, cut=34 + have).decode()
    assert "TCP header beyond segment" not in pkt.problems


# ---------------------------------------------------------------- craft

def _stack(tcp: TCP, payload: bytes = b"", back: bool = False, **ip: object):
    src, dst = (B, A) if back else (A, B)
    msrc, mdst = (MAC_B, MAC_A) if back else (MAC_A, MAC_B)
    frame = Ethernet(src=msrc, dst=mdst) / IPv4(src=src, dst=dst, **ip) / tcp
    return frame / Raw(payload) if payload else frame


CRAFT = {
    "syn": lambda: _stack(TCP(src_port=49152, dst_port=80, seq=0x01020304, flags="S",
                              window=64240,
                              options=[("mss", 1460), ("sack_permitted", None),
                                       ("timestamp", (0x11223344, 0)), "nop", ("wscale", 7)]),
                          id=1, flags="DF"),
    "syn_ack": lambda: _stack(TCP(src_port=80, dst_port=49152, seq=0xA0B0C0D0, ack=0x01020305,
                                  flags="SA", window=65535,
                                  options=[("mss", 1400), "nop", "nop", ("sack_permitted", None),
                                           "nop", ("wscale", 0)]),
                              back=True, id=0, flags="DF", ttl=57),
    "psh_ack": lambda: _stack(TCP(src_port=49152, dst_port=80, seq=0x01020305, ack=0xA0B0C0D1,
                                  flags="PA", window=502), b"hello", id=2, flags="DF"),
    "all_flags": lambda: _stack(TCP(src_port=1, dst_port=2, seq=0xFFFFFFFF, ack=0x80000000,
                                    reserved=7, flags=0x1FF, window=0, urgent=0x1234), id=3),
    "sack_unknown_eol": lambda: _stack(
        TCP(src_port=25, dst_port=40000, seq=100, ack=200, flags="A", window=1000,
            options=["nop", "nop", ("sack", [(1000, 2000), (3000, 4000)]), (254, b"\xab\xcd"),
                     "eol"]), id=4, flags="DF"),
    "option_length_zero": lambda: _stack(
        TCP(src_port=53, dst_port=53, seq=1, ack=2, flags="A", window=1,
            options=bytes.fromhex("0108000000000000")), id=5, flags="DF"),
    "option_past_header": lambda: _stack(
        TCP(src_port=1234, dst_port=5678, seq=1, ack=2, flags="A", window=1,
            options=bytes.fromhex("0101020a")), id=6, flags="DF"),
    "doff_below_5": lambda: _stack(TCP(src_port=1234, dst_port=80, seq=7, ack=8, flags="A",
                                       window=512, header_length=16), id=7, flags="DF"),
    "doff_beyond_segment": lambda: _stack(
        TCP(src_port=1234, dst_port=80, seq=7, ack=8, flags="A", window=512, header_length=60,
            options=b"\x01\x01\x01\x01"), id=8, flags="DF"),
    "bad_checksum": lambda: _stack(TCP(src_port=1234, dst_port=80, seq=7, ack=8, flags="FA",
                                       window=512, checksum=0xBEEF), id=9, flags="DF"),
}


@pytest.mark.parametrize("v", VECTORS, ids=ids(VECTORS))
def test_craft(v: Vector) -> None:
    assert bytes(CRAFT[v.name]()) == v.frame


# ---------------------------------------------------------------- round trip

# Known divergences between the decoded view and the layers to_layers() builds (issue 12,
# "one decoder"); strict, so each flips to a failure the day it is fixed.
ROUND_TRIP_XFAIL = {
    "all_flags": ("the TCP layer keeps the 3 reserved bits in `reserved` and 9 bits in `flags`; "
                  "the view's (and tcp.flags') `flags` holds all 12"),
    "option_length_zero": "a malformed option list becomes raw bytes in the layer, "
                          "[('nop', None), ('malformed', ...)] in the view",
    "option_past_header": "a malformed option list becomes raw bytes in the layer, "
                          "[('nop', None), ('nop', None), ('malformed', ...)] in the view",
    "doff_below_5": "the layer built from a header with data offset 4 reports header_length 20",
    "doff_beyond_segment": "the layer built from a header longer than its segment is Raw",
}


def _round_trip_params() -> list:
    return [pytest.param(v, marks=pytest.mark.xfail(strict=True, reason=ROUND_TRIP_XFAIL[v.name]))
            if v.name in ROUND_TRIP_XFAIL else v for v in VECTORS]


@pytest.mark.parametrize("v", _round_trip_params(), ids=ids(VECTORS))
def test_round_trip(v: Vector) -> None:
    """to_layers() rebuilds the frame, and its TCP layer's fields equal the view's."""
    pkt = v.decode()
    layers = pkt.to_layers()
    assert bytes(layers) == v.frame
    tcp = layers.getlayer(TCP)
    # the options compare as lists (the catalogue's tcp.options is their raw bytes)
    assert_layer_matches(pkt, tcp, "tcp", skip=["tcp.options"])
    assert list(tcp.options) == pkt.tcp.options


# ---------------------------------------------------------------- field names

# catalogue fields whose tshark reading differs by design: name -> why
TSHARK_DIFFERS = {
    "tcp.flags.str": "the catalogue's tcp.flags.str is tcpdump's letters ('S.'); tshark's field "
                     "of that name is a 12-character dotted picture ('·······A··S·')",
}


# vectors tshark does not dissect as TCP at all, while wirecraft reads the fixed header
TSHARK_REJECTS = {"doff_below_5": "tshark stops at a data offset below 5 and shows no field"}


def test_catalogue_fields_against_tshark() -> None:
    names = [f.name for f in catalogue("tcp").fields]
    check_fields_against_tshark(VECTORS, names, TSHARK_DIFFERS, presence=["tcp.options.sack_perm"],
                                tshark_rejects=TSHARK_REJECTS)


@pytest.mark.xfail(strict=True, reason=TSHARK_DIFFERS["tcp.flags.str"])
def test_flags_str_against_tshark() -> None:
    catalogue("tcp")
    check_fields_against_tshark(VECTORS, ["tcp.flags.str"], tshark_rejects=TSHARK_REJECTS)


def test_catalogue_value_reads_the_view() -> None:
    """Each catalogue field with a view attribute reads through `value` as the view."""
    check_value_reads_view(VECTORS, "tcp")


def test_dpkt_cross_check() -> None:
    dpkt = pytest.importorskip("dpkt")
    for v in VECTORS:
        if v in (DOFF_4, DOFF_15):
            continue    # dpkt rejects these headers outright
        seg = dpkt.ethernet.Ethernet(v.frame).data.data
        view = VIEW[v.name]
        assert (seg.sport, seg.dport, seg.seq, seg.ack, seg.win, seg.sum, seg.urp) == (
            view["src_port"], view["dst_port"], view["seq"], view["ack"], view["window"],
            view["checksum"], view["urgent"]), v.name
        assert seg.off * 4 == view["header_length"] and bytes(seg.opts) == view["options_bytes"]


def test_tcpdump_lines() -> None:
    check_tcpdump_lines(__file__, VECTORS)
