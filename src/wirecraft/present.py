"""Packets shown as a scapy user expects: `show()`, `hexdump()` and `ls()`.

The same conveniences for a decoded packet (wirecraft.Packet) and for crafted
layers (wirecraft.craft):

* `show()` prints every layer and field, a `###[ Name ]###` header per layer and one
  `  name = value` line per field (`show(dump=True)` returns the text instead).
  A decoded packet's sections are the catalogue's protocols (wirecraft.proto), its
  lines the catalogue's dotted names (tshark's: `ip.ttl`, `tcp.flags.syn`) with the
  values `wirecraft.proto.value` reads; a field the packet does not carry (its bytes
  not captured, a DNS record type it has none of) is left out, never shown as 0.
  A crafted stack shows its layers' own fields, derived values included.
* `hexdump()` prints the bytes as `tcpdump -X` does: from the network header on, 16
  bytes a line in groups of two, offsets `0x0000:`, an ASCII column (bytes 0x21-0x7e
  as themselves, every other byte, the space included, as '.'). `hexdump(link=True)`
  is `tcpdump -XX`: the whole frame, link header included. A crafted stack is dumped
  from its built bytes, decoded, so the link header is found as for a captured frame.
* `ls(Layer)` lists a crafting layer's fields with their types and defaults;
  `ls(layer)` adds the values that instance holds.
"""

from __future__ import annotations

import sys
from typing import Any

# bytes per hexdump line, and the width of its hex column (8 groups of " xxxx")
_LINE = 16
_HEX_WIDTH = 40

# LINKTYPE_* of a crafted stack, by its first layer (raw IP for a stack that starts at IP)
_LINKTYPE_OF_FIRST = {"ethernet": 1, "sll": 113, "sll2": 276, "loopback": 0, "ipv4": 101,
                      "ipv6": 101}


# ---------------------------------------------------------------- hexdump

def hexdump_text(data: bytes | bytearray | memoryview) -> str:
    """`data` in tcpdump's -X layout, one line per 16 bytes (each line starts with a tab,
    as tcpdump prints it); empty for no bytes."""
    data = bytes(data)
    lines = []
    for off in range(0, len(data), _LINE):
        chunk = data[off:off + _LINE]
        hexpart = "".join(f" {chunk[i:i + 2].hex()}" for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 0x21 <= b <= 0x7E else "." for b in chunk)
        lines.append(f"\t0x{off:04x}: {hexpart:<{_HEX_WIDTH}}  {text}")
    return "\n".join(lines)


def _emit(text: str, dump: bool, file: Any) -> str | None:
    if dump:
        return text
    print(text, file=sys.stdout if file is None else file)
    return None


def hexdump_packet(pkt: Any, network_offset: int, link: bool = False, dump: bool = False,
                   file: Any = None) -> str | None:
    """Packet.hexdump: `network_offset` is where the decoder found the network header."""
    data = pkt.data
    if not link:
        # tcpdump -X prints what follows the link header, nothing when the frame is no
        # longer than the header (a frame too short for its link header has none)
        start = network_offset if network_offset or _starts_at_network(pkt) else len(data)
        data = data[min(start, len(data)):]
    return _emit(hexdump_text(data), dump, file)


def _starts_at_network(pkt: Any) -> bool:
    """Whether the frame has no link header (raw IP link types): offset 0 is the network."""
    return pkt.linktype in (12, 14, 101, 228, 229)


def hexdump(obj: Any, link: bool = False, dump: bool = False, file: Any = None) -> str | None:
    """`tcpdump -X` (link=True: `-XX`) of a decoded Packet or a crafted layer stack; plain
    bytes are dumped whole. Printed, or returned with dump=True."""
    from .craft.base import Layer

    if isinstance(obj, Layer):
        return layer_hexdump(obj, link, dump, file)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return _emit(hexdump_text(obj), dump, file)
    method = getattr(obj, "hexdump", None)
    if method is None:
        raise TypeError(f"cannot hexdump a {type(obj).__name__}: give a Packet, layers or bytes")
    return method(link=link, dump=dump, file=file)  # type: ignore[no-any-return]


def linktype_of(layer: Any) -> int | None:
    """The LINKTYPE_* number a crafted stack's bytes are a frame of (Ethernet 1, raw IP 101,
    Linux cooked 113/276, loopback 0), or None for a stack that starts with no link or IP
    header (a bare TCP() or DNS())."""
    return _LINKTYPE_OF_FIRST.get(layer.name)


def layer_hexdump(layer: Any, link: bool = False, dump: bool = False,
                  file: Any = None) -> str | None:
    """Layer.hexdump: the built bytes, decoded as a frame of the stack's link type (a stack
    with no link or IP header at its start is dumped whole: there is nothing to skip)."""
    from .capture import decode

    data = bytes(layer)
    linktype = linktype_of(layer)
    if linktype is None:
        return _emit(hexdump_text(data), dump, file)
    return decode(data, linktype).hexdump(link=link, dump=dump, file=file)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- show, decoded

# fields shown in hexadecimal, as Wireshark shows them: checksums, flag words, type codes
_HEX_SUFFIXES = (".checksum", ".flags", ".etype", ".ethertype", ".tci")
_HEX_NAMES = frozenset({"eth.type", "sll.etype", "arp.proto.type", "ip.dsfield", "ipv6.tclass",
                        "ipv6.flow"})
_HEX_DIGITS = {"FT_UINT8": 2, "FT_UINT16": 4, "FT_UINT24": 6, "FT_UINT32": 8}


def _shown(f: Any, value: Any) -> str:
    """A catalogue field's value as show() prints it."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) and f.type in _HEX_DIGITS and (
            f.name in _HEX_NAMES or f.name.endswith(_HEX_SUFFIXES)):
        return f"0x{value:0{_HEX_DIGITS[f.type]}x}"
    if isinstance(value, (bytes, bytearray, memoryview)):
        v = bytes(value)
        return repr(v) if len(v) <= 48 else repr(v[:48])[:-1] + f"...' ({len(v)} bytes)"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        # one value per record or question (dns.qry.name): joined as tshark joins them
        return ",".join(_shown(f, v) for v in value)
    return repr(value)


def _may_carry(pkt: Any, p: Any) -> bool:
    """Cheap test before reading a protocol's fields: False when the packet surely does
    not carry it (its layer bit clear, its view absent)."""
    if p.layer_bit is not None:
        try:
            return bool(pkt.has(p.layer_bit))
        except KeyError:
            return True
    if p.packet_attr is not None:
        view = getattr(pkt, p.packet_attr, None)
        return bool(view) if p.extra.get("list") else view is not None
    make = p.extra.get("view")
    if callable(make):
        return make(pkt) is not None
    return True


def _title(p: Any) -> str:
    """A section's name: the crafting class (Ethernet, IPv4, TCP, DNS), else the title."""
    return p.craft or p.title


def packet_sections(pkt: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    """(layer name, [(dotted field name, value as shown)]) for each protocol of the
    catalogue the packet carries, in decoding order; then those of the IP packet an
    IP-in-IP tunnel carries (`pkt.inner`)."""
    from . import proto
    from .proto import value

    out: list[tuple[str, list[tuple[str, str]]]] = []
    for p in proto.PROTOCOLS:
        if p.name == "frame" or not _may_carry(pkt, p):
            continue
        rows = []
        for f in p.fields:
            v = value(pkt, f.name)
            if v is None or (isinstance(v, list) and not v):
                continue
            rows.append((f.name, _shown(f, v)))
        if rows:
            out.append((_title(p), rows))
    inner = pkt.inner
    if inner is not None:
        out.extend(packet_sections(inner))
    return out


def _render(sections: list[tuple[str, list[tuple[str, str]]]]) -> str:
    lines = []
    for title, rows in sections:
        lines.append(f"###[ {title} ]###")
        width = max((len(name) for name, _ in rows), default=0)
        lines.extend(f"  {name:<{width}} = {text}" for name, text in rows)
    return "\n".join(lines)


def show_packet(pkt: Any, dump: bool = False, file: Any = None) -> str | None:
    """Packet.show: every catalogue field the packet carries, layer by layer."""
    sections = packet_sections(pkt)
    if not sections:  # not even a link header decoded: say what the frame is
        sections = [("Frame", [("frame.linktype", str(pkt.linktype)),
                               ("frame.cap_len", str(pkt.caplen))])]
    return _emit(_render(sections), dump, file)


# ---------------------------------------------------------------- ls

def ls(layer: Any, dump: bool = False, file: Any = None) -> str | None:
    """The fields of a crafting layer class (or of a layer's class, with its values): one
    line each, `name : type = default`; AUTO marks a field derived when the packet is
    built. Printed, or returned with dump=True."""
    from .craft.base import AUTO, FieldSpec, Layer

    cls = layer if isinstance(layer, type) else type(layer)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"ls() takes a crafting layer class or layer, not {layer!r}")
    specs: tuple[FieldSpec, ...] = cls.fields  # type: ignore[assignment]  # (made so by the metaclass)
    width = max((len(s.name) for s in specs), default=0)
    twidth = max((len(s.type) for s in specs), default=0)
    lines = []
    for s in specs:
        default = "AUTO" if s.default is AUTO else repr(s.default)
        line = f"{s.name:<{width}} : {s.type:<{twidth}} = {default}"
        if not isinstance(layer, type):
            current = getattr(layer, s.name)
            if current is not s.default and (current is AUTO or s.default is AUTO
                                             or current != s.default):
                line += f"  (now {'AUTO' if current is AUTO else repr(current)})"
        lines.append(line)
    return _emit("\n".join(lines), dump, file)


__all__ = ["hexdump", "hexdump_text", "linktype_of", "ls", "packet_sections", "show_packet"]
