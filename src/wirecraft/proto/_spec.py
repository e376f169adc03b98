"""The vocabulary a protocol module declares its fields in.

Every protocol of wirecraft has one module in this package that states, once,
what it knows about each field: its public dotted name (tshark's, so
`tcp.window_size_value` means here what it means in Wireshark), its type, where
the decoder keeps it (a slot of the fixed-width record, `rec_t`), when it is
absent (the bytes of the header it needs), its Table column, its JSON key, the
crafting field it corresponds to, its position in the header and a one-line
description.

Everything else is derived from these declarations: the record layout and the
Packet views' plain properties (generated Cython, committed, drift-tested by
tests/test_layout.py), Table columns, `read --json`, crafting templates,
`wirecraft fields`, and the field names the display filters and `-T fields`
resolve. This module imports nothing from the compiled extensions, so the
generator, the CLI's `fields` listing and documentation work without a build.
"""

from __future__ import annotations

# annotations only: the catalogue imports neither typing nor dataclasses at run time
# (together some 15 ms, in every process that reads a field name)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# record slot C types: name -> (Cython declaration, numpy type string, alignment)
SLOT_TYPES: dict[str, tuple[str, str, int]] = {
    "i64": ("int64_t", "<i8", 8),
    "u64": ("uint64_t", "<u8", 8),
    "u32": ("uint32_t", "<u4", 4),
    "u16": ("uint16_t", "<u2", 2),
    "u8": ("uint8_t", "u1", 1),
    "addr16": ("uint8_t[16]", "V16", 1),
}

# field types, named after Wireshark's FT_* so `wirecraft fields` reads like `tshark -G fields`
FIELD_TYPES = frozenset({
    "FT_BOOLEAN", "FT_UINT8", "FT_UINT16", "FT_UINT24", "FT_UINT32", "FT_UINT64", "FT_INT64",
    "FT_ETHER", "FT_IPv4", "FT_IPv6", "FT_BYTES", "FT_STRING", "FT_ABSOLUTE_TIME",
    "FT_RELATIVE_TIME", "FT_DOUBLE", "FT_NONE",
})

# how a generated view property turns its slot into a Python value
GETTERS = frozenset({
    "int",       # the slot's integer ((slot >> shift) & mask when a mask is given)
    "bool",      # (slot & mask) != 0
    "mac",       # a 48-bit slot as 'aa:bb:cc:dd:ee:ff'
    "ipv4u32",   # a host-order 32-bit slot as dotted quad
    "ip",        # a 16-byte address slot as text (4 or 16 bytes used, by IP version)
    "custom",    # hand-written in the protocol's view (its logic is not a plain read)
})


class _Frozen:
    """A declaration: slotted, read-only once made, equal by value (as a frozen dataclass,
    without importing dataclasses)."""

    __slots__: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self is other or self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(
            f"{n}={getattr(self, n)!r}" for n in self.__slots__) + ")"


def _init(obj: _Frozen, values: dict[str, object]) -> None:
    for name in obj.__slots__:
        object.__setattr__(obj, name, values[name])


class Slot(_Frozen):
    """One member of the decoder's fixed-width record, rec_t.

    The record is what the batch decoder fills in one nogil pass and what the
    Table's columns are numpy views of; several fields may share one slot
    (TCP and UDP ports share `l4_src_port`, IPv4 and IPv6 `ip_src`)."""

    __slots__ = ("name", "ctype", "doc", "column")
    name: str
    ctype: str          # a key of SLOT_TYPES
    doc: str
    column: bool        # a raw Table column of the same name (False: internal)

    def __init__(self, name: str, ctype: str, doc: str, column: bool = True) -> None:
        if ctype not in SLOT_TYPES:
            raise ValueError(f"{name}: unknown slot type {ctype!r}")
        _init(self, locals())


class Field(_Frozen):
    """One field of one protocol, declared once."""

    __slots__ = ("name", "type", "doc", "attr", "slot", "getter", "mask", "shift", "need",
                 "column", "json", "craft", "at", "hot", "aliases", "extra_value", "bits",
                 "wire", "also_attrs", "craft_in", "packet_value", "when", "default",
                 "encode")
    name: str                       # public dotted name: tshark's wherever tshark has it
    type: str                       # one of FIELD_TYPES
    doc: str                        # one line, shown by `wirecraft fields`
    attr: str | None                # attribute of the protocol's Packet view
    slot: str | None                # the record slot it is read from
    getter: str                     # one of GETTERS
    mask: int | None                # value = (slot >> shift) & mask
    shift: int
    need: int | None                # header bytes that must have been captured (else None)
    column: str | None              # Table column (derived from the slot when it is a plain read)
    json: str | None                # key of the protocol's object in `read --json`
    craft: str | None               # the crafting layer's field with the same value
    at: tuple[int, int] | None      # (byte offset, width) within the header
    hot: bool                       # served by the view's fast attribute path
    aliases: tuple[str, ...]        # other spellings accepted for this name
    # for a field that is not a record slot nor a view attribute (an option, a derived
    # value): computes it from the protocol's view; None when absent
    extra_value: Callable[[Any], Any] | None
    # the wire value at `at` is (big-endian integer >> bits[0]) & bits[1] when `bits` is
    # given (sub-byte fields: ip.flags, vlan.id), and `wire(n)` turns it into the field's
    # value when the two differ in unit (ip.hdr_len: n * 4 bytes); the crafting field
    # named by `craft` holds that value
    bits: tuple[int, int] | None
    wire: Callable[[int], Any] | None
    # other attributes of the same view returning the same value (IPv6View.ttl is
    # hop_limit): generated and checked like `attr`
    also_attrs: tuple[str, ...]
    # the same value in other crafting layers: (class, field, at) - SLL and SLL2 carry
    # the same fields at different places
    craft_in: tuple[tuple[str, str, tuple[int, int] | None], ...]
    # for a value computed from the whole decoded Packet rather than one view (a frame
    # field, vlan.etype which is the next tag's type); None when absent
    packet_value: Callable[[Any], Any] | None
    # present only when this holds of the protocol's view (neighbour discovery fields:
    # the ICMPv6 type); a general `value()` lookup reads None otherwise
    when: Callable[[Any], bool] | None
    # for a payload protocol's crafting layer (see Protocol.extra "payload"): the field's
    # default, and the inverse of `wire` (the field's value back to the wire integer)
    default: Any
    encode: Callable[[Any], int] | None

    def __init__(self, name: str, type: str, doc: str, *,  # noqa: A002 - the field's type
                 attr: str | None = None,
                 slot: str | None = None,
                 getter: str = "int",
                 mask: int | None = None,
                 shift: int = 0,
                 need: int | None = None,
                 column: str | None = None,
                 json: str | None = None,
                 craft: str | None = None,
                 at: tuple[int, int] | None = None,
                 hot: bool = False,
                 aliases: tuple[str, ...] = (),
                 extra_value: Callable[[Any], Any] | None = None,
                 bits: tuple[int, int] | None = None,
                 wire: Callable[[int], Any] | None = None,
                 also_attrs: tuple[str, ...] = (),
                 craft_in: tuple[tuple[str, str, tuple[int, int] | None], ...] = (),
                 packet_value: Callable[[Any], Any] | None = None,
                 when: Callable[[Any], bool] | None = None,
                 default: Any = 0,
                 encode: Callable[[Any], int] | None = None) -> None:
        if type not in FIELD_TYPES:
            raise ValueError(f"{name}: unknown field type {type!r}")
        if getter not in GETTERS:
            raise ValueError(f"{name}: unknown getter {getter!r}")
        _init(self, locals())


class Protocol(_Frozen):
    """A protocol's declaration: its record slots, its fields and where it surfaces."""

    __slots__ = ("name", "title", "reference", "slots", "fields", "view", "packet_attr",
                 "layer_bit", "craft", "json", "header", "extra")
    name: str                       # tshark's protocol filter name: 'tcp', 'ip', 'eth'
    title: str                      # 'Transmission Control Protocol'
    reference: str                  # the RFC or standard
    slots: tuple[Slot, ...]
    fields: tuple[Field, ...]
    view: str | None                # Packet view class in wirecraft._core ('TCPView')
    packet_attr: str | None         # Packet attribute giving the view ('tcp')
    layer_bit: str | None           # key of _core.LAYER_BITS marking its presence
    craft: str | None               # crafting layer class in wirecraft.craft ('TCP')
    json: str | None                # key of its object in `read --json` (None: not emitted)
    # where its header starts, for `need` and `at`: a record slot holding the offset
    # ('l3_offset', 'l4_offset'), 'frame' for byte 0 of the frame, None when it varies
    # (VLAN tags, IPv6 extension headers: their positions are found by walking)
    header: str | None
    # protocol-specific declarations. Keys every surface reads: "view", for a protocol
    # with no Packet view attribute (`packet_attr` None: SMTP), a callable taking the
    # Packet and returning the object its fields' hooks read, or None when the packet
    # does not carry the protocol (then each of its fields reads None); "list", the
    # Packet attribute is a list of views (VLAN tags) and the first one is read
    extra: dict[str, object]

    def __init__(self, name: str, title: str, reference: str, *,
                 slots: tuple[Slot, ...] = (),
                 fields: tuple[Field, ...] = (),
                 view: str | None = None,
                 packet_attr: str | None = None,
                 layer_bit: str | None = None,
                 craft: str | None = None,
                 json: str | None = None,
                 header: str | None = None,
                 extra: dict[str, object] | None = None) -> None:
        _init(self, {**locals(), "extra": {} if extra is None else extra})

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)
