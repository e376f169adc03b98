"""ICMP (RFC 792): the field catalogue.

ICMP and ICMPv6 share the view class (ICMPView) and the record slots; the
identifier and sequence number are the echo/timestamp/information messages'
(the view reads None for other types, the crafting layer sends the same 4
bytes whatever the type).
"""

from __future__ import annotations

from ._spec import Field, Protocol, Slot

PROTOCOL = Protocol(
    name="icmp",
    title="Internet Control Message Protocol",
    reference="RFC 792",
    view="ICMPView",
    packet_attr="icmp",
    layer_bit="icmp",
    craft="ICMP",
    json="icmp",
    header="l4_offset",
    slots=(
        Slot("icmp_checksum", "u16", "ICMP/ICMPv6 checksum as on the wire"),
        Slot("icmp_id", "u16", "ICMP/ICMPv6 echo identifier (bytes 4-5)"),
        Slot("icmp_seq", "u16", "ICMP/ICMPv6 echo sequence number (bytes 6-7)"),
        Slot("icmp_type", "u8", "ICMP/ICMPv6 type"),
        Slot("icmp_code", "u8", "ICMP/ICMPv6 code"),
    ),
    fields=(
        # in the order of the `read --json` object
        Field("icmp.version", "FT_UINT8", "IP version of the message: 4 (ICMP) or 6 (ICMPv6)",
              attr="version", getter="custom", json="version"),
        Field("icmp.type", "FT_UINT8", "Type", attr="type", slot="icmp_type",
              column="icmp_type", json="type", craft="type", at=(0, 1)),
        Field("icmp.code", "FT_UINT8", "Code", attr="code", slot="icmp_code",
              column="icmp_code", json="code", craft="code", at=(1, 1)),
        Field("icmp.ident", "FT_UINT16", "Identifier (echo, timestamp, information)",
              attr="id", slot="icmp_id", getter="custom", column="icmp_id", json="id",
              craft="id", at=(4, 2)),
        Field("icmp.seq", "FT_UINT16", "Sequence number (echo, timestamp, information)",
              attr="seq", slot="icmp_seq", getter="custom", column="icmp_seq", json="seq",
              craft="seq", at=(6, 2)),
        Field("icmp.checksum", "FT_UINT16", "Checksum", attr="checksum", slot="icmp_checksum",
              column="icmp_checksum", craft="checksum", at=(2, 2)),
        Field("icmp.rest", "FT_BYTES", "The 4 bytes after the checksum, as they are "
              "(unused, pointer, gateway, MTU, reserved: the types without id/seq)",
              craft="rest", at=(4, 4), when=lambda v: v.id is None),
        Field("icmp.mtu", "FT_UINT16", "MTU of next hop (destination unreachable, "
              "fragmentation needed: RFC 1191)", at=(6, 2),
              when=lambda v: v.type == 3 and v.code == 4),
    ),
)
