"""IPv6 (RFC 8200) and its extension headers: the field catalogue.

The fixed header shares the IPv4 record slots (see ip.py) plus the flow label;
the decoder walks the extension headers (hop-by-hop 0, routing 43, fragment 44,
destination options 60, AH 51 ...) and keeps their count, the fragment header's
identification/offset/MF in the IP slots, and the upper-layer protocol in
`ip_protocol`. The extension headers' other fields have no slot: their
positions vary, so each header's fields are given relative to that header's
first byte (`at`), for crafting layers rebuilt from a decoded packet.

Names not in tshark: `ipv6.proto` (the upper-layer protocol after the
extension headers, as `ip.proto`), `ipv6.len` (40 + payload length, as
`ip.len`), `ipv6.hdr_len` (40 + the extension headers), `ipv6.ext_headers`.
"""

from __future__ import annotations

from ._spec import Field, Protocol, Slot

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing is not imported at run time
    from typing import Any


def _has_fraghdr(view: Any) -> bool:
    return 44 in view.extension_headers


def _frag(get: Any) -> Any:
    """A fragment-header value, absent (None) when there is no fragment header."""
    return lambda v: get(v) if _has_fraghdr(v) else None


def locate(pkt: Any, number: int) -> int | None:
    """Offset in the frame of the first extension header `number` (0 hop-by-hop, 43
    routing, 44 fragment, 60 destination options) of an IPv6 packet, or None."""
    from ._value import _record
    v = pkt.ipv6
    if v is None:
        return None
    data = pkt.data
    cur = int(_record(pkt)["l3_offset"]) + 40
    nh = v.next_header
    for _ in v.extension_headers:
        if nh == number:
            return cur
        if cur + 2 > len(data):
            return None
        if nh == 44:
            length = 8
        elif nh == 51:
            length = (data[cur + 1] + 2) * 4
        else:
            length = (data[cur + 1] + 1) * 8
        nh = data[cur]
        cur += length
    return None


def _routing_addresses(pkt: Any) -> list[str] | None:
    """The addresses of the first routing header when it is type 0 or 2 (RFC 5095,
    RFC 6275 6.4): (len / 2) addresses after the first 8 bytes; only whole addresses
    that were captured."""
    import ipaddress
    at = locate(pkt, 43)
    data = pkt.data
    if at is None or at + 8 > len(data) or data[at + 2] not in (0, 2):
        return None
    count = data[at + 1] // 2
    out = []
    for i in range(count):
        start = at + 8 + 16 * i
        if start + 16 > len(data):   # cut by the snap length: keep what was captured
            break
        out.append(str(ipaddress.IPv6Address(data[start:start + 16])))
    return out


IPV6 = Protocol(
    name="ipv6",
    title="Internet Protocol Version 6",
    reference="RFC 8200",
    view="IPv6View",
    packet_attr="ipv6",
    layer_bit="ipv6",
    craft="IPv6",
    json="ip",
    header="l3_offset",
    slots=(
        Slot("ip6_flow_label", "u32", "IPv6 flow label (20 bits)"),
        Slot("ip6_ext_count", "u8", "IPv6 extension headers walked"),
    ),
    fields=(
        # in the order of the `read --json` object
        Field("ipv6.version", "FT_UINT8", "Version", attr="version", slot="ip_version",
              json="version", craft="version", at=(0, 1), bits=(4, 0xF),
              hot=True),
        Field("ipv6.src", "FT_IPv6", "Source address", attr="src", slot="ip_src",
              getter="ip", need=24, json="src", craft="src", at=(8, 16), hot=True),
        Field("ipv6.dst", "FT_IPv6", "Destination address", attr="dst", slot="ip_dst",
              getter="ip", need=40, json="dst", craft="dst", at=(24, 16), hot=True),
        Field("ipv6.hlim", "FT_UINT8", "Hop limit", attr="hop_limit", also_attrs=("ttl",),
              slot="ip_ttl", need=8, json="ttl", craft="hop_limit", at=(7, 1)),
        Field("ipv6.proto", "FT_UINT8", "Upper-layer protocol (after the extension headers)",
              attr="protocol", slot="ip_protocol", need=7, json="protocol"),
        Field("ipv6.len", "FT_UINT32", "Total length (40 + payload length, as ip.len)",
              attr="total_length", slot="ip_total_length", need=6, json="total_length"),
        # the fragment header's, kept in the IP slots (0 without a fragment header)
        Field("ipv6.fraghdr.ident", "FT_UINT32", "Fragment identification (0 without a "
              "fragment header)", attr="id", slot="ip_id", need=40, json="id",
              extra_value=_frag(lambda v: v.id),
              craft_in=(("IPv6Fragment", "id", (4, 4)),)),
        Field("ipv6.fraghdr.offset_bytes", "FT_UINT16", "Fragment offset in bytes "
              "(ipv6.fraghdr.offset x 8)", attr="frag_offset", slot="ip_frag_offset",
              need=40, json="frag_offset", bits=(3, 0x1FFF), wire=lambda n: n * 8,
              extra_value=_frag(lambda v: v.frag_offset),
              craft_in=(("IPv6Fragment", "frag_offset", (2, 2)),)),
        Field("ipv6.flow", "FT_UINT24", "Flow label", attr="flow_label",
              slot="ip6_flow_label", need=4, column="ip6_flow_label", json="flow_label",
              craft="flow_label", at=(0, 4), bits=(0, 0xFFFFF)),
        Field("ipv6.ext_headers", "FT_UINT8", "Next-header numbers of the extension "
              "headers, in order (a list)", attr="extension_headers", getter="custom",
              json="extension_headers"),
        # the rest
        Field("ipv6.fraghdr.more", "FT_BOOLEAN", "More fragments (False without a "
              "fragment header)", attr="mf", slot="ip_flags", getter="bool", mask=1,
              need=40, bits=(0, 1), extra_value=_frag(lambda v: v.mf),
              craft_in=(("IPv6Fragment", "more_fragments", (2, 2)),)),
        Field("ipv6.fraghdr.flags", "FT_UINT8", "IPv4-style flags from the fragment header "
              "(1: more fragments)", attr="flags", slot="ip_flags", need=40,
              extra_value=_frag(lambda v: v.flags)),
        Field("ipv6.tclass", "FT_UINT32", "Traffic class", attr="traffic_class",
              also_attrs=("tos",), slot="ip_tos", need=4, craft="traffic_class", at=(0, 4),
              bits=(20, 0xFF)),
        Field("ipv6.tclass.dscp", "FT_UINT32", "Differentiated services codepoint",
              slot="ip_tos", shift=2, mask=0x3F, need=4, at=(0, 4), bits=(22, 0x3F)),
        Field("ipv6.tclass.ecn", "FT_UINT32", "Explicit congestion notification",
              slot="ip_tos", mask=3, need=4, at=(0, 4), bits=(20, 3)),
        Field("ipv6.plen", "FT_UINT16", "Payload length", attr="payload_length",
              getter="custom", need=6, craft="payload_length", at=(4, 2)),
        Field("ipv6.nxt", "FT_UINT8", "Next header (the first, before extension headers)",
              attr="next_header", getter="custom", need=7, craft="next_header", at=(6, 1)),
        Field("ipv6.hdr_len", "FT_UINT16", "Header length: 40 + the extension headers walked",
              attr="header_length", slot="ip_header_length", need=40,
              column="ip_header_length"),
        Field("ipv6.ext_count", "FT_UINT8", "Extension headers walked", slot="ip6_ext_count",
              column="ip6_ext_count"),
        Field("ipv6.src_bytes", "FT_BYTES", "Source address as 16 bytes", attr="src_bytes",
              getter="custom", need=24),
        Field("ipv6.dst_bytes", "FT_BYTES", "Destination address as 16 bytes",
              attr="dst_bytes", getter="custom", need=40),
    ),
)


def _options_header(name: str, title: str, craft: str, number: int) -> Protocol:
    """Hop-by-hop (0) and destination options (60) headers: the same layout."""
    return Protocol(
        name=f"ipv6.{name}",
        title=title,
        reference="RFC 8200 section 4.3 / 4.6",
        craft=craft,
        packet_attr="ipv6",
        header=None,
        extra={"number": number},
        fields=(
            Field(f"ipv6.{name}.nxt", "FT_UINT8", "Next header", craft="next_header",
                  at=(0, 1)),
            Field(f"ipv6.{name}.len", "FT_UINT8", "Length in 8-octet units, not counting "
                  "the first 8", at=(1, 1)),
            Field(f"ipv6.{name}.len_oct", "FT_UINT16", "Length in bytes",
                  craft="header_length", at=(1, 1), wire=lambda n: (n + 1) * 8),
            Field(f"ipv6.{name}.options", "FT_BYTES", "Options, raw bytes (with padding)",
                  craft="options"),
        ),
    )


HOPOPTS = _options_header("hopopts", "IPv6 Hop-by-Hop Option", "IPv6HopByHop", 0)
DSTOPTS = _options_header("dstopts", "IPv6 Destination Option", "IPv6DestOptions", 60)

ROUTING = Protocol(
    name="ipv6.routing",
    title="Routing Header for IPv6",
    reference="RFC 8200 section 4.4",
    craft="IPv6Routing",
    packet_attr="ipv6",
    header=None,
    extra={"number": 43},
    fields=(
        Field("ipv6.routing.nxt", "FT_UINT8", "Next header", craft="next_header", at=(0, 1)),
        Field("ipv6.routing.len", "FT_UINT8", "Length in 8-octet units, not counting the "
              "first 8", at=(1, 1)),
        Field("ipv6.routing.len_oct", "FT_UINT16", "Length in bytes", craft="header_length",
              at=(1, 1), wire=lambda n: (n + 1) * 8),
        Field("ipv6.routing.type", "FT_UINT8", "Type", craft="routing_type", at=(2, 1)),
        Field("ipv6.routing.segleft", "FT_UINT8", "Segments left", craft="segments_left",
              at=(3, 1)),
        Field("ipv6.routing.unknown_data", "FT_BYTES", "Type-specific data (after byte 4)",
              craft="data"),
        Field("ipv6.routing.addresses", "FT_IPv6", "Addresses of a type 0/2 header (a list)",
              craft="addresses", packet_value=_routing_addresses),
    ),
)

FRAGHDR = Protocol(
    name="ipv6.fraghdr",
    title="Fragment Header for IPv6",
    reference="RFC 8200 section 4.5",
    # identification, offset (bytes) and more-fragments are IPv6View fields (see above)
    craft="IPv6Fragment",
    packet_attr="ipv6",     # the view extra_value hooks receive
    header=None,
    extra={"number": 44},
    fields=(
        Field("ipv6.fraghdr.nxt", "FT_UINT8", "Next header", craft="next_header", at=(0, 1)),
        Field("ipv6.fraghdr.reserved_octet", "FT_UINT8", "Reserved octet", craft="reserved",
              at=(1, 1)),
        Field("ipv6.fraghdr.offset", "FT_UINT16", "Offset in 8-octet units",
              extra_value=_frag(lambda v: v.frag_offset // 8), at=(2, 2), bits=(3, 0x1FFF)),
        Field("ipv6.fraghdr.reserved_bits", "FT_UINT16", "Reserved bits",
              craft="reserved_bits", at=(2, 2), bits=(1, 3)),
    ),
)

AH = Protocol(
    name="ah",
    title="Authentication Header",
    reference="RFC 4302",
    craft="AH",
    packet_attr="ipv6",
    header=None,
    extra={"number": 51},
    fields=(
        Field("ah.next_header", "FT_UINT8", "Next header", craft="next_header", at=(0, 1)),
        # tshark's ah.length is the header's size in bytes ((n + 2) * 4 on the wire)
        Field("ah.length", "FT_UINT8", "Header length in bytes", craft="header_length",
              at=(1, 1), wire=lambda n: (n + 2) * 4),
        # FT_BYTES as tshark's; the crafting field takes the two bytes as an integer
        Field("ah.reserved", "FT_BYTES", "Reserved (2 bytes)", craft="reserved", at=(2, 2)),
        Field("ah.spi", "FT_UINT32", "Security parameters index", craft="spi", at=(4, 4)),
        Field("ah.sequence", "FT_UINT32", "Sequence number", craft="seq", at=(8, 4)),
        Field("ah.icv", "FT_BYTES", "Integrity check value (after byte 12)", craft="icv"),
    ),
)


def _opaque_header(name: str, title: str, reference: str, craft: str, number: int,
                   nxt: str, length: str) -> Protocol:
    """An extension header crafting keeps as next header, length and raw data (Mobility,
    HIP, Shim6): tshark's names for the first two, the length in bytes as `len_oct`."""
    return Protocol(
        name=name,
        title=title,
        reference=reference,
        craft=craft,
        packet_attr="ipv6",
        header=None,
        extra={"number": number},
        fields=(
            Field(f"{name}.{nxt}", "FT_UINT8", "Next header", craft="next_header", at=(0, 1)),
            Field(f"{name}.{length}", "FT_UINT8", "Length in 8-octet units, not counting "
                  "the first 8", at=(1, 1)),
            Field(f"{name}.len_oct", "FT_UINT16", "Length in bytes", craft="header_length",
                  at=(1, 1), wire=lambda n: (n + 1) * 8),
            Field(f"{name}.data", "FT_BYTES", "The header's bytes after the first two",
                  craft="data"),
        ),
    )


MIPV6 = _opaque_header("mip6", "Mobile IPv6", "RFC 6275", "IPv6Mobility", 135,
                       "proto", "hdr_len")
HIP = _opaque_header("hip", "Host Identity Protocol", "RFC 7401", "HIP", 139,
                     "proto", "hdr_len")
SHIM6 = _opaque_header("shim6", "Shim6 Protocol", "RFC 5533", "Shim6", 140, "nxt", "len")

PROTOCOLS = (IPV6, HOPOPTS, ROUTING, FRAGHDR, DSTOPTS, AH, MIPV6, HIP, SHIM6)
PROTOCOL = IPV6
