"""Templates: one packet built once, then stamped out with fields varying per copy.

    t = Template(Ethernet() / IPv4(dst="198.18.0.2") / UDP(dst_port=9) / b"x" * 18)
    t.vary("ipv4.src", Range("198.18.1.1", "198.18.1.254"))
    t.vary("udp.src_port", RandomValues(1024, 65535, seed=7))
    block = t.batch(1_000_000)      # one bytearray, frame i at [i*t.frame_length:...]

The Cython loop (`wirecraft._craft.expand`) copies the frame and writes each
varied field; IPv4 header and TCP/UDP/ICMP/ICMPv6 checksums that were AUTO in
the template are updated incrementally (RFC 1624) instead of recomputed, so
no object is built per frame. Fields are whole bytes: ports, addresses, ids,
TTL, sequence numbers, TCP flags (low 8 bits), MACs, the DNS id -- and the question
name of a one-question DNS message, among names of the same encoded length
(`t.vary("dns.name", ["a1.example", "b2.example"])`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .. import proto as _catalogue
from .._ext import load
from .base import AUTO, Layer, mac_bytes
from .dns import DNS, _encoded, _question
from .layers import (
    ICMP,
    TCP,
    UDP,
    Ethernet,
    ICMPv6,
    IPv4,
    IPv6,
    protocol_name,
)

_c = load("_craft")

# Where a crafting field sits in its header comes from the field catalogue
# (wirecraft.proto): the row whose `craft` names the field gives `at` = (offset, width) and
# the type, which says how a value given as text is read. Only whole-byte integer fields
# (no `bits`, no `wire` scaling) can be varied.
_KINDS = {"FT_ETHER": "mac", "FT_IPv4": "ip4", "FT_IPv6": "ip6", "FT_UINT8": "int",
          "FT_UINT16": "int", "FT_UINT24": "int", "FT_UINT32": "int", "FT_UINT64": "int"}

# Varied as a whole byte, not as the catalogue's field: TCP's 12 flag bits have no
# whole-byte position; their low 8 (CWR ... FIN) are the header's byte 13.
_BYTE_FIELDS: dict[tuple[str, str], tuple[int, int, str]] = {
    ("tcp", "flags"): (13, 1, "FT_UINT8"),
}


def _catalogued(cls_name: str, fname: str) -> tuple[int, int, str] | None:
    for p in _catalogue.PROTOCOLS:
        for f in p.fields:
            if f.at is None or f.bits is not None or f.wire is not None:
                continue
            if p.craft == cls_name and f.craft == fname:
                return (*f.at, f.type)
            for cls, cfield, at in f.craft_in:
                if cls == cls_name and cfield == fname and at is not None:
                    return (*at, f.type)
    return None


def _position(cls: type, fname: str) -> tuple[int, int, str] | None:
    """(offset in the header, width, kind) of crafting field `fname` of layer class `cls`,
    or None when it has no whole-byte position of at most 8 bytes."""
    proto = protocol_name(cls)
    found = _BYTE_FIELDS.get((proto, fname)) if proto else None
    for klass in cls.__mro__:
        if found is None:
            found = _catalogued(klass.__name__, fname)
    if found is None:
        return None
    off, width, ftype = found
    kind = _KINDS.get(ftype)
    if kind == "ip6":
        # the low 64 bits: a varied IPv6 address keeps the template's upper half
        return off + 8, 8, "ip6low"
    return (off, width, kind) if kind is not None and 1 <= width <= 8 else None


def _to_int(value: Any, kind: str) -> int:
    if isinstance(value, int):
        return value
    if kind == "mac":
        return int.from_bytes(mac_bytes(value), "big")
    if kind == "ip4":
        return int(ipaddress.IPv4Address(value))
    if kind == "ip6low":
        return int(ipaddress.IPv6Address(value)) & 0xFFFFFFFFFFFFFFFF
    raise TypeError(f"need an int, got {value!r}")


class _Spec:
    """Values of one field for frames start..start+count-1."""

    kind = "int"

    def values(self, start: int, count: int, width: int) -> np.ndarray:
        raise NotImplementedError


class Counter(_Spec):
    """start, start+step, ... wrapping at the field width (or at `modulo` back to start)."""

    def __init__(self, start: Any = 0, step: int = 1, modulo: int | None = None) -> None:
        self.start, self.step, self.modulo = start, step, modulo

    def values(self, start: int, count: int, width: int) -> np.ndarray:
        base = np.uint64(_to_int(self.start, self.kind) & 0xFFFFFFFFFFFFFFFF)
        step = np.uint64(self.step % (1 << 64))
        idx = np.arange(start, start + count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            if self.modulo:
                return base + (idx * step) % np.uint64(self.modulo)
            vals = base + idx * step  # wraps modulo 2**64
        if width < 8:
            vals &= np.uint64((1 << (8 * width)) - 1)
        return vals


class Range(_Spec):
    """Cycle through start..stop inclusive (ints, or addresses/MACs as text) by `step`."""

    def __init__(self, start: Any, stop: Any, step: int = 1) -> None:
        self.start, self.stop, self.step = start, stop, step

    def values(self, start: int, count: int, width: int) -> np.ndarray:
        a, b = _to_int(self.start, self.kind), _to_int(self.stop, self.kind)
        n = (b - a) // self.step + 1
        if n <= 0:
            raise ValueError("empty range")
        idx = np.arange(start, start + count, dtype=np.int64) % n
        return (np.uint64(a) + (idx * self.step).astype(np.uint64)).astype(np.uint64)


class RandomValues(_Spec):
    """Uniform integers in [low, high] from a seeded generator (the same seed, the same frames)."""

    def __init__(self, low: Any, high: Any, seed: int = 0) -> None:
        self.low, self.high, self.seed = low, high, seed
        self._rng: np.random.Generator | None = None
        self._pos = 0

    def values(self, start: int, count: int, width: int) -> np.ndarray:
        lo, hi = _to_int(self.low, self.kind), _to_int(self.high, self.kind)
        if self._rng is None or start != self._pos:
            self._rng = np.random.default_rng(self.seed)
            if start:
                self._rng.integers(lo, hi, size=start, endpoint=True, dtype=np.uint64)
        self._pos = start + count
        return self._rng.integers(lo, hi, size=count, endpoint=True, dtype=np.uint64)


class Values(_Spec):
    """Cycle through a list of values."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = list(items)
        if not self.items:
            raise ValueError("Values needs at least one value")

    def values(self, start: int, count: int, width: int) -> np.ndarray:
        arr = getattr(self, "_array", None)
        if arr is None:
            if all(type(v) is int and v >= 0 for v in self.items):
                arr = np.array(self.items, dtype=np.uint64)    # plain numbers: no per-item call
            else:
                arr = np.array([_to_int(v, self.kind) for v in self.items], dtype=np.uint64)
            self._array = arr                                 # made once, not per block
        return arr[np.arange(start, start + count) % len(arr)]


class _Column(_Spec):
    """Precomputed values cycled by frame number (a slice of a varied DNS name)."""

    def __init__(self, column: np.ndarray) -> None:
        self.column = column

    def values(self, start: int, count: int, width: int) -> np.ndarray:
        return self.column[np.arange(start, start + count, dtype=np.int64) % len(self.column)]


def _spec(obj: Any) -> _Spec:
    if isinstance(obj, _Spec):
        return obj
    if isinstance(obj, range):
        return Range(obj.start, obj.stop - 1 if obj.step > 0 else obj.stop + 1, obj.step)
    if isinstance(obj, (list, tuple)):
        return Values(obj)
    return Values([obj])


class Template:
    """A built frame plus the fields to vary; frames are produced in blocks."""

    def __init__(self, packet: Layer | bytes, linktype: int = 1) -> None:
        if not isinstance(packet, Layer):
            from .from_frame import from_bytes

            packet = from_bytes(bytes(packet), linktype)
        self.packet = packet.copy()
        self.base = packet.build()
        self.frame_length = len(self.base)
        self.linktype = linktype
        self._layers = packet.layers()
        self._starts = self._layer_offsets(packet)
        # (frame offset, width, spec, layer index, crafting field)
        self._fields: list[tuple[int, int, _Spec, int, str]] = []
        self._checksums = self._find_checksums()

    def rebased(self, packet: Layer) -> Template:
        """This template's varied fields over another packet of the same layout (the
        same packet with addresses filled in for sending, say)."""
        other = Template(packet, self.linktype)
        if other.frame_length != self.frame_length or other._starts != self._starts:
            raise ValueError("rebased() needs a packet of the same layout")
        other._fields = list(self._fields)
        return other

    @staticmethod
    def _layer_offsets(packet: Layer) -> list[int]:
        sizes = []
        for i, layer in enumerate(packet.layers()):
            sub = layer.copy()
            sub_len = len(sub.build()) if i else 0
            sizes.append(sub_len)
        # start of layer i = total - len(layer i and above) - trailers below
        total = len(packet.build())
        trailer = len(bytes(packet.trailer)) if isinstance(packet, Ethernet) else 0
        starts = [0]
        for s in sizes[1:]:
            starts.append(total - trailer - s)
        return starts

    def _find_checksums(self) -> list[tuple[int, int, int, int, bool]]:
        """(checksum offset, region start, layer index, pseudo-header IP index, zero_is_ffff)."""
        out = []
        ip_index = -1
        for i, layer in enumerate(self._layers):
            start = self._starts[i]
            if isinstance(layer, (IPv4, IPv6)):
                ip_index = i
            if (not isinstance(layer, (IPv4, TCP, UDP, ICMP, ICMPv6))
                    or layer.checksum is not AUTO):  # type: ignore[union-attr]
                continue
            at = _position(type(layer), "checksum")
            if at is None:          # pragma: no cover - every checksummed layer has a row
                continue
            # IPv4 and ICMP sum no pseudo-header; TCP, UDP and ICMPv6 that of the IP below
            pseudo = -1 if isinstance(layer, (IPv4, ICMP)) else ip_index
            out.append((start + at[0], start, i, pseudo, isinstance(layer, UDP)))
        return out

    def vary(self, field: str, values: Any) -> Template:
        """Vary `field` across copies: "ipv4.src", "udp.src_port", a bare crafting field
        name, or the catalogue's name ("ip.ttl", "tcp.srcport")."""
        decl = _catalogue.FIELDS.get(field)
        if decl is not None and decl.craft is not None:
            field = f"{_catalogue.PROTOCOL_OF[field].name}.{decl.craft}"
        layer_name, _, fname = field.rpartition(".")
        if fname in ("name", "qname") and layer_name in ("", "dns"):
            for i, layer in enumerate(self._layers):
                if isinstance(layer, DNS):
                    return self._vary_dns_name(i, layer, values)
        for i, layer in enumerate(self._layers):
            names = (layer.name, type(layer).__name__.lower(), protocol_name(type(layer)))
            if layer_name and layer_name not in names and not (
                    layer_name == "ip" and isinstance(layer, (IPv4, IPv6))):
                continue
            # checksums are what the expansion keeps right, not fields to vary
            pos = _position(type(layer), fname) if fname != "checksum" else None
            if pos is not None:
                off, width, kind = pos
                spec = _spec(values)
                spec.kind = kind
                if kind == "ip6low":
                    self._check_ip6_prefix(layer, fname, spec)
                self._fields.append((self._starts[i] + off, width, spec, i, fname))
                return self
            if not layer_name and fname in layer._field_names:
                continue
        raise ValueError(f"cannot vary {field!r} in {self.packet.summary()}: "
                         "varying works on whole-byte header fields (see wirecraft.craft.template)")

    def _vary_dns_name(self, index: int, layer: DNS, values: Any) -> Template:
        """Vary the question name of a one-question message: names of the template name's
        encoded length, written as up-to-8-byte slices so the UDP checksum follows."""
        if (len(layer.questions) != 1 or layer.answers or layer.authorities
                or layer.additionals):
            raise ValueError("varying the DNS name needs a one-question message without records")
        if isinstance(values, Values):
            names = values.items
        elif isinstance(values, (str, bytes)):
            names = [values]
        else:
            names = list(values)
        if not names:
            raise ValueError("no names to vary over")
        length = len(_encoded(_question(layer.questions[0]).name)[1])
        wires = [_encoded(n)[1] for n in names]
        for n, w in zip(names, wires, strict=True):
            if len(w) != length:
                raise ValueError(f"DNS name {n!r} encodes to {len(w)} bytes; every varied name "
                                 f"must take the template name's {length} bytes")
        table = np.frombuffer(b"".join(wires), dtype=np.uint8).reshape(len(wires), length)
        at = self._starts[index] + 12  # the question name follows the 12-byte header
        for c0 in range(0, length, 8):
            width = min(8, length - c0)
            column = np.zeros(len(wires), dtype=np.uint64)
            for k in range(width):
                column = (column << np.uint64(8)) | table[:, c0 + k].astype(np.uint64)
            self._fields.append((at + c0, width, _Column(column), index, "name"))
        return self

    @staticmethod
    def _check_ip6_prefix(layer: Layer, fname: str, spec: _Spec) -> None:
        base = int(ipaddress.IPv6Address(getattr(layer, fname))) >> 64
        texts = [v for k, v in vars(spec).items() if k != "kind" and isinstance(v, str)]
        texts += [v for v in getattr(spec, "items", []) if isinstance(v, str)]
        for t in texts:
            if int(ipaddress.IPv6Address(t)) >> 64 != base:
                raise ValueError(f"IPv6 {fname} values must share the template's upper 64 bits")

    def _affects(self) -> np.ndarray:
        affects = np.zeros((len(self._fields), len(self._checksums)), dtype=np.uint8)
        for f, (off, width, _, li, fname) in enumerate(self._fields):
            for c, (at, _start, ci, ip_i, _z) in enumerate(self._checksums):
                if off < at + 2 and at < off + width:
                    raise ValueError("a varied field overlaps a checksum it should update")
                layer = self._layers[ci]
                if isinstance(layer, IPv4) and li == ci:
                    affects[f, c] = 1
                elif not isinstance(layer, IPv4) and li >= ci:
                    affects[f, c] = 1
                elif ip_i >= 0 and li == ip_i and isinstance(self._layers[ip_i], (IPv4, IPv6)):
                    affects[f, c] = fname in ("src", "dst")   # the pseudo-header's fields
        return affects

    def batch(self, count: int, start: int = 0) -> bytearray:
        """Frames start..start+count-1 back to back in one bytearray."""
        n = len(self._fields)
        values = np.zeros((count, n), dtype=np.uint64)
        for f, (_off, width, spec, _li, _name) in enumerate(self._fields):
            values[:, f] = spec.values(start, count, width)
        out = bytearray(count * self.frame_length)
        cs = self._checksums
        _c.expand(self.base, count,
                  np.array([f[0] for f in self._fields], dtype=np.int64),
                  np.array([f[1] for f in self._fields], dtype=np.int64),
                  values,
                  np.array([c[0] for c in cs], dtype=np.int64),
                  np.array([c[1] for c in cs], dtype=np.int64),
                  np.array([c[4] for c in cs], dtype=np.uint8),
                  np.ascontiguousarray(self._affects().reshape(n, len(cs))), out)
        return out

    def frames(self, count: int, start: int = 0, block: int = 65536) -> Iterator[bytes]:
        """Each frame as bytes (built in blocks of `block`)."""
        fl = self.frame_length
        done = 0
        while done < count:
            k = min(block, count - done)
            buf = self.batch(k, start + done)
            for i in range(k):
                yield bytes(buf[i * fl:(i + 1) * fl])
            done += k

    def write(self, path: Any, count: int, start_ns: int = 1_700_000_000_000_000_000,
              interval_ns: int = 1000, block: int = 65536) -> int:
        """Write `count` frames to a pcap file, `interval_ns` apart."""
        from ..writers import PcapWriter

        fl = self.frame_length
        with PcapWriter(path, self.linktype, nanosecond=True, flush="buffer",
                        buffer_size=1 << 20) as w:
            done = 0
            while done < count:
                k = min(block, count - done)
                w.write_frames(self.batch(k, done), fl, start_ns + done * interval_ns,
                               interval_ns, k)
                done += k
            return w.packets_written


__all__ = ["Counter", "RandomValues", "Range", "Template", "Values"]
