"""Display-filter matchers and nodes: operators with their converted literals, and the
tree (`Test`, `Not`, `And`, `Or`, `Xor`) that evaluates vectorised children over every row
first and per-Packet ones over the rows still undecided (see _compile)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ._operands import Context, Operand

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
