"""IPv4 (RFC 791; DSCP/ECN RFC 2474, RFC 3168): the field catalogue.

IPv4 and IPv6 share most record slots (`ip_src`, `ip_ttl`, `ip_protocol` ...):
the layer bits say which family filled them. A header cut short by the capture
leaves every field whose bytes were not captured absent (`need`), addresses
included. Lengths are in bytes (`ip.hdr_len` 20, `ip.frag_offset_bytes`), as
the crafting layer takes them; tshark's `ip.frag_offset` counts 8-byte units.
"""

from __future__ import annotations

from ._spec import Field, Protocol, Slot

PROTOCOL = Protocol(
    name="ip",
    title="Internet Protocol Version 4",
    reference="RFC 791",
    view="IPv4View",
    packet_attr="ipv4",
    layer_bit="ipv4",
    craft="IPv4",
    json="ip",
    header="l3_offset",
    slots=(
        Slot("ip_id", "u32", "IPv4 identification / IPv6 fragment header identification"),
        Slot("ip_total_length", "u32", "IP total length (IPv6: 40 + payload length)"),
        Slot("ip_src", "addr16", "source address (IPv4: the first 4 bytes)"),
        Slot("ip_dst", "addr16", "destination address (IPv4: the first 4 bytes)"),
        Slot("ip_frag_offset", "u16", "fragment offset in bytes"),
        Slot("ip_checksum", "u16", "IPv4 header checksum as on the wire"),
        Slot("ip_version", "u8", "4 or 6"),
        Slot("ip_header_length", "u8", "IPv4: header with options; IPv6: 40 + extensions"),
        Slot("ip_tos", "u8", "IPv4 type of service / IPv6 traffic class"),
        Slot("ip_ttl", "u8", "IPv4 time to live / IPv6 hop limit"),
        Slot("ip_protocol", "u8", "upper-layer protocol (IPv6: after extension headers)"),
        Slot("ip_flags", "u8", "3 flag bits: 4 reserved, 2 DF, 1 MF (IPv6: MF)"),
    ),
    fields=(
        # in the order of the `read --json` object
        Field("ip.version", "FT_UINT8", "Version", attr="version", slot="ip_version",
              column="ip_version", json="version", craft="version",
              at=(0, 1), bits=(4, 0xF), hot=True,
              # tshark's IPv6 dissector names its version field ip.version too
              packet_value=lambda p: p.ip.version if p.ip is not None else None),
        Field("ip.src", "FT_IPv4", "Source address", attr="src", slot="ip_src", getter="ip",
              need=16, column="ip_src", json="src", craft="src", at=(12, 4), hot=True),
        Field("ip.dst", "FT_IPv4", "Destination address", attr="dst", slot="ip_dst",
              getter="ip", need=20, column="ip_dst", json="dst", craft="dst", at=(16, 4),
              hot=True),
        Field("ip.ttl", "FT_UINT8", "Time to live", attr="ttl", slot="ip_ttl", need=9,
              column="ip_ttl", json="ttl", craft="ttl", at=(8, 1)),
        Field("ip.proto", "FT_UINT8", "Protocol", attr="protocol", slot="ip_protocol",
              need=10, column="ip_protocol", json="protocol", craft="protocol", at=(9, 1)),
        Field("ip.len", "FT_UINT16", "Total length", attr="total_length",
              slot="ip_total_length", need=4, column="ip_total_length", json="total_length",
              craft="total_length", at=(2, 2)),
        Field("ip.id", "FT_UINT16", "Identification", attr="id", slot="ip_id", need=6,
              column="ip_id", json="id", craft="id", at=(4, 2)),
        Field("ip.frag_offset_bytes", "FT_UINT16", "Fragment offset in bytes "
              "(ip.frag_offset x 8)", attr="frag_offset", slot="ip_frag_offset", need=8,
              column="ip_frag_offset", json="frag_offset", craft="frag_offset", at=(6, 2),
              bits=(0, 0x1FFF), wire=lambda n: n * 8),
        Field("ip.flags", "FT_UINT8", "Flags (3 bits: 4 reserved, 2 DF, 1 MF)", attr="flags",
              slot="ip_flags", need=8, column="ip_flags", json="flags", craft="flags",
              at=(6, 1), bits=(5, 7)),
        Field("ip.hdr_len", "FT_UINT8", "Header length in bytes (with options)",
              attr="header_length", slot="ip_header_length", column="ip_header_length",
              json="header_length", craft="header_length", at=(0, 1), bits=(0, 0xF),
              wire=lambda n: n * 4),
        # the rest
        Field("ip.frag_offset", "FT_UINT16", "Fragment offset in 8-byte units",
              slot="ip_frag_offset", shift=3, mask=0x1FFF, need=8, at=(6, 2),
              bits=(0, 0x1FFF)),
        Field("ip.flags.rb", "FT_BOOLEAN", "Reserved bit", slot="ip_flags", getter="bool",
              mask=4, need=8, at=(6, 1), bits=(7, 1)),
        Field("ip.flags.df", "FT_BOOLEAN", "Don't fragment", attr="df", slot="ip_flags",
              getter="bool", mask=2, need=8, at=(6, 1), bits=(6, 1)),
        Field("ip.flags.mf", "FT_BOOLEAN", "More fragments", attr="mf", slot="ip_flags",
              getter="bool", mask=1, need=8, at=(6, 1), bits=(5, 1)),
        Field("ip.dsfield", "FT_UINT8", "Differentiated services field (type of service)",
              attr="tos", slot="ip_tos", need=2, column="ip_tos", craft="tos", at=(1, 1)),
        Field("ip.dsfield.dscp", "FT_UINT8", "Differentiated services codepoint",
              attr="dscp", slot="ip_tos", shift=2, mask=0x3F, need=2, at=(1, 1),
              bits=(2, 0x3F)),
        Field("ip.dsfield.ecn", "FT_UINT8", "Explicit congestion notification", attr="ecn",
              slot="ip_tos", mask=3, need=2, at=(1, 1), bits=(0, 3)),
        Field("ip.checksum", "FT_UINT16", "Header checksum", attr="checksum",
              slot="ip_checksum", need=12, column="ip_checksum", craft="checksum",
              at=(10, 2)),
        Field("ip.options", "FT_BYTES", "Options, raw bytes (empty without options)",
              attr="options", getter="custom", craft="options"),
        Field("ip.src_bytes", "FT_BYTES", "Source address as 4 bytes", attr="src_bytes",
              getter="custom", need=16),
        Field("ip.dst_bytes", "FT_BYTES", "Destination address as 4 bytes", attr="dst_bytes",
              getter="custom", need=20),
    ),
)
