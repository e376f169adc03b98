"""A catalogue field's value on one decoded Packet, by its public name.

`value(pkt, "tcp.srcport")` answers for any name of the catalogue: a view
attribute, a record slot with a mask (`tcp.flags.syn`), a value computed by the
field's hook (`tcp.options.mss_val`), or bytes read at the field's position in
its header (`arp.hw.type`). None when the protocol is absent from the packet or
the field's bytes were not captured, never an invented 0. This is the slow,
general path (display filters, `-T fields`, tests); the per-packet views and
Table columns are the fast ones and give the same values.
"""

from __future__ import annotations

from ._spec import Field, Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing is not imported at run time
    from typing import Any


def _record(pkt: Any) -> Any:
    """The packet's decoder record as a numpy structured scalar."""
    import numpy as np

    from ..table import RECORD_DTYPE
    return np.frombuffer(pkt.batch.record_bytes(), dtype=RECORD_DTYPE, count=1,
                         offset=pkt.position * RECORD_DTYPE.itemsize)[0]


def _header_start(pkt: Any, proto: Protocol, rec: Any) -> int | None:
    if proto.header == "frame":
        return 0
    if proto.header in ("l3_offset", "l4_offset"):
        return int(rec[proto.header])
    if "number" in proto.extra:         # an IPv6 extension header: found by walking
        from .ipv6 import locate
        return locate(pkt, int(proto.extra["number"]))  # type: ignore[call-overload]
    return None


def _position(pkt: Any, proto: Protocol, f: Field) -> tuple[int, int] | None:
    """Where `f` sits in this packet's variant of the header (SLL v1 or v2)."""
    variant = proto.extra.get("at_by_linktype", {}).get(pkt.linktype)  # type: ignore[attr-defined]
    if variant is None:
        return f.at
    for cls, _name, at in f.craft_in:
        if cls == variant:
            return at
    return None


def _available(pkt: Any, proto: Protocol, rec: Any) -> int | None:
    """Bytes of the protocol's header the decoder had (None: no fixed start)."""
    if proto.header == "l4_offset":
        # bounded by the IP length as well as the capture, as the views bound it
        return int(rec["payload_offset"]) + int(rec["payload_length"]) - int(rec["l4_offset"])
    start = _header_start(pkt, proto, rec)
    return None if start is None else int(rec["caplen"]) - start


def _mac(n: int) -> str:
    return ":".join(f"{b:02x}" for b in n.to_bytes(6, "big"))


def _from_slot(f: Field, rec: Any, pkt: Any) -> Any:
    raw = rec[f.slot]
    if f.getter == "ip" or f.type in ("FT_IPv4", "FT_IPv6"):
        import ipaddress
        b = bytes(raw) if not isinstance(raw, (int,)) else int(raw).to_bytes(4, "big")
        if f.getter == "ipv4u32":
            return str(ipaddress.IPv4Address(int(raw)))
        return str(ipaddress.ip_address(b[:4] if f.type == "FT_IPv4" else b[:16]))
    n = int(raw)
    if f.getter == "mac":
        return _mac(n)
    if f.getter == "bool":
        return bool(n & (f.mask if f.mask is not None else ~0))
    n >>= f.shift
    return n & f.mask if f.mask is not None else n


def _from_wire(f: Field, data: bytes, start: int, at: tuple[int, int]) -> Any:
    off, width = at
    chunk = data[start + off:start + off + width]
    if len(chunk) < width:
        return None
    if f.type == "FT_BYTES":
        return bytes(chunk)
    if f.type in ("FT_IPv4", "FT_IPv6"):
        import ipaddress
        return str(ipaddress.ip_address(bytes(chunk)))
    if f.type == "FT_ETHER":
        return _mac(int.from_bytes(chunk, "big"))
    n = int.from_bytes(chunk, "big")
    if f.bits is not None:
        n = (n >> f.bits[0]) & f.bits[1]
    if f.wire is not None:
        return f.wire(n)
    return bool(n) if f.type == "FT_BOOLEAN" else n


def value(pkt: Any, name: str) -> Any:
    """The value of catalogue field `name` ('tcp.srcport', 'ip.flags.df') on `pkt`, or
    None when the packet does not have it. Unknown names raise KeyError."""
    from . import FIELDS, PROTOCOL_OF
    f = FIELDS[name]
    proto = PROTOCOL_OF[name]
    if f.packet_value is not None:
        return f.packet_value(pkt)
    make = proto.extra.get("view")
    if proto.packet_attr is None and callable(make):
        view: Any = make(pkt)     # a view made by the protocol's hook (SMTP's lines)
        if view is None:
            return None
    elif proto.packet_attr is None:
        view = pkt if proto.view == "Packet" else None
    else:
        view = getattr(pkt, proto.packet_attr)
        if proto.extra.get("list"):
            view = view[0] if view else None
        if view is None:
            return None
    if f.when is not None and not f.when(view):
        return None
    if f.extra_value is not None:
        return f.extra_value(view)
    if f.attr is not None:
        return getattr(view, f.attr)
    if proto.layer_bit is not None and not pkt.has(proto.layer_bit):
        return None
    rec = _record(pkt)
    if f.slot is not None:
        if f.need is not None:
            have = _available(pkt, proto, rec)
            if have is not None and have < f.need:
                return None
        return _from_slot(f, rec, pkt)
    at = _position(pkt, proto, f)
    if at is not None:
        start = _header_start(pkt, proto, rec)
        if start is None:
            return None
        return _from_wire(f, pkt.data, start, at)
    return None
