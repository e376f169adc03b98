"""Compile a display filter into tests over record columns and, where needed, Packets.

The parse tree (`_grammar`) becomes a tree of nodes (`And`, `Or`, `Xor`, `Not`, `Test`;
they and the matchers live in `_nodes`). A Test applies a Matcher (an operator with its
literal values, converted once for the field's type) to an Operand (`_operands`: a
catalogue field, a field computed from the record, a protocol, a slice of one of those).
An operand whose values come from record slots is *vectorised*: its values and presence
are numpy arrays over every row, and a test on it is a handful of array operations. Any
other operand reads `wirecraft.proto.value` per Packet (the one decoder), only for the
rows an `and` / `or` has not decided yet: vectorised children are evaluated first, over
all rows, and the per-packet ones over what is left.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from .. import _ext
from .. import proto as _proto
from . import DisplayFilterError
from ._grammar import parse
from ._nodes import (
    And,
    AnyOf,
    BitAnd,
    Compare,
    Contains,
    Everything,
    Exists,
    FieldPair,
    Matcher,
    Node,
    Not,
    Or,
    Range,
    Regex,
    Test,
    Xor,
    _cmp_arrays,
)
from ._operands import (
    _CMP,
    _COMPUTED,
    _EITHER,
    _FT_BITS,
    _KIND_TEXT,
    _ORDERED,
    Computed,
    Context,
    Either,
    Operand,
    PacketField,
    ProtocolOperand,
    Slice,
    SlotField,
)

_core = _ext.load("_core")
_L: dict[str, int] = _core.LAYER_BITS


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
