"""Payload protocols: small fixed-layout protocols declared by their catalogue rows alone.

A protocol whose header is a fixed layout carried in a TCP or UDP payload (NTP,
say) needs no decoder of its own: its catalogue module declares each field's
position (`at`, `bits`, `wire`), its crafting default and `encode`, and marks the
Protocol with ``extra={"payload": True}``; the binding table says which ports
carry it. From those rows alone:

* `pkt.<packet_attr>` is a `PayloadView` (None when the packet is not on a bound
  port), its attributes read from the payload bytes the one decoder located
  (`Packet.payload`), None for bytes that were not captured;
* `wirecraft.proto.value`, `read --json`, `wirecraft fields`, Table columns by
  dotted name and display filters read it like any other protocol;
* `wirecraft.craft.<craft>` is a crafting layer class made from the same rows
  (`layer_class`), and `UDP()/NTP()` takes its ports from the binding table;
* `to_layers()` rebuilds it as that layer.

The decoder's C tables skip binding rows of such protocols (they choose no C
decoder), so adding one is a catalogue module, a binding row and its tests.
"""

from __future__ import annotations

from ._spec import Field, Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing is not imported at run time
    from typing import Any

_PAYLOADS: dict[str, Protocol] | None = None


def payload_protocols() -> dict[str, Protocol]:
    """packet attribute -> Protocol, for every payload protocol of the catalogue."""
    global _PAYLOADS
    if _PAYLOADS is None:
        from . import PROTOCOLS
        _PAYLOADS = {p.packet_attr: p for p in PROTOCOLS
                     if p.extra.get("payload") and p.packet_attr}
    return _PAYLOADS


def carriers(proto: Protocol) -> dict[str, frozenset[int]]:
    """Transport ('udp', 'tcp') -> the ports the binding table carries `proto` on."""
    from ._bind import BINDINGS
    out: dict[str, set[int]] = {}
    for b in BINDINGS:
        if b.upper == proto.name and b.field in ("udp.port", "tcp.port"):
            out.setdefault(b.lower, set()).update(b.values)
    return {k: frozenset(v) for k, v in out.items()}


def header_length(proto: Protocol) -> int:
    """Bytes of the fixed layout: the end of its last field."""
    return max(f.at[0] + f.at[1] for f in proto.fields if f.at is not None)


def wire_value(f: Field, data: bytes, start: int = 0) -> Any:
    """Field `f` read from `data` at `start` + its position; None when cut short."""
    assert f.at is not None
    off, width = f.at
    chunk = data[start + off:start + off + width]
    if len(chunk) < width:
        return None
    if f.type == "FT_BYTES":
        return bytes(chunk)
    n = int.from_bytes(chunk, "big")
    if f.bits is not None:
        n = (n >> f.bits[0]) & f.bits[1]
    if f.wire is not None:
        return f.wire(n)
    return bool(n) if f.type == "FT_BOOLEAN" else n


def wire_int(f: Field, value: Any) -> int:
    """The wire integer of field `f` holding `value` (crafting: the inverse of wire_value)."""
    if f.type == "FT_BYTES":
        raise TypeError("a bytes field has no wire integer")
    n = f.encode(value) if f.encode is not None else int(value)
    if f.bits is not None:
        n = (n & f.bits[1]) << f.bits[0]
    return n


class PayloadView:
    """A payload protocol's fields on one decoded packet, read from its payload bytes.

    Attribute names are the catalogue's `attr`s; a field whose bytes were not captured
    (a payload shorter than the layout) reads None."""

    __slots__ = ("_data", "_proto", "packet")

    def __init__(self, packet: Any, proto: Protocol) -> None:
        self.packet = packet
        self._proto = proto
        self._data = packet.payload

    def __getattr__(self, name: str) -> Any:
        for f in self._proto.fields:
            if f.attr == name:
                if f.at is None:
                    return f.extra_value(self) if f.extra_value is not None else None
                return wire_value(f, self._data)
        raise AttributeError(f"{self._proto.name} has no field {name!r} "
                             f"(see `wirecraft fields {self._proto.name}`)")

    @property
    def length(self) -> int:
        """Payload bytes the view reads from (the layout may need more)."""
        return len(self._data)

    def __dir__(self) -> list[str]:
        return sorted({f.attr for f in self._proto.fields if f.attr} | {"packet", "length"})

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.attr}={getattr(self, f.attr)!r}"
                          for f in self._proto.fields[:4] if f.attr)
        return f"<{self._proto.name.upper()} {shown}>"


def view(packet: Any, proto: Protocol) -> PayloadView | None:
    """`proto`'s view of `packet`, or None when no binding row's port carries it there,
    or when the packet is an IP fragment (its payload is a piece of the datagram, which
    only reassembly could give whole; tshark too reads it only from the reassembled one)."""
    if packet.has("fragment"):
        return None
    for transport, ports in carriers(proto).items():
        t = getattr(packet, transport)
        if t is not None and (t.src_port in ports or t.dst_port in ports):
            return PayloadView(packet, proto) if packet.payload else None
    return None


def packet_attribute(packet: Any, name: str) -> Any:
    """What `Packet.<name>` means for a payload protocol (Packet.__getattr__ asks)."""
    proto = payload_protocols().get(name)
    if proto is None:
        raise AttributeError(f"'wirecraft.Packet' object has no attribute {name!r}")
    return view(packet, proto)


# ---------------------------------------------------------------- columns

_DTYPES = {"FT_BOOLEAN": "?", "FT_UINT8": "u1", "FT_UINT16": "u2", "FT_UINT24": "u4",
           "FT_UINT32": "u4", "FT_UINT64": "u8", "FT_INT64": "i8", "FT_DOUBLE": "f8",
           "FT_ABSOLUTE_TIME": "f8", "FT_RELATIVE_TIME": "f8"}


def column(batch: Any, name: str) -> Any:
    """Field `name` of a payload protocol for every packet of `batch`, as a numpy array
    read from the batch's frames in one vectorised pass (0, or None for bytes, where the
    packet does not carry the protocol or its bytes were not captured, as in every Table
    column)."""
    import numpy as np

    from ..table import RECORD_DTYPE
    from . import FIELDS, PROTOCOL_OF
    f, proto = FIELDS[name], PROTOCOL_OF[name]
    rec = np.frombuffer(batch.record_bytes(), dtype=RECORD_DTYPE)
    if f.at is None:
        raise KeyError(f"{name} has no fixed position: no column")
    off, width = f.at
    carried = np.zeros(len(rec), dtype=bool)
    from .. import _ext
    bits = _ext.load("_core").LAYER_BITS
    for transport, ports in carriers(proto).items():
        p = np.fromiter(ports, dtype=np.uint16)
        on = (rec["layers"] & bits[transport]) != 0
        carried |= on & (np.isin(rec["l4_src_port"], p) | np.isin(rec["l4_dst_port"], p))
    carried &= (rec["layers"] & bits["fragment"]) == 0      # as view(): no IP fragments
    ok = carried & (rec["payload_length"] >= off + width)
    start = (rec["frame_offset"].astype(np.int64) + rec["payload_offset"] + off)[ok]
    data = np.frombuffer(batch.data, dtype=np.uint8)
    if f.type == "FT_BYTES":
        out = np.full(len(rec), None, dtype=object)
        out[ok] = [data[s:s + width].tobytes() for s in start]
        return out
    n = np.zeros(len(start), dtype=np.uint64)
    for i in range(width):
        n = (n << np.uint64(8)) | data[start + i].astype(np.uint64)
    if f.bits is not None:
        n = (n >> np.uint64(f.bits[0])) & np.uint64(f.bits[1])
    dtype = np.dtype(_DTYPES.get(f.type, "u8"))
    out = np.zeros(len(rec), dtype=dtype)
    if f.wire is not None:
        out[ok] = np.array([f.wire(int(v)) for v in n], dtype=dtype)
    else:
        out[ok] = n.astype(dtype)
    return out
