"""tcpdump's packet dumps: -x/-xx (hex), -X/-XX (hex and ASCII), -A/-AA (ASCII).

The dump follows the packet's line. One -x, -X or -A dumps what follows the link
header (the network layer on); doubled (-xx, -XX, -AA) it dumps the whole frame.
When several are given tcpdump's order decides: -X over -x over -A.

* hex: per 16 bytes a line `\\t0x0010:  4500 003e ...`, bytes in groups of two;
* hex and ASCII: the same with an ASCII column, a byte 0x21-0x7e as itself and any
  other as `.` (the layout of `wirecraft.present.hexdump_text`, `Packet.hexdump`);
* ASCII: the bytes as text after a newline: printable bytes, space, tab and
  newline as themselves, a carriage return dropped before a newline (and at the
  very end), anything else as `.`.
"""

from __future__ import annotations

import struct
from typing import Any

from . import _ext

HEX, HEX_ASCII, ASCII = "hex", "hex+ascii", "ascii"
_RAW_IP_LINKTYPES = frozenset({12, 14, 101, 228, 229})  # frames with no link header
_LINE = 16


def _l3_field() -> tuple[int, int]:
    core = _ext.load("_core")
    offsets = {name: off for name, off, _ in core.record_fields()}
    return core.record_size(), offsets["l3_offset"]


_RECORD_SIZE, _L3_AT = _l3_field()


def network_start(pkt: Any) -> int:
    """Where tcpdump's single -x/-X/-A starts in the frame: after the link header, the
    decoder's network offset; a frame too short for its link header has nothing after it."""
    (l3,) = struct.unpack_from("<I", pkt.batch.record_bytes(), pkt.position * _RECORD_SIZE
                               + _L3_AT)
    data_len = pkt.caplen
    if l3 == 0 and pkt.linktype not in _RAW_IP_LINKTYPES:
        return data_len
    return min(l3, data_len)


def hex_text(data: bytes) -> str:
    """tcpdump -x: 16 bytes a line in groups of two, each line after a tab and its offset."""
    lines = []
    for off in range(0, len(data), _LINE):
        chunk = data[off:off + _LINE]
        groups = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        lines.append(f"\t0x{off:04x}:  {groups}")
    return "\n".join(lines)


def hex_ascii_text(data: bytes) -> str:
    """tcpdump -X: the hex lines with the ASCII column."""
    from .present import hexdump_text

    return hexdump_text(data)


def ascii_text(data: bytes) -> str:
    """tcpdump -A: the bytes as text (see the module docstring)."""
    out = []
    n = len(data)
    for i, b in enumerate(data):
        if b == 0x0D:
            # a CR is shown (as '.') only in the middle of a line, not before its LF
            if i + 2 < n and data[i + 1] != 0x0A:
                out.append(".")
        elif 0x21 <= b <= 0x7E or b in (0x09, 0x20, 0x0A):
            out.append(chr(b))
        else:
            out.append(".")
    return "".join(out)


class Dumper:
    """The dump tcpdump prints after a packet's line, for the counts of -x, -X and -A."""

    __slots__ = ("kind", "whole")

    def __init__(self, kind: str, whole: bool) -> None:
        if kind not in (HEX, HEX_ASCII, ASCII):
            raise ValueError(f"unknown dump kind {kind!r}")
        self.kind = kind
        self.whole = whole

    @classmethod
    def from_counts(cls, x: int = 0, X: int = 0, A: int = 0) -> Dumper | None:  # noqa: N803
        """The dumper for `-x` given x times, `-X` X times and `-A` A times (None: no dump)."""
        if X:
            return cls(HEX_ASCII, X > 1)
        if x:
            return cls(HEX, x > 1)
        if A:
            return cls(ASCII, A > 1)
        return None

    def dump(self, pkt: Any) -> str:
        """The text to append to the packet's line (it starts with a newline; may be empty)."""
        data = pkt.data
        if not self.whole:
            data = data[network_start(pkt):]
        data = bytes(data)
        if not data:
            return ""
        if self.kind == ASCII:
            return "\n" + ascii_text(data)
        text = hex_text(data) if self.kind == HEX else hex_ascii_text(data)
        return "\n" + text
