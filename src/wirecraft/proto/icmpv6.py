"""ICMPv6 (RFC 4443; neighbour discovery RFC 4861): the field catalogue.

The view (ICMPView) and the record slots are ICMP's (see icmp.py). Neighbour
solicitation (135) and advertisement (136) carry a target address and options;
their fields have no slot and are read by position. `icmpv6.nd.flags` (the
advertisement's flags byte, R=0x80 S=0x40 O=0x20, as the crafting layer takes
it) and `icmpv6.nd.options` are wirecraft's names; tshark has the 32-bit
`icmpv6.nd.na.flag` word.
"""

from __future__ import annotations

from ._spec import Field, Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing is not imported at run time
    from typing import Any


def nd_options(raw: bytes) -> list[tuple[int, Any]] | bytes:
    """Neighbour discovery options (RFC 4861 4.6) as [(type, value)]: a MAC as text for a
    source/target link-layer address (types 1 and 2, one 8-byte unit), the option's bytes
    after type and length otherwise. The raw bytes when they are not a whole option list
    (a zero length, an option past the end, bytes left over). This is the form crafting's
    ICMPv6 `options` takes, and packs back to exactly `raw`."""
    out: list[tuple[int, Any]] = []
    i = 0
    while i + 2 <= len(raw):
        otype, units = raw[i], raw[i + 1]
        if units == 0 or i + units * 8 > len(raw):
            return raw
        body = raw[i + 2:i + units * 8]
        if otype in (1, 2) and units == 1:
            out.append((otype, ":".join(f"{b:02x}" for b in body)))
        else:
            out.append((otype, bytes(body)))
        i += units * 8
    return out if i == len(raw) else raw


def _nd_options_of(pkt: Any) -> list[tuple[int, Any]] | bytes | None:
    """The options of a neighbour solicitation/advertisement (after its 24 fixed bytes,
    up to the end of the message as captured and bounded by the IP length), or None."""
    v = pkt.icmpv6
    if v is None or v.type not in (135, 136):
        return None
    from ._value import _record
    rec = _record(pkt)
    start = int(rec["l4_offset"])
    end = int(rec["payload_offset"]) + int(rec["payload_length"])
    if end < start + 24:
        return None
    return nd_options(bytes(pkt.data[start + 24:end]))

PROTOCOL = Protocol(
    name="icmpv6",
    title="Internet Control Message Protocol v6",
    reference="RFC 4443",
    view="ICMPView",
    packet_attr="icmpv6",
    layer_bit="icmpv6",
    craft="ICMPv6",
    json="icmp",
    header="l4_offset",
    fields=(
        # in the order of the `read --json` object
        Field("icmpv6.version", "FT_UINT8", "IP version of the message: 6", attr="version",
              getter="custom", json="version"),
        Field("icmpv6.type", "FT_UINT8", "Type", attr="type", slot="icmp_type",
              column="icmp_type", json="type", craft="type", at=(0, 1)),
        Field("icmpv6.code", "FT_UINT8", "Code", attr="code", slot="icmp_code",
              column="icmp_code", json="code", craft="code", at=(1, 1)),
        Field("icmpv6.echo.identifier", "FT_UINT16", "Identifier (echo request/reply)",
              attr="id", slot="icmp_id", getter="custom", column="icmp_id", json="id",
              craft="id", at=(4, 2)),
        Field("icmpv6.echo.sequence_number", "FT_UINT16", "Sequence (echo request/reply)",
              attr="seq", slot="icmp_seq", getter="custom", column="icmp_seq", json="seq",
              craft="seq", at=(6, 2)),
        Field("icmpv6.checksum", "FT_UINT16", "Checksum", attr="checksum",
              slot="icmp_checksum", column="icmp_checksum", craft="checksum", at=(2, 2)),
        Field("icmpv6.rest", "FT_BYTES", "The 4 bytes after the checksum, as they are "
              "(unused, pointer, MTU, reserved: the types without id/seq; an advertisement "
              "has icmpv6.nd.flags there)",
              craft="rest", at=(4, 4), when=lambda v: v.id is None and v.type != 136),
        # multicast listener discovery (RFC 2710, RFC 3810), read by the tcpdump lines
        Field("icmpv6.mld.multicast_address", "FT_IPv6", "Multicast address (MLD query, "
              "report, done)", at=(8, 16), when=lambda v: v.type in (130, 131, 132)),
        Field("icmpv6.mldr.nb_mcast_records", "FT_UINT16", "Number of multicast address "
              "records (MLDv2 report)", at=(6, 2), when=lambda v: v.type == 143),
        Field("icmpv6.nd.flags", "FT_UINT8", "Neighbour advertisement flags byte "
              "(R=0x80 S=0x40 O=0x20)", craft="flags", at=(4, 1),
              when=lambda v: v.type == 136),
        # one crafting field, two names (tshark's): a field per message type, each with
        # its `when`
        Field("icmpv6.nd.ns.target_address", "FT_IPv6", "Target address (neighbour "
              "solicitation)", craft="target", at=(8, 16), when=lambda v: v.type == 135),
        Field("icmpv6.nd.na.target_address", "FT_IPv6", "Target address (neighbour "
              "advertisement)", at=(8, 16), craft_in=(("ICMPv6", "target", (8, 16)),),
              when=lambda v: v.type == 136),
        Field("icmpv6.nd.options", "FT_BYTES", "Neighbour discovery options: [(type, "
              "value)], a MAC for a link-layer address option (raw bytes when malformed)",
              craft="options", packet_value=_nd_options_of,
              when=lambda v: v.type in (135, 136)),
    ),
)
