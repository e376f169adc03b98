"""Display filters: Wireshark's display-filter language over the field catalogue.

    >>> import wirecraft
    >>> t = wirecraft.open("captures/zeek__smtp.pcap").table()
    >>> t.where("tcp.port == 25 and tcp.flags.syn == 1")          # a filtered Table
    >>> for pkt in wirecraft.open("captures/dpkt__dns_icmp.pcap", where="dns.qry.name contains \"example\""):
    ...     print(pkt.index + 1)

An expression is parsed once (lark, LALR) and compiled into tests over the
decoder's record array: a test on an L2-L4 field that has a record slot runs as
numpy operations over every row at once; a test on a field without one (DNS, SMTP,
TCP options) reads `wirecraft.proto.value` packet by packet, and only for the rows
the cheap tests of an `and` / `or` left undecided. Names are the catalogue's
(tshark's), plus the few tshark users filter on that are computed rather than
stored: `ip.addr`, `ipv6.addr`, `eth.addr`, `tcp.port`, `udp.port` (either side),
`frame.number`, `frame.time` (a quoted date and time, local unless it ends in Z or
UTC, as tshark reads it), `frame.time_relative`, `frame.time_delta`, `tcp.len`, and
`tcp.stream` (the reassembler's conversation numbers, which `wirecraft follow` uses:
only while reading a capture from its start, `open(path, where=...)`).

Semantics follow tshark 4: a test on a field the packet does not have is false (so
`!(x == 1)` is true there); a field with several values (`ip.addr`, the answers
of `dns.a`) passes a test when any value does, except `!=`, which needs every value
to differ (tshark's `all_ne`; `~=` is "any value differs").

A bad expression raises DisplayFilterError (a FilterError and a ValueError) whose
one-line message names the column of the mistake. Compiled filters are cached by
expression text.

This package module is cheap to import: lark, numpy and the catalogue load when a
filter is first compiled.
"""

from __future__ import annotations

from ..errors import FilterError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._compile import DisplayFilter


class DisplayFilterError(FilterError, ValueError):
    """A display filter that cannot be compiled: `column` (1-based) is where the mistake
    is, `reason` what it is, `expression` the filter as given."""

    def __init__(self, expression: str, column: int, reason: str) -> None:
        self.expression = expression
        self.column = column
        self.reason = reason
        super().__init__(f"display filter {expression!r}: at column {column}: {reason}")


_CACHE: dict[str, DisplayFilter] = {}
_CACHE_MAX = 256


def compile(expression: str) -> DisplayFilter:  # noqa: A001 - as re.compile
    """The compiled form of `expression` (cached: the same text compiles once)."""
    f = _CACHE.get(expression)
    if f is None:
        if not isinstance(expression, str):
            raise TypeError(f"a display filter is a str, not {type(expression).__name__}")
        from ._compile import compile_filter
        f = compile_filter(expression)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[expression] = f
    return f


def matches(pkt: Any, expression: str | DisplayFilter) -> bool:
    """Whether one Packet passes the display filter.

    frame.time_relative and frame.time_delta are taken within the packet's batch (its
    first packet is time 0); filter a Capture (`open(path, where=...)`) for the file's."""
    f = compile(expression) if isinstance(expression, str) else expression
    return f.matches(pkt)


__all__ = ["DisplayFilterError", "compile", "matches"]
