"""SMTP (RFC 5321): the field catalogue, per packet.

SMTP has no record slots and no Packet view: a session is decoded over reassembled
streams by wirecraft.smtp.Session. These fields are what one packet shows on its own,
as tshark's per-frame smtp fields are: the command lines a client packet carries and
the reply lines a server packet carries, parsed by wirecraft.smtp's own line parsers
(`parse_command`, `parse_reply`, `is_command_line`: the one SMTP parser). A field that a
packet carries several of (pipelined commands, a multi-line reply) gives a list.

The hooks take the Packet itself (`Protocol.extra["view"]` makes the per-packet value
they read; `packet_attr` is None): a packet to a server port is the client's, one from
a server port the server's. Judged packet by packet, without the session's state, a
client packet none of whose lines is a command line is taken as a piece of the message
(DATA or BDAT body): this includes AUTH continuation lines, which tshark shows as
smtp.auth.* and which are never returned here (credentials are not kept, as in Session;
an AUTH command shows its mechanism only).
"""

from __future__ import annotations

from . import _bind
from ._spec import Field, Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: typing is not imported at run time
    from typing import Any

PORTS: tuple[int, ...] = _bind.values("tcp", "smtp")


class PacketLines:
    """The SMTP lines of one packet: client commands or server reply lines.

    A plain slotted class (not a dataclass: the catalogue imports no dataclasses)."""

    __slots__ = ("request", "frame", "commands", "replies", "fragment")
    request: bool                                  # from the client (to a server port)
    frame: int                                     # the packet's frame number (index + 1)
    commands: tuple[tuple[str, str], ...]          # (verb, parameter) per command line
    replies: tuple[tuple[int, bool, str], ...]     # (code, more follow, text) per line
    fragment: bool                                 # client bytes that are no command

    def __init__(self, request: bool, frame: int, commands: tuple[tuple[str, str], ...] = (),
                 replies: tuple[tuple[int, bool, str], ...] = (),
                 fragment: bool = False) -> None:
        self.request, self.frame, self.commands = request, frame, commands
        self.replies, self.fragment = replies, fragment

    def __repr__(self) -> str:
        return (f"PacketLines(request={self.request!r}, frame={self.frame!r}, "
                f"commands={self.commands!r}, replies={self.replies!r}, "
                f"fragment={self.fragment!r})")

    @property
    def codes(self) -> list[int]:
        """One code per reply: a line that starts one (the packet's first line, or one
        after a line that ended a reply)."""
        out: list[int] = []
        starts = True
        for code, more, _ in self.replies:
            if starts:
                out.append(code)
            starts = not more
        return out


_cache: list[Any] = [None, None]   # (packet, its PacketLines): several fields of one packet


def view(pkt: Any) -> PacketLines | None:
    """The SMTP lines of a TCP packet to or from an SMTP port, or None (no TCP, no
    payload, another port, or a server packet without a reply line)."""
    if _cache[0] is pkt:
        return _cache[1]
    out = _lines(pkt)
    _cache[0], _cache[1] = pkt, out
    return out


def _lines(pkt: Any) -> PacketLines | None:
    from .. import smtp  # the session module: imported on first use, not with the catalogue

    tcp = pkt.tcp
    if tcp is None or tcp.dst_port is None:
        return None
    if tcp.dst_port in PORTS:
        request = True
    elif tcp.src_port in PORTS:
        request = False
    else:
        return None
    payload = bytes(pkt.payload)
    if not payload:
        return None
    lines = payload.splitlines(keepends=True)
    if request:
        commands = tuple(smtp.parse_command(line) for line in lines
                         if smtp.is_command_line(line))
        return PacketLines(True, pkt.index + 1, commands=commands, fragment=not commands)
    replies = tuple(r for r in map(smtp.parse_reply, lines) if r is not None)
    return PacketLines(False, pkt.index + 1, replies=replies) if replies else None


def _verbs(v: PacketLines) -> Any:
    return [verb for verb, _ in v.commands] or None


def _parameters(v: PacketLines) -> Any:
    # as tshark: a command without a parameter (DATA, QUIT) adds no value
    return [arg for _, arg in v.commands if arg] or None


def _command_line(v: PacketLines) -> Any:
    return [f"{verb} {arg}".rstrip() for verb, arg in v.commands] if v.commands else None


PROTOCOL = Protocol(
    name="smtp",
    title="Simple Mail Transfer Protocol",
    reference="RFC 5321",
    packet_attr=None,
    json=None,
    extra={"view": view, "ports": PORTS},
    fields=(
        Field("smtp.req", "FT_BOOLEAN", "The packet carries client commands",
              extra_value=lambda v: True if v.request and v.commands else None),
        Field("smtp.rsp", "FT_BOOLEAN", "The packet carries server reply lines",
              extra_value=lambda v: True if v.replies else None),
        Field("smtp.command_line", "FT_STRING",
              "Command line (verb and parameter; AUTH: the mechanism only)",
              extra_value=_command_line),
        Field("smtp.req.command", "FT_STRING", "Command verb (upper-cased)",
              extra_value=_verbs),
        Field("smtp.req.parameter", "FT_STRING", "Command parameter (commands that have one)",
              extra_value=_parameters),
        Field("smtp.response", "FT_STRING", "Reply line (without its line end)",
              extra_value=lambda v: [f"{c}{'-' if more else ' '}{text}".rstrip()
                                     for c, more, text in v.replies] or None),
        Field("smtp.response.code", "FT_UINT32", "Reply code (one per reply)",
              extra_value=lambda v: v.codes or None),
        Field("smtp.rsp.parameter", "FT_STRING", "Reply text (one per reply line)",
              extra_value=lambda v: [text for _, _, text in v.replies] or None),
        # tshark's type is FT_FRAMENUM (a frame number), which _spec does not list yet
        Field("smtp.data.fragment", "FT_UINT32",
              "This frame's number, when it carries a piece of the message (client bytes "
              "without a command line)",
              extra_value=lambda v: v.frame if v.fragment else None),
    ),
)
