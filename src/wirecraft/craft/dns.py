"""DNS messages built from Python objects (RFC 1035, EDNS0 RFC 6891, DNSSEC RFC 4034,
SRV RFC 2782, CAA RFC 8659, SSHFP RFC 4255, NAPTR RFC 3403).

Names are compressed on build (RFC 1035 s4.1.4) in the question and owner
names and inside the rdata of the RFC 1035 types only, as RFC 3597 s4 asks;
rdata given as bytes is sent as it is, so any record type can be crafted.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._ext import load
from ..proto._dns_names import CLASS_CODES, FLAGS, TYPE_CODES, pack_flags
from ..proto._dns_names import TYPE_NAMES as _TYPE_NAMES
from .base import AUTO, Layer, ip4_bytes, ip6_bytes

_c = load("_craft")

# the decoder's tables (one copy, in the catalogue): every type wirecraft.dns names can be
# crafted by its mnemonic ("EUI48", "HTTPS", ...)
TYPES: dict[str, int] = TYPE_CODES
TYPE_NAMES: dict[int, str] = _TYPE_NAMES
CLASSES: dict[str, int] = CLASS_CODES

# rdata names that may be compressed (RFC 3597 s4: the well-known RFC 1035 types)
_COMPRESSIBLE = {2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15}


def type_number(value: int | str) -> int:
    """A record type from its mnemonic ("AAAA", "TYPE65280") or number."""
    if type(value) is str:
        number = TYPES.get(value)
        if number is not None:
            return number
    if isinstance(value, int):
        return value
    key = value.upper()
    if key in TYPES:
        return TYPES[key]
    if key.startswith("TYPE") and key[4:].isdigit():
        return int(key[4:])
    raise ValueError(f"unknown DNS record type {value!r}")


def class_number(value: int | str) -> int:
    if type(value) is str:
        number = CLASSES.get(value)
        if number is not None:
            return number
    if isinstance(value, int):
        return value
    key = value.upper()
    if key in CLASSES:
        return CLASSES[key]
    if key.startswith("CLASS") and key[5:].isdigit():
        return int(key[5:])
    raise ValueError(f"unknown DNS class {value!r}")


def name_labels(name: str | bytes) -> tuple[bytes, ...]:
    """Labels of a domain name; "." and "" are the root. A label is at most 63 bytes."""
    raw = name.encode("idna" if not name.isascii() else "ascii") if isinstance(name, str) else name
    if raw in (b"", b"."):
        return ()
    if raw.endswith(b"."):
        raw = raw[:-1]
    labels = tuple(raw.split(b"."))
    for label in labels:
        if not label or len(label) > 63:
            raise ValueError(f"bad label in DNS name {name!r}: labels are 1..63 bytes")
    if sum(len(x) + 1 for x in labels) + 1 > 255:
        raise ValueError(f"DNS name {name!r} is longer than 255 bytes")
    return labels


_NAME_CACHE: dict[str | bytes, tuple[tuple[bytes, ...], bytes]] = {}


def _encoded(name: str | bytes) -> tuple[tuple[bytes, ...], bytes]:
    """(labels, uncompressed wire form) of a name; a small cache, as crafting repeats names."""
    try:
        hit = _NAME_CACHE.get(name)
    except TypeError:  # unhashable (bytearray)
        hit = None
    if hit is None:
        labels = name_labels(name)
        hit = (labels, b"".join(bytes([len(x)]) + x for x in labels) + b"\0")
        if type(name) in (str, bytes):
            if len(_NAME_CACHE) >= 4096:
                _NAME_CACHE.clear()
            _NAME_CACHE[name] = hit
    return hit


class _Writer:
    """Message buffer that remembers where each name suffix was written.

    The first name is copied whole from the name cache; its suffixes are indexed only
    when a second name needs them.
    """

    __slots__ = ("buf", "compress", "suffixes", "_first")

    def __init__(self, compress: bool) -> None:
        self.buf = bytearray()
        self.compress = compress
        self.suffixes: dict[tuple[bytes, ...], int] = {}
        self._first: tuple[tuple[bytes, ...], int] | None = None

    def _index_first(self) -> None:
        labels, pos = self._first  # type: ignore[misc]
        self._first = None
        for i in range(len(labels)):
            if pos < 0x4000:
                self.suffixes.setdefault(labels[i:], pos)
            pos += 1 + len(labels[i])

    def name(self, name: str | bytes, compress: bool = True) -> None:
        labels, wire = _encoded(name)
        if self._first is not None:
            self._index_first()
        elif not self.suffixes:
            self._first = (labels, len(self.buf))
            self.buf += wire
            return
        for i in range(len(labels)):
            suffix = labels[i:]
            if self.compress and compress and suffix in self.suffixes:
                self.buf += struct.pack("!H", 0xC000 | self.suffixes[suffix])
                return
            if len(self.buf) < 0x4000:
                self.suffixes.setdefault(suffix, len(self.buf))
            self.buf += bytes([len(labels[i])]) + labels[i]
        self.buf.append(0)


def _char_string(value: str | bytes) -> bytes:
    b = value.encode() if isinstance(value, str) else bytes(value)
    if len(b) > 255:
        raise ValueError("a DNS character-string holds at most 255 bytes")
    return bytes([len(b)]) + b


def _type_bitmap(types: list[int | str]) -> bytes:
    """NSEC/NSEC3 type bit maps (RFC 4034 s4.1.2)."""
    windows: dict[int, bytearray] = {}
    for t in sorted({type_number(t) for t in types}):
        win = windows.setdefault(t >> 8, bytearray(32))
        win[(t & 0xFF) >> 3] |= 0x80 >> (t & 7)
    out = bytearray()
    for w, bits in sorted(windows.items()):
        n = max(i for i, b in enumerate(bits) if b) + 1
        out += bytes([w, n]) + bits[:n]
    return bytes(out)


@dataclass(slots=True)
class Question:
    """One question: name, type and class."""

    name: str
    type: int | str = "A"
    rclass: int | str = "IN"

    def _write(self, w: _Writer) -> None:
        w.name(self.name)
        w.buf += struct.pack("!HH", type_number(self.type), class_number(self.rclass))

    @property
    def cls(self) -> int | str:
        """rclass under the decoded side's spelling (wirecraft.dns.Question.cls)."""
        return self.rclass

    @cls.setter
    def cls(self, value: int | str) -> None:
        self.rclass = value


@dataclass
class Record:
    """A resource record; `data` is a Python value for the type (see module doc) or raw bytes.

    A: "192.0.2.1"; AAAA: "2001:db8::1"; NS/CNAME/PTR/DNAME: a name; MX: (preference, name);
    TXT: a string or list of strings; SOA: (mname, rname, serial, refresh, retry, expire,
    minimum); SRV: (priority, weight, port, target); CAA: (flags, tag, value); HINFO: (cpu, os);
    NAPTR: (order, preference, flags, services, regexp, replacement); DS/CDS: (key_tag,
    algorithm, digest_type, digest); DNSKEY/CDNSKEY: (flags, protocol, algorithm, key); RRSIG:
    (type_covered, algorithm, labels, original_ttl, expiration, inception, key_tag, signer,
    signature); NSEC: (next_name, [types]); SSHFP: (algorithm, fp_type, fingerprint); TLSA:
    (usage, selector, matching_type, data); OPT: [(code, bytes)] with `rclass` the UDP size.
    """

    name: str
    type: int | str
    data: Any = b""
    ttl: int = 0
    rclass: int | str = "IN"
    rdlength: Any = field(default=AUTO, repr=False)

    @classmethod
    def opt(cls, udp_size: int = 1232, do: bool = False, options: list | None = None,
            extended_rcode: int = 0, version: int = 0) -> Record:
        """An EDNS0 OPT pseudo-record (RFC 6891)."""
        ttl = (extended_rcode & 0xFF) << 24 | (version & 0xFF) << 16 | (0x8000 if do else 0)
        return cls(".", "OPT", options or [], ttl, udp_size)

    def _rdata(self, w: _Writer) -> None:
        t = type_number(self.type)
        d = self.data
        buf = w.buf
        if isinstance(d, (bytes, bytearray)) and t not in (16, 99):
            buf += bytes(d)
            return
        if t == 1:
            buf += ip4_bytes(d)
        elif t == 28:
            buf += ip6_bytes(d)
        elif t in (2, 3, 4, 5, 7, 8, 9, 12, 39):
            w.name(d, t in _COMPRESSIBLE)
        elif t == 15 or t in (18, 36):
            buf += struct.pack("!H", d[0])
            w.name(d[1], t in _COMPRESSIBLE)
        elif t in (16, 99):
            parts = [d] if isinstance(d, (str, bytes, bytearray)) else list(d)
            for p in parts:
                buf += _char_string(p)
        elif t == 6:
            mname, rname, *nums = d
            w.name(mname)
            w.name(rname)
            buf += struct.pack("!IIIII", *nums)
        elif t in (14, 17):
            w.name(d[0], t in _COMPRESSIBLE)
            w.name(d[1], t in _COMPRESSIBLE)
        elif t == 13:
            buf += _char_string(d[0]) + _char_string(d[1])
        elif t == 33:
            buf += struct.pack("!HHH", d[0], d[1], d[2])
            w.name(d[3], False)
        elif t == 35:
            buf += struct.pack("!HH", d[0], d[1])
            buf += _char_string(d[2]) + _char_string(d[3]) + _char_string(d[4])
            w.name(d[5], False)
        elif t == 257:
            tag = d[1].encode() if isinstance(d[1], str) else bytes(d[1])
            value = d[2].encode() if isinstance(d[2], str) else bytes(d[2])
            buf += bytes([d[0], len(tag)]) + tag + value
        elif t in (43, 59):
            buf += struct.pack("!HBB", d[0], d[1], d[2]) + bytes(d[3])
        elif t in (48, 60, 25):
            buf += struct.pack("!HBB", d[0], d[1], d[2]) + bytes(d[3])
        elif t in (46, 24):
            buf += struct.pack("!HBBIIIH", type_number(d[0]), d[1], d[2], d[3], d[4], d[5], d[6])
            w.name(d[7], False)
            buf += bytes(d[8])
        elif t == 47:
            w.name(d[0], False)
            buf += _type_bitmap(d[1])
        elif t == 44:
            buf += bytes([d[0], d[1]]) + bytes(d[2])
        elif t in (52, 53):
            buf += bytes([d[0], d[1], d[2]]) + bytes(d[3])
        elif t == 41:
            for code, value in d:
                buf += struct.pack("!HH", code, len(value)) + bytes(value)
        else:
            raise ValueError(f"give the rdata of DNS type {self.type} as bytes")

    def _write(self, w: _Writer) -> None:
        w.name(self.name)
        w.buf += struct.pack("!HHIH", type_number(self.type), class_number(self.rclass),
                             self.ttl & 0xFFFFFFFF, 0)
        at = len(w.buf)
        self._rdata(w)
        rdlength = len(w.buf) - at if self.rdlength is AUTO else self.rdlength
        struct.pack_into("!H", w.buf, at - 2, rdlength & 0xFFFF)

    @property
    def cls(self) -> int | str:
        """rclass under the decoded side's spelling (wirecraft.dns.Record.cls)."""
        return self.rclass

    @cls.setter
    def cls(self, value: int | str) -> None:
        self.rclass = value


def _question(q: Any) -> Question:
    if isinstance(q, Question):
        return q
    if isinstance(q, str):
        return Question(q)
    return Question(*q)


def _record(r: Any) -> Record:
    return r if isinstance(r, Record) else Record(*r)


class DNS(Layer):
    """A DNS message; counts follow the section lists unless set; `compress` names on build."""

    name = "dns"
    fields = (("id", 0), ("qr", 0), ("opcode", 0), ("aa", 0), ("tc", 0), ("rd", 1), ("ra", 0),
              ("z", 0), ("ad", 0), ("cd", 0), ("rcode", 0), ("qdcount", AUTO), ("ancount", AUTO),
              ("nscount", AUTO), ("arcount", AUTO), ("questions", []), ("answers", []),
              ("authorities", []), ("additionals", []), ("compress", True))

    if TYPE_CHECKING:
        @classmethod
        def query(cls, name: str, type: int | str = "A", id: int = 0, rclass: int | str = "IN",
                  **fields: Any) -> DNS:
            """A recursive query for one name (rd=1, as resolvers send)."""
    else:
        # DNS(id=id, questions=[Question(name, type, rclass)], **fields), made in C
        query = classmethod(_c.dns_query)

    @classmethod
    def response(cls, query: DNS, answers: list | None = None, rcode: int = 0,
                 **fields: Any) -> DNS:
        """The answer to `query`: same id, opcode, rd and questions, qr=1, ra=1."""
        values = dict(id=query.id, qr=1, opcode=query.opcode, rd=query.rd, ra=1, rcode=rcode,
                      questions=[_question(q) for q in query.questions],
                      answers=[_record(r) for r in answers or []])
        values.update(fields)
        return cls(**values)

    def _message(self) -> bytes:
        qs = [_question(q) for q in self.questions]
        sections = [[_record(r) for r in s] for s in (self.answers, self.authorities,
                                                      self.additionals)]
        counts = [self._auto(n, len(s)) for n, s in zip(
            ("qdcount", "ancount", "nscount", "arcount"), [qs, *sections], strict=True)]
        flags = pack_flags(self)   # the layout of wirecraft.proto.dns.FLAGS
        w = _Writer(bool(self.compress))
        w.buf += struct.pack("!HHHHHH", self.id & 0xFFFF, flags, *(c & 0xFFFF for c in counts))
        for q in qs:
            q._write(w)
        for section in sections:
            for r in section:
                r._write(w)
        return bytes(w.buf)

    def _serialize(self, payload: bytes, stack: list[Layer], index: int) -> bytes:
        if self._resolved is None:
            self._resolved = {}
        return self._message() + payload

    def _summary_one(self) -> str:
        qs = [_question(q) for q in self.questions]
        q = f" {qs[0].name} {qs[0].type}" if qs else ""
        if self.qr:
            return f"DNS response id=0x{self.id:04x} rcode={self.rcode} answers={len(self.answers)}{q}"
        return f"DNS query id=0x{self.id:04x}{q}"


_c.register(DNS=DNS, Question=Question, name_cache=_NAME_CACHE, types=TYPES, classes=CLASSES,
            encoded=_encoded, type_number=type_number, class_number=class_number,
            dns_flags=FLAGS)  # the C one-question path packs flags with the one layout

__all__ = ["CLASSES", "DNS", "Question", "Record", "TYPES", "TYPE_NAMES", "class_number",
           "type_number"]
