"""SMTP session events, the direction numbers and the one command/reply line parser
(used by Session and by the per-packet catalogue fields of wirecraft.proto.smtp)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..proto import _bind

CLIENT = 0   # direction numbers, as in wirecraft.reassembly
SERVER = 1

# the binding table's TCP ports for SMTP (25, 587, 2525): the decoder's hint uses the same rows
DEFAULT_PORTS: tuple[int, ...] = _bind.values("tcp", "smtp")

# ---------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Command:
    """A client command. For AUTH, `argument` holds only the mechanism."""

    verb: str
    argument: str
    time_ns: int | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete (possibly multi-line) reply and the command verb it answers."""

    code: int
    lines: tuple[str, ...]
    command: str | None
    time_ns: int | None = None

    @property
    def text(self) -> str:
        """The reply as one line, like Zeek's last_reply: code and the last line's text."""
        return f"{self.code} {self.lines[-1]}".rstrip() if self.lines else str(self.code)


@dataclass(frozen=True, slots=True)
class MessageData:
    """A piece of the message body (already dot-unstuffed)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class MessageEnd:
    """The message body ended: complete (CRLF.CRLF or BDAT LAST seen) or cut short."""

    size: int
    complete: bool


@dataclass(frozen=True, slots=True)
class TLSStarted:
    """STARTTLS succeeded: the rest of the connection is encrypted and not decoded."""

    time_ns: int | None = None


@dataclass(frozen=True, slots=True)
class TransactionDone:
    """A mail transaction ended; `record` is its smtp.log-like dict."""

    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Problem:
    """Something on the wire that does not follow the protocol (kept as data)."""

    name: str
    direction: int


Event = Command | Reply | MessageData | MessageEnd | TLSStarted | TransactionDone | Problem


# ----------------------------------------------------------------------- the session

_COMMAND, _AWAIT_DATA, _BODY, _BDAT, _AWAIT_TLS, _AUTH, _TLS = range(7)
_BDAT_LAST = "BDAT LAST"   # pending-reply marker: the last chunk of a BDAT message
_MAX_WAITING = 8   # ended messages held for their final reply (pipelined clients)
_TRANSACTION_VERBS = frozenset({"MAIL", "RCPT", "DATA", ".", "BDAT"})   # set last_reply
_MAX_COMMAND_LINE = 1024   # a resynchronising command line is at most this long (RFC: 512)
# A line that can only be an SMTP command (RFC 5321 4.1, RFC 3030, RFC 3207, RFC 4954):
# after a gap, decoding resumes at the first such line found at a line start.
_COMMAND_LINE = re.compile(
    rb"(?:(?:HELO|EHLO) [^\s]+|MAIL FROM: ?<[^<>\r\n]*>[^\r\n]*|RCPT TO: ?<[^<>\r\n]*>[^\r\n]*"
    rb"|DATA|BDAT [0-9]{1,12}(?: LAST)?|RSET|QUIT|NOOP(?: [^\r\n]*)?|STARTTLS"
    rb"|AUTH [A-Z0-9_-]{1,40}(?: [^\s]+)?|VRFY [^\r\n]+|EXPN [^\r\n]+|HELP(?: [^\r\n]*)?"
    rb"|ETRN [^\r\n]+|XCLIENT [^\r\n]+|XFORWARD [^\r\n]+)"
    rb" *\r?\n", re.IGNORECASE)
_REPLY_LINE = re.compile(rb"[2-5][0-9]{2}(?:[ -][^\r\n]*)?\r?\n")
_STAT_KEYS = ("transactions_dropped", "rcpt_dropped", "messages_truncated",
              "message_bytes_dropped", "lines_too_long", "replies_too_long",
              "pending_dropped", "gaps", "gap_bytes", "gap_lines_skipped")


def parse_command(raw: bytes) -> tuple[str, str]:
    """(verb, argument) of one client command line, as a Session reads it: the verb
    upper-cased, the argument stripped; for AUTH only the mechanism (credentials are
    never kept). The one command-line parser: sessions and the per-packet catalogue
    fields (wirecraft.proto.smtp) both use it."""
    line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
    verb, _, arg = line.strip().partition(" ")
    verb = verb.upper()
    arg = arg.strip()
    if verb == "AUTH":
        arg = arg.split(" ", 1)[0].upper()
    return verb, arg


def parse_reply(raw: bytes) -> tuple[int, bool, str] | None:
    """(code, more, text) of one server reply line (RFC 5321 4.2: three ASCII digits, then
    ' ', '-' for a line that more lines follow, or nothing), or None if it is not one."""
    line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
    code_text = line[:3]
    sep = line[3:4]
    if not (len(code_text) == 3 and code_text.isascii() and code_text.isdigit()
            and sep in ("", " ", "-")):
        return None
    return int(code_text), sep == "-", line[4:]


def is_command_line(raw: bytes) -> bool:
    """Whether a whole line (with its line end) can only be an SMTP command: what decoding
    resumes at after a gap, and what marks a packet's bytes as commands, not message."""
    return _COMMAND_LINE.fullmatch(raw) is not None
