"""Decoded packets back into editable layers: `from_packet(pkt)`, `from_bytes(frame)`.

There is one decoder (the Cython batch decoder); this module does not parse
headers of its own. Which layers a frame has and where each begins and ends
come from the decoded record (layer bits, l3/l4/payload offsets, VLAN count,
IPv6 extension count, where and why decoding stopped); field values come
from the Packet views, and the few crafting fields no view exposes (ARP's
hardware type, a cooked header's address bytes ...) are read at the position
the field catalogue (wirecraft.proto) gives them, at the decoded header's
offset. So `pkt.to_layers()` says what `pkt.*` says.

The result always serializes to exactly the frame. Fields whose value equals
what AUTO would derive are left at AUTO, so editing one field (a TTL, a port)
recomputes lengths and checksums; fields that were wrong on the wire stay
explicit and stay wrong. Whatever the decoder did not decode field by field
(a stopped decode, a later fragment, a tunnel, an unknown payload) is Raw.
"""

from __future__ import annotations

import struct
from typing import Any, Literal

from .. import proto as _catalogue
from .._ext import load
from ..proto._payload import header_length, payload_protocols
from ..proto.icmpv6 import nd_options
from .base import AUTO, Layer, Raw, ip6_str
from .dns import DNS, Question, Record
from .layers import (
    AH,
    ARP,
    HIP,
    ICMP,
    SLL,
    SLL2,
    TCP,
    UDP,
    Dot1Q,
    Ethernet,
    ICMPv6,
    IPv4,
    IPv6,
    IPv6DestOptions,
    IPv6Fragment,
    IPv6HopByHop,
    IPv6Mobility,
    IPv6Routing,
    Loopback,
    Shim6,
    pack_tcp_options,
)
from .payload import from_view

_core = load("_core")
_L = _core.LAYER_BITS

# ---------------------------------------------------------------- the record

# the record members this module reads (rec_t, by the names record_fields() gives them)
_RECORD_NAMES = ("layers", "l3_offset", "l4_offset", "payload_offset", "payload_length",
                 "vlan_count", "ip6_ext_count", "eth_type", "linktype")
_STRUCT_CODES = {"<i8": "q", "<u8": "Q", "<u4": "I", "<u2": "H", "u1": "B"}


def _record_struct() -> struct.Struct:
    fields = {name: (off, code) for name, off, code in _core.record_fields()}
    fmt, at = "<", 0
    for name in sorted(_RECORD_NAMES, key=lambda n: fields[n][0]):
        off, code = fields[name]
        fmt += f"{off - at}x{_STRUCT_CODES[code]}"
        at = off + struct.calcsize("<" + _STRUCT_CODES[code])
    return struct.Struct(fmt)


_RECORD = _record_struct()
_RECORD_ORDER = sorted(_RECORD_NAMES,
                       key=lambda n: next(o for m, o, _ in _core.record_fields() if m == n))
_RECORD_SIZE = _core.record_size()


class _Rec:
    """The members of one packet's record that say what was decoded where."""

    __slots__ = _RECORD_NAMES
    layers: int
    l3_offset: int
    l4_offset: int
    payload_offset: int
    payload_length: int
    vlan_count: int
    ip6_ext_count: int
    eth_type: int
    linktype: int

    def __init__(self, pkt: Any) -> None:
        values = _RECORD.unpack_from(pkt.batch.record_bytes(), pkt.position * _RECORD_SIZE)
        for name, value in zip(_RECORD_ORDER, values, strict=True):
            setattr(self, name, value)


# ---------------------------------------------------------------- catalogue positions

def _positions() -> dict[tuple[str, str], tuple[int, int]]:
    """(crafting class, crafting field) -> (offset, width) in its header, for every
    catalogue field that gives both (`craft` + `at` of its protocol, and `craft_in`)."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for p in _catalogue.PROTOCOLS:
        for f in p.fields:
            if f.bits is not None or f.wire is not None:
                continue                 # a sub-byte or scaled value, not a plain read
            if p.craft and f.craft and f.at is not None:
                out[(p.craft, f.craft)] = f.at
            for cls, cfield, at in f.craft_in:
                if at is not None:
                    out[(cls, cfield)] = at
    return out


_AT = _positions()


def _read(data: bytes, start: int, craft_class: str, craft_field: str) -> int:
    """A crafting field no view exposes, read where the catalogue puts it in the header
    that starts at `start`."""
    off, width = _AT[(craft_class, craft_field)]
    return int.from_bytes(data[start + off:start + off + width], "big")


# ---------------------------------------------------------------- building the stack

class _Stack:
    """Layers with the frame offset each one starts at; the Ethernet layer owns a trailer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.layers: list[Layer] = []
        self.offsets: list[int] = []
        self.trailer_owner: Ethernet | None = None

    def add(self, layer: Layer, offset: int) -> None:
        self.layers.append(layer)
        self.offsets.append(offset)

    def raw(self, start: int, end: int | None = None) -> None:
        end = len(self.data) if end is None else end
        if start < end:
            self.add(Raw(self.data[start:end]), start)

    def ip_end(self, start: int, length: int | None) -> int:
        """Where an IP packet of `length` bytes at `start` ends; what follows it is the
        Ethernet trailer (without an Ethernet header it stays in the last layer)."""
        n = len(self.data)
        if length is None or self.trailer_owner is None or not start <= start + length < n:
            return n
        self.trailer_owner.trailer = self.data[start + length:]
        return start + length


def _link(s: _Stack, pkt: Any, rec: _Rec) -> int | None:
    """The link layer and VLAN tags; the offset of the network layer, or None (all Raw)."""
    data, bits = s.data, rec.layers
    if bits & _L["eth"]:
        eth = pkt.eth
        layer = Ethernet(dst=eth.dst, src=eth.src, type=_read(data, 0, "Ethernet", "type"))
        s.add(layer, 0)
        s.trailer_owner = layer
        off = 14
    elif bits & _L["sll"]:
        off = _cooked(s, pkt)
    elif bits & _L["null"]:
        fam_le = int.from_bytes(data[:4], "little")
        order: Literal["big", "little"] = (
            "big" if rec.linktype == 108 or fam_le > 0xFFFF else "little")
        s.add(Loopback(family=int.from_bytes(data[:4], order), byteorder=order), 0)
        off = 4
    elif rec.layers & (_L["ipv4"] | _L["ipv6"]) and rec.l3_offset == 0:
        off = 0             # raw IP link types: the frame starts with the IP header
    else:
        return None
    if bits & _L["vlan"]:
        tags = pkt.vlan[:rec.vlan_count]          # the tags the decoder decoded (<= 3)
        for i, tag in enumerate(tags):
            inner = tags[i + 1].tpid if i + 1 < len(tags) else rec.eth_type
            s.add(Dot1Q(pcp=tag.pcp, dei=tag.dei, id=tag.id, type=inner), off)
            off += 4
    return off


def _cooked(s: _Stack, pkt: Any) -> int:
    """A Linux cooked header (SLL v1 or v2); the address field is always 8 bytes."""
    data = s.data
    if pkt.sll.version == 1:
        alen = _read(data, 0, "SLL", "address_length")
        s.add(SLL(packet_type=pkt.sll.packet_type, arphrd_type=_read(data, 0, "SLL", "arphrd_type"),
                  address_length=alen, address=_address(data[6:14], alen),
                  protocol=_read(data, 0, "SLL", "protocol")), 0)
        return 16
    alen = _read(data, 0, "SLL2", "address_length")
    s.add(SLL2(protocol=_read(data, 0, "SLL2", "protocol"),
               reserved=_read(data, 0, "SLL2", "reserved"),
               interface_index=_read(data, 0, "SLL2", "interface_index"),
               arphrd_type=_read(data, 0, "SLL2", "arphrd_type"),
               packet_type=pkt.sll.packet_type, address_length=alen,
               address=_address(data[12:20], alen)), 0)
    return 20


def _address(field: bytes, alen: int) -> bytes:
    """The address bytes of a cooked header: its `alen` bytes when the rest of the 8-byte
    field is zero (what the layer pads with), else all 8 (the length stays explicit)."""
    if alen <= 8 and not field[alen:].strip(b"\0"):
        return field[:alen]
    return field


def _network(s: _Stack, pkt: Any, rec: _Rec, off: int) -> None:
    bits = rec.layers
    if off != rec.l3_offset:             # pragma: no cover - the record disagrees with itself
        return s.raw(off)
    if bits & _L["arp"]:
        return _arp(s, pkt, off)
    if bits & _L["ipv4"]:
        return _ipv4(s, pkt, rec, off)
    if bits & _L["ipv6"]:
        return _ipv6(s, pkt, rec, off)
    s.raw(off)


def _arp(s: _Stack, pkt: Any, off: int) -> None:
    # the view has the addresses when the decoder decoded them: Ethernet/IPv4, 28 bytes
    # (a frame cut after them is 'truncated payload' and keeps its ARP layer)
    if pkt.stop_reason in ("unsupported", "truncated header") or len(s.data) < off + 28:
        return s.raw(off)
    a, data = pkt.arp, s.data
    s.add(ARP(hardware_type=_read(data, off, "ARP", "hardware_type"),
              protocol_type=_read(data, off, "ARP", "protocol_type"),
              hardware_size=_read(data, off, "ARP", "hardware_size"),
              protocol_size=_read(data, off, "ARP", "protocol_size"), opcode=a.opcode,
              sender_mac=a.sender_mac, sender_ip=a.sender_ip, target_mac=a.target_mac,
              target_ip=a.target_ip), off)
    s.raw(off + 28)                      # link padding


def _ipv4(s: _Stack, pkt: Any, rec: _Rec, off: int) -> None:
    ip = pkt.ipv4
    hl = ip.header_length
    if hl < 20 or off + hl > len(s.data) or ip.dst is None:
        return s.raw(off)                # the header was not decoded whole
    total = ip.total_length
    s.add(IPv4(header_length=hl, tos=ip.tos, total_length=total, id=ip.id, flags=ip.flags,
               frag_offset=ip.frag_offset, ttl=ip.ttl, protocol=ip.protocol,
               checksum=ip.checksum, src=ip.src, dst=ip.dst, options=ip.options), off)
    end = s.ip_end(off, total if total >= hl else None)
    _transport(s, pkt, rec, off + hl, end)


def _ipv6(s: _Stack, pkt: Any, rec: _Rec, off: int) -> None:
    ip = pkt.ipv6
    if len(s.data) < off + 40:
        return s.raw(off)
    plen, nh = ip.payload_length, ip.next_header
    s.add(IPv6(traffic_class=ip.traffic_class, flow_label=ip.flow_label, payload_length=plen,
               next_header=nh, hop_limit=ip.hop_limit, src=ip.src, dst=ip.dst), off)
    jumbo = plen == 0 and nh == 0
    end = s.ip_end(off, None if jumbo else 40 + plen)
    cur = off + 40
    for kind in ip.extension_headers[:rec.ip6_ext_count]:   # the chain the decoder walked
        layer, size = _extension(s.data, kind, cur, end)
        if layer is None:
            return s.raw(cur, end)
        s.add(layer, cur)
        cur += size
        if isinstance(layer, IPv6Fragment) and layer.frag_offset:
            return s.raw(cur, end)       # a later fragment: its transport header is elsewhere
    _transport(s, pkt, rec, cur, end)


def _extension(data: bytes, kind: int, at: int, end: int) -> tuple[Layer | None, int]:
    """The extension header of type `kind` at `at` and its size (None: it overruns)."""
    if at + 8 > end:
        return None, 0
    nxt = data[at]
    if kind == 44:
        word = int.from_bytes(data[at + 2:at + 4], "big")
        return IPv6Fragment(next_header=nxt, reserved=data[at + 1], frag_offset=word & 0xFFF8,
                            reserved_bits=(word >> 1) & 3, more_fragments=word & 1,
                            id=int.from_bytes(data[at + 4:at + 8], "big")), 8
    size = (data[at + 1] + 2) * 4 if kind == 51 else (data[at + 1] + 1) * 8
    if at + size > end:
        return None, 0
    body = data[at:at + size]
    if kind == 51:
        if size < 12:
            return None, 0
        spi, seq = struct.unpack_from("!II", body, 4)
        return AH(next_header=nxt, header_length=size,
                  reserved=int.from_bytes(body[2:4], "big"), spi=spi, seq=seq,
                  icv=body[12:]), size
    if kind == 43:
        return _routing(body, nxt), size
    if kind in (0, 60):
        cls: type = IPv6HopByHop if kind == 0 else IPv6DestOptions
        return cls(next_header=nxt, header_length=size, options=body[2:]), size
    opaque = {135: IPv6Mobility, 139: HIP, 140: Shim6}[kind]
    return opaque(next_header=nxt, header_length=size, data=body[2:]), size


def _routing(body: bytes, nxt: int) -> IPv6Routing:
    size, rtype, segs = len(body), body[2], body[3]
    if rtype in (0, 2) and (size - 8) % 16 == 0 and not body[4:8].strip(b"\0"):
        addrs = [ip6_str(body[8 + 16 * i:24 + 16 * i]) for i in range((size - 8) // 16)]
        return IPv6Routing(next_header=nxt, header_length=size, routing_type=rtype,
                           segments_left=segs, addresses=addrs)
    return IPv6Routing(next_header=nxt, header_length=size, routing_type=rtype,
                       segments_left=segs, data=body[4:])


def _transport(s: _Stack, pkt: Any, rec: _Rec, off: int, end: int) -> None:
    """The transport header the decoder decoded at `off` (bounded by the IP end), then its
    payload; Raw where it stopped before (a tunnel, a later fragment, an unknown protocol)."""
    bits = rec.layers
    if rec.l4_offset != off or not bits & (_L["tcp"] | _L["udp"] | _L["icmp"] | _L["icmpv6"]):
        return s.raw(off, end)
    if bits & _L["tcp"]:
        t = pkt.tcp
        hl = t.header_length
        if hl is None or hl < 20 or off + hl > end or t.urgent is None:
            return s.raw(off, end)
        s.add(TCP(src_port=t.src_port, dst_port=t.dst_port, seq=t.seq, ack=t.ack,
                  header_length=hl, reserved=t.flags >> 9, flags=t.flags & 0x1FF,
                  window=t.window, checksum=t.checksum, urgent=t.urgent,
                  options=_tcp_options(t)), off)
        return _payload(s, pkt, off + hl, end)
    if bits & _L["udp"]:
        u = pkt.udp
        if off + 8 > end:
            return s.raw(off, end)
        s.add(UDP(src_port=u.src_port, dst_port=u.dst_port, length=u.length,
                  checksum=u.checksum), off)
        if pkt.app in ("dns", "mdns", "llmnr") and end > off + 8 and (
                rec.payload_offset + rec.payload_length == end):
            layer = _dns_layer(pkt)
            if layer is not None:
                return s.add(layer, off + 8)
        return _payload(s, pkt, off + 8, end)
    if off + 8 > end:
        return s.raw(off, end)
    if bits & _L["icmp"]:
        v = pkt.icmp
        s.add(ICMP(type=v.type, code=v.code, checksum=v.checksum, **_id_seq(v, s.data, off)),
              off)
        return s.raw(off + 8, end)
    _icmpv6(s, pkt.icmpv6, off, end)


def _id_seq(v: Any, data: bytes, off: int) -> dict[str, Any]:
    """An echo's id and seq as the view gives them; for other types the 4 bytes after the
    checksum as they are (the view has no id/seq there, and neither has the layer)."""
    if v.id is not None:
        return {"id": v.id, "seq": v.seq}
    return {"id": None, "seq": None, "rest": data[off + 4:off + 8]}


def _icmpv6(s: _Stack, v: Any, off: int, end: int) -> None:
    data = s.data
    if v.type in (135, 136) and end >= off + 24:
        fields: dict[str, Any] = dict(type=v.type, code=v.code, checksum=v.checksum,
                                      target=ip6_str(data[off + 8:off + 24]),
                                      options=nd_options(data[off + 24:end]))
        word = data[off + 4:off + 8]
        if v.type == 136 and word[1:] == b"\0\0\0":
            fields.update(flags=word[0], id=None, seq=None)
        else:
            fields.update(id=None, seq=None, rest=word)
        s.add(ICMPv6(**fields), off)
        return
    s.add(ICMPv6(type=v.type, code=v.code, checksum=v.checksum, **_id_seq(v, data, off)), off)
    s.raw(off + 8, end)


def _tcp_options(view: Any) -> list | bytes:
    """The view's option list when it packs back to exactly the option bytes, else the
    bytes (a malformed option, bytes after an end-of-list)."""
    raw = view.options_bytes
    if not raw:
        return []
    options = view.options
    try:
        if pack_tcp_options(options) == raw:
            return options
    except (TypeError, ValueError, struct.error, KeyError):
        pass
    return raw


# ---------------------------------------------------------------- payload protocols

def _payload(s: Any, pkt: Any, start: int, end: int) -> None:
    """The transport payload at start..end: a payload protocol's layer when the binding
    table carries one there and the decoder gave the whole layout (the rest Raw)."""
    if end > start:
        for attr, proto in payload_protocols().items():
            view = getattr(pkt, attr)
            if view is None:
                continue
            size = header_length(proto)
            if end - start >= size and len(pkt.payload) == end - start:
                s.add(from_view(view), start)
                return s.raw(start + size, end)
            break
    return s.raw(start, end)


# ---------------------------------------------------------------- DNS

def _dns_record(r: Any) -> Record:
    t, data = r.type, r.data
    if t in (1, 2, 5, 12, 28) and isinstance(data, str):
        value: Any = data
    elif t == 15 and hasattr(data, "exchange"):
        value = (data.preference, data.exchange)
    elif t == 6 and hasattr(data, "minimum"):
        value = tuple(data)
    elif t == 16 and isinstance(data, tuple):
        value = list(data)
    else:
        value = bytes(r.rdata)
    return Record(r.name, t, value, r.ttl,
                  r.cls | (0x8000 if getattr(r, "cache_flush", False) else 0))


def _dns_layer(pkt: Any) -> DNS | None:
    """The message the decoder's DNS parser read (`pkt.dns`) as an editable DNS layer, kept
    only if it builds back to exactly the payload."""
    payload = pkt.payload
    try:
        m = pkt.dns
        if m is None or m.problems or m.size != len(payload):
            return None
        layer = DNS(id=m.id, qr=m.qr, opcode=m.opcode, aa=m.aa, tc=m.tc, rd=m.rd, ra=m.ra,
                    z=m.z, ad=m.ad, cd=m.cd, rcode=m.header_rcode,
                    questions=[Question(q.name, q.type, q.cls | (
                        0x8000 if getattr(q, "unicast_response", False) else 0))
                        for q in m.questions],
                    answers=[_dns_record(r) for r in m.answers],
                    authorities=[_dns_record(r) for r in m.authorities],
                    additionals=[_dns_record(r) for r in m.additionals])
    except Exception:  # noqa: BLE001 - anything unexpected: keep the bytes as Raw
        return None
    for compress in (True, False):
        layer.compress = compress
        try:
            if layer.build() == payload:
                return layer
        except (ValueError, struct.error, TypeError):
            return None
    return None


# ---------------------------------------------------------------- the stack as a whole

def _link_stack(layers: list[Layer]) -> Layer:
    for lower, upper in zip(layers, layers[1:], strict=False):
        lower.payload = upper
    layers[-1].payload = None
    return layers[0]


# fields AUTO derives but that name the packet rather than follow from it: kept explicit
_IDENTITY = frozenset({"id", "src_port", "dst_port"})


def _relax(top: Layer, data: bytes) -> None:
    """Turn explicit derived fields back to AUTO wherever that keeps the bytes identical."""
    candidates = [(layer, f) for layer in top.layers() for f, default in layer.fields
                  if default is AUTO and f not in _IDENTITY and getattr(layer, f) is not AUTO]
    saved = [(layer, f, getattr(layer, f)) for layer, f in candidates]
    for layer, f in candidates:
        object.__setattr__(layer, f, AUTO)
    if _build_or_none(top) == data:
        return
    for layer, f, value in saved:
        object.__setattr__(layer, f, value)
    for layer, f, value in saved:
        object.__setattr__(layer, f, AUTO)
        if _build_or_none(top) != data:
            object.__setattr__(layer, f, value)


def _build_or_none(top: Layer) -> bytes | None:
    """The bytes of a stack, or None where a field value cannot be packed back."""
    try:
        return top.build()
    except (TypeError, ValueError, struct.error, KeyError, OverflowError):
        return None


def from_packet(pkt: Any) -> Layer:
    """Editable layers for a decoded packet (`pkt.to_layers()`): the layers the decoder
    decoded, with the views' field values; `bytes(result) == pkt.data` always holds."""
    data = pkt.data
    rec = _Rec(pkt)
    s = _Stack(data)
    off = _link(s, pkt, rec)
    if off is None:
        return Raw(data)
    _network(s, pkt, rec, off)
    if not s.layers:
        return Raw(data)
    top = _link_stack(s.layers)
    if _build_or_none(top) != data:
        # a value a layer cannot pack back: keep the longest prefix of layers that
        # reproduces the frame, the rest as Raw
        for k in range(len(s.layers) - 1, 0, -1):
            layers = s.layers[:k] + [Raw(data[s.offsets[k]:])]
            if isinstance(layers[0], Ethernet):
                layers[0].trailer = b""
            top = _link_stack(layers)
            if _build_or_none(top) == data:
                break
        else:
            return Raw(data)
    _relax(top, data)
    return top


def from_bytes(data: bytes | bytearray | memoryview, linktype: int = 1) -> Layer:
    """Editable layers for a captured frame, decoded by the one decoder; `bytes(result) ==
    data` always holds."""
    from ..capture import decode

    return from_packet(decode(bytes(data), linktype & 0xFFFF))


def from_scapy(pkt: Any) -> Layer:
    """wirecraft layers for a scapy packet, through its bytes."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6 as ScapyIPv6
    from scapy.layers.l2 import Ether

    data = bytes(pkt)
    if isinstance(pkt, Ether):
        return from_bytes(data, 1)
    if isinstance(pkt, (IP, ScapyIPv6)):
        return from_bytes(data, 101)
    return Raw(data)


__all__ = ["from_bytes", "from_packet", "from_scapy"]
