"""Link layers: Ethernet II (IEEE 802.3), 802.1Q/802.1ad VLAN tags (IEEE 802.1Q),
Linux cooked captures v1/v2 (LINKTYPE_LINUX_SLL 113, LINKTYPE_LINUX_SLL2 276) and
BSD loopback (LINKTYPE_NULL 0): the field catalogue.

The decoder keeps one ethertype for all of them (`eth_type`: the type after any
VLAN tags, SLL's protocol), and the link source/destination in `eth_src` /
`eth_dst` (SLL: a 6-byte source address). tshark's `eth.type` is the *outer*
type (0x8100 on a tagged frame), which is what an Ethernet crafting layer holds;
the view's `type` is the innermost one, named `eth.ethertype` here.
"""

from __future__ import annotations

from ._spec import Field, Protocol, Slot

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing is not imported at run time
    from typing import Any


def _be16(pkt: Any, at: int) -> int | None:
    data = pkt.data
    return int.from_bytes(data[at:at + 2], "big") if len(data) >= at + 2 else None


def _vlan_base(pkt: Any) -> int:
    """Offset of the first VLAN tag's TCI (after the TPID) for the frame's link type."""
    return {1: 14, 113: 16, 276: 20}.get(pkt.linktype, 14)


def _vlan_etype(pkt: Any) -> int | None:
    """The type after the first tag: the next tag's TPID, or the innermost ethertype."""
    tags = pkt.vlan
    if not tags:
        return None
    if len(tags) > 1:
        return tags[1].tpid
    return pkt.eth.type if pkt.eth is not None else (pkt.sll.protocol if pkt.sll else None)


def _type_field(pkt: Any) -> int | None:
    """The Ethernet header's type/length field (bytes 12-13), None without Ethernet."""
    return _be16(pkt, 12) if pkt.eth is not None else None


def _outer_type(pkt: Any) -> int | None:
    """eth.type: the type field of an Ethernet II frame (None on an 802.3 frame)."""
    n = _type_field(pkt)
    return n if n is not None and n > 1500 else None


def _length(pkt: Any) -> int | None:
    """eth.len: an IEEE 802.3 frame's length field (a type field of at most 1500)."""
    n = _type_field(pkt)
    return n if n is not None and n <= 1500 else None


ETHERNET = Protocol(
    name="eth",
    title="Ethernet",
    reference="IEEE 802.3",
    view="EthernetView",
    packet_attr="eth",
    layer_bit="eth",
    craft="Ethernet",
    json="eth",
    header="frame",
    slots=(
        Slot("eth_src", "u64", "link source address (48 bits; SLL: a 6-byte address)"),
        Slot("eth_dst", "u64", "link destination address (48 bits)"),
        Slot("eth_type", "u16", "ethertype after any VLAN tags (SLL: its protocol)"),
    ),
    fields=(
        Field("eth.src", "FT_ETHER", "Source", attr="src", slot="eth_src", getter="mac",
              column="eth_src", json="src", craft="src", at=(6, 6)),
        Field("eth.dst", "FT_ETHER", "Destination", attr="dst", slot="eth_dst", getter="mac",
              column="eth_dst", json="dst", craft="dst", at=(0, 6)),
        Field("eth.ethertype", "FT_UINT16",
              "Ethertype after any VLAN tags (eth.type, or the innermost vlan.etype)",
              attr="type", slot="eth_type", column="eth_type", json="type"),
        # bytes 12-13 are a type (Ethernet II) or a length (802.3): one crafting field,
        # tshark's two names, each with its `when`
        Field("eth.type", "FT_UINT16", "Type (the outer one: 0x8100 on a tagged frame)",
              getter="custom", craft="type", at=(12, 2), packet_value=_outer_type,
              when=lambda v: _outer_type(v.packet) is not None),
        Field("eth.len", "FT_UINT16", "Length (an IEEE 802.3 frame: bytes 12-13 at most "
              "1500)", at=(12, 2), craft_in=(("Ethernet", "type", (12, 2)),),
              packet_value=_length, when=lambda v: _length(v.packet) is not None),
    ),
)

VLAN = Protocol(
    name="vlan",
    title="802.1Q Virtual LAN",
    reference="IEEE 802.1Q",
    # Packet.vlan is a list of VlanTag tuples, outermost first; a field's value is the
    # first tag's (tshark lists every occurrence), Table columns hold up to three tags
    view="VlanTag",
    packet_attr="vlan",
    layer_bit="vlan",
    craft="Dot1Q",
    json="vlan",
    header=None,        # after the link header and the tags before it
    extra={"list": True, "max_tags": 3},
    slots=(
        Slot("vlan1_tci", "u16", "outermost VLAN tag's TCI (pcp:3 dei:1 id:12)"),
        Slot("vlan2_tci", "u16", "second VLAN tag's TCI"),
        Slot("vlan3_tci", "u16", "third VLAN tag's TCI"),
        Slot("vlan_count", "u8", "VLAN tags decoded (at most 3)"),
    ),
    fields=(
        Field("vlan.id", "FT_UINT16", "ID", attr="id", slot="vlan1_tci", mask=0x0FFF,
              column="vlan_id", json="id", craft="id", at=(0, 2), bits=(0, 0x0FFF),
              aliases=("vlan.vid",)),
        Field("vlan.priority", "FT_UINT16", "Priority (PCP)", attr="pcp", slot="vlan1_tci",
              shift=13, mask=7, json="pcp", craft="pcp", at=(0, 2), bits=(13, 7)),
        Field("vlan.dei", "FT_BOOLEAN", "Drop eligible indicator (0 or 1)", attr="dei",
              slot="vlan1_tci", shift=12, mask=1, json="dei", craft="dei", at=(0, 2),
              bits=(12, 1)),
        Field("vlan.tpid", "FT_UINT16", "Tag protocol identifier (the type that announced "
              "this tag: 0x8100, 0x88a8)", attr="tpid", getter="custom", json="tpid"),
        Field("vlan.etype", "FT_UINT16", "Type after the tag (the next tag's or the payload's)",
              getter="custom", craft="type", at=(2, 2), packet_value=_vlan_etype),
        Field("vlan.count", "FT_UINT8", "Number of VLAN tags decoded (at most 3)",
              slot="vlan_count", getter="custom", packet_value=lambda p: len(p.vlan or ())),
    ),
)

# SLL v1 (16-byte header) and v2 (20 bytes) carry the same fields at other places;
# tshark names both sll.*; the v2 positions are each field's `craft_in` SLL2 entry
SLL = Protocol(
    name="sll",
    title="Linux cooked-mode capture",
    reference="LINKTYPE_LINUX_SLL / LINKTYPE_LINUX_SLL2 (tcpdump.org link types)",
    view="SLLView",
    packet_attr="sll",
    layer_bit="sll",
    craft="SLL",
    json=None,
    header="frame",
    # linktype 276 (v2) places each field at its craft_in SLL2 position
    extra={"at_by_linktype": {276: "SLL2"}},
    slots=(
        Slot("link_pkttype", "u16", "SLL packet type (0 to us ... 4 outgoing)"),
    ),
    fields=(
        Field("sll.pkttype", "FT_UINT16", "Packet type", attr="packet_type",
              slot="link_pkttype", craft="packet_type", at=(0, 2),
              craft_in=(("SLL2", "packet_type", (10, 1)),)),
        Field("sll.hatype", "FT_UINT16", "Link-layer address type (ARPHRD_*)",
              craft="arphrd_type", at=(2, 2), craft_in=(("SLL2", "arphrd_type", (8, 2)),)),
        Field("sll.halen", "FT_UINT16", "Link-layer address length", craft="address_length",
              at=(4, 2), craft_in=(("SLL2", "address_length", (11, 1)),)),
        Field("sll.src", "FT_STRING", "Source link-layer address as text (a MAC for "
              "length 6, colon hex otherwise; None for length 0)", attr="src",
              slot="eth_src", getter="custom"),
        Field("sll.address", "FT_BYTES", "The 8-byte address field (halen bytes used)",
              craft="address", at=(6, 8), craft_in=(("SLL2", "address", (12, 8)),)),
        # the header's own protocol field (0x8100 on a tagged frame), as eth.type is
        Field("sll.etype", "FT_UINT16", "Protocol (an ethertype: the header's, 0x8100 "
              "on a tagged frame)", craft="protocol", at=(14, 2),
              craft_in=(("SLL2", "protocol", (0, 2)),)),
        Field("sll.ethertype", "FT_UINT16", "Ethertype after any VLAN tags (sll.etype, or "
              "the innermost vlan.etype)", attr="protocol", slot="eth_type"),
        Field("sll.ifindex", "FT_UINT32", "Interface index (v2 only)",
              craft_in=(("SLL2", "interface_index", (4, 4)),)),
        Field("sll.reserved", "FT_UINT16", "Reserved (v2 only, 0)",
              craft_in=(("SLL2", "reserved", (2, 2)),)),
        Field("sll.version", "FT_UINT8", "Header version: 1 (linktype 113) or 2 (276)",
              attr="version", getter="custom"),
    ),
)

NULL = Protocol(
    name="null",
    title="BSD loopback",
    reference="LINKTYPE_NULL / LINKTYPE_LOOP (tcpdump.org link types)",
    view=None,
    packet_attr=None,
    layer_bit="null",
    craft="Loopback",
    json=None,
    header="frame",
    fields=(
        # the family is in the sender's byte order (the craft layer's `byteorder` knob)
        Field("null.family", "FT_UINT32", "Address family (host byte order: 2 IPv4, "
              "24/28/30 IPv6)", craft="family", at=(0, 4), getter="custom",
              packet_value=lambda p: _family(p)),
    ),
)


def _family(pkt: Any) -> int | None:
    """The family of a LINKTYPE_NULL (0) or LINKTYPE_LOOP (108) header; None otherwise."""
    if pkt.linktype not in (0, 108) or len(pkt.data) < 4:
        return None
    raw = pkt.data[:4]
    if pkt.linktype == 108:
        return int.from_bytes(raw, "big")   # LOOP: always network byte order
    little = int.from_bytes(raw, "little")
    # the writer's byte order is not recorded: a family fits in the low 16 bits
    return little if little < 0x10000 else int.from_bytes(raw, "big")


PROTOCOLS = (ETHERNET, VLAN, SLL, NULL)
PROTOCOL = ETHERNET
