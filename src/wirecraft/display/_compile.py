"""Compile a display filter into tests over record columns and, where needed, Packets.

The parse tree (`_grammar`) becomes a tree of nodes (`And`, `Or`, `Xor`, `Not`,
`Test`). A Test applies a Matcher (an operator with its literal values, converted
once for the field's type) to an Operand (a catalogue field, a field computed from
the record, a protocol, a slice of one of those). An operand whose values come from
record slots is *vectorised*: its values and presence are numpy arrays over every
row, and a test on it is a handful of array operations. Any other operand reads
`wirecraft.proto.value` per Packet (the one decoder), only for the rows an `and` /
`or` has not decided yet: vectorised children are evaluated first, over all rows,
and the per-packet ones over what is left.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from .. import _ext
from .. import proto as _proto
from . import DisplayFilterError
from ._grammar import parse

_core = _ext.load("_core")
_L: dict[str, int] = _core.LAYER_BITS
_APP_DNS = next(code for code, name in _core.APP_NAMES.items() if name == "dns")

# ---------------------------------------------------------------- value kinds

# how a field's values are compared: the FT_ type decides
_KIND = {
    "FT_BOOLEAN": "bool", "FT_UINT8": "int", "FT_UINT16": "int", "FT_UINT24": "int",
    "FT_UINT32": "int", "FT_UINT64": "int", "FT_INT64": "int", "FT_ETHER": "ether",
    "FT_IPv4": "ipv4", "FT_IPv6": "ipv6", "FT_BYTES": "bytes", "FT_STRING": "string",
    "FT_ABSOLUTE_TIME": "float", "FT_RELATIVE_TIME": "float", "FT_DOUBLE": "float",
    "FT_NONE": "none",
}
_KIND_TEXT = {
    "bool": "a boolean", "int": "an integer", "float": "a number", "time": "a time",
    "abstime": "a date and time",
    "ether": "an Ethernet address", "ipv4": "an IPv4 address", "ipv6": "an IPv6 address",
    "bytes": "a byte string", "string": "a character string", "none": "a label",
    "protocol": "a protocol",
}
_ORDERED = {"bool", "int", "float", "time", "abstime", "ether", "ipv4", "ipv6", "bytes",
            "string"}
_WIDTH = {"ether": 6, "ipv4": 4, "ipv6": 16}
_FT_BITS = {"FT_UINT8": 8, "FT_UINT16": 16, "FT_UINT24": 24, "FT_UINT32": 32, "FT_UINT64": 64}

# tshark has these as labels (FT_NONE): present only when the option is; the catalogue
# gives False for "no such option"
_PRESENCE_ONLY = frozenset({"tcp.options.sack_perm"})

# the tshark operators -> (matcher operator, how several values combine)
_CMP = {
    "==": ("eq", "any"), "eq": ("eq", "any"), "any_eq": ("eq", "any"),
    "!=": ("ne", "all"), "ne": ("ne", "all"), "all_ne": ("ne", "all"),
    # tshark 4.0 reads `!==` as any_ne (as `~=`)
    "~=": ("ne", "any"), "any_ne": ("ne", "any"), "!==": ("ne", "any"),
    "===": ("eq", "all"), "all_eq": ("eq", "all"),
    "<": ("lt", "any"), "lt": ("lt", "any"), "<=": ("le", "any"), "le": ("le", "any"),
    ">": ("gt", "any"), "gt": ("gt", "any"), ">=": ("ge", "any"), "ge": ("ge", "any"),
}


class Context:
    """The rows a filter runs over: the record array, how to get row i's Packet (None:
    the frames are not at hand), and the times frame.time_relative / time_delta need."""

    def __init__(self, expression: str, records: np.ndarray,
                 packet: Callable[[int], Any] | None = None,
                 first_ts: int | None = None, prev_ts: int | None = None,
                 tcp_stream: np.ndarray | None = None) -> None:
        self.expression = expression
        self.rec = records
        self.n = len(records)
        self._packet = packet
        self.first_ts = first_ts
        self.prev_ts = prev_ts
        self.tcp_stream = tcp_stream       # per row: the conversation number, -1 for none
        self.cache: dict[object, Any] = {}

    def packet(self, i: int, who: Operand) -> Any:
        if self._packet is None:
            raise DisplayFilterError(self.expression, who.column, f"{who.name} is decoded "
                                     "from the frames, which this Table does not keep (filter "
                                     "while reading: wirecraft.open(path, where=...))")
        return self._packet(i)

    def layers(self) -> np.ndarray:
        return self.rec["layers"]

    def has_layer(self, bits: int) -> np.ndarray:
        """Rows with any of the layer `bits` (computed once per evaluation)."""
        got = self.cache.get(("layer", bits))
        if got is None:
            got = self.cache[("layer", bits)] = (self.rec["layers"] & bits) != 0
        return got


# ---------------------------------------------------------------- operands

Occurrences = list[tuple[Any, np.ndarray]]     # (values, present) per occurrence


class Operand:
    """Something a test reads values from."""

    name: str
    kind: str
    column: int
    requires = 0            # layer bits of which one must be set for any value to exist
    ftype: str | None = None         # the catalogue type (FT_UINT16 ...), for range checks
    vectorised = False
    slice_width: int | None = None   # a vectorised byte slice's length

    def vec(self, ctx: Context) -> Occurrences:
        """(values, present) per occurrence over every row: vectorised operands only."""
        raise NotImplementedError

    def rows(self, ctx: Context, idx: np.ndarray) -> list[list[Any]]:
        """Per row of `idx`, its values as Python objects (ints for numbers and addresses,
        bytes, str)."""
        occ = self.vec(ctx)
        out: list[list[Any]] = [[] for _ in range(len(idx))]
        for vals, pres in occ:
            p = pres[idx]
            if isinstance(vals, tuple):         # IPv6: (high, low) 64-bit halves
                hi, lo = vals[0][idx], vals[1][idx]
                for j in np.nonzero(p)[0]:
                    out[j].append(int(hi[j]) << 64 | int(lo[j]))
            else:
                v = vals[idx]
                for j in np.nonzero(p)[0]:
                    out[j].append(v[j].item())
        return out

    def exists_vec(self, ctx: Context) -> np.ndarray:
        m = np.zeros(ctx.n, dtype=bool)
        for _, pres in self.vec(ctx):
            m |= pres
        return m

    def exists_rows(self, ctx: Context, idx: np.ndarray) -> np.ndarray:
        if self.vectorised:
            return self.exists_vec(ctx)[idx]
        return np.array([bool(v) for v in self.rows(ctx, idx)], dtype=bool)


def _header_bytes(rec: np.ndarray, proto: _proto.Protocol) -> np.ndarray | None:
    """Bytes of `proto`'s header the decoder had, per row (None: no fixed start); the
    same bound `wirecraft.proto.value` applies to a field's `need`."""
    if proto.header == "l4_offset":
        return (rec["payload_offset"].astype(np.int64) + rec["payload_length"]
                - rec["l4_offset"])
    if proto.header == "l3_offset":
        return rec["caplen"].astype(np.int64) - rec["l3_offset"]
    if proto.header == "frame":
        return rec["caplen"].astype(np.int64)
    return None


def _big_endian(rec: np.ndarray, slot: str, at: int, dtype: str) -> np.ndarray:
    """The big-endian integer at byte `at` of record slot `slot`, per row: a strided view
    of the records when they are one contiguous array (no copy), else a copy."""
    off = rec.dtype.fields[slot][1] + at  # type: ignore[index]
    if rec.flags.c_contiguous and rec.ndim == 1:
        return np.ndarray((len(rec),), dtype=dtype, buffer=rec.view(np.uint8), offset=off,
                          strides=(rec.itemsize,))
    raw = np.ascontiguousarray(rec[slot]).view(np.uint8).reshape(len(rec), -1)
    width = np.dtype(dtype).itemsize
    return np.ascontiguousarray(raw[:, at:at + width]).view(dtype).reshape(-1)


def _ipv6_halves(rec: np.ndarray, slot: str) -> tuple[np.ndarray, np.ndarray]:
    return (_big_endian(rec, slot, 0, ">u8").astype(np.uint64),
            _big_endian(rec, slot, 8, ">u8").astype(np.uint64))


class SlotField(Operand):
    """A catalogue field read from a record slot: values and presence as arrays.

    Values are read from the slot as the Table's column does ((slot >> shift) & mask),
    without zeroing the rows where the field is absent: `present` says which rows count."""

    vectorised = True

    def __init__(self, name: str, column: int) -> None:
        from ..table import _has_address
        self.name, self.column = name, column
        self.field = _proto.FIELDS[name]
        self.proto = _proto.PROTOCOL_OF[name]
        self.kind = _KIND[self.field.type]
        self.ftype = self.field.type
        slot = self.field.slot
        assert slot is not None
        self.slot = slot
        self._has_address = _has_address(slot) if self.field.getter == "ip" else None
        bit = self.proto.layer_bit
        self.requires = _L[bit] if bit else 0

    def _present(self, ctx: Context) -> np.ndarray:
        key = ("present", self.proto.name, self.field.need, self.slot if self._has_address
               else None)
        got = ctx.cache.get(key)
        if got is None:
            rec = ctx.rec
            got = ctx.has_layer(self.requires) if self.requires else np.ones(ctx.n, dtype=bool)
            if self.field.need is not None:
                have = ctx.cache.get(("have", self.proto.name))
                if have is None:
                    have = ctx.cache[("have", self.proto.name)] = _header_bytes(rec, self.proto)
                if have is not None:
                    got = got & (have >= self.field.need)
            if self._has_address is not None:
                got = got & self._has_address(rec)
            ctx.cache[key] = got
        return got

    def vec(self, ctx: Context) -> Occurrences:
        key = ("slot", self.name)
        got = ctx.cache.get(key)
        if got is None:
            f = self.field
            raw = ctx.rec[self.slot]
            vals: Any
            if self.kind == "ipv6":
                vals = _ipv6_halves(ctx.rec, self.slot)
            elif f.getter == "ip":          # IPv4: the slot's first 4 bytes, big-endian
                vals = _big_endian(ctx.rec, self.slot, 0, ">u4").astype(np.uint32)
            elif f.getter == "bool":
                vals = (raw & (f.mask if f.mask is not None else ~0)) != 0
            else:
                vals = raw >> f.shift if f.shift else raw
                if f.mask is not None:
                    vals = vals & f.mask
            got = ctx.cache[key] = [(vals, self._present(ctx))]
        return got


class Either(Operand):
    """tshark's two-sided names (ip.addr, tcp.port ...): the values of both fields."""

    vectorised = True

    def __init__(self, name: str, column: int, parts: Sequence[Operand]) -> None:
        self.name, self.column, self.parts = name, column, list(parts)
        self.kind = parts[0].kind
        self.ftype = parts[0].ftype
        self.requires = parts[0].requires
        self.vectorised = all(p.vectorised for p in parts)

    def vec(self, ctx: Context) -> Occurrences:
        return [o for p in self.parts for o in p.vec(ctx)]

    def rows(self, ctx: Context, idx: np.ndarray) -> list[list[Any]]:
        if self.vectorised:
            return super().rows(ctx, idx)
        out: list[list[Any]] = [[] for _ in range(len(idx))]
        for p in self.parts:
            for j, vs in enumerate(p.rows(ctx, idx)):
                out[j].extend(vs)
        return out


class Computed(Operand):
    """A field tshark has that wirecraft computes from the record (frame.number,
    frame.time_relative, tcp.len ...)."""

    vectorised = True

    def __init__(self, name: str, column: int, kind: str, requires: int,
                 make: Callable[[Context], tuple[np.ndarray, np.ndarray]]) -> None:
        self.name, self.column, self.kind, self.requires = name, column, kind, requires
        self._make = make

    def vec(self, ctx: Context) -> Occurrences:
        key = ("computed", self.name)
        got = ctx.cache.get(key)
        if got is None:
            ctx.cache[f"{self.name} column"] = self.column
            got = ctx.cache[key] = [self._make(ctx)]
        return got


def _ones(ctx: Context) -> np.ndarray:
    return np.ones(ctx.n, dtype=bool)


def _frame_number(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    return ctx.rec["index"].astype(np.int64) + 1, _ones(ctx)


def _time_relative(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    ts = ctx.rec["ts_ns"].astype(np.int64)
    first = ctx.first_ts if ctx.first_ts is not None else (int(ts[0]) if len(ts) else 0)
    return ts - first, _ones(ctx)


def _time_delta(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    ts = ctx.rec["ts_ns"].astype(np.int64)
    prev = np.empty_like(ts)
    if len(ts):
        prev[0] = ctx.prev_ts if ctx.prev_ts is not None else ts[0]
        prev[1:] = ts[:-1]
    return ts - prev, _ones(ctx)


def _time_epoch(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    return ctx.rec["ts_ns"].astype(np.int64), _ones(ctx)


def _tcp_len(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """tshark's tcp.len: the IP payload's length (from the IP header, not the capture)
    less the TCP header; present where the TCP header length was read."""
    rec = ctx.rec
    tcp = (rec["layers"] & _L["tcp"]) != 0
    hdr = rec["tcp_header_length"].astype(np.int64)
    ip_payload = rec["ip_total_length"].astype(np.int64) - rec["ip_header_length"]
    have = rec["payload_offset"].astype(np.int64) + rec["payload_length"] - rec["l4_offset"]
    present = tcp & (hdr >= 20) & (have >= 14)
    return np.where(present, ip_payload - hdr, 0), present


def _tcp_stream(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """tshark's tcp.stream: the conversation number `wirecraft follow` uses (the
    reassembler's), which only a pass over the packets before this one gives."""
    if ctx.tcp_stream is None:
        raise DisplayFilterError(ctx.expression, ctx.cache.get("tcp.stream column", 1),
                                 "tcp.stream numbers the conversations from the start of the "
                                 "capture: filter while reading (wirecraft.open(path, "
                                 "where=...)), not a Table or a lone Packet")
    return ctx.tcp_stream, ctx.tcp_stream >= 0


_COMPUTED: dict[str, tuple[str, str, Callable[[Context], tuple[np.ndarray, np.ndarray]]]] = {
    "tcp.stream": ("int", "tcp", _tcp_stream),
    "frame.number": ("int", "", _frame_number),
    "frame.time_relative": ("time", "", _time_relative),
    "frame.time_delta": ("time", "", _time_delta),
    "frame.time_epoch": ("time", "", _time_epoch),
    "frame.time": ("abstime", "", _time_epoch),
    "tcp.len": ("int", "tcp", _tcp_len),
}

_EITHER = {
    "ip.addr": ("ip.src", "ip.dst"),
    "ipv6.addr": ("ipv6.src", "ipv6.dst"),
    "eth.addr": ("eth.src", "eth.dst"),
    "tcp.port": ("tcp.srcport", "tcp.dstport"),
    "udp.port": ("udp.srcport", "udp.dstport"),
}


def _requires(name: str, f: _proto.Field, proto: _proto.Protocol) -> int:
    """Layer bits of which one a packet needs for `value(pkt, name)` to be other than None
    (0: no such bound is known), so rows without them skip the per-packet read."""
    if f.packet_value is not None:
        return 0
    if proto.layer_bit:
        return _L[proto.layer_bit]
    if proto.name == "dns":
        return _L["udp"]            # Packet.dns: UDP on a DNS port
    if proto.name == "smtp":
        return _L["tcp"]
    if proto.extra.get("payload"):
        return _L["tcp"] | _L["udp"]
    if "number" in proto.extra:     # an IPv6 extension header
        return _L["ipv6"]
    return 0


class PacketField(Operand):
    """A catalogue field without a record slot: `wirecraft.proto.value` per Packet."""

    def __init__(self, name: str, column: int) -> None:
        self.name, self.column = name, column
        self.field = _proto.FIELDS[name]
        self.proto = _proto.PROTOCOL_OF[name]
        self.kind = _KIND[self.field.type]
        self.ftype = self.field.type
        self.requires = _requires(name, self.field, self.proto)
        self._convert = _PY[self.kind]
        self._presence_only = name in _PRESENCE_ONLY
        self._get = _getter(name, self.field, self.proto)

    def rows(self, ctx: Context, idx: np.ndarray) -> list[list[Any]]:
        get, convert, packet = self._get, self._convert, ctx.packet
        presence_only, flat = self._presence_only, self.kind != "none"
        out: list[list[Any]] = []
        for i in idx.tolist():
            v = get(packet(i, self))
            if v is None or (presence_only and v is False):
                out.append([])
            elif flat and isinstance(v, list | tuple):
                out.append([convert(x) for x in v if x is not None])
            else:
                out.append([convert(v)])
        return out


def _getter(name: str, f: _proto.Field, proto: _proto.Protocol) -> Callable[[Any], Any]:
    """`wirecraft.proto.value(pkt, name)` as a function of the packet alone. For the common
    shape (a hook over the protocol's Packet view: every DNS field, TCP options) the steps
    value() takes for it, bound once; anything else calls value() itself."""
    attr, hook = proto.packet_attr, f.extra_value
    if (attr and hook is not None and f.packet_value is None and f.when is None
            and not proto.extra.get("list") and not callable(proto.extra.get("view"))):
        def get(pkt: Any) -> Any:
            view = getattr(pkt, attr)
            return None if view is None else hook(view)
        return get
    value = _proto.value
    return lambda pkt: value(pkt, name)


def _py_ether(v: Any) -> int:
    return int(str(v).replace(":", "").replace("-", ""), 16)


def _py_ip(v: Any) -> int:
    if isinstance(v, int):
        return v
    return int(ipaddress.ip_address(bytes(v) if isinstance(v, bytes | bytearray | memoryview)
                                    else str(v)))


def _py_bytes(v: Any) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


_PY: dict[str, Callable[[Any], Any]] = {
    "bool": int, "int": int, "float": float, "ether": _py_ether, "ipv4": _py_ip,
    "ipv6": _py_ip, "bytes": _py_bytes, "string": str, "none": lambda v: v,
}


class ProtocolOperand(Operand):
    """A protocol name: present where the packet has it; its bytes for slices,
    `contains` and `matches`."""

    def __init__(self, proto: _proto.Protocol, column: int) -> None:
        self.proto = proto
        self.name, self.column, self.kind = proto.name, column, "bytes"
        self.requires = _L[proto.layer_bit] if proto.layer_bit else 0
        self.vectorised = False
        if proto.name == "dns":
            self.requires = _L["udp"]
        elif proto.name == "smtp":
            self.requires = _L["tcp"]

    def exists_vec(self, ctx: Context) -> np.ndarray:
        if self.proto.name == "frame":
            return _ones(ctx)
        if self.proto.name == "dns":
            # tshark's `dns` is DNS on a DNS port: mDNS and LLMNR are protocols of their
            # own there (their fields are still dns.*)
            return ((ctx.layers() & self.requires) != 0) & (ctx.rec["app"] == _APP_DNS)
        return (ctx.layers() & self.requires) != 0

    @property
    def presence_vectorised(self) -> bool:
        return self.proto.name in ("frame", "dns") or bool(self.proto.layer_bit)

    def exists_rows(self, ctx: Context, idx: np.ndarray) -> np.ndarray:
        if self.presence_vectorised:
            return self.exists_vec(ctx)[idx]
        return np.array([self._present(ctx.packet(i, self)) for i in idx.tolist()], dtype=bool)

    def _present(self, pkt: Any) -> bool:
        p = self.proto
        make = p.extra.get("view")
        if callable(make):
            return make(pkt) is not None
        if "number" in p.extra:
            v = pkt.ipv6
            return v is not None and p.extra["number"] in v.extension_headers
        if p.packet_attr:
            v = getattr(pkt, p.packet_attr)
            return bool(v) if p.extra.get("list") else v is not None
        return any(_proto.value(pkt, f.name) is not None for f in p.fields)

    def rows(self, ctx: Context, idx: np.ndarray) -> list[list[Any]]:
        out = []
        for i in idx.tolist():
            pkt = ctx.packet(i, self)
            data = self._bytes(pkt) if self._present(pkt) or self.proto.name == "frame" else None
            out.append([] if data is None else [data])
        return out

    def _bytes(self, pkt: Any) -> bytes | None:
        from ..proto._value import _record
        header = self.proto.header
        if self.proto.name == "frame" or header == "frame":
            return bytes(pkt.data)
        if self.proto.name in ("dns", "smtp") or self.proto.extra.get("payload"):
            return bytes(pkt.payload)
        rec = _record(pkt)
        if header in ("l3_offset", "l4_offset"):
            start = int(rec[header])
            end = (int(rec["caplen"]) if self.proto.name == "arp"
                   else int(rec["payload_offset"]) + int(rec["payload_length"]))
            return bytes(pkt.data[start:max(start, end)])
        return None


class Slice(Operand):
    """`operand[ranges]`: the bytes of each value, cut and joined (tshark's ranges)."""

    def __init__(self, base: Operand, ranges: list[tuple[int, int | None]], column: int
                 ) -> None:
        self.base, self.ranges = base, ranges
        self.name = base.name + "[...]"
        self.column = column
        self.kind = "bytes"
        self.requires = base.requires
        self._width = _WIDTH.get(base.kind)
        self.vectorised = False
        if base.vectorised and base.kind == "ether":
            spans = [_span(r, 6) for r in ranges]
            if all(s is not None for s in spans):
                self.vectorised = True
                self._spans: list[tuple[int, int]] = [s for s in spans if s is not None]
                self.slice_width = sum(e - s for s, e in spans)  # type: ignore[misc]

    def vec(self, ctx: Context) -> Occurrences:
        out = []
        for vals, pres in self.base.vec(ctx):
            vals = vals.astype(np.uint64, copy=False)
            acc = np.zeros(len(vals), dtype=np.uint64)
            for s, e in self._spans:
                part = (vals >> np.uint64(8 * (6 - e))) & np.uint64((1 << (8 * (e - s))) - 1)
                acc = (acc << np.uint64(8 * (e - s))) | part
            out.append((acc, pres))
        return out

    def rows(self, ctx: Context, idx: np.ndarray) -> list[list[Any]]:
        if self.vectorised:
            # as bytes, so literals of another length compare as tshark compares them
            width = self.slice_width or 0
            return [[v.to_bytes(width, "big") for v in vs] for vs in super().rows(ctx, idx)]
        out = []
        for vs in self.base.rows(ctx, idx):
            cut = []
            for v in vs:
                b = self._as_bytes(v)
                if b is None:
                    continue
                pieces = []
                for r in self.ranges:
                    span = _span(r, len(b))
                    if span is None:
                        break
                    pieces.append(b[span[0]:span[1]])
                else:
                    cut.append(b"".join(pieces))
            out.append(cut)
        return out

    def _as_bytes(self, v: Any) -> bytes | None:
        if isinstance(v, bytes):
            return v
        if isinstance(v, str):
            return v.encode("utf-8")
        if self._width is not None and isinstance(v, int):
            return v.to_bytes(self._width, "big")
        return None


def _span(r: tuple[int, int | None], size: int) -> tuple[int, int] | None:
    """(start, end) of range r = (start, length or None for "to the end") in a value of
    `size` bytes, or None when the range does not lie within it."""
    start, length = r
    if start < 0:
        start += size
    if start < 0:
        return None
    end = size if length is None else start + length
    if end > size or end < start or (length is None and start > size):
        return None
    return start, end


# ---------------------------------------------------------------- matchers

class Matcher:
    """An operator with its literal value(s): `vec` over an array (None when this
    operator has no array form for the operand), `one` for a Python value."""

    def vec(self, vals: Any) -> np.ndarray | None:
        return None

    def one(self, v: Any) -> bool:
        raise NotImplementedError


def _cmp_arrays(op: str, a: Any, b: Any) -> Any:
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if op == "lt":
        return a < b
    if op == "le":
        return a <= b
    if op == "gt":
        return a > b
    return a >= b


class Compare(Matcher):
    """==, !=, <, ... against one value; an address with a prefix (CIDR) compares the
    network part."""

    def __init__(self, op: str, value: Any, kind: str, prefix_mask: int | None = None,
                 vec_ok: bool = True) -> None:
        self.op, self.value, self.kind, self.mask = op, value, kind, prefix_mask
        self.vec_ok = vec_ok

    def vec(self, vals: Any) -> np.ndarray | None:
        if not self.vec_ok:
            return None
        if self.kind == "ipv6":
            hi, lo = vals
            v, m = self.value, self.mask
            if m is not None:
                mh, ml = np.uint64(m >> 64), np.uint64(m & (2**64 - 1))
                eq = ((hi & mh) == np.uint64(v >> 64)) & ((lo & ml) == np.uint64(v & (2**64 - 1)))
                return eq if self.op == "eq" else ~eq
            vh, vl = np.uint64(v >> 64), np.uint64(v & (2**64 - 1))
            if self.op in ("eq", "ne"):
                eq = (hi == vh) & (lo == vl)
                return eq if self.op == "eq" else ~eq
            less = (hi < vh) | ((hi == vh) & (lo < vl))
            greater = (hi > vh) | ((hi == vh) & (lo > vl))
            return {"lt": less, "le": ~greater, "gt": greater, "ge": ~less}[self.op]
        if self.mask is not None:
            eq = (vals & self.mask) == self.value
            return eq if self.op == "eq" else ~eq
        return _cmp_arrays(self.op, vals, self.value)

    def one(self, v: Any) -> bool:
        if self.mask is not None:
            eq = (v & self.mask) == self.value
            return eq if self.op == "eq" else not eq
        try:
            return bool(_cmp_arrays(self.op, v, self.value))
        except TypeError:
            return False


class Range(Matcher):
    """lo <= value <= hi (a set member `lo..hi`)."""

    def __init__(self, lo: Compare, hi: Compare) -> None:
        self.lo, self.hi = lo, hi

    def vec(self, vals: Any) -> np.ndarray | None:
        a, b = self.lo.vec(vals), self.hi.vec(vals)
        return None if a is None or b is None else a & b

    def one(self, v: Any) -> bool:
        return self.lo.one(v) and self.hi.one(v)


class AnyOf(Matcher):
    """A set: any member matches."""

    def __init__(self, members: list[Matcher]) -> None:
        self.members = members

    def vec(self, vals: Any) -> np.ndarray | None:
        out = None
        for m in self.members:
            r = m.vec(vals)
            if r is None:
                return None
            out = r if out is None else out | r
        return out

    def one(self, v: Any) -> bool:
        return any(m.one(v) for m in self.members)


class Contains(Matcher):
    def __init__(self, needle: Any) -> None:
        self.needle = needle

    def one(self, v: Any) -> bool:
        try:
            return self.needle in v
        except TypeError:       # str against bytes: compare as UTF-8
            if isinstance(v, str):
                return self.needle in v.encode("utf-8")
            return self.needle.encode("utf-8") in v


class Regex(Matcher):
    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def one(self, v: Any) -> bool:
        text = v.decode("latin-1") if isinstance(v, bytes) else str(v)
        return self.pattern.search(text) is not None


class BitAnd(Matcher):
    def __init__(self, mask: int) -> None:
        self.mask = mask

    def vec(self, vals: Any) -> np.ndarray | None:
        return (vals & self.mask) != 0

    def one(self, v: Any) -> bool:
        return bool(v & self.mask)


class Exists(Matcher):
    """Presence: no value is compared (Test asks the operand whether it has one)."""


# ---------------------------------------------------------------- nodes

class Node:
    vectorised = True
    cost = 0

    def full(self, ctx: Context) -> np.ndarray:
        """The result over every row (vectorised nodes only)."""
        raise NotImplementedError

    def rows(self, ctx: Context, idx: np.ndarray) -> np.ndarray:
        """The result for the rows `idx`."""
        if self.vectorised:
            return self.full(ctx)[idx]
        raise NotImplementedError


class Test(Node):
    def __init__(self, operand: Operand, matcher: Matcher, mode: str = "any") -> None:
        self.operand, self.matcher, self.mode = operand, matcher, mode
        if isinstance(matcher, Exists):
            self.vectorised = operand.vectorised or getattr(operand, "presence_vectorised",
                                                            False)
        else:
            probe = None
            if operand.vectorised:
                probe = matcher.vec(_PROBES[operand.kind])
            self.vectorised = operand.vectorised and probe is not None
        self.cost = 0 if self.vectorised else 10

    def full(self, ctx: Context) -> np.ndarray:
        if isinstance(self.matcher, Exists):
            return self.operand.exists_vec(ctx)
        occ = self.operand.vec(ctx)
        if self.mode == "any":
            out = np.zeros(ctx.n, dtype=bool)
            for vals, pres in occ:
                out |= pres & self.matcher.vec(vals)  # type: ignore[operator]
            return out
        seen = np.zeros(ctx.n, dtype=bool)
        ok = np.ones(ctx.n, dtype=bool)
        for vals, pres in occ:
            seen |= pres
            ok &= ~pres | self.matcher.vec(vals)  # type: ignore[operator]
        return seen & ok

    def rows(self, ctx: Context, idx: np.ndarray) -> np.ndarray:
        if self.vectorised:
            return self.full(ctx)[idx]
        out = np.zeros(len(idx), dtype=bool)
        live = np.arange(len(idx))
        if self.operand.requires:       # no value can exist without these layers
            live = live[(ctx.layers()[idx] & self.operand.requires) != 0]
        if not len(live):
            return out
        if isinstance(self.matcher, Exists):
            out[live] = self.operand.exists_rows(ctx, idx[live])
            return out
        one = self.matcher.one
        rows = self.operand.rows(ctx, idx[live])
        if self.mode == "any":
            hits = [any(map(one, vs)) for vs in rows]
        else:
            hits = [bool(vs) and all(map(one, vs)) for vs in rows]
        out[live] = hits
        return out


# values of each kind a matcher's vec is tried on at compile time (does it vectorise?)
_PROBES: dict[str, Any] = {
    "int": np.zeros(1, dtype=np.int64), "bool": np.zeros(1, dtype=np.int64),
    "float": np.zeros(1, dtype=np.float64), "time": np.zeros(1, dtype=np.int64),
    "abstime": np.zeros(1, dtype=np.int64),
    "ether": np.zeros(1, dtype=np.int64), "ipv4": np.zeros(1, dtype=np.int64),
    "ipv6": (np.zeros(1, dtype=np.uint64), np.zeros(1, dtype=np.uint64)),
    "bytes": np.zeros(1, dtype=np.int64),
}


class FieldPair(Node):
    """A comparison of two fields (`frame.cap_len < frame.len`): true when some pair of
    their values compares so (every pair, for `!=`)."""

    def __init__(self, left: Operand, right: Operand, op: str, mode: str) -> None:
        self.left, self.right, self.op, self.mode = left, right, op, mode
        self.vectorised = left.vectorised and right.vectorised and left.kind != "ipv6"
        self.cost = 0 if self.vectorised else 10
        self.requires = left.requires

    def full(self, ctx: Context) -> np.ndarray:
        hit = np.zeros(ctx.n, dtype=bool)
        seen = np.zeros(ctx.n, dtype=bool)
        ok = np.ones(ctx.n, dtype=bool)
        for va, pa in self.left.vec(ctx):
            for vb, pb in self.right.vec(ctx):
                both = pa & pb
                r = _cmp_arrays(self.op, va, vb)
                hit |= both & r
                seen |= both
                ok &= ~both | r
        return hit if self.mode == "any" else seen & ok

    def rows(self, ctx: Context, idx: np.ndarray) -> np.ndarray:
        if self.vectorised:
            return self.full(ctx)[idx]
        out = np.zeros(len(idx), dtype=bool)
        pairs = zip(self.left.rows(ctx, idx), self.right.rows(ctx, idx), strict=True)
        for j, (a, b) in enumerate(pairs):
            results = [bool(_cmp_arrays(self.op, x, y)) for x in a for y in b]
            out[j] = any(results) if self.mode == "any" else bool(results) and all(results)
        return out


class Not(Node):
    def __init__(self, child: Node) -> None:
        self.child = child
        self.vectorised = child.vectorised
        self.cost = child.cost

    def full(self, ctx: Context) -> np.ndarray:
        return ~self.child.full(ctx)

    def rows(self, ctx: Context, idx: np.ndarray) -> np.ndarray:
        return ~self.child.rows(ctx, idx)


class Junction(Node):
    """and / or over children, cheap (vectorised) ones first; a per-packet child runs only
    on the rows the others left undecided."""

    is_and = True
    children: list[Node]

    def __init__(self, children: list[Node]) -> None:
        flat: list[Node] = []
        for c in children:
            flat.extend(c.children if isinstance(c, Junction) and c.is_and == self.is_and
                        else [c])
        self.children = sorted(flat, key=lambda c: c.cost)
        self.vectorised = all(c.vectorised for c in self.children)
        self.cost = max(c.cost for c in self.children)

    def full(self, ctx: Context) -> np.ndarray:
        out = self.children[0].full(ctx)
        for c in self.children[1:]:
            out = (out & c.full(ctx)) if self.is_and else (out | c.full(ctx))
        return out

    def rows(self, ctx: Context, idx: np.ndarray) -> np.ndarray:
        if self.vectorised:
            return self.full(ctx)[idx]
        out = np.full(len(idx), self.is_and, dtype=bool)
        live = np.arange(len(idx))          # rows not decided yet
        for c in self.children:
            if not len(live):
                break
            r = c.rows(ctx, idx[live])
            if self.is_and:
                out[live[~r]] = False
                live = live[r]
            else:
                out[live[r]] = True
                live = live[~r]
        return out


class And(Junction):
    is_and = True


class Or(Junction):
    is_and = False


class Xor(Node):
    def __init__(self, a: Node, b: Node) -> None:
        self.a, self.b = a, b
        self.vectorised = a.vectorised and b.vectorised
        self.cost = max(a.cost, b.cost)

    def full(self, ctx: Context) -> np.ndarray:
        return self.a.full(ctx) ^ self.b.full(ctx)

    def rows(self, ctx: Context, idx: np.ndarray) -> np.ndarray:
        return self.a.rows(ctx, idx) ^ self.b.rows(ctx, idx)


class Everything(Node):
    """The empty filter: every packet (as `tshark -Y ''`)."""

    def full(self, ctx: Context) -> np.ndarray:
        return np.ones(ctx.n, dtype=bool)


# ---------------------------------------------------------------- literals

_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)\Z")
_HEXBYTES = re.compile(r"[0-9a-fA-F]{1,2}([:.-][0-9a-fA-F]{1,2})*\Z")
_MAC_DOTTED = re.compile(r"[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\Z")
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)",
                     re.DOTALL)
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", "\\": "\\", '"': '"', "'": "'"}


_DATE_TIME = re.compile(
    r"\s*(?:(?P<mon>[A-Za-z]{3})\s+(?P<day>\d{1,2}),\s*(?P<year>\d{4})"
    r"|(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2}))"
    r"(?:[ T]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<frac>\d{1,9}))?)?)?"
    r"\s*(?P<utc>Z|UTC)?\s*\Z")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


def _date_time(text: str) -> int | None:
    """Nanoseconds since the epoch of a frame.time literal as tshark reads it: "Oct  5,
    2009 06:06:07[.frac]" or "2009-10-05[ T]06:06:07[.frac]", local time unless it ends
    in Z or UTC; None when it is neither."""
    import calendar
    import time

    m = _DATE_TIME.match(text)
    if m is None:
        return None
    if m["mon"]:
        month = _MONTHS.get(m["mon"].lower())
        year, day = int(m["year"]), int(m["day"])
    else:
        month, year, day = int(m["m"]), int(m["y"]), int(m["d"])
    if month is None:
        return None
    fields = (year, month, day, int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0))
    try:
        import datetime
        datetime.datetime(*fields)          # a real date and time (no October 35th)
        if m["utc"]:
            seconds = calendar.timegm((*fields, 0, 0, 0))
        else:
            seconds = int(time.mktime((*fields, 0, 0, -1)))
    except (OverflowError, ValueError):
        return None
    frac = (m["frac"] or "").ljust(9, "0")
    return seconds * 1_000_000_000 + int(frac)


class Literal:
    """A value as written: a word (`10.0.0.1`, `0x1f`) or a quoted string."""

    def __init__(self, text: str, column: int, quoted: bool) -> None:
        self.text, self.column, self.quoted = text, column, quoted


def _unescape(token: str) -> str:
    if token.startswith("r"):
        return token[2:-1]

    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        if e[0] == "x":
            return chr(int(e[1:], 16))
        if e[0] in "01234567":
            return chr(int(e, 8))
        if e[0] in "uU" and len(e) > 1:
            return chr(int(e[1:], 16))
        if e in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[e]
        raise ValueError(f"unknown escape '\\{e}'")
    return _ESCAPE.sub(one, token[1:-1])


class Compiler:
    """Turns the lark tree of one expression into nodes, raising DisplayFilterError."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.uses_tcp_stream = False

    def error(self, column: int, reason: str) -> DisplayFilterError:
        return DisplayFilterError(self.expression, column, reason)

    # -- names ---------------------------------------------------------------
    def operand(self, tree: Any, lhs: bool = True) -> Operand | Literal:
        if tree.data == "string":
            tok = tree.children[0]
            try:
                text = _unescape(str(tok))
            except ValueError as exc:
                raise self.error(tok.column, str(exc)) from None
            return Literal(text, tok.column, True)
        word = tree.children[0]
        name = str(word)
        op = self.resolve(name, word.column)
        if len(tree.children) > 1:
            sl = tree.children[1]
            if op is None:
                raise self.error(word.column, f"{name!r} is neither a field nor a protocol "
                                 "name")
            return Slice(op, self.ranges(str(sl), sl.column), sl.column)
        if op is None:
            return Literal(name, word.column, False)
        return op

    def resolve(self, name: str, column: int) -> Operand | None:
        computed = _COMPUTED.get(name)
        if computed is not None:
            kind, bit, make = computed
            self.uses_tcp_stream |= name == "tcp.stream"
            return Computed(name, column, kind, _L[bit] if bit else 0, make)
        either = _EITHER.get(name)
        if either is not None:
            parts = [self.resolve(n, column) for n in either]
            return Either(name, column, parts)  # type: ignore[arg-type]
        if name in _proto.FIELDS:
            return self.field(name, column)
        for p in _proto.PROTOCOLS:
            if p.name == name:
                return ProtocolOperand(p, column)
        return None

    def field(self, name: str, column: int) -> Operand:
        from ..table import _columns
        f = _proto.FIELDS[name]
        if (name in _columns()[1] and f.packet_value is None and f.extra_value is None
                and f.when is None and f.getter in ("int", "bool", "mac", "ip", "ipv4u32")):
            return SlotField(name, column)
        return PacketField(name, column)

    def ranges(self, text: str, column: int) -> list[tuple[int, int | None]]:
        """tshark's slice ranges: [i:j] (j bytes from i), [i-j] (i to j inclusive), [i],
        [:j], [i:], comma-separated; a negative i counts from the end."""
        body = text[1:-1].strip()
        out: list[tuple[int, int | None]] = []
        for part in body.split(","):
            part = part.strip()
            m = re.fullmatch(r"(-?\d+)?\s*(?:(:)\s*(\d+)?|-\s*(-?\d+))?", part)
            if not part or m is None:
                raise self.error(column, f"bad slice {text!r}")
            start = int(m.group(1)) if m.group(1) else 0
            if m.group(2):
                if m.group(3) is None:
                    out.append((start, None))
                else:
                    out.append((start, int(m.group(3))))
            elif m.group(4) is not None:
                end = int(m.group(4))
                if end < start:
                    raise self.error(column, f"bad slice {text!r}: the range ends before "
                                     "it starts")
                out.append((start, end - start + 1))
            elif m.group(1) is None:
                raise self.error(column, f"bad slice {text!r}")
            else:
                out.append((start, 1))
            if out[-1][1] == 0:
                raise self.error(column, f"bad slice {text!r}: a range of length 0")
        return out

    # -- literals ---------------------------------------------------------------
    def value(self, kind: str, lit: Literal, allow_prefix: bool) -> tuple[Any, int | None]:
        """(value, network mask or None) of literal `lit` for a field of `kind`."""
        text = lit.text

        def bad(what: str | None = None) -> DisplayFilterError:
            return self.error(lit.column, what or f"{text!r} is not {_KIND_TEXT[kind]}")

        if kind == "string":
            # tshark takes a bare word as the string it spells (`smtp.req.command == MAIL`)
            return text, None
        if kind == "bytes":
            if lit.quoted:
                return text.encode("utf-8"), None
            if _HEXBYTES.match(text):
                return bytes(int(b, 16) for b in re.split(r"[:.-]", text)), None
            if re.fullmatch(r"[0-9a-fA-F]+", text) and len(text) % 2 == 0:
                return bytes.fromhex(text), None
            raise bad()
        if kind == "abstime":
            ns = _date_time(text)
            if ns is None:
                raise bad(f"{text!r} is not a date and time (\"Oct  5, 2009 06:06:07\", "
                          "\"2009-10-05 06:06:07.25\", a UTC one ending in Z or UTC)")
            return ns, None
        if lit.quoted and kind != "none":
            raise bad(f"{lit.text!r} is a string, the field is {_KIND_TEXT[kind]}")
        if kind in ("int", "bool"):
            if kind == "bool" and text.lower() in ("true", "false"):
                return int(text.lower() == "true"), None
            if not _INT.match(text):
                raise bad()
            sign = -1 if text.startswith("-") else 1
            digits = text.lstrip("+-")
            if digits[:2].lower() in ("0x", "0b"):
                n = int(digits, 0)
            elif len(digits) > 1 and digits.startswith("0"):
                n = int(digits, 8)      # a leading 0 is octal, as in C and tshark
            else:
                n = int(digits)
            if kind == "bool":
                return int(n != 0), None    # any non-zero number is True
            return sign * n, None
        if kind in ("float", "time"):
            try:
                d = Decimal(text)
            except InvalidOperation:
                raise bad() from None
            if not d.is_finite():
                raise bad()
            return (int(d * 1_000_000_000) if kind == "time" else float(d)), None
        if kind == "ether":
            if _MAC_DOTTED.match(text):
                return int(text.replace(".", ""), 16), None
            parts = re.split(r"[:.-]", text)
            if len(parts) == 6 and all(re.fullmatch(r"[0-9a-fA-F]{1,2}", p) for p in parts):
                return int("".join(p.zfill(2) for p in parts), 16), None
            raise bad()
        if kind in ("ipv4", "ipv6"):
            try:
                if "/" not in text:
                    addr = ipaddress.ip_address(text)
                    if (addr.version == 4) != (kind == "ipv4"):
                        raise ValueError
                    return int(addr), None
                net = ipaddress.ip_network(text, strict=False)
                if (net.version == 4) != (kind == "ipv4"):
                    raise ValueError
            except ValueError:
                raise bad() from None
            if not allow_prefix:
                raise bad(f"a subnet ({text}) can only be tested with ==, != or in")
            return int(net.network_address), int(net.netmask)
        raise bad(f"{_KIND_TEXT[kind]} field has no value to compare")

    def compare(self, op: str, left: Operand, lit: Literal) -> Compare:
        kind, slice_width = left.kind, left.slice_width
        if kind == "none" or kind == "protocol":
            raise self.error(lit.column, f"a field of type {kind!r} can only be tested for "
                             "presence")
        if op not in ("eq", "ne") and kind not in _ORDERED:
            raise self.error(lit.column, f"{_KIND_TEXT[kind]} cannot be ordered")
        value, mask = self.value(kind, lit, allow_prefix=op in ("eq", "ne"))
        if kind == "bytes":
            # a vectorised slice compares as an integer when the literal is as long
            if slice_width is not None and len(value) == slice_width:
                return _BytesCompare(op, value)
            return Compare(op, value, kind, vec_ok=False)
        bits = _FT_BITS.get(left.ftype or "")
        if bits is not None and not 0 <= value < (1 << bits):
            raise self.error(lit.column, f"{lit.text} is out of range for {left.name} (an "
                             f"unsigned {bits}-bit integer)")
        if kind == "int" and not -(1 << 63) <= value < (1 << 63):
            return Compare(op, value, kind, vec_ok=False)
        return Compare(op, value, kind, mask)

    # -- tree ---------------------------------------------------------------
    def node(self, tree: Any) -> Node:
        kind = tree.data
        if kind == "or_":
            return Or([self.node(c) for c in tree.children])
        if kind == "and_":
            return And([self.node(c) for c in tree.children])
        if kind == "xor_":
            return Xor(self.node(tree.children[0]), self.node(tree.children[1]))
        if kind == "not_":
            return Not(self.node(tree.children[0]))
        return self.test(tree)

    def lhs(self, tree: Any) -> Operand:
        op = self.operand(tree)
        if isinstance(op, Literal):
            if op.quoted:
                raise self.error(op.column, "a test starts with a field or a protocol, not "
                                 f"the string \"{op.text}\"")
            raise self.error(op.column, f"{op.text!r} is neither a field nor a protocol name")
        return op

    def rhs(self, tree: Any) -> Literal:
        if tree.data == "string" or len(tree.children) > 1:
            got = self.operand(tree)
        else:
            tok = tree.children[0]
            got = self.resolve(str(tok), tok.column) or Literal(str(tok), tok.column, False)
        if not isinstance(got, Literal):
            raise self.error(got.column, "a field is compared with a value here, not with "
                             "another field")
        return got

    def pair(self, left: Operand, tree: Any, op: str, mode: str) -> Node | None:
        """A comparison of `left` with the field `tree` names; None when `tree` is a value
        (a word that names no field or protocol, as `10.0.0.1`)."""
        if tree.data == "string":
            return None
        right = self.operand(tree)
        if isinstance(right, Literal):
            return None
        same = {left.kind, right.kind}
        if not (len(same) == 1 or same <= {"int", "bool"}):
            raise self.error(right.column, f"{left.name} ({_KIND_TEXT[left.kind]}) cannot be "
                             f"compared with {right.name} ({_KIND_TEXT[right.kind]})")
        if left.kind in ("none", "protocol") or (op not in ("eq", "ne")
                                                 and left.kind not in _ORDERED):
            raise self.error(right.column, f"{_KIND_TEXT[left.kind]} cannot be compared so")
        return FieldPair(left, right, op, mode)

    def test(self, tree: Any) -> Node:
        kind = tree.data
        ch = tree.children
        left = self.lhs(ch[0])
        lkind = left.kind
        if kind == "presence":
            return Test(left, Exists())
        if kind == "compare":
            op, mode = _CMP[str(ch[1])]
            pair = self.pair(left, ch[2], op, mode)
            if pair is not None:
                return pair
            return Test(left, self.compare(op, left, self.rhs(ch[2])), mode)
        if kind == "contains":
            lit = self.rhs(ch[1])
            if lkind not in ("string", "bytes", "ether"):
                raise self.error(left.column, f"'contains' needs a string or bytes field; "
                                 f"{left.name} is {_KIND_TEXT[lkind]}")
            if lkind == "ether" or (lkind == "bytes" and not lit.quoted):
                needle: Any = self.value("bytes", lit, False)[0]
            else:
                needle = lit.text if lkind == "string" else lit.text.encode("utf-8")
            return Test(_bytes_view(left), Contains(needle))
        if kind == "matches":
            lit = self.rhs(ch[1])
            if lkind not in ("string", "bytes"):
                raise self.error(left.column, f"'matches' needs a string or bytes field; "
                                 f"{left.name} is {_KIND_TEXT[lkind]}")
            if not lit.quoted:
                raise self.error(lit.column, "'matches' takes a quoted regular expression")
            try:
                # Wireshark's `matches` is case-insensitive unless the pattern says (?-i)
                pattern = re.compile(lit.text, re.IGNORECASE | re.DOTALL)
            except re.error as exc:
                raise self.error(lit.column, f"bad regular expression: {exc}") from None
            return Test(left, Regex(pattern))
        if kind in ("in_", "not_in"):
            try:
                items = _set_items(ch[1].children)
            except DisplayFilterError as exc:
                raise self.error(exc.column, exc.reason) from None
            members = [self.member(left, lo, hi) for lo, hi in items]
            if not members:
                raise self.error(left.column, "an empty set")
            t = Test(left, AnyOf(members))
            return Not(t) if kind == "not_in" else t
        if kind == "bitand":
            lit = self.rhs(ch[1])
            if lkind not in ("int", "bool"):
                raise self.error(left.column, f"'&' needs an integer field; {left.name} is "
                                 f"{_KIND_TEXT[lkind]}")
            mask = self.value("int", lit, False)[0]
            bits = _FT_BITS.get(left.ftype or "", 63)
            if not 0 <= mask < (1 << bits):
                raise self.error(lit.column, f"{lit.text} is out of range for {left.name}")
            return Test(left, BitAnd(mask))
        raise self.error(1, f"unsupported construct {kind}")

    def member(self, left: Operand, lo: Member, hi: Member | None) -> Matcher:
        text, column, quoted = lo
        if hi is not None:
            if left.kind not in _ORDERED - {"bytes", "string"}:
                raise self.error(column, f"a range needs an ordered field; {left.name} is "
                                 f"{_KIND_TEXT[left.kind]}")
            return Range(self.compare("ge", left, self._member_literal(lo)),
                         self.compare("le", left, self._member_literal(hi)))
        if quoted:
            return self.compare("eq", left, Literal(_unescape(text), column, True))
        if ".." in text:
            low, _, high = text.partition("..")
            if not low or not high:
                raise self.error(column, f"bad range {text!r}")
            if left.kind not in _ORDERED - {"bytes", "string"}:
                raise self.error(column, f"a range needs an ordered field; {left.name} is "
                                 f"{_KIND_TEXT[left.kind]}")
            a = self.compare("ge", left, Literal(low, column, False))
            b = self.compare("le", left, Literal(high, column + len(low) + 2, False))
            return Range(a, b)
        if self.resolve(text, column) is not None and not self._parses(left.kind, text):
            raise self.error(column, "a set holds values, not fields")
        return self.compare("eq", left, Literal(text, column, False))

    def _member_literal(self, m: Member) -> Literal:
        text, column, quoted = m
        if quoted:
            try:
                return Literal(_unescape(text), column, True)
            except ValueError as exc:
                raise self.error(column, str(exc)) from None
        return Literal(text, column, False)

    def _parses(self, kind: str, text: str) -> bool:
        try:
            self.value(kind, Literal(text, 1, False), True)
        except DisplayFilterError:
            return False
        return True


Member = tuple[str, int, bool]          # (text, column, quoted)


def _set_items(tokens: list[Any]) -> list[tuple[Member, Member | None]]:
    """A set's members as (value, None) or (low, high) for a range: `20..30` in one word,
    or spelled with spaces (`20 .. 30`), or between quoted values (`"a".."b"`)."""
    items: list[list[Any]] = []
    for tok in tokens:
        text, quoted = str(tok), tok.type == "STRING"
        if (items and not quoted and not items[-1][2]
                and (items[-1][0].endswith("..") or text.startswith(".."))
                and text != ".." and items[-1][0] != ".."):
            items[-1][0] += text
        else:
            items.append([text, tok.column, quoted])
    out: list[tuple[Member, Member | None]] = []
    i = 0
    while i < len(items):
        t, c, q = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        if nxt is not None and not nxt[2] and nxt[0] == ".." and i + 2 < len(items):
            hi = items[i + 2]
            out.append(((t, c, q), (hi[0], hi[1], hi[2])))
            i += 3
            continue
        if not q and t == "..":
            raise DisplayFilterError("", c, "bad range '..'")
        out.append(((t, c, q), None))
        i += 1
    return out


class _BytesCompare(Compare):
    """A byte-string literal against a vectorised slice of the same length: compared as
    big-endian integers (the same order as bytes)."""

    def __init__(self, op: str, value: bytes) -> None:
        super().__init__(op, int.from_bytes(value, "big"), "int")
        self.raw = value

    def one(self, v: Any) -> bool:
        if isinstance(v, bytes):
            return bool(_cmp_arrays(self.op, v, self.raw))
        return super().one(v)


def _bytes_view(op: Operand) -> Operand:
    """For `contains` on an address field: its values as bytes."""
    if op.kind == "ether":
        return Slice(op, [(0, None)], op.column)
    return op


# ---------------------------------------------------------------- the compiled filter

class DisplayFilter:
    """A compiled display filter (see wirecraft.display). `mask` evaluates it over a record
    array; `matches` over one Packet; `where` over a Table."""

    def __init__(self, expression: str, root: Node, uses_tcp_stream: bool = False) -> None:
        self.expression = expression
        self.root = root
        self.vectorised = root.vectorised
        # tcp.stream needs every packet fed to a reassembler in order (Stream does it)
        self.uses_tcp_stream = uses_tcp_stream

    def __repr__(self) -> str:
        return f"<DisplayFilter {self.expression!r}>"

    def mask(self, records: np.ndarray, packet: Callable[[int], Any] | None = None,
             first_ts: int | None = None, prev_ts: int | None = None,
             tcp_stream: np.ndarray | None = None) -> np.ndarray:
        """A boolean array: which rows of the record array `records` pass. `packet(i)`
        gives row i's Packet (needed by per-packet fields); `first_ts` is the time
        frame.time_relative counts from (default: the first row's) and `prev_ts` the time
        of the packet before the first row (frame.time_delta; default: none before);
        `tcp_stream` each row's conversation number (-1: none), for tcp.stream."""
        ctx = Context(self.expression, records, packet, first_ts, prev_ts, tcp_stream)
        if self.root.vectorised:
            return np.asarray(self.root.full(ctx), dtype=bool)
        return self.root.rows(ctx, np.arange(ctx.n))

    def batch_mask(self, batch: Any, first_ts: int | None = None,
                   prev_ts: int | None = None) -> np.ndarray:
        """`mask` over a decoded Batch (its frames are at hand for per-packet fields)."""
        from ..table import RECORD_DTYPE
        rec = np.frombuffer(batch.record_bytes(), dtype=RECORD_DTYPE)
        return self.mask(rec, batch.__getitem__, first_ts, prev_ts)

    def matches(self, pkt: Any) -> bool:
        """Whether one Packet passes (times are taken within its batch)."""
        from ..table import RECORD_DTYPE
        batch, pos = pkt.batch, pkt.position
        rec = np.frombuffer(batch.record_bytes(), dtype=RECORD_DTYPE)
        first = int(rec["ts_ns"][0])
        prev = int(rec["ts_ns"][pos - 1]) if pos > 0 else None
        return bool(self.mask(rec[pos:pos + 1], lambda _i: pkt, first, prev)[0])

    def where(self, table: Any) -> Any:
        """The rows of a Table that pass, as a Table."""
        return table.filter(self.table_mask(table))

    def table_mask(self, table: Any) -> np.ndarray:
        batches = list(getattr(table, "_batches", ()))
        packet = None
        if batches and sum(len(b) for b in batches) == len(table):
            starts = np.cumsum([0] + [len(b) for b in batches])

            def packet(i: int) -> Any:
                k = int(np.searchsorted(starts, i, side="right")) - 1
                return batches[k][i - int(starts[k])]
        return self.mask(table.records, packet)

    def stream(self) -> Stream:
        """A filter over consecutive batches of one source (times carry across them)."""
        return Stream(self)


class Stream:
    """One display filter applied batch after batch to one capture: frame.time_relative
    counts from the source's first packet, frame.time_delta crosses batch edges."""

    # conversations remembered for packets the reassembler no longer tracks (the last
    # ACK after a FIN): bounded, the oldest forgotten first
    MAX_REMEMBERED = 1 << 20

    def __init__(self, flt: DisplayFilter) -> None:
        self.filter = flt
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self._reassembler: Any = None
        self._last_index: dict[tuple[Any, ...], int] = {}

    def mask(self, batch: Any) -> np.ndarray:
        from ..table import RECORD_DTYPE
        rec = np.frombuffer(batch.record_bytes(), dtype=RECORD_DTYPE)
        if not len(rec):
            return np.zeros(0, dtype=bool)
        if self.first_ts is None:
            self.first_ts = int(rec["ts_ns"][0])
        streams = self._tcp_streams(batch) if self.filter.uses_tcp_stream else None
        out = self.filter.mask(rec, batch.__getitem__, self.first_ts, self.last_ts, streams)
        self.last_ts = int(rec["ts_ns"][-1])
        return out

    def _tcp_streams(self, batch: Any) -> np.ndarray:
        """Each packet's TCP conversation number (the reassembler's, as `wirecraft follow`
        numbers them), -1 where the packet is no TCP."""
        if self._reassembler is None:
            from ..reassembly import Reassembler
            self._reassembler = Reassembler()
        feed = self._reassembler.feed
        last = self._last_index
        out = np.full(len(batch), -1, dtype=np.int64)
        for i, pkt in enumerate(batch):
            tcp = pkt.tcp
            if tcp is None or pkt.ip is None:
                continue
            a, b = (pkt.ip.src, tcp.src_port), (pkt.ip.dst, tcp.dst_port)
            key = (a, b) if a <= b else (b, a)
            conn = feed(pkt)
            if conn is not None:
                last[key] = conn.index
                if len(last) > self.MAX_REMEMBERED:
                    last.pop(next(iter(last)))
            out[i] = last.get(key, -1)
        return out


def compile_filter(expression: str) -> DisplayFilter:
    """Parse and compile `expression` (raises DisplayFilterError)."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    if not expression.strip():
        return DisplayFilter(expression, Everything())
    try:
        tree = parse(expression)
    except UnexpectedCharacters as exc:
        pos = exc.pos_in_stream or 0
        word = re.match(r"[A-Za-z0-9_.:/-]+", expression[pos:])
        what = repr(word.group()) if word else f"character {expression[pos]!r}"
        raise DisplayFilterError(expression, exc.column, f"unexpected {what}") from None
    except UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            raise DisplayFilterError(expression, len(expression) + 1,
                                     "unexpected end of the filter") from None
        raise DisplayFilterError(expression, tok.column, f"unexpected {str(tok)!r}") from None
    except UnexpectedInput as exc:
        raise DisplayFilterError(expression, getattr(exc, "column", 1) or 1,
                                 "syntax error") from None
    compiler = Compiler(expression)
    root = compiler.node(tree)
    return DisplayFilter(expression, root, compiler.uses_tcp_stream)
