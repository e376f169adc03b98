"""The layer machinery shared by every crafted protocol.

A layer class declares its fields once, as (name, default) pairs; a field
whose default is AUTO is derived at build time (lengths, checksums, type
numbers) unless the caller sets it, and an explicit value always wins, so a
wrong checksum or length can be crafted on purpose. Layers stack with `/`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any, ClassVar


class _Auto:
    """Sentinel for "compute this field when the packet is built"."""

    _instance: _Auto | None = None

    def __new__(cls) -> _Auto:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AUTO"

    def __reduce__(self) -> str:
        return "AUTO"

    def __copy__(self) -> _Auto:
        return self

    def __deepcopy__(self, memo: dict) -> _Auto:
        return self


AUTO: Any = _Auto()
"""Derive this field at build time (length, checksum, type number...)."""


# ---------------------------------------------------------------- address helpers

def mac_bytes(value: Any) -> bytes:
    """6 bytes from "aa:bb:cc:dd:ee:ff", "aa-bb-..", "aabbccddeeff", bytes or int."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
    elif isinstance(value, int):
        b = value.to_bytes(6, "big")
    else:
        text = str(value).replace(":", "").replace("-", "").replace(".", "")
        b = bytes.fromhex(text)
    if len(b) != 6:
        raise ValueError(f"not a MAC address: {value!r}")
    return b


def mac_str(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def ip4_bytes(value: Any) -> bytes:
    """4 bytes from a dotted quad, ipaddress object, int or bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
        if len(b) != 4:
            raise ValueError(f"IPv4 address must be 4 bytes, got {len(b)}")
        return b
    if isinstance(value, int):
        return value.to_bytes(4, "big")
    if isinstance(value, ipaddress.IPv4Address):
        return value.packed
    try:
        return socket.inet_pton(socket.AF_INET, str(value))
    except OSError:
        raise ValueError(f"not an IPv4 address: {value!r}") from None


def ip6_bytes(value: Any) -> bytes:
    """16 bytes from an IPv6 string, ipaddress object, int or bytes."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        b = bytes(value)
        if len(b) != 16:
            raise ValueError(f"IPv6 address must be 16 bytes, got {len(b)}")
        return b
    if isinstance(value, int):
        return value.to_bytes(16, "big")
    if isinstance(value, ipaddress.IPv6Address):
        return value.packed
    try:
        return socket.inet_pton(socket.AF_INET6, str(value))
    except OSError:
        raise ValueError(f"not an IPv6 address: {value!r}") from None


def ip4_str(b: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET, b)


def ip6_str(b: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, b)


def _fmt(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        v = bytes(value)
        return repr(v) if len(v) <= 48 else repr(v[:48])[:-1] + f"...' ({len(v)} bytes)"
    return repr(value) if not isinstance(value, str) else value


# ---------------------------------------------------------------- layers

class Layer:
    """One protocol header (plus, through `.payload`, the layers above it).

    Subclasses list their fields in `fields` as (name, default) pairs and
    implement `_serialize(payload, stack, index)`, which returns this layer's
    bytes followed by `payload` and records derived values in `self._resolved`.
    """

    fields: ClassVar[tuple[tuple[str, Any], ...]] = ()
    name: ClassVar[str] = "layer"
    _field_names: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls._field_names = frozenset(n for n, _ in cls.fields)
        cls._defaults = {n: d for n, d in cls.fields}
        cls._list_fields = tuple(n for n, d in cls.fields if isinstance(d, list))

    _defaults: ClassVar[dict[str, Any]] = {}
    _list_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **values: Any) -> None:
        payload = values.pop("payload", None)
        d = self.__dict__
        d.update(self._defaults)
        for n in self._list_fields:
            d[n] = []
        if values.keys() - self._field_names:
            bad = ", ".join(sorted(values.keys() - self._field_names))
            known = ", ".join(n for n, _ in self.fields)
            raise TypeError(f"{type(self).__name__} has no field {bad} (fields: {known})")
        d.update(values)
        d["payload"] = _as_layer(payload) if payload is not None else None
        d["_resolved"] = {}

    # -- stacking and navigation -------------------------------------------
    def __truediv__(self, other: Any) -> Layer:
        top = self.copy()
        last = top
        while last.payload is not None:
            last = last.payload
        last.payload = _as_layer(other).copy()
        return top

    def __rtruediv__(self, other: Any) -> Layer:
        return _as_layer(other) / self

    def layers(self) -> list[Layer]:
        """This layer and every layer above it, outermost first."""
        out: list[Layer] = []
        node: Layer | None = self
        while node is not None:
            out.append(node)
            node = node.payload
        return out

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers())

    def getlayer(self, cls: type[Layer] | str, nth: int = 0) -> Layer | None:
        """The nth layer of class `cls` (or with that `name`), or None."""
        seen = 0
        for layer in self.layers():
            if (isinstance(cls, str) and cls in (layer.name, type(layer).__name__)) or (
                    isinstance(cls, type) and isinstance(layer, cls)):
                if seen == nth:
                    return layer
                seen += 1
        return None

    def __getitem__(self, cls: type[Layer] | str) -> Layer:
        layer = self.getlayer(cls)
        if layer is None:
            raise KeyError(f"no {getattr(cls, '__name__', cls)} layer in {self.summary()}")
        return layer

    def __contains__(self, cls: type[Layer] | str) -> bool:
        return self.getlayer(cls) is not None

    def __getattr__(self, attr: str) -> Any:
        # only reached when normal lookup fails: layer access by name, pkt.tcp, pkt.ip
        if attr.startswith("_") or attr == "payload":
            raise AttributeError(attr)
        for layer in self.layers():
            if layer.name == attr or (attr == "ip" and layer.name in ("ipv4", "ipv6")) or (
                    attr == "eth" and layer.name == "ethernet"):
                return layer
        raise AttributeError(f"{type(self).__name__} has no field or layer {attr!r}")

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in ("payload", "_resolved") or attr in self._field_names:
            object.__setattr__(self, attr, value)
        else:
            raise AttributeError(f"{type(self).__name__} has no field {attr!r}")

    # -- copies ----------------------------------------------------------
    def copy(self, **changes: Any) -> Layer:
        """A deep copy of the stack; `changes` set fields on the first layer that has them.

        A key may also name the layer: `copy(ipv4_ttl=3, udp_dst_port=5353)`.
        """
        new = object.__new__(type(self))
        d = new.__dict__
        d.update(self.__dict__)
        for n in self._list_fields:
            if isinstance(d[n], list):
                d[n] = list(d[n])
        d["_resolved"] = {}
        d["payload"] = self.payload.copy() if self.payload is not None else None
        new._copy_extra(self)
        for key, value in changes.items():
            new._apply_change(key, value)
        return new

    replace = copy

    def _copy_extra(self, other: Layer) -> None:
        """Hook for layers holding state outside `fields`."""

    def _apply_change(self, key: str, value: Any) -> None:
        for layer in self.layers():
            if key in layer._field_names:
                object.__setattr__(layer, key, value)
                return
        for layer in self.layers():
            prefix = layer.name + "_"
            if key.startswith(prefix) and key[len(prefix):] in layer._field_names:
                object.__setattr__(layer, key[len(prefix):], value)
                return
        raise TypeError(f"no layer in {self.summary()} has a field {key!r}")

    # -- building --------------------------------------------------------
    def build(self) -> bytes:
        """Serialize the stack, deriving every AUTO field."""
        stack = self.layers()
        data = b""
        for i in range(len(stack) - 1, -1, -1):
            stack[i]._resolved = {}
            data = stack[i]._serialize(data, stack, i)
        return data

    def __bytes__(self) -> bytes:
        return self.build()

    def __len__(self) -> int:
        return len(self.build())

    def __bool__(self) -> bool:
        return True

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        raise NotImplementedError

    def value(self, fname: str) -> Any:
        """The field as it was last built: the derived value for AUTO fields."""
        v = getattr(self, fname)
        if v is AUTO:
            return self._resolved.get(fname, AUTO)
        return v

    def _auto(self, fname: str, compute: Any) -> Any:
        """The explicit value of `fname`, else `compute` (a value or a 0-arg callable)."""
        v = getattr(self, fname)
        if v is AUTO:
            v = compute() if callable(compute) else compute
            self._resolved[fname] = v
        return v

    # -- presentation ----------------------------------------------------
    def _summary_one(self) -> str:
        return type(self).__name__

    def summary(self) -> str:
        """One line: each layer's essentials, joined by ' / '."""
        self.build()
        return " / ".join(layer._summary_one() for layer in self.layers())

    def show(self, file: Any = None) -> str:
        """Every field of every layer, derived values included; printed and returned."""
        self.build()
        lines = []
        for layer in self.layers():
            lines.append(f"###[ {type(layer).__name__} ]###")
            for fname, _ in layer.fields:
                raw = getattr(layer, fname)
                shown = layer.value(fname)
                tag = "  (auto)" if raw is AUTO else ""
                lines.append(f"  {fname:<16}= {_fmt(layer._display(fname, shown))}{tag}")
        text = "\n".join(lines)
        print(text, file=file)
        return text

    def _display(self, fname: str, value: Any) -> Any:
        if fname == "checksum" and isinstance(value, int):
            return f"0x{value:04x}"
        return value

    def __repr__(self) -> str:
        parts = []
        for fname, default in self.fields:
            v = getattr(self, fname)
            if v is not AUTO and v != default:
                parts.append(f"{fname}={v!r}")
        own = f"{type(self).__name__}({', '.join(parts)})"
        return own if self.payload is None else f"{own} / {self.payload!r}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        return bytes(self) == bytes(other)

    __hash__ = None  # type: ignore[assignment]

    # -- interop ---------------------------------------------------------
    def to_scapy(self) -> Any:
        """The same bytes as a scapy packet (dissected by scapy from our bytes)."""
        from scapy.layers.inet import IP
        from scapy.layers.inet6 import IPv6 as ScapyIPv6
        from scapy.layers.l2 import Ether
        from scapy.packet import Raw as ScapyRaw

        data = bytes(self)
        first = self.name
        if first == "ethernet":
            return Ether(data)
        if first == "ipv4":
            return IP(data)
        if first == "ipv6":
            return ScapyIPv6(data)
        return ScapyRaw(data)


class Raw(Layer):
    """Bytes carried as they are (application data, padding, an unknown header)."""

    name = "raw"
    fields = (("load", b""),)

    def __init__(self, load: bytes | str | bytearray = b"", **kw: Any) -> None:
        super().__init__(load=load, **kw)

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        load = self.load
        if isinstance(load, str):
            load = load.encode()
        return bytes(load) + payload

    def _summary_one(self) -> str:
        load = self.load.encode() if isinstance(self.load, str) else bytes(self.load)
        return f"Raw {len(load)} bytes"


def _as_layer(obj: Any) -> Layer:
    if isinstance(obj, Layer):
        return obj
    if isinstance(obj, (bytes, bytearray, memoryview, str)):
        return Raw(bytes(obj) if not isinstance(obj, str) else obj.encode())
    raise TypeError(f"cannot stack a {type(obj).__name__} onto a layer")
