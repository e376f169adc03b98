"""Display-filter operands: what a test reads, over record columns or per Packet.

A catalogue field read from its record slot (`SlotField`), either side of an address or
port pair (`Either`), a value computed from the record (`Computed`: frame.number,
frame.time_delta, tcp.len, tcp.stream), a field read per Packet through the catalogue's
hooks (`PacketField`), a protocol's bytes (`ProtocolOperand`) and a slice of any of those.
Each gives its values and their presence for the rows of a `Context`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _ext
from .. import proto as _proto
from . import DisplayFilterError

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


class _CatalogueField(Operand):
    """An operand that is one catalogue field: its declaration, read once."""

    def __init__(self, name: str, column: int) -> None:
        self.name, self.column = name, column
        self.field = _proto.FIELDS[name]
        self.proto = _proto.PROTOCOL_OF[name]
        self.kind = _KIND[self.field.type]
        self.ftype = self.field.type


class SlotField(_CatalogueField):
    """A catalogue field read from a record slot: values and presence as arrays.

    Values are read from the slot as the Table's column does ((slot >> shift) & mask),
    without zeroing the rows where the field is absent: `present` says which rows count."""

    vectorised = True

    def __init__(self, name: str, column: int) -> None:
        from ..table import _has_address
        super().__init__(name, column)
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


class PacketField(_CatalogueField):
    """A catalogue field without a record slot: `wirecraft.proto.value` per Packet."""

    def __init__(self, name: str, column: int) -> None:
        super().__init__(name, column)
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
