"""UDP (RFC 768): the field catalogue.

The ports share the record slots of TCP's (`l4_src_port`, `l4_dst_port`); the
Table's `udp_src_port` / `udp_dst_port` columns hold them where the layer is UDP
and 0 elsewhere.
"""

from __future__ import annotations

from ._spec import Field, Protocol, Slot

PROTOCOL = Protocol(
    name="udp",
    title="User Datagram Protocol",
    reference="RFC 768",
    view="UDPView",
    packet_attr="udp",
    layer_bit="udp",
    craft="UDP",
    json="udp",
    header="l4_offset",
    slots=(
        Slot("udp_length", "u16", "UDP length field"),
        Slot("udp_checksum", "u16", "UDP checksum as on the wire"),
    ),
    fields=(
        Field("udp.srcport", "FT_UINT16", "Source port", attr="src_port", slot="l4_src_port",
              column="udp_src_port", json="src_port", craft="src_port", at=(0, 2), hot=True),
        Field("udp.dstport", "FT_UINT16", "Destination port", attr="dst_port",
              slot="l4_dst_port", column="udp_dst_port", json="dst_port", craft="dst_port",
              at=(2, 2), hot=True),
        Field("udp.length", "FT_UINT16", "Length", attr="length", slot="udp_length", need=6,
              column="udp_length", json="length", craft="length", at=(4, 2)),
        Field("udp.checksum", "FT_UINT16", "Checksum", attr="checksum", slot="udp_checksum",
              need=8, column="udp_checksum", craft="checksum", at=(6, 2)),
    ),
)
