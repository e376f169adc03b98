"""Frames back into editable layers: `from_bytes(frame, linktype)`.

The result always serializes to exactly the input. Fields whose value equals
what AUTO would derive are left at AUTO, so editing one field (a TTL, a port)
recomputes lengths and checksums; fields that were wrong on the wire stay
explicit and stay wrong. Whatever cannot be represented field by field
(a malformed header, a later fragment, an application payload) is kept as Raw.
"""

from __future__ import annotations

import struct
from typing import Any

from .base import AUTO, Layer, Raw, ip4_str, ip6_str, mac_str
from .dns import DNS, Question, Record
from .layers import (
    ARP,
    ICMP,
    SLL,
    SLL2,
    TCP,
    TCP_OPTION_NAMES,
    UDP,
    Dot1Q,
    Ethernet,
    ICMPv6,
    IPv4,
    IPv6,
    IPv6DestOptions,
    IPv6Fragment,
    IPv6HopByHop,
    IPv6Routing,
    Loopback,
    pack_nd_options,
    pack_tcp_options,
)

_VLAN_TPIDS = {0x8100, 0x88A8, 0x9100}
_MAX_VLAN_TAGS = 8  # deeper stacks stay Raw: bounded recursion whatever the bytes
_MAX_EXT_HEADERS = 128
_DNS_PORTS = {53, 5353, 5355}


class _Parser:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.layers: list[Layer] = []
        self.offsets: list[int] = []
        self.trailer_owner: Ethernet | None = None

    def add(self, layer: Layer, offset: int) -> None:
        self.layers.append(layer)
        self.offsets.append(offset)

    def raw(self, off: int, end: int | None = None) -> None:
        end = len(self.data) if end is None else end
        if off < end:
            self.add(Raw(self.data[off:end]), off)

    def limit(self, off: int, end: int) -> int:
        """Cut the frame at `end` (an IP length): the rest becomes the Ethernet trailer."""
        if self.trailer_owner is not None and off <= end < len(self.data):
            self.trailer_owner.trailer = self.data[end:]
            return end
        return len(self.data)

    # -- link ------------------------------------------------------------
    def link(self, linktype: int) -> None:
        d = self.data
        lt = linktype & 0xFFFF
        if lt == 1 and len(d) >= 14:
            eth = Ethernet(dst=mac_str(d[0:6]), src=mac_str(d[6:12]),
                           type=struct.unpack_from("!H", d, 12)[0])
            self.add(eth, 0)
            self.trailer_owner = eth
            self.ethertype(eth.type, 14)
        elif lt in (101, 12, 14) and d:
            self.ip_by_version(0)
        elif lt == 228:
            self.ipv4(0)
        elif lt == 229:
            self.ipv6(0)
        elif lt == 0 and len(d) >= 4:
            order = "little" if d[0] or d[1] else "big"
            fam = int.from_bytes(d[:4], order)
            self.add(Loopback(family=fam, byteorder=order), 0)
            if fam == 2:
                self.ipv4(4)
            elif fam in (24, 28, 30):
                self.ipv6(4)
            else:
                self.raw(4)
        elif lt == 113 and len(d) >= 16:
            ptype, hatype, alen = struct.unpack_from("!HHH", d, 0)
            proto = struct.unpack_from("!H", d, 14)[0]
            if alen > 8 or d[6 + alen:14].strip(b"\0"):
                self.raw(0)
                return
            self.add(SLL(packet_type=ptype, arphrd_type=hatype, address_length=alen,
                         address=d[6:6 + alen], protocol=proto), 0)
            self.ethertype(proto, 16)
        elif lt == 276 and len(d) >= 20:
            proto, res, ifindex, hatype, ptype, alen = struct.unpack_from("!HHIHBB", d, 0)
            if alen > 8 or d[12 + alen:20].strip(b"\0"):
                self.raw(0)
                return
            self.add(SLL2(protocol=proto, reserved=res, interface_index=ifindex,
                          arphrd_type=hatype, packet_type=ptype, address_length=alen,
                          address=d[12:12 + alen]), 0)
            self.ethertype(proto, 20)
        else:
            self.raw(0)

    def ethertype(self, etype: int, off: int, depth: int = 0) -> None:
        d = self.data
        if etype in _VLAN_TPIDS and len(d) >= off + 4 and depth < _MAX_VLAN_TAGS:
            tci, inner = struct.unpack_from("!HH", d, off)
            self.add(Dot1Q(pcp=tci >> 13, dei=(tci >> 12) & 1, id=tci & 0xFFF, type=inner), off)
            self.ethertype(inner, off + 4, depth + 1)
        elif etype == 0x0800:
            self.ipv4(off)
        elif etype == 0x86DD:
            self.ipv6(off)
        elif etype == 0x0806:
            self.arp(off)
        else:
            self.raw(off)

    def arp(self, off: int) -> None:
        d = self.data
        if len(d) < off + 8:
            return self.raw(off)
        htype, ptype, hs, ps, op = struct.unpack_from("!HHBBH", d, off)
        end = off + 8 + 2 * (hs + ps)
        if len(d) < end:
            return self.raw(off)
        p = off + 8
        sh, sp = d[p:p + hs], d[p + hs:p + hs + ps]
        th, tp = d[p + hs + ps:p + 2 * hs + ps], d[p + 2 * hs + ps:end]
        std = hs == 6 and ps == 4
        self.add(ARP(hardware_type=htype, protocol_type=ptype, hardware_size=hs,
                     protocol_size=ps, opcode=op,
                     sender_mac=mac_str(sh) if std else sh, sender_ip=ip4_str(sp) if std else sp,
                     target_mac=mac_str(th) if std else th, target_ip=ip4_str(tp) if std else tp),
                 off)
        self.raw(end)

    # -- network ---------------------------------------------------------
    def ip_by_version(self, off: int) -> None:
        version = self.data[off] >> 4 if len(self.data) > off else 0
        if version == 4:
            self.ipv4(off)
        elif version == 6:
            self.ipv6(off)
        else:
            self.raw(off)

    def ipv4(self, off: int) -> None:
        d = self.data
        if len(d) < off + 20 or d[off] >> 4 != 4 or (d[off] & 0xF) < 5:
            return self.raw(off)
        hl = (d[off] & 0xF) * 4
        if len(d) < off + hl:
            return self.raw(off)
        tos, total, ident, ff, ttl, proto, csum = struct.unpack_from("!BHHHBBH", d, off + 1)
        self.add(IPv4(header_length=hl, tos=tos, total_length=total, id=ident, flags=ff >> 13,
                      frag_offset=(ff & 0x1FFF) * 8, ttl=ttl, protocol=proto, checksum=csum,
                      src=ip4_str(d[off + 12:off + 16]), dst=ip4_str(d[off + 16:off + 20]),
                      options=d[off + 20:off + hl]), off)
        end = self.limit(off, off + total) if total >= hl else len(d)
        if (ff & 0x1FFF) or (ff & 0x2000):
            return self.raw(off + hl, end)
        self.transport(proto, off + hl, end)

    def ipv6(self, off: int) -> None:
        d = self.data
        if len(d) < off + 40 or d[off] >> 4 != 6:
            return self.raw(off)
        word, plen, nh, hlim = struct.unpack_from("!IHBB", d, off)
        self.add(IPv6(traffic_class=(word >> 20) & 0xFF, flow_label=word & 0xFFFFF,
                      payload_length=plen, next_header=nh, hop_limit=hlim,
                      src=ip6_str(d[off + 8:off + 24]), dst=ip6_str(d[off + 24:off + 40])), off)
        end = self.limit(off, off + 40 + plen) if plen else len(d)
        self.ipv6_next(nh, off + 40, end)

    def ipv6_next(self, nh: int, off: int, end: int, depth: int = 0) -> None:
        d = self.data
        if nh in (0, 60, 43, 44) and depth >= _MAX_EXT_HEADERS:
            return self.raw(off, end)
        if nh in (0, 60, 43):
            if end < off + 8:
                return self.raw(off, end)
            hlen = (d[off + 1] + 1) * 8
            if end < off + hlen:
                return self.raw(off, end)
            nxt = d[off]
            if nh == 43:
                rtype, segs = d[off + 2], d[off + 3]
                body = d[off + 4:off + hlen]
                if rtype in (0, 2) and (hlen - 8) % 16 == 0 and not body[:4].strip(b"\0"):
                    addrs = [ip6_str(body[4 + 16 * i:20 + 16 * i]) for i in range((hlen - 8) // 16)]
                    layer: Layer = IPv6Routing(next_header=nxt, header_length=hlen,
                                               routing_type=rtype, segments_left=segs,
                                               addresses=addrs)
                else:
                    layer = IPv6Routing(next_header=nxt, header_length=hlen, routing_type=rtype,
                                        segments_left=segs, data=body)
            else:
                cls = IPv6HopByHop if nh == 0 else IPv6DestOptions
                layer = cls(next_header=nxt, header_length=hlen, options=d[off + 2:off + hlen])
            self.add(layer, off)
            return self.ipv6_next(nxt, off + hlen, end, depth + 1)
        if nh == 44:
            if end < off + 8:
                return self.raw(off, end)
            nxt, res, word, ident = struct.unpack_from("!BBHI", d, off)
            self.add(IPv6Fragment(next_header=nxt, reserved=res, frag_offset=(word >> 3) * 8,
                                  reserved_bits=(word >> 1) & 3, more_fragments=word & 1,
                                  id=ident), off)
            if (word >> 3) or (word & 1):
                return self.raw(off + 8, end)
            return self.ipv6_next(nxt, off + 8, end, depth + 1)
        self.transport(nh, off, end)

    # -- transport -------------------------------------------------------
    def transport(self, proto: int, off: int, end: int) -> None:
        d = self.data
        if proto == 6 and end >= off + 20:
            sp, dp, seq, ack, word, win, csum, urg = struct.unpack_from("!HHIIHHHH", d, off)
            hl = (word >> 12) * 4
            if hl < 20 or end < off + hl:
                return self.raw(off, end)
            opts = d[off + 20:off + hl]
            self.add(TCP(src_port=sp, dst_port=dp, seq=seq, ack=ack, header_length=hl,
                         reserved=(word >> 9) & 7, flags=word & 0x1FF, window=win, checksum=csum,
                         urgent=urg, options=_tcp_options(opts)), off)
            return self.raw(off + hl, end)
        if proto == 17 and end >= off + 8:
            sp, dp, length, csum = struct.unpack_from("!HHHH", d, off)
            self.add(UDP(src_port=sp, dst_port=dp, length=length, checksum=csum), off)
            if (sp in _DNS_PORTS or dp in _DNS_PORTS) and end > off + 8:
                layer = _dns_layer(d[off + 8:end])
                if layer is not None:
                    return self.add(layer, off + 8)
            return self.raw(off + 8, end)
        if proto == 1 and end >= off + 8:
            t, c, csum, ident, seq = struct.unpack_from("!BBHHH", d, off)
            self.add(ICMP(type=t, code=c, checksum=csum, id=ident, seq=seq), off)
            return self.raw(off + 8, end)
        if proto == 58 and end >= off + 8:
            t, c, csum, ident, seq = struct.unpack_from("!BBHHH", d, off)
            if t in (135, 136) and end >= off + 24:
                opts = d[off + 24:end]
                fields: dict[str, Any] = dict(type=t, code=c, checksum=csum,
                                              target=ip6_str(d[off + 8:off + 24]),
                                              options=_nd_options(opts))
                if t == 135:
                    fields.update(id=ident, seq=seq)
                elif d[off + 5:off + 8] == b"\0\0\0":
                    fields["flags"] = d[off + 4]
                else:
                    self.add(ICMPv6(type=t, code=c, checksum=csum, id=ident, seq=seq), off)
                    return self.raw(off + 8, end)
                self.add(ICMPv6(**fields), off)
                return
            self.add(ICMPv6(type=t, code=c, checksum=csum, id=ident, seq=seq), off)
            return self.raw(off + 8, end)
        if proto == 4:
            return self.ipv4(off) if end == len(d) else self.raw(off, end)
        if proto == 41:
            return self.ipv6(off) if end == len(d) else self.raw(off, end)
        self.raw(off, end)


def _dns_record(r: Any) -> Record:
    t, data = r.type, r.data
    if t in (1, 28) and isinstance(data, str):
        value: Any = data
    elif t in (2, 5, 12) and isinstance(data, str):
        value = data
    elif t == 15 and hasattr(data, "exchange"):
        value = (data.preference, data.exchange)
    elif t == 6 and hasattr(data, "minimum"):
        value = tuple(data)
    elif t == 16 and isinstance(data, tuple):
        value = list(data)
    else:
        value = bytes(r.rdata)
    return Record(r.name, t, value, r.ttl, r.cls | (0x8000 if getattr(r, "cache_flush", False)
                                                    else 0))


def _dns_layer(payload: bytes) -> DNS | None:
    """The message as an editable DNS layer, read by wirecraft.dns (the project's one DNS
    parser) and kept only if it builds back to exactly the same bytes."""
    try:
        from .. import dns as wdns

        m = wdns.decode(payload)
        if m.problems or m.size != len(payload):
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


# The lengths a TCP option of a known kind must have to be decoded into a value; any
# other length (a window scale of 4 bytes, a SACK of odd length, ...) is malformed.
_TCP_OPTION_FIXED = {2: 4, 3: 3, 4: 2, 8: 10}


def _tcp_options(raw: bytes) -> list | bytes:
    """Options as [(name, value)] when that list packs back to exactly `raw`, else raw.

    A malformed option (bad length for its kind, running past the header) makes the
    whole option field opaque bytes, which rebuild byte-identically."""
    out: list = []
    i = 0
    while i < len(raw):
        kind = raw[i]
        if kind in (0, 1):
            out.append((TCP_OPTION_NAMES[kind], None))
            i += 1
            if kind == 0:
                break
            continue
        if i + 1 >= len(raw):
            return raw
        length = raw[i + 1]
        if length < 2 or i + length > len(raw):
            return raw
        body = raw[i + 2:i + length]
        want = _TCP_OPTION_FIXED.get(kind)
        if want is not None and length != want:
            return raw
        if kind == 2:
            out.append(("MSS", struct.unpack("!H", body)[0]))
        elif kind == 3:
            out.append(("WScale", body[0]))
        elif kind == 4:
            out.append(("SAckOK", None))
        elif kind == 5:
            if (length - 2) % 8:
                return raw
            out.append(("SAck", [struct.unpack_from("!II", body, j)
                                 for j in range(0, len(body), 8)]))
        elif kind == 8:
            out.append(("Timestamp", struct.unpack("!II", body)))
        else:
            out.append((kind, body))
        i += length
    try:
        packed = pack_tcp_options(out)
    except (TypeError, ValueError, struct.error, KeyError):   # pragma: no cover - defensive
        return raw
    return out if packed == raw else raw


def _nd_options(raw: bytes) -> list | bytes:
    out: list = []
    i = 0
    while i + 2 <= len(raw):
        otype, units = raw[i], raw[i + 1]
        if units == 0 or i + units * 8 > len(raw):
            return raw
        body = raw[i + 2:i + units * 8]
        if otype in (1, 2) and units == 1:
            out.append((otype, mac_str(body)))
        else:
            out.append((otype, body))
        i += units * 8
    return out if i == len(raw) and pack_nd_options(out) == raw else raw


def _stack(layers: list[Layer]) -> Layer:
    for lower, upper in zip(layers, layers[1:], strict=False):
        lower.payload = upper
    return layers[0]


def _relax(top: Layer, data: bytes) -> None:
    """Turn explicit derived fields back to AUTO wherever that keeps the bytes identical."""
    candidates = [(layer, f) for layer in top.layers() for f, default in layer.fields
                  if default is AUTO and f != "id" and getattr(layer, f) is not AUTO]
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
    """The bytes of a parsed stack, or None where a field value cannot be packed back
    (such a stack is then cut to the prefix that rebuilds, the rest kept as Raw)."""
    try:
        return top.build()
    except (TypeError, ValueError, struct.error, KeyError, OverflowError):
        return None


def from_bytes(data: bytes | bytearray | memoryview, linktype: int = 1) -> Layer:
    """Editable layers for a captured frame; `bytes(result) == data` always holds."""
    data = bytes(data)
    p = _Parser(data)
    try:
        p.link(linktype)
    except (struct.error, ValueError, IndexError):
        p.layers, p.offsets = [], []
    if not p.layers:
        return Raw(data)
    top = _stack(p.layers)
    if _build_or_none(top) != data:
        # keep the longest prefix of layers that reproduces the frame, the rest as Raw
        for k in range(len(p.layers) - 1, 0, -1):
            layers = p.layers[:k] + [Raw(data[p.offsets[k]:])]
            if isinstance(layers[0], Ethernet):
                layers[0].trailer = b""
            top = _stack(layers)
            if _build_or_none(top) == data:
                break
        else:
            return Raw(data)
    _relax(top, data)
    return top


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


__all__ = ["from_bytes", "from_scapy"]
