"""Link, network and transport layers for crafting.

Ethernet II and 802.1Q (IEEE 802.3 / 802.1Q), ARP (RFC 826), IPv4 (RFC 791),
IPv6 and its extension headers (RFC 8200; AH RFC 4302, Mobility RFC 6275, HIP
RFC 7401, Shim6 RFC 5533), TCP (RFC 9293, options RFC 7323 and RFC 2018), UDP
(RFC 768), ICMP (RFC 792), ICMPv6 (RFC 4443, neighbour discovery RFC 4861),
Linux cooked captures (SLL, SLL2) and BSD loopback. Lengths in bytes
everywhere (`header_length`, `frag_offset`), whatever unit the wire uses.

Type numbers and ports that AUTO fields derive come from the one binding table
(wirecraft.proto._bind), the TCP vocabulary from the catalogue (wirecraft.proto.tcp).
"""

from __future__ import annotations

import struct
from typing import Any

from .. import proto as _catalogue
from .._ext import load
from ..proto import _bind
from ..proto import tcp as _tcp_catalogue
from .base import (
    AUTO,
    Layer,
    Raw,
    default_address,
    ip4_bytes,
    ip4_str,
    ip6_bytes,
    ip6_str,
    mac_bytes,
    mac_str,
)

_c = load("_craft")

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_VLAN = 0x8100
ETHERTYPE_IPV6 = 0x86DD


def _next(stack: list[Layer], index: int) -> Layer | None:
    return stack[index + 1] if index + 1 < len(stack) else None


# ---------------------------------------------------------------- bindings
# Which number a lower layer's AUTO type field takes for the layer stacked on it comes from
# the one binding table (wirecraft.proto._bind), read by protocol name: a layer class's
# protocol is the catalogue Protocol whose `craft` names it (or one of its bases).

# IPv4 protocol and IPv6 next header are one number space (IANA's): a row of either binds
# both (IPv4()/ICMPv6() gets 58 as IPv6()/ICMPv6() does)
_IP_NUMBER_FIELDS = ("ip.proto", "ipv6.nxt")
_UNBOUND_ETHERTYPE = 0x9000  # scapy's value for a payload nothing binds (loopback test)


def protocol_name(cls: type) -> str | None:
    """The catalogue protocol name of a layer class (or of its nearest base that has one)."""
    for klass in cls.__mro__:
        cname = klass.__name__
        for p in _catalogue.PROTOCOLS:
            if p.craft == cname or cname in p.extra.get("crafts", ()):  # type: ignore[operator]
                return p.name
    name = getattr(cls, "name", None)
    return name if isinstance(name, str) and name != "layer" else None


def _bound(lower: tuple[str, ...], fields: tuple[str, ...], upper: type) -> int | None:
    """The first number a row from one of `lower` (by `fields`) announces `upper` with."""
    name = protocol_name(upper)
    if name is None:
        return None
    rows = _bind.BINDINGS
    for low in lower:
        for b in rows:
            if b.lower == low and b.upper == name and b.field in fields and b.values:
                return b.values[0]
    return None


def _ethertype_of(layer: Layer | None) -> int:
    cls = type(layer)
    number = _ETHERTYPES.get(cls)
    if number is None:
        number = _bound(("eth",), ("eth.type",), cls) if layer is not None else None
        if number is None:
            return _UNBOUND_ETHERTYPE
        _ETHERTYPES[cls] = number
    return number


def _ip_protocol_of(layer: Layer | None, none_value: int) -> int:
    if layer is None:
        return none_value
    cls = type(layer)
    number = _PROTOCOL_BY_TYPE.get(cls)
    if number is None:
        number = _bound(("ip", "ipv6"), _IP_NUMBER_FIELDS, cls)
        if number is None:
            return none_value
        _PROTOCOL_BY_TYPE[cls] = number
    return number


def _port_of(lower: str, layer: Layer | None) -> int | None:
    """The port `lower` ('udp', 'tcp') announces the layer above with, or None."""
    if layer is None:
        return None
    cache = _PORTS[lower]
    cls = type(layer)
    if cls in cache:
        return cache[cls]
    number = _bound((lower,), (f"{lower}.port", f"{lower}.srcport", f"{lower}.dstport"), cls)
    cache[cls] = number
    return number


def _udp_port_of(layer: Layer | None) -> int:
    """UDP's AUTO ports: the port bound to the layer above, else 53 (scapy's default)."""
    number = _port_of("udp", layer)
    return 53 if number is None else number


# caches of the lookups above, by layer class (the C build reads the first two directly)
_ETHERTYPES: dict[type, int] = {}
_PROTOCOL_BY_TYPE: dict[type, int] = {}
_PORTS: dict[str, dict[type, int | None]] = {"udp": {}, "tcp": {}}


def refresh_bindings() -> None:
    """Forget the numbers looked up so far: call after changing the binding table."""
    _ETHERTYPES.clear()
    _PROTOCOL_BY_TYPE.clear()
    for cache in _PORTS.values():
        cache.clear()


def _flags_int(value: Any, letters: str, more: dict[str, int] | None = None) -> int:
    """Flags given as an int or as letters (each letter one bit, lowest first; `more`:
    other letters accepted, letter -> bit)."""
    if isinstance(value, int):
        return value
    out = 0
    for ch in str(value):
        pos = letters.find(ch) if ch != " " else -1
        if pos >= 0:
            out |= 1 << pos
        elif more and ch in more:
            out |= more[ch]
        else:
            raise ValueError(f"unknown flag letter {ch!r} (known: {letters.strip()})")
    return out


# ---------------------------------------------------------------- layer 2

# defaults nobody gave (base.DefaultAddress): built as they read, replaced when sent
_BROADCAST = default_address("ff:ff:ff:ff:ff:ff", b"\xff" * 6)
_NO_MAC = default_address("00:00:00:00:00:00", bytes(6))
_LOOPBACK4 = default_address("127.0.0.1", b"\x7f\0\0\x01")
_LOOPBACK6 = default_address("::1", bytes(15) + b"\x01")


class Ethernet(Layer):
    """Ethernet II header; `type` follows the next layer; `trailer` is sent after the payload.

    `dst` defaults to broadcast and `src` to 00:00:00:00:00:00 in the bytes built;
    wirecraft.sendp sends an Ethernet layer whose addresses were not given with the
    interface's MAC and the next hop's (from the neighbour table) instead."""

    name = "ethernet"
    fields = (("dst", _BROADCAST), ("src", _NO_MAC), ("type", AUTO), ("trailer", b""))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        return _c.serialize_layer(self, payload, stack, index)  # the one implementation

    def _summary_one(self) -> str:
        return (f"Ethernet {mac_str(mac_bytes(self.src))} > {mac_str(mac_bytes(self.dst))} "
                f"type=0x{self.value('type'):04x}")

    def _display(self, fname: str, value: Any) -> Any:
        if fname in ("src", "dst"):
            return mac_str(mac_bytes(value))
        if fname == "type" and isinstance(value, int):
            return f"0x{value:04x}"
        return value


class Dot1Q(Layer):
    """802.1Q tag: priority (pcp), drop eligible (dei), VLAN id and the inner type. Stackable."""

    name = "vlan"
    fields = (("pcp", 0), ("dei", 0), ("id", 1), ("type", AUTO))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        etype = self._auto("type", lambda: _ethertype_of(_next(stack, index)))
        tci = ((self.pcp & 7) << 13) | ((self.dei & 1) << 12) | (self.id & 0xFFF)
        return struct.pack("!HH", tci, etype & 0xFFFF) + payload

    def _summary_one(self) -> str:
        return f"Dot1Q vlan={self.id} pcp={self.pcp}"


class ARP(Layer):
    """ARP request/reply for Ethernet/IPv4 (other sizes: give the addresses as bytes)."""

    name = "arp"
    fields = (("hardware_type", 1), ("protocol_type", ETHERTYPE_IPV4), ("hardware_size", AUTO),
              ("protocol_size", AUTO), ("opcode", 1), ("sender_mac", "00:00:00:00:00:00"),
              ("sender_ip", "0.0.0.0"), ("target_mac", "00:00:00:00:00:00"),
              ("target_ip", "0.0.0.0"))

    @staticmethod
    def _hw(v: Any) -> bytes:
        return bytes(v) if isinstance(v, (bytes, bytearray)) else mac_bytes(v)

    @staticmethod
    def _pr(v: Any) -> bytes:
        return bytes(v) if isinstance(v, (bytes, bytearray)) else ip4_bytes(v)

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        sh, th = self._hw(self.sender_mac), self._hw(self.target_mac)
        sp, tp = self._pr(self.sender_ip), self._pr(self.target_ip)
        hs = self._auto("hardware_size", len(sh))
        ps = self._auto("protocol_size", len(sp))
        return (struct.pack("!HHBBH", self.hardware_type, self.protocol_type, hs, ps, self.opcode)
                + sh + sp + th + tp + payload)

    def _summary_one(self) -> str:
        op = {1: "who-has", 2: "is-at"}.get(self.opcode, f"op={self.opcode}")
        return f"ARP {op} {self.target_ip} tell {self.sender_ip}"


class SLL(Layer):
    """Linux cooked capture v1 header (LINKTYPE_LINUX_SLL, 113)."""

    name = "sll"
    fields = (("packet_type", 0), ("arphrd_type", 1), ("address_length", AUTO),
              ("address", b""), ("protocol", AUTO))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        addr = bytes(self.address)
        alen = self._auto("address_length", len(addr))
        proto = self._auto("protocol", lambda: _ethertype_of(_next(stack, index)))
        return (struct.pack("!HHH", self.packet_type, self.arphrd_type, alen)
                + addr[:8].ljust(8, b"\0") + struct.pack("!H", proto) + payload)


class SLL2(Layer):
    """Linux cooked capture v2 header (LINKTYPE_LINUX_SLL2, 276)."""

    name = "sll2"
    fields = (("protocol", AUTO), ("reserved", 0), ("interface_index", 0), ("arphrd_type", 1),
              ("packet_type", 0), ("address_length", AUTO), ("address", b""))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        addr = bytes(self.address)
        alen = self._auto("address_length", len(addr))
        proto = self._auto("protocol", lambda: _ethertype_of(_next(stack, index)))
        return (struct.pack("!HHIHBB", proto, self.reserved, self.interface_index,
                            self.arphrd_type, self.packet_type, alen)
                + addr[:8].ljust(8, b"\0") + payload)


class Loopback(Layer):
    """BSD loopback header (LINKTYPE_NULL, 0): address family in host byte order."""

    name = "loopback"
    fields = (("family", AUTO), ("byteorder", "little"))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        def fam() -> int:
            nxt = _next(stack, index)
            return 30 if isinstance(nxt, IPv6) else 2
        family = self._auto("family", fam)
        return family.to_bytes(4, self.byteorder) + payload


# ---------------------------------------------------------------- layer 3

def _pad(data: bytes, to: int) -> bytes:
    return data + b"\0" * (-len(data) % to)


class IPv4(Layer):
    """IPv4 header. `flags`: 3 bits (4 reserved, 2 DF, 1 MF) or "DF"/"MF"; `frag_offset` in bytes.

    An AUTO `id` is 1, scapy's default, so a frame builds to the same bytes every time; the
    conversation builders number their packets per sender.

    `src` not given is 127.0.0.1 in the bytes built (`bytes(IPv4(dst=...))`, files,
    templates); wirecraft.send and wirecraft.sendp send such a packet from the source
    address of the kernel's route to `dst` (on the interface chosen) instead. A `src` given,
    127.0.0.1 included, is sent as given.
    """

    name = "ipv4"
    fields = (("version", 4), ("header_length", AUTO), ("tos", 0), ("total_length", AUTO),
              ("id", AUTO), ("flags", 0), ("frag_offset", 0), ("ttl", 64), ("protocol", AUTO),
              ("checksum", AUTO), ("src", _LOOPBACK4), ("dst", "127.0.0.1"), ("options", b""))

    def flags_int(self) -> int:
        f = self.flags
        if isinstance(f, str):
            out = 0
            for part in f.replace("|", "+").split("+"):
                part = part.strip().upper()
                if part:
                    out |= {"MF": 1, "DF": 2, "RF": 4, "EVIL": 4}[part]
            return out
        return int(f)

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        return _c.serialize_layer(self, payload, stack, index)  # the one implementation

    def _summary_one(self) -> str:
        return f"IPv4 {ip4_str(ip4_bytes(self.src))} > {ip4_str(ip4_bytes(self.dst))} ttl={self.ttl}"


class IPv6(Layer):
    """IPv6 fixed header; `next_header` follows the next layer (59, no next header, if none).

    `src` not given is ::1 in the bytes built, and the source address of the kernel's route
    to `dst` when sent (wirecraft.send, wirecraft.sendp), as IPv4's."""

    name = "ipv6"
    fields = (("version", 6), ("traffic_class", 0), ("flow_label", 0), ("payload_length", AUTO),
              ("next_header", AUTO), ("hop_limit", 64), ("src", _LOOPBACK6), ("dst", "::1"))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        plen = self._auto("payload_length", len(payload))
        nh = self._auto("next_header", lambda: _ip_protocol_of(_next(stack, index), 59))
        word = ((self.version & 0xF) << 28) | ((self.traffic_class & 0xFF) << 20) | (
            self.flow_label & 0xFFFFF)
        return (struct.pack("!IHBB", word, plen & 0xFFFF, nh, self.hop_limit)
                + ip6_bytes(self.src) + ip6_bytes(self.dst) + payload)

    def _summary_one(self) -> str:
        return f"IPv6 {ip6_str(ip6_bytes(self.src))} > {ip6_str(ip6_bytes(self.dst))} hlim={self.hop_limit}"


def _tlv_options(options: Any, fixed: int) -> bytes:
    """Hop-by-hop/destination options: raw bytes, or [(type, value)]; padded to 8 with Pad1/PadN."""
    if isinstance(options, (bytes, bytearray)):
        body = bytes(options)
    else:
        body = b"".join(bytes([t]) + (b"" if t == 0 else bytes([len(v)]) + bytes(v))
                        for t, v in options)
    need = -(fixed + len(body)) % 8
    if need == 1:
        body += b"\x00"
    elif need:
        body += bytes([1, need - 2]) + b"\0" * (need - 2)
    return body


class _IPv6Options(Layer):
    fields = (("next_header", AUTO), ("header_length", AUTO), ("options", b""))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        body = _tlv_options(self.options, 2)
        hl = self._auto("header_length", 2 + len(body))
        nh = self._auto("next_header", lambda: _ip_protocol_of(_next(stack, index), 59))
        return bytes([nh, ((hl // 8) - 1) & 0xFF]) + body + payload


class IPv6HopByHop(_IPv6Options):
    """IPv6 hop-by-hop options header (next header 0); `header_length` in bytes."""

    name = "ipv6_hop_by_hop"


class IPv6DestOptions(_IPv6Options):
    """IPv6 destination options header (next header 60); `header_length` in bytes."""

    name = "ipv6_dest_options"


class IPv6Routing(Layer):
    """IPv6 routing header; type 0/2 carry `addresses`, any type may give raw `data` instead."""

    name = "ipv6_routing"
    fields = (("next_header", AUTO), ("header_length", AUTO), ("routing_type", 0),
              ("segments_left", AUTO), ("data", b""), ("addresses", []))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        if self.data:
            body = bytes(self.data)
        else:
            body = b"\0" * 4 + b"".join(ip6_bytes(a) for a in self.addresses)
        body += b"\0" * (-(4 + len(body)) % 8)
        hl = self._auto("header_length", 4 + len(body))
        nh = self._auto("next_header", lambda: _ip_protocol_of(_next(stack, index), 59))
        sl = self._auto("segments_left", len(self.addresses))
        return bytes([nh, ((hl // 8) - 1) & 0xFF, self.routing_type, sl]) + body + payload

    def final_destination(self) -> bytes | None:
        """The address upper-layer checksums use (RFC 8200 s8.1), if this header names one."""
        sl = self.value("segments_left") if self.segments_left is not AUTO else len(self.addresses)
        if sl and self.addresses and self.routing_type in (0, 2):
            return ip6_bytes(self.addresses[-1])
        if sl and self.routing_type == 4 and len(bytes(self.data)) >= 20:
            return bytes(self.data)[4:20]  # segment list[0] is the final segment
        return None


class IPv6Fragment(Layer):
    """IPv6 fragment header; `frag_offset` in bytes (multiple of 8)."""

    name = "ipv6_fragment"
    fields = (("next_header", AUTO), ("reserved", 0), ("frag_offset", 0), ("reserved_bits", 0),
              ("more_fragments", 0), ("id", 0))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        nh = self._auto("next_header", lambda: _ip_protocol_of(_next(stack, index), 59))
        word = ((self.frag_offset // 8) << 3) | ((self.reserved_bits & 3) << 1) | (
            self.more_fragments & 1)
        return struct.pack("!BBHI", nh, self.reserved, word & 0xFFFF, self.id) + payload


class AH(Layer):
    """IP Authentication Header (RFC 4302, next header 51); `header_length` in bytes
    (12 plus the integrity check value)."""

    name = "ah"
    fields = (("next_header", AUTO), ("header_length", AUTO), ("reserved", 0), ("spi", 0),
              ("seq", 0), ("icv", b""))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        icv = bytes(self.icv)
        hl = self._auto("header_length", 12 + len(icv))
        nh = self._auto("next_header", lambda: _ip_protocol_of(_next(stack, index), 59))
        return struct.pack("!BBHII", nh, (hl // 4 - 2) & 0xFF, self.reserved,
                           self.spi & 0xFFFFFFFF, self.seq & 0xFFFFFFFF) + icv + payload


class _IPv6Opaque(Layer):
    """An IPv6 extension header kept as its body: next header, length (8-byte units on the
    wire, bytes here) and the bytes after those two, zero-padded to a multiple of 8."""

    fields = (("next_header", AUTO), ("header_length", AUTO), ("data", b""))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        body = bytes(self.data)
        body += b"\0" * (-(2 + len(body)) % 8)
        hl = self._auto("header_length", 2 + len(body))
        nh = self._auto("next_header", lambda: _ip_protocol_of(_next(stack, index), 59))
        return bytes([nh, ((hl // 8) - 1) & 0xFF]) + body + payload


class IPv6Mobility(_IPv6Opaque):
    """Mobility header (RFC 6275, next header 135): `data` from the MH type on."""

    name = "ipv6_mobility"


class HIP(_IPv6Opaque):
    """Host Identity Protocol header (RFC 7401, next header 139): `data` from the packet
    type on."""

    name = "hip"


class Shim6(_IPv6Opaque):
    """Shim6 header (RFC 5533, next header 140): `data` from the P bit / type on."""

    name = "shim6"


_EXT_HEADERS = (IPv6HopByHop, IPv6DestOptions, IPv6Routing, IPv6Fragment, AH, _IPv6Opaque)


def _pseudo_addrs(stack: list[Layer], index: int) -> tuple[bytes | None, bytes | None]:
    """(source, destination) of the pseudo-header for stack[index], or (None, None)."""
    if index:
        below = stack[index - 1]
        if type(below) is IPv4:
            return ip4_bytes(below.src), ip4_bytes(below.dst)
        if type(below) is IPv6:
            return ip6_bytes(below.src), ip6_bytes(below.dst)
    final_dst = None
    for j in range(index - 1, -1, -1):
        layer = stack[j]
        if isinstance(layer, IPv6Routing):
            final_dst = layer.final_destination() or final_dst
            continue
        if isinstance(layer, _EXT_HEADERS):
            continue
        if isinstance(layer, IPv4):
            return ip4_bytes(layer.src), ip4_bytes(layer.dst)
        if isinstance(layer, IPv6):
            return ip6_bytes(layer.src), final_dst or ip6_bytes(layer.dst)
        return None, None
    return None, None


# ---------------------------------------------------------------- layer 4

# TCP's one vocabulary is the catalogue's (wirecraft.proto.tcp), shared with Packet views:
# flags FIN=1 ... AE=0x100 shown with scapy's letters (lowest bit first), tcpdump's letters
# ('.' ACK, 'W' CWR) accepted too; option names those of `pkt.tcp.options`.
TCP_FLAG_LETTERS = "".join(scapy for _bit, _n, _td, scapy in _tcp_catalogue.FLAGS)
_TCPDUMP_FLAG_BITS = {td: bit for bit, _n, td, scapy in _tcp_catalogue.FLAGS if td != scapy}
TCP_OPTION_NAMES: dict[int, str] = dict(_tcp_catalogue.OPTION_NAMES)

# option name (any case) -> kind: the view names, plus scapy's spellings as input aliases
_TCP_OPTION_KINDS: dict[str, int] = {
    **{n.lower(): k for n, k in _tcp_catalogue.OPTION_KINDS.items()},
    "sackok": 4, "window_scale": 3, "timestamps": 8,   # scapy: MSS WScale SAckOK SAck Timestamp
}


def pack_tcp_options(options: Any) -> bytes:
    """TCP options from raw bytes or [(name or kind, value)], zero-padded to 4 bytes.

    Names are the view's (`mss`, `wscale`, `sack_permitted`, `sack`, `timestamp`, `nop`,
    `eol`, `user_timeout`, ...) or scapy's (`MSS`, `WScale`, `SAckOK`, `SAck`,
    `Timestamp`); a kind without a structured value takes its body as bytes."""
    if isinstance(options, (bytes, bytearray)):
        return _pad(bytes(options), 4)
    out = bytearray()
    for item in options:
        if isinstance(item, (str, int)):
            item = (item, None)
        kind, value = item
        k = _TCP_OPTION_KINDS[kind.lower()] if isinstance(kind, str) else int(kind)
        if k in (0, 1):
            out.append(k)
            continue
        if k == 2:
            body = struct.pack("!H", value)
        elif k == 3:
            body = bytes([value])
        elif k == 4:
            body = b""
        elif k == 5:
            body = b"".join(struct.pack("!II", left, right) for left, right in value)
        elif k == 8:
            body = struct.pack("!II", *value)
        else:
            body = bytes(value or b"")
        out += bytes([k, 2 + len(body)]) + body
    return _pad(bytes(out), 4)


class TCP(Layer):
    """TCP header. `flags`: int (FIN=1 ... AE=256) or letters "SA" (tcpdump's "S." too);
    `options` a list of (name, value) as `pkt.tcp.options` gives it, or bytes.

    AUTO ports: the port the binding table gives the layer above (both ports), else 20 > 80.
    """

    name = "tcp"
    fields = (("src_port", AUTO), ("dst_port", AUTO), ("seq", 0), ("ack", 0),
              ("header_length", AUTO), ("reserved", 0), ("flags", 2), ("window", 8192),
              ("checksum", AUTO), ("urgent", 0), ("options", []))

    def flags_int(self) -> int:
        return _flags_int(self.flags, TCP_FLAG_LETTERS, _TCPDUMP_FLAG_BITS)

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        sport, dport = self.src_port, self.dst_port
        if sport is AUTO or dport is AUTO:
            bound = _port_of("tcp", _next(stack, index))
            sport = self._auto("src_port", 20 if bound is None else bound)
            dport = self._auto("dst_port", 80 if bound is None else bound)
        options = pack_tcp_options(self.options)
        hl = self._auto("header_length", 20 + len(options))
        flags = self.flags
        if type(flags) is not int:      # letters: the common int needs no call
            flags = self.flags_int()
        off = ((hl // 4) & 0xF) << 12 | (self.reserved & 7) << 9 | (flags & 0x1FF)
        header = _TCP_HEADER.pack(sport, dport, self.seq & 0xFFFFFFFF,
                                  self.ack & 0xFFFFFFFF, off, self.window, 0,
                                  self.urgent) + options
        csum = self.checksum
        if csum is AUTO:
            src, dst = _pseudo_addrs(stack, index)
            seg = _c.transport_build(header, payload, 16, -1, src, dst, 6)
            self._resolved["checksum"] = (seg[16] << 8) | seg[17]
            return seg
        return _c.transport_build(header, payload, 16, csum & 0xFFFF, None, None, 6)

    def _summary_one(self) -> str:
        f = self.flags_int()
        letters = "".join(ch for i, ch in enumerate(TCP_FLAG_LETTERS) if f >> i & 1)
        return (f"TCP {self.value('src_port')} > {self.value('dst_port')} [{letters}] "
                f"seq={self.seq} ack={self.ack}")

    def _display(self, fname: str, value: Any) -> Any:
        if fname == "flags":
            f = _flags_int(value, TCP_FLAG_LETTERS, _TCPDUMP_FLAG_BITS)
            return f"0x{f:03x} " + "".join(
                ch for i, ch in enumerate(TCP_FLAG_LETTERS) if f >> i & 1)
        return super()._display(fname, value)


class UDP(Layer):
    """UDP header; a computed checksum of 0 is sent as 0xFFFF (RFC 768).

    AUTO ports: the port the binding table gives the layer above (both ports: `UDP()/DNS()`
    is 53 > 53), else 53 > 53 (scapy's default).
    """

    name = "udp"
    fields = (("src_port", AUTO), ("dst_port", AUTO), ("length", AUTO), ("checksum", AUTO))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        return _c.serialize_layer(self, payload, stack, index)  # the one implementation

    def _summary_one(self) -> str:
        return (f"UDP {self.value('src_port')} > {self.value('dst_port')} "
                f"len={self.value('length')}")


def _rest(layer: Layer) -> bytes:
    """The 4 bytes after an ICMP/ICMPv6 checksum: `rest` when given, else id and seq."""
    rest = layer.rest  # type: ignore[attr-defined]
    if rest is None:
        return struct.pack("!HH", layer.id or 0, layer.seq or 0)  # type: ignore[attr-defined]
    rest = bytes(rest)
    if len(rest) != 4:
        raise ValueError(f"{type(layer).__name__}.rest must be 4 bytes, got {len(rest)}")
    return rest


class ICMP(Layer):
    """ICMP header. `id`/`seq`: the echo (and timestamp, information) identifier and
    sequence number; `rest`: for other types, the 4 bytes after the checksum as bytes
    (unused, pointer, gateway, MTU: then `id` and `seq` are None and not sent)."""

    name = "icmp"
    fields = (("type", 8), ("code", 0), ("checksum", AUTO), ("id", 0), ("seq", 0),
              ("rest", None))

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        header = struct.pack("!BBH", self.type, self.code, 0) + _rest(self)
        csum = self.checksum
        if csum is AUTO:
            msg = _c.transport_build(header, payload, 2, -1, None, None, 1)
            self._resolved["checksum"] = (msg[2] << 8) | msg[3]
            return msg
        return _c.transport_build(header, payload, 2, csum & 0xFFFF, None, None, 1)

    def _summary_one(self) -> str:
        if self.rest is not None:
            return f"ICMP type={self.type} code={self.code}"
        return f"ICMP type={self.type} code={self.code} id={self.id} seq={self.seq}"


ND_FLAG_LETTERS = "     OSR"  # NA flags byte, lowest bit first: O=0x20 S=0x40 R=0x80


def pack_nd_options(options: Any) -> bytes:
    """Neighbour discovery options: raw bytes or [(type, value)]; types 1/2 take a MAC."""
    if isinstance(options, (bytes, bytearray)):
        return bytes(options)
    out = bytearray()
    for otype, value in options:
        body = mac_bytes(value) if otype in (1, 2) and not isinstance(value, bytes) else bytes(value)
        total = 2 + len(body)
        total += -total % 8
        out += bytes([otype, total // 8]) + body + b"\0" * (total - 2 - len(body))
    return bytes(out)


class ICMPv6(Layer):
    """ICMPv6: echo (128/129: `id`, `seq`), neighbour solicitation (135) and advertisement
    (136: `flags` R=0x80 S=0x40 O=0x20) with `target` and ND `options`; other types carry
    `id`/`seq` (or `rest`, 4 bytes given as they are) as the first 4 bytes and the rest as
    payload. `rest` replaces id/seq (135: the reserved word; 136: flags and reserved)."""

    name = "icmpv6"
    fields = (("type", 128), ("code", 0), ("checksum", AUTO), ("id", 0), ("seq", 0),
              ("flags", 0), ("target", "::"), ("options", []), ("rest", None))

    def _body(self) -> bytes:
        if self.type == 135:
            return _rest(self) + ip6_bytes(self.target) + pack_nd_options(self.options)
        if self.type == 136:
            if self.rest is not None:
                word = _rest(self)
            else:
                word = bytes([_flags_int(self.flags, ND_FLAG_LETTERS) & 0xFF]) + b"\0\0\0"
            return word + ip6_bytes(self.target) + pack_nd_options(self.options)
        return _rest(self)

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        header = struct.pack("!BBH", self.type, self.code, 0) + self._body()
        csum = self.checksum
        if csum is AUTO:
            src, dst = _pseudo_addrs(stack, index)
            msg = _c.transport_build(header, payload, 2, -1, src, dst, 58)
            self._resolved["checksum"] = (msg[2] << 8) | msg[3]
            return msg
        return _c.transport_build(header, payload, 2, csum & 0xFFFF, None, None, 58)

    def _summary_one(self) -> str:
        if self.type in (135, 136):
            return f"ICMPv6 type={self.type} target={self.target}"
        if self.rest is not None:
            return f"ICMPv6 type={self.type} code={self.code}"
        return f"ICMPv6 type={self.type} code={self.code} id={self.id} seq={self.seq}"


_TCP_HEADER = struct.Struct("!HHIIHHHH")

# the C build reads the two caches directly (filled on first use, emptied by
# refresh_bindings) and asks the functions about classes they do not hold yet
_c.register(Ethernet=Ethernet, IPv4=IPv4, UDP=UDP, ethertype_of=_ethertype_of,
            ip_protocol_of=_ip_protocol_of, udp_port_of=_udp_port_of,
            pseudo_addrs=_pseudo_addrs, ethertypes=_ETHERTYPES, protocols=_PROTOCOL_BY_TYPE)

__all__ = ["AH", "ARP", "HIP", "ICMP", "SLL", "SLL2", "TCP", "UDP", "Dot1Q", "Ethernet",
           "ICMPv6", "IPv4", "IPv6", "IPv6DestOptions", "IPv6Fragment", "IPv6HopByHop",
           "IPv6Mobility", "IPv6Routing", "Loopback", "Raw", "Shim6", "pack_tcp_options",
           "protocol_name", "refresh_bindings"]
