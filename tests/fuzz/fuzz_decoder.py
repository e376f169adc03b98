"""Fuzz target: bytes as one frame of any link type through the L2-L4 decoder.

Input: one byte picks the link type, one byte the options (checksum verification,
whether to read the catalogue, a wire length longer than the capture), the rest is the
frame. Every view attribute is
read, every field of the catalogue by its dotted name (`wirecraft.proto.value`),
the summary line, JSON and the checksums; the bounds invariant holds
(tests/decodecheck.py); `to_layers()` gives bytes equal to the frame, and a frame that
decodes cleanly keeps every decoded layer in it (not a fallback to Raw). Any exception
is a bug.
"""

from __future__ import annotations

from decodecheck import check_bounds
from fuzzkit import Input, Output, capture_packets, distinct

import wirecraft
from wirecraft import proto, summary

# Ethernet, BSD null, raw (12, 101, 228, 229), loopback, Linux cooked v1/v2, a user type
LINKTYPES = (1, 0, 12, 101, 108, 113, 228, 229, 276, 147)
VIEWS = ("eth", "sll", "arp", "ip", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6")
L4 = ("tcp", "udp", "icmp", "icmpv6")
_NAMES: list[str] = []


def field_names() -> list[str]:
    """Every public name of the catalogue (aliases too), in declaration order."""
    if not _NAMES:
        _NAMES.extend(n for f in proto.fields() for n in (f.name, *f.aliases))
    return _NAMES


def touch(pkt: wirecraft.Packet, catalogue: bool = True) -> None:
    """Read everything a user can read of a packet (every catalogue field by name too,
    unless `catalogue` is False: most of an input's time in the normal build)."""
    check_bounds(pkt)
    pkt.summary()
    summary.to_json(pkt)
    _ = (pkt.problems, pkt.payload, pkt.vlan, pkt.app, pkt.stop_layer, pkt.stop_reason,
         pkt.truncated, pkt.inner, pkt.time, pkt.comment)
    for name in VIEWS:
        view = getattr(pkt, name)
        if view is None:
            continue
        for attr in dir(view):
            if attr.startswith("_"):
                continue
            value = getattr(view, attr)
            if attr == "verify_checksum":
                value()
    pkt.verify_checksums()
    if pkt.dns is not None:
        pkt.dns.to_text()
    if catalogue:
        for name in field_names():
            proto.value(pkt, name)


def round_trip(pkt: wirecraft.Packet) -> None:
    data = pkt.data
    layers = pkt.to_layers()
    assert bytes(layers) == data, "to_layers() does not rebuild the frame"
    clean = not pkt.problems and pkt.stop_reason is None and not pkt.truncated
    if clean and pkt.inner is None:
        names = {type(layer).__name__.lower() for layer in layers.layers()}
        for l4 in L4:
            if getattr(pkt, l4) is not None:
                assert l4 in names, f"clean frame, but to_layers() lost {l4}: {sorted(names)}"


def TestOneInput(data: bytes) -> None:
    inp = Input(data)
    linktype = LINKTYPES[inp.pick(len(LINKTYPES))]
    opts = inp.u8()
    frame = inp.rest()
    wire_len = len(frame) + (opts >> 2) * 8
    pkt = wirecraft.decode(frame, linktype, wire_len=wire_len, checksums=bool(opts & 1))
    touch(pkt, catalogue=not opts & 2)
    round_trip(pkt)


def seeds() -> list[bytes]:
    """One frame of each kind the sample captures hold (link type, layers, application,
    stop reason), and the hand-made frames of tests/test_core_fuzz.py's generator."""
    out = []
    seen = set()
    for pkt in capture_packets(limit_per_file=2000):
        kind = (pkt.linktype, pkt.layers, pkt.app, pkt.stop_reason, tuple(pkt.problems))
        if kind in seen or pkt.linktype not in LINKTYPES:
            continue
        seen.add(kind)
        out.append(Output().u8(LINKTYPES.index(pkt.linktype)).u8(0).raw(pkt.data).bytes())
        out.append(Output().u8(LINKTYPES.index(pkt.linktype)).u8(2).raw(pkt.data).bytes())
    from test_core_fuzz import SEEDS

    for frame, lt in SEEDS:
        out.append(Output().u8(LINKTYPES.index(lt)).u8(1).raw(frame).bytes())
    return distinct(iter(out), 2000)
