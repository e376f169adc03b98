"""Crafting layers for payload protocols, made from their catalogue rows.

A payload protocol (see wirecraft.proto._payload) declares every field's position,
default and `encode`; `layer_class(protocol)` turns that into an ordinary Layer
class (fields, defaults, serialization, text), so the catalogue module stays the
one place the protocol is described. `wirecraft.craft.<Name>` resolves such classes
on first use; `UDP()/NTP()` takes its ports from the binding table like any layer.
"""

from __future__ import annotations

from typing import Any

from ..proto import Protocol
from ..proto._payload import header_length, payload_protocols, wire_int
from .base import Layer

_CLASSES: dict[str, type[Layer]] = {}


def layer_class(proto: Protocol) -> type[Layer]:
    """The crafting layer class of payload protocol `proto` (made once, then cached)."""
    cls = _CLASSES.get(proto.name)
    if cls is not None:
        return cls
    layout = [f for f in proto.fields if f.craft and f.at is not None]
    size = header_length(proto)

    def _serialize(self: Layer, payload: bytes, stack: list[Layer], index: int) -> bytes:
        buf = bytearray(size)
        for f in layout:
            value = getattr(self, f.craft)  # type: ignore[arg-type]
            off, width = f.at  # type: ignore[misc]
            if f.type == "FT_BYTES":
                raw = bytes(value)
                if len(raw) != width:
                    raise ValueError(f"{proto.craft}.{f.craft} must be {width} bytes, "
                                     f"got {len(raw)}")
                buf[off:off + width] = raw
                continue
            n = wire_int(f, value)
            if not 0 <= n < 1 << (8 * width):
                raise ValueError(f"{proto.craft}.{f.craft}={value!r} does not fit "
                                 f"{width} byte(s)")
            have = int.from_bytes(buf[off:off + width], "big")
            buf[off:off + width] = (have | n).to_bytes(width, "big")
        return bytes(buf) + payload

    def _summary_one(self: Layer) -> str:
        shown = " ".join(f"{f.craft}={getattr(self, str(f.craft))!r}" for f in layout[:4])
        return f"{proto.craft} {shown}"

    cls = type(proto.craft, (Layer,), {  # type: ignore[arg-type]
        "__doc__": f"{proto.title} ({proto.reference}), from its catalogue rows "
                   f"(wirecraft.proto.{proto.name}); `wirecraft fields {proto.name}` "
                   "lists its fields.",
        "__module__": "wirecraft.craft",
        "name": proto.name,
        "fields": tuple((f.craft, f.default) for f in layout),
        "_serialize": _serialize,
        "_summary_one": _summary_one,
    })
    _CLASSES[proto.name] = cls
    return cls


def by_craft_name(name: str) -> type[Layer] | None:
    """The layer class named `name` ('NTP') among the payload protocols, or None."""
    for proto in payload_protocols().values():
        if proto.craft == name:
            return layer_class(proto)
    return None


def from_view(view: Any) -> Layer:
    """The editable layer of a decoded payload view (to_layers); fields from the view."""
    proto = view._proto
    cls = layer_class(proto)
    return cls(**{f.craft: getattr(view, f.attr) for f in proto.fields
                  if f.craft and f.at is not None and f.attr})
