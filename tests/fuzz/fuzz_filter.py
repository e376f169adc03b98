"""Fuzz target: text as a display filter, compiled and run (`wirecraft.display`).

Input: a byte choosing the packets (a mixed capture, DNS and SMTP ones) and which
rows are checked one by one, then the expression (UTF-8, undecodable bytes replaced).

Checked: compiling gives a DisplayFilter or raises DisplayFilterError and nothing else;
the error is one line, says "display filter", and its column lies inside the text (or
one past its end); a compiled filter gives one boolean per packet over a whole batch,
and on the rows checked one by one `Packet.matches` (the per-packet path) agrees with
the batch mask (the vectorised path where the fields have record slots); a filter on
`tcp.stream` runs through `Stream` over the batch; an input finishes within a wall-clock
budget (a regular expression that backtracks without end is a finding too).
"""

from __future__ import annotations

import time
import warnings
from functools import cache
from typing import Any

import numpy as np
from fuzzkit import CAPTURES, SLACK, Input, Output

from wirecraft.display import DisplayFilterError
from wirecraft.display import compile as compile_filter

SOURCES = ("zeek__var-services-std-ports.pcap", "gopacket__test_dns.pcap", "zeek__smtp.pcap")
PER_SOURCE = 400
ROWS_CHECKED = 12
BUDGET_S = 5.0 * SLACK
MAX_TEXT = 2048


@cache
def batch(k: int) -> Any:
    import wirecraft

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return next(wirecraft.open(CAPTURES / SOURCES[k]).raw_batches(PER_SOURCE))


def TestOneInput(data: bytes) -> None:
    inp = Input(data)
    choice = inp.u8()
    text = inp.rest()[:MAX_TEXT].decode("utf-8", "replace")
    deadline = time.monotonic() + BUDGET_S
    try:
        flt = compile_filter(text)
    except DisplayFilterError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith("display filter"), message
        assert 1 <= exc.column <= len(text) + 1, (exc.column, len(text), message)
        return
    b = batch(choice % len(SOURCES))
    n = len(b)
    if flt.uses_tcp_stream:
        mask = flt.stream().mask(b)
    else:
        mask = flt.batch_mask(b)
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == (n,), (
        type(mask), getattr(mask, "dtype", None), getattr(mask, "shape", None))
    if time.monotonic() > deadline:
        raise AssertionError("a display filter ran past its time budget")
    if flt.uses_tcp_stream:
        return                      # conversation numbers need the packets before a row
    start = (choice >> 2) * 7 % n
    for i in range(start, n, max(1, n // ROWS_CHECKED)):
        pkt = b[i]
        one = flt.matches(pkt)
        assert one == bool(mask[i]), (f"row {i}: Packet.matches {one}, batch mask "
                                      f"{bool(mask[i])} for {text!r}")
        if time.monotonic() > deadline:
            raise AssertionError("a display filter ran past its time budget")


def expressions() -> list[str]:
    """The expressions of the display-filter tests: good, bad and the property atoms."""
    from test_display_filter_errors import BAD
    from test_display_filter_properties import ATOMS
    from test_display_filter_tshark import CASES

    out = dict.fromkeys([e for _, e in CASES] + [e for e, *_ in BAD] + ATOMS)
    out.update(dict.fromkeys([
        f"({a}) and not ({b})" for a, b in zip(ATOMS, ATOMS[1:], strict=False)]))
    out.update(dict.fromkeys(["", "tcp.stream == 0", "tcp.stream in {0 2}", "udp.stream == 1",
                              "ip.flags.mf == 1", "frame.time >= \"2009-10-05 06:06:07\"",
                              "dns.qry.name matches \"(a|b)*c\"", "tcp.analysis.retransmission",
                              "smtp.req.command == \"MAIL\"", "eth.src[1:2] == 00:0c",
                              "ip.src[-1] == 1", "tcp.payload contains 48:45:4c:4f"]))
    return list(out)


def seeds() -> list[bytes]:
    """Every expression against each of the packet sources."""
    return [Output().u8(k).raw(e.encode()).bytes() for e in expressions() for k in range(3)]


def dictionary() -> list[bytes]:
    """Words for libFuzzer's -dict: catalogue names, operators, literals."""
    from wirecraft import proto

    words = {f.name for f in proto.fields()} | {p.name for p in proto.PROTOCOLS}
    words |= {"==", "!=", "<=", ">=", "<", ">", "===", "!==", "~=", "&&", "||", "!", "and",
              "or", "not", "xor", "eq", "ne", "gt", "lt", "ge", "le", "contains", "matches",
              "in", "{", "}", "..", "[", "]", ":", "(", ")", "&", "\"", "/24", "/64", "0x",
              "10.0.0.1", "::1", "ff:ff:ff:ff:ff:ff", "any_ne", "all_ne", "True", "False",
              "frame.number", "frame.time", "frame.time_relative", "frame.time_delta",
              "frame.len", "frame.cap_len", "ip.addr", "ipv6.addr", "eth.addr", "tcp.port",
              "udp.port", "tcp.len", "tcp.stream"}
    return [w.encode() for w in sorted(words)]
