"""SMTP session decoding over reassembled TCP streams, sans-IO.

RFC 5321 (SMTP), RFC 2920 (PIPELINING), RFC 3030 (CHUNKING/BDAT), RFC 3207
(STARTTLS), RFC 4954 (AUTH), RFC 1870 (SIZE), RFC 5322 and RFC 2045-2049
(the message, parsed by Python's `email` package).

`Session` takes bytes per direction and returns events, with no sockets inside
(in the manner of h11). `transactions(source)` runs sessions over every SMTP
connection of a capture and returns one record per mail transaction, close to
Zeek's smtp.log; `extract(source, directory)` writes each message as an .eml
whose bytes are exactly the DATA (dot-unstuffed) or BDAT payload.

Limits (all keywords of `Session`): command and reply lines are cut at
`max_line` bytes (4096; flagged ``line_too_long``), a message is kept up to
`max_message` bytes (its size is still counted; flagged ``message_truncated``),
at most `max_pending` commands wait for replies (``too_many_pending``) and at
most `max_transactions` records are made per connection (the last one kept is flagged
``transactions_truncated`` and its ``transactions_dropped`` counts the transactions that
got no record), a transaction keeps at most `max_rcpt` recipients (``rcpt_truncated``,
``rcpt_dropped`` counts the others) and a reply keeps `max_reply_lines` lines
(``reply_too_long``). Every cap hit is also counted in `Session.stats` and, summed over
a capture, in `TransactionTable.stats`.

After a gap (bytes never captured) byte counts that span it are not trusted: the
session looks for the next line that parses as an SMTP command at a line start (inside
a DATA body, a BDAT chunk or the command phase), and a server reply arriving where the
lost bytes must have ended the message ends it; the transaction hit by the gap is
flagged ``gap`` and the ones after it are decoded intact. After a gap in the server's
bytes decoding resumes at the next line that parses as a reply; a 354 lost there is
inferred from what the client sends next (a message, or a command after a refusal), and
a 354 answers the DATA it belongs to even when replies before it were lost
(``reply_resync``).

Credentials sent during AUTH are never stored or returned: only the mechanism.
With ``mime=False`` only the header block of each message is parsed (no
attachments), which is several times faster on large messages.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

from .proto import _bind

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


@dataclass
class _Txn:
    ts_ns: int | None
    depth: int
    mail_from: str | None = None
    mail_params: str | None = None
    rcpt_to: list[str] = field(default_factory=list)
    message: bytearray | None = None
    size: int | None = None
    complete: bool = False
    last_reply: str | None = None
    problems: list[str] = field(default_factory=list)
    rcpt_dropped: int = 0
    data_started: bool = False
    recorded: bool = False


class Session:
    """One SMTP connection, decoded from the bytes each side sent (sans-IO).

    Feed bytes in capture order with ``receive(direction, data, time_ns)`` (0 = client,
    1 = server), report lost bytes with ``gap(direction, size)`` and end with
    ``close()``; each returns the list of events the input produced. Finished
    transaction records are also collected in ``records``. The message of the open
    transaction is held (up to ``max_message`` bytes) until it ends, for its headers
    and attachments; with ``keep_message`` it is also put in the record.
    """

    def __init__(self, *, client: str | None = None, client_port: int | None = None,
                 server: str | None = None, server_port: int | None = None,
                 stream: int | None = None, max_line: int = 4096,
                 max_message: int = 16 << 20, max_pending: int = 100,
                 max_transactions: int = 1000, max_reply_lines: int = 256,
                 max_rcpt: int = 10000, keep_message: bool = False,
                 mime: bool = True) -> None:
        self.client, self.client_port = client, client_port
        self.server, self.server_port = server, server_port
        self.stream = stream
        self.max_line = max_line
        self.max_message = max_message
        self.max_pending = max_pending
        self.max_transactions = max_transactions
        self.max_reply_lines = max_reply_lines
        self.max_rcpt = max_rcpt
        self.keep_message = keep_message
        self.mime = mime
        self.helo: str | None = None
        self.auth: str | None = None
        self.tls = False
        self.last_reply: str | None = None
        self.problems: list[str] = []
        self.records: list[dict[str, Any]] = []
        self.commands: dict[str, int] = {}
        # what each cap dropped and what the gaps cost, for summaries (see _STAT_KEYS)
        self.stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)
        self.closed = False
        self._mode = _COMMAND
        self._cbuf = b""          # client bytes not yet consumed
        self._sbuf = b""          # server bytes not yet consumed
        self._cskip = False       # inside an over-long client line: drop until LF
        self._sskip = False
        self._line_start = True   # body: at the start of a line
        self._bdat_left = 0
        self._bdat_last = False
        self._resync = False      # client bytes were lost: find the next command line
        self._gap_since_mail = False   # a client gap since the last MAIL command
        self._sresync = False     # server bytes were lost: find the next reply line
        self._reply_lost = False  # server bytes lost while DATA awaited its reply
        self._late_354 = False    # DATA's reply taken as lost: a 354 still coming is dropped
        self._pending: list[tuple[str, _Txn | None]] = []   # commands awaiting replies
        self._waiting: list[_Txn] = []   # messages ended, their final reply not yet seen
        self._greeted = False
        self._reply_lines: list[str] = []
        self._reply_code: int | None = None
        self._txn: _Txn | None = None
        self._depth = 0
        self._first_ns: int | None = None
        self._now: int | None = None
        self._events: list[Event] = []

    # ------------------------------------------------------------------ public

    def receive(self, direction: int, data: bytes, time_ns: int | None = None) -> list[Event]:
        """Consume bytes one side sent; returns the events they complete."""
        self._now = time_ns
        self._events = []
        if self.closed:
            raise RuntimeError("session already closed")   # a local error: caller's bug
        if direction == CLIENT:
            self._client(data)
        elif direction == SERVER:
            self._server(data)
        else:
            raise ValueError("direction must be 0 (client) or 1 (server)")
        return self._events

    def gap(self, direction: int, size: int) -> list[Event]:
        """`size` bytes of one direction were never captured."""
        self._events = []
        if self._mode == _TLS:
            return self._events
        self._problem("gap", direction)
        self.stats["gaps"] += 1
        self.stats["gap_bytes"] += size
        if direction == CLIENT:
            self._gap_since_mail = True
            if self._mode == _AWAIT_DATA and self._cbuf:
                # bytes after DATA, then a hole: the reply was not awaited, this is the body
                held, self._cbuf = self._cbuf, b""
                self._start_body()
                self._client(held)
            if self._mode == _BODY:
                if self._cbuf:    # a held line start ("." or a possible command): body bytes
                    self._message_bytes(self._cbuf)
                    self._cbuf = b""
                # where the lost bytes ended may be a line start: looked at for a
                # command line (or the end-of-data marker) like any other
                self._line_start = True
                self._resync = True
                self._txn_problem("gap_in_message")
                if self._txn is not None:
                    self._txn.size = (self._txn.size or 0) + size
            elif self._mode == _BDAT:
                self._flush_held_chunk()
                taken = min(size, self._bdat_left)
                self._bdat_left -= taken
                self._txn_problem("gap_in_message")
                if self._txn is not None:
                    self._txn.size = (self._txn.size or 0) + taken
                # the declared chunk size is not trusted any more: a command line found
                # in what is left of the chunk ends it (see _bdat_bytes)
                self._resync = True
                self._line_start = True
                if self._bdat_left == 0:
                    self._bdat_done()     # resync stays on: the next line must be a command
            elif self._mode == _AUTH:
                self._cbuf = b""
                self._cskip = True   # the rest of the cut line is not a command
            else:
                if self._cbuf:
                    self.stats["gap_lines_skipped"] += 1   # a line the gap cut
                self._cbuf = b""
                self._cskip = False
                self._resync = True   # lines up to the next command line are dropped
        else:
            self._sbuf = b""
            self._sskip = False
            self._sresync = True     # lines up to the next reply line are dropped
            self._reply_lines = []
            self._reply_code = None
            if self._mode == _AUTH:
                # the reply ending the AUTH exchange may be in the lost bytes
                self._mode = _COMMAND
            elif self._mode == _AWAIT_DATA:
                # the reply to DATA may be among the lost bytes: what the client sends
                # next tells (a message, or a command after a refusal)
                self._reply_lost = True
                if self._cbuf:
                    self._client(b"")
        return self._events

    def close(self) -> list[Event]:
        """End of the connection: a transaction still open is recorded as partial."""
        self._events = []
        if self.closed:
            return self._events
        self.closed = True
        if self._mode == _AWAIT_DATA and self._cbuf:
            # bytes after DATA but no reply seen: most likely the message itself
            self._problem("data_reply_missing", CLIENT)
            held, self._cbuf = self._cbuf, b""
            self._start_body()
            self._client(held)
        if self._mode == _BODY and self._cbuf:
            self._message_bytes(self._cbuf)     # a held line start is body, not lost
            self._cbuf = b""
        elif self._mode == _BDAT:
            self._flush_held_chunk()
        if self._mode in (_BODY, _BDAT, _AWAIT_DATA) and self._txn is not None \
                and self._txn.data_started:
            self._txn_problem("message_incomplete")
            self._message_end(complete=False)
        for txn in list(self._waiting):
            self._txn_problem("no_final_reply", txn)
            self._finish_txn(txn)
        if self._txn is not None:
            if not self._txn.complete:
                self._txn_problem("transaction_incomplete")
            self._finish_txn(self._txn)
        elif not self.records and (self.helo is not None or self.tls or self.commands):
            # a session that carried no transaction still gets one record (as Zeek does)
            self._finish_txn(_Txn(ts_ns=self._first_ns, depth=0, problems=list(self.problems)))
        return self._events

    # ------------------------------------------------------------------ client

    def _client(self, data: bytes) -> None:
        if self._mode == _TLS:
            return
        buf = self._cbuf + data if self._cbuf else data
        pos = 0
        n = len(buf)
        while pos < n:
            mode = self._mode
            if mode == _COMMAND or mode == _AUTH:
                i = buf.find(b"\n", pos)
                if self._cskip:
                    if i < 0:
                        pos = n
                        break
                    self._cskip = False
                    pos = i + 1
                    continue
                if i < 0:
                    if self._resync and n - pos > _MAX_COMMAND_LINE:
                        pos = n       # no command line this long: the lost context goes on
                        self.stats["gap_lines_skipped"] += 1
                        break
                    if n - pos > self.max_line:
                        self._problem("line_too_long", CLIENT)
                        self.stats["lines_too_long"] += 1
                        self._command_line(buf[pos:pos + self.max_line])
                        self._cskip = True
                        pos = n
                    break
                line = buf[pos:i + 1]
                pos = i + 1
                if self._resync and mode == _COMMAND:
                    if _COMMAND_LINE.fullmatch(line) is None:
                        self.stats["gap_lines_skipped"] += 1
                        continue      # the rest of a line cut by the gap, or lost context
                    self._resync = False
                if len(line) > self.max_line:
                    self._problem("line_too_long", CLIENT)
                    self.stats["lines_too_long"] += 1
                    line = line[:self.max_line]
                self._command_line(line)
            elif mode == _BODY:
                pos = self._body(buf, pos)
                if self._mode == _BODY:
                    break      # needs more bytes
            elif mode == _BDAT:
                if self._resync:
                    pos, more = self._bdat_resync(buf, pos)
                    if more:
                        break
                    continue
                take = min(self._bdat_left, n - pos)
                self._message_bytes(buf[pos:pos + take])
                self._bdat_left -= take
                pos += take
                if self._bdat_left == 0:
                    self._bdat_done()
            elif mode == _AWAIT_DATA and self._reply_lost:
                found = _command_at(buf, pos)
                if found < 0:
                    break       # too little to tell yet
                self._reply_lost = False
                self._late_354 = True
                for i, (verb, _) in enumerate(self._pending):
                    if verb == "DATA":
                        del self._pending[i]
                        break
                if found:       # a command: DATA was refused
                    self._mode = _COMMAND
                    if self._txn is not None:
                        self._txn.data_started = False
                else:           # the message: DATA was accepted
                    self._problem("data_reply_missing", CLIENT)
                    self._start_body()
            elif mode == _AWAIT_DATA or mode == _AWAIT_TLS:
                # the client is waiting for the reply; hold what it sent (bounded)
                if n - pos > self.max_line * 4:
                    if mode == _AWAIT_DATA:
                        self._problem("data_reply_missing", CLIENT)
                        self._start_body()
                    else:
                        self._problem("starttls_reply_missing", CLIENT)
                        self._start_tls()
                    continue
                break
            else:   # _TLS
                pos = n
                break
        self._cbuf = buf[pos:] if pos < n else b""

    def _command_line(self, raw: bytes) -> None:
        if self._mode == _AUTH:
            # an AUTH continuation line carries credentials: never kept, never returned
            return
        verb, arg = parse_command(raw)
        if self._first_ns is None:
            self._first_ns = self._now
        name = verb if len(self.commands) < 64 or verb in self.commands else "<other>"
        self.commands[name] = self.commands.get(name, 0) + 1
        self._events.append(Command(verb, arg, self._now))
        if verb == "RSET" and self._txn is not None and not self._txn.complete:
            self._txn_problem("reset")
        if verb in ("MAIL", "RSET"):
            self._retire_txn()
        self._push(verb)
        if verb in ("HELO", "EHLO"):
            self.helo = arg
        elif verb == "MAIL":
            txn = self._new_txn()
            txn.mail_from, txn.mail_params = _path_and_params(arg, "FROM:")
            self._pending[-1] = (verb, txn)
        elif verb == "RCPT":
            txn = self._txn_or_new("rcpt_without_mail")
            self._pending[-1] = (verb, txn)
            addr, _ = _path_and_params(arg, "TO:")
            if addr is not None:
                if len(txn.rcpt_to) < self.max_rcpt:
                    txn.rcpt_to.append(addr)
                else:
                    txn.rcpt_dropped += 1
                    self.stats["rcpt_dropped"] += 1
                    self._txn_problem("rcpt_truncated", txn)
        elif verb == "DATA":
            txn = self._txn_or_new("data_without_mail")
            self._pending[-1] = (verb, txn)
            txn.data_started = True
            self._mode = _AWAIT_DATA
        elif verb == "BDAT":
            parts = arg.split()
            try:
                size = int(parts[0])
                if size < 0:
                    raise ValueError
            except (IndexError, ValueError):
                self._problem("bad_bdat", CLIENT)
                return
            txn = self._txn_or_new("data_without_mail")
            self._bdat_last = len(parts) > 1 and parts[1].upper() == "LAST"
            # the reply to the LAST chunk ends the transaction
            self._pending[-1] = (_BDAT_LAST if self._bdat_last else "BDAT", txn)
            if not txn.data_started:
                txn.data_started = True
                txn.size = 0
            self._bdat_left = size
            self._mode = _BDAT
            if size == 0:
                self._bdat_done()
        elif verb == "STARTTLS":
            self._mode = _AWAIT_TLS
        elif verb == "AUTH":
            self.auth = arg or None
            self._mode = _AUTH

    def _push(self, verb: str) -> None:
        if len(self._pending) >= self.max_pending:
            self._problem("too_many_pending", CLIENT)
            self.stats["pending_dropped"] += 1
            del self._pending[0]
        self._pending.append((verb, self._txn))

    def _retire_txn(self) -> None:
        """The current transaction is over on the client side (new MAIL, RSET, QUIT)."""
        txn = self._txn
        if txn is None:
            return
        self._txn = None
        if txn.complete and any(t is txn and v in (".", _BDAT_LAST) for v, t in self._pending):
            self._waiting.append(txn)     # its final reply is still to come
            if len(self._waiting) > _MAX_WAITING:
                oldest = self._waiting[0]
                self._txn_problem("no_final_reply", oldest)
                self._finish_txn(oldest)
        else:
            self._finish_txn(txn)

    def _body(self, buf: bytes, pos: int) -> int:
        """Consume DATA body bytes from pos; returns where it stopped (end or need more)."""
        n = len(buf)
        while pos < n:
            if self._line_start:
                if self._resync:
                    found = _command_at(buf, pos)
                    if found < 0:
                        return pos     # a line start that may be a command: wait for more
                    if found:
                        # the end of data was lost in the gap: the message ends here
                        self._end_after_gap()
                        return pos
                if buf[pos] == 0x2E:   # "."
                    rest = buf[pos:pos + 3]
                    if rest == b".\r\n":
                        self._pending_end_of_data()
                        return pos + 3
                    if len(rest) < 3 and b".\r\n".startswith(rest):
                        return pos     # cannot tell yet: wait for more
                    pos += 1           # dot-stuffing: drop the first dot
                self._line_start = False
            # after a gap every line start is looked at, else only those with a dot
            j = buf.find(b"\n", pos) if self._resync else buf.find(b"\n.", pos)
            if j < 0:
                self._message_bytes(buf[pos:])
                self._line_start = buf.endswith(b"\n")
                return n
            self._message_bytes(buf[pos:j + 1])
            pos = j + 1
            self._line_start = True
        return pos

    def _end_after_gap(self) -> None:
        """A DATA body or BDAT chunk cut by a gap ends where decoding resynchronised (the
        next client line must still parse as a command: _resync stays on)."""
        self._mode = _COMMAND
        self._bdat_left = 0
        self._txn_problem("message_incomplete")
        self._message_end(complete=False)

    def _bdat_resync(self, buf: bytes, pos: int) -> tuple[int, bool]:
        """BDAT chunk bytes after a gap: the declared size is not trusted, and a command
        line at a line start inside what is left of the chunk ends it there. Returns
        (where it stopped, whether more bytes are needed to decide)."""
        n = len(buf)
        end = pos + min(self._bdat_left, n - pos)
        if self._line_start:
            c = pos
        else:
            j = buf.find(b"\n", pos, end)
            c = j + 1 if j >= 0 else -1      # -1: no line start in the chunk's rest
        while pos <= c < end:
            found = _command_at(buf, c)
            if found:
                self._message_bytes(buf[pos:c])
                self._bdat_left -= c - pos
                if found < 0:
                    self._line_start = True
                    return c, True
                self._end_after_gap()
                return c, False
            j = buf.find(b"\n", c, end)
            c = j + 1 if j >= 0 else -1
        self._message_bytes(buf[pos:end])
        self._bdat_left -= end - pos
        self._line_start = end > pos and buf[end - 1] == 0x0A
        if self._bdat_left == 0:
            self._bdat_done()
        return end, False

    def _flush_held_chunk(self) -> None:
        """Client bytes held in a BDAT chunk (a possible command line, after a gap) are
        chunk bytes after all: the stream was cut (gap or end) before they could tell."""
        if self._cbuf:
            held = self._cbuf[:self._bdat_left]
            self._cbuf = b""
            self._message_bytes(held)
            self._bdat_left -= len(held)

    def _pending_end_of_data(self) -> None:
        self._resync = False
        self._mode = _COMMAND
        self._message_end(complete=True)
        self._push(".")

    def _start_body(self) -> None:
        self._mode = _BODY
        self._line_start = True
        txn = self._txn_or_new("data_without_mail")
        txn.data_started = True
        if txn.size is None:
            txn.size = 0
        if txn.message is None:
            txn.message = bytearray()

    def _bdat_done(self) -> None:
        self._mode = _COMMAND
        if self._bdat_last:
            self._message_end(complete=True)

    def _message_bytes(self, data: bytes) -> None:
        if not data:
            return
        txn = self._txn
        if txn is None:
            return
        txn.size = (txn.size or 0) + len(data)
        self._events.append(MessageData(data))
        if txn.message is not None:
            room = self.max_message - len(txn.message)
            if len(data) > room:
                if room > 0:
                    txn.message += data[:room]
                if "message_truncated" not in txn.problems:
                    self._txn_problem("message_truncated")
            else:
                txn.message += data

    def _message_end(self, complete: bool) -> None:
        txn = self._txn
        if txn is None:
            return
        txn.complete = complete
        self._events.append(MessageEnd(txn.size or 0, complete))

    def _start_tls(self) -> None:
        self._mode = _TLS
        self.tls = True
        self._cbuf = b""
        self._sbuf = b""
        self._events.append(TLSStarted(self._now))

    # ------------------------------------------------------------------ server

    def _server(self, data: bytes) -> None:
        if self._mode == _TLS:
            return
        waiting = self._mode in (_AWAIT_DATA, _AWAIT_TLS)
        buf = self._sbuf + data if self._sbuf else data
        pos = 0
        n = len(buf)
        while pos < n and self._mode != _TLS:
            i = buf.find(b"\n", pos)
            if self._sresync:
                if i < 0:
                    if n - pos > _MAX_COMMAND_LINE:
                        pos = n      # no reply line this long: the lost context goes on
                    break
                if _REPLY_LINE.fullmatch(buf, pos, i + 1) is None:
                    pos = i + 1      # the rest of a reply line cut by the gap
                    continue
                self._sresync = False
            if self._sskip:
                if i < 0:
                    pos = n
                    break
                self._sskip = False
                pos = i + 1
                continue
            if i < 0:
                if n - pos > self.max_line:
                    self._problem("line_too_long", SERVER)
                    self.stats["lines_too_long"] += 1
                    self._reply_line(buf[pos:pos + self.max_line])
                    self._sskip = True
                    pos = n
                break
            line = buf[pos:i + 1]
            pos = i + 1
            if len(line) > self.max_line:
                self._problem("line_too_long", SERVER)
                self.stats["lines_too_long"] += 1
                line = line[:self.max_line]
            self._reply_line(line)
        self._sbuf = buf[pos:] if pos < n and self._mode != _TLS else b""
        if waiting and self._cbuf and self._mode not in (_AWAIT_DATA, _AWAIT_TLS, _TLS):
            # client bytes held while waiting for a reply can be decoded now
            held, self._cbuf = self._cbuf, b""
            self._client(held)

    def _reply_line(self, raw: bytes) -> None:
        parsed = parse_reply(raw)
        if parsed is None:
            self._problem("bad_reply", SERVER)
            return
        code, more, text = parsed
        if self._reply_code is not None and code != self._reply_code:
            self._problem("reply_code_changed", SERVER)
        self._reply_code = code
        if len(self._reply_lines) < self.max_reply_lines:
            self._reply_lines.append(text)
        elif len(self._reply_lines) == self.max_reply_lines:
            self._problem("reply_too_long", SERVER)
            self.stats["replies_too_long"] += 1
            self._reply_lines.append("")   # a marker, not shown: the flag is raised once
        if more:
            return
        lines = tuple(self._reply_lines[:self.max_reply_lines])
        self._reply_lines = []
        self._reply_code = None
        self._reply(code, lines)

    def _reply(self, code: int, lines: tuple[str, ...]) -> None:
        txn: _Txn | None = None
        final = False
        if self._greeted and (self._resync or self._mode == _BDAT):
            self._reply_after_gap(code)
        if self._late_354:
            self._late_354 = False     # only the next reply can be that late 354
            if code == 354:
                self._problem("late_reply", SERVER)
                return
        if code == 354 and self._mode == _AWAIT_DATA and self._pending \
                and self._pending[0][0] != "DATA":
            # only DATA is answered by 354: replies to the commands queued before it were
            # lost or taken early (a gap), so those commands are given up on
            for i, (verb, _) in enumerate(self._pending):
                if verb == "DATA":
                    del self._pending[:i]
                    self._problem("reply_resync", SERVER)
                    break
        if not self._greeted and not self._pending:
            command: str | None = "<greeting>"
        elif self._pending:
            command, txn = self._pending[0]
            if not (command == "AUTH" and code == 334):
                del self._pending[0]
            if command == _BDAT_LAST:
                command = "BDAT"
                final = True
        else:
            command = None
            self._problem("unmatched_reply", SERVER)
        self._greeted = True
        rep = Reply(code, lines, command, self._now)
        self._events.append(rep)
        self.last_reply = rep.text
        if txn is not None and command in _TRANSACTION_VERBS:
            txn.last_reply = rep.text
        if command == "DATA":
            self._reply_lost = False     # DATA's own reply came after all
            if self._mode == _AWAIT_DATA:
                if code == 354:
                    self._start_body()
                else:
                    self._mode = _COMMAND
                    if txn is not None:
                        txn.data_started = False
        elif command == "STARTTLS":
            if self._mode == _AWAIT_TLS:
                if code == 220:
                    self._start_tls()
                else:
                    self._mode = _COMMAND
        elif command == "AUTH":
            if code != 334 and self._mode == _AUTH:
                self._mode = _COMMAND
        elif command == "." or final:
            if txn is not None:
                self._finish_txn(txn)
        elif command == "QUIT":
            self._retire_txn()

    def _reply_after_gap(self, code: int) -> None:
        """A reply while a message is still open after a gap: the lost client bytes held
        its end, so the reply is the one to the end of data (or to the cut chunk). A 354
        with no DATA pending after a gap answers a DATA command lost in the gap. A reply
        to a BDAT chunk not yet complete (no gap known yet) ends the chunk too: the
        declared size is then not trusted."""
        pending = self._pending
        if self._mode == _COMMAND and code == 354 and not pending and self._resync:
            txn = self._txn_or_new("data_without_mail")
            txn.data_started = True
            self._mode = _AWAIT_DATA
            self._resync = False
            pending.append(("DATA", txn))
        elif self._mode == _BODY and not pending and self._txn is not None:
            if self._cbuf:
                self._message_bytes(self._cbuf)
                self._cbuf = b""
            txn = self._txn
            self._end_after_gap()
            pending.append((".", txn))
        elif (self._mode == _BDAT and len(pending) == 1 and pending[0][1] is self._txn
              and pending[0][0] in ("BDAT", _BDAT_LAST)):
            if not self._resync:
                self._txn_problem("bdat_reply_before_chunk_end")
                self._resync = True
            if self._cbuf:
                self._message_bytes(self._cbuf)
                self._cbuf = b""
            self._bdat_left = 0
            self._bdat_done()

    # ------------------------------------------------------------ transactions

    def _new_txn(self) -> _Txn:
        self._gap_since_mail = False
        self._depth += 1
        self._txn = _Txn(ts_ns=self._now, depth=self._depth, message=bytearray())
        return self._txn

    def _txn_or_new(self, problem: str) -> _Txn:
        if self._txn is None:
            self._new_txn()
            self._txn_problem(problem)
            if self._gap_since_mail:
                self._txn_problem("gap")    # its MAIL command was lost in a gap
        assert self._txn is not None
        return self._txn

    def _txn_problem(self, name: str, txn: _Txn | None = None) -> None:
        txn = txn or self._txn
        if txn is not None and name not in txn.problems:
            txn.problems.append(name)
        if name not in self.problems:
            self.problems.append(name)

    def _problem(self, name: str, direction: int) -> None:
        self._events.append(Problem(name, direction))
        self._txn_problem(name)

    def _finish_txn(self, txn: _Txn) -> None:
        if txn.recorded:
            return
        txn.recorded = True
        if txn is self._txn:
            self._txn = None
        for i, t in enumerate(self._waiting):
            if t is txn:
                del self._waiting[i]
                break
        if len(self.records) >= self.max_transactions:
            if "too_many_transactions" not in self.problems:
                self.problems.append("too_many_transactions")
            self.stats["transactions_dropped"] += 1
            if self.records:
                # the last record kept stands for the ones dropped after it
                last = self.records[-1]
                if "transactions_truncated" not in last["problems"]:
                    last["problems"].append("transactions_truncated")
                last["transactions_dropped"] += 1
            return
        rec = self._record(txn)
        self.records.append(rec)
        self._events.append(TransactionDone(rec))

    def _record(self, txn: _Txn) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "ts": txn.ts_ns / 1e9 if txn.ts_ns is not None else None,
            "stream": self.stream,
            "trans_depth": txn.depth,
            "client": self.client, "client_port": self.client_port,
            "server": self.server, "server_port": self.server_port,
            "helo": self.helo, "auth": self.auth,
            "mail_from": txn.mail_from, "mail_params": txn.mail_params,
            "rcpt_to": list(txn.rcpt_to),
        }
        for key in _HEADER_FIELDS:
            rec[key] = None
        rec["to"] = []
        rec["cc"] = []
        rec["path"] = [a for a in (self.server, self.client) if a]
        rec["attachments"] = []
        problems = list(txn.problems)
        if txn.message:
            problems += [p for p in _describe_message(bytes(txn.message), rec, self.mime)
                         if p not in problems]
        rec["last_reply"] = txn.last_reply if txn.depth else self.last_reply
        rec["tls"] = self.tls
        rec["size"] = txn.size
        rec["complete"] = txn.complete
        rec["problems"] = problems
        rec["rcpt_dropped"] = txn.rcpt_dropped
        rec["transactions_dropped"] = 0
        if "message_truncated" in problems:
            self.stats["messages_truncated"] += 1
            if txn.message is not None and txn.size is not None:
                self.stats["message_bytes_dropped"] += max(0, txn.size - len(txn.message))
        if self.keep_message:
            rec["message"] = bytes(txn.message) if txn.size is not None else None
        txn.message = None    # the bytes are not needed any more
        return rec


# ------------------------------------------------------------------ message headers

_HEADER_FIELDS = ("date", "from", "reply_to", "subject", "msg_id", "in_reply_to",
                  "x_originating_ip", "user_agent")
_ANGLE = re.compile(r"<([^<>]*)>")
_IP_IN_RECEIVED = re.compile(r"[\[(]\s*(?:IPv6:)?([0-9A-Fa-f.:]+)\s*[\])]")


def _command_at(buf: bytes, pos: int) -> int:
    """Is there an SMTP command line at buf[pos]? 1 yes, 0 no, -1 cannot tell yet (the
    line is not complete and is still short enough to be one)."""
    i = buf.find(b"\n", pos, pos + _MAX_COMMAND_LINE)
    if i < 0:
        return -1 if len(buf) - pos < _MAX_COMMAND_LINE else 0
    return 1 if _COMMAND_LINE.fullmatch(buf, pos, i + 1) is not None else 0


def _path_and_params(arg: str, keyword: str) -> tuple[str | None, str | None]:
    """MAIL/RCPT argument -> (address without <>, parameters text or None)."""
    if arg[:len(keyword)].upper() == keyword:
        arg = arg[len(keyword):]
    arg = arg.strip()
    m = _ANGLE.match(arg)
    if m:
        addr = m.group(1)
        params = arg[m.end():].strip()
    else:
        addr, _, params = arg.partition(" ")
        params = params.strip()
    return addr, (params or None)


def _header_text(value: Any) -> str:
    """Unfold a header and decode RFC 2047 encoded words; never raises."""
    text = str(value)
    try:
        text = str(make_header(decode_header(text)))
    except Exception:  # noqa: BLE001 - a malformed encoded word keeps the raw text
        pass
    return " ".join(text.split())


def _split_addresses(text: str) -> list[str]:
    """Split an address list at top-level commas (not inside quotes, <> or comments)."""
    out, cur, quote, depth, angle, esc = [], [], False, 0, False, False
    for ch in text:
        if esc:
            esc = False
        elif ch == "\\":
            esc = True
        elif quote:
            quote = ch != '"'
        elif ch == '"':
            quote = True
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        elif ch == "," and not depth and not angle:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return [a for a in out if a]


def _describe_message(data: bytes, rec: dict[str, Any], mime: bool = True) -> list[str]:
    """Fill header fields (and with mime, attachments) of rec from the message; returns problems.

    Without mime only the header block is parsed, which is several times faster on
    large messages; attachments are then left empty.
    """
    problems: list[str] = []
    if not mime:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            end = data.find(b"\n\n")
        if end >= 0:
            data = data[:end + 2]
    try:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)
    except Exception:  # noqa: BLE001 - the email package may choke on hostile input
        return ["message_unparsable"]
    if msg.defects:
        problems.append("message_defects")

    def get(name: str) -> str | None:
        v = msg.get(name)
        return None if v is None else _header_text(v)

    rec["date"] = get("Date")
    rec["from"] = get("From")
    rec["reply_to"] = get("Reply-To")
    rec["subject"] = get("Subject")
    rec["msg_id"] = get("Message-ID")
    rec["in_reply_to"] = get("In-Reply-To")
    xip = get("X-Originating-IP")
    rec["x_originating_ip"] = xip.strip("[] ") if xip else None
    rec["user_agent"] = get("User-Agent") or get("X-Mailer")
    rec["to"] = [a for v in msg.get_all("To", []) for a in _split_addresses(_header_text(v))]
    rec["cc"] = [a for v in msg.get_all("Cc", []) for a in _split_addresses(_header_text(v))]
    for received in msg.get_all("Received", []):
        for m in _IP_IN_RECEIVED.finditer(str(received)):
            try:
                rec["path"].append(str(ipaddress.ip_address(m.group(1))))
                break
            except ValueError:
                continue
    if mime:
        rec["attachments"] = _attachments(msg, problems)
    return problems


def _attachments(msg: Message, problems: list[str]) -> list[dict[str, Any]]:
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            name = part.get_filename()
            disposition = part.get_content_disposition()
        except Exception:  # noqa: BLE001
            problems.append("bad_mime_part")
            continue
        if name is None and disposition != "attachment":
            continue
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception:  # noqa: BLE001
            payload = b""
            problems.append("bad_mime_part")
        if not isinstance(payload, bytes):
            payload = b""
        out.append({"name": _header_text(name) if name else None,
                    "type": part.get_content_type(), "size": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest()})
    return out


# ------------------------------------------------------------- over a capture


class TransactionTable(list):
    """A list of transaction dicts with conversions to columnar tables.

    `stats` sums the sessions' counters over the capture: sessions, and what every cap
    dropped and what gaps cost (the keys of `Session.stats`)."""

    stats: dict[str, int]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.stats = {"sessions": 0, **dict.fromkeys(_STAT_KEYS, 0)}

    def to_arrow(self) -> Any:
        """As a pyarrow.Table (nested lists and attachment structs kept)."""
        from ._optional import require

        pa = require('pyarrow')

        return pa.Table.from_pylist([_plain(r) for r in self])

    def to_pandas(self) -> Any:
        """As a pandas.DataFrame, one row per transaction."""
        from ._optional import require

        pd = require('pandas')

        return pd.DataFrame([_plain(r) for r in self])

    def to_json(self) -> str:
        """As JSON lines, one object per transaction (message bytes left out)."""
        return "\n".join(json.dumps(_plain(r), default=str) for r in self)


def _plain(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "message"}


class _Handler:
    """Feeds one reassembled connection into a Session (reassembly subscriber)."""

    __slots__ = ("conn", "session", "flip", "out", "taken", "stats")

    def __init__(self, conn: Any, out: list[dict[str, Any]], flip: bool,
                 stats: dict[str, int] | None = None, **opts: Any) -> None:
        self.conn = conn
        self.flip = flip
        self.out = out
        self.taken = 0
        self.stats = stats
        if flip:
            self.session = Session(client=conn.server, client_port=conn.server_port,
                                   server=conn.client, server_port=conn.client_port,
                                   stream=conn.index, **opts)
        else:
            self.session = Session(client=conn.client, client_port=conn.client_port,
                                   server=conn.server, server_port=conn.server_port,
                                   stream=conn.index, **opts)

    def on_data(self, direction: int, data: bytes) -> None:
        s = self.session
        s.receive(direction ^ self.flip, data, self.conn.last_ns)
        if len(s.records) > self.taken:
            self._take()

    def on_gap(self, direction: int, size: int) -> None:
        self.session.gap(direction ^ self.flip, size)
        self._take()

    def on_close(self) -> None:
        self.session.close()
        self._take(True)
        if self.stats is not None:
            self.stats["sessions"] += 1
            for key, value in self.session.stats.items():
                self.stats[key] += value

    def _take(self, final: bool = False) -> None:
        """Hand over the records that ended, in the order they ended. The record that
        reaches max_transactions is held until the session closes: it may still be
        flagged transactions_truncated with the count of the ones dropped after it."""
        records = self.session.records
        end = len(records)
        if not final:
            end = min(end, self.session.max_transactions - 1)
        midstream = "midstream" in self.conn.flags
        for rec in records[self.taken:end]:
            if midstream:
                rec["problems"].append("midstream")
            self.out.append(rec)
        self.taken = max(self.taken, end)


def session_factory(ports: Iterable[int], out: list[dict[str, Any]],
                    stats: dict[str, int] | None = None,
                    **opts: Any) -> Callable[[Any], _Handler | None]:
    """A reassembly handler factory: each connection with a server port in `ports` gets a
    Session (client and server swapped when the reassembler picked the roles up the wrong
    way mid-stream), and every transaction record it ends is appended to `out`. `stats`
    sums the sessions' counters; `opts` go to each Session. Used by transactions() and
    by `wirecraft sniff --smtp`."""
    portset = frozenset(ports)

    def factory(conn: Any) -> _Handler | None:
        if conn.server_port in portset:
            return _Handler(conn, out, False, stats, **opts)
        if conn.client_port in portset:     # roles guessed wrong on a mid-stream pickup
            return _Handler(conn, out, True, stats, **opts)
        return None

    return factory


def _run(source: Any, ports: Iterable[int], caps: dict[str, Any] | None,
         opts: dict[str, Any], stats: dict[str, int] | None = None
         ) -> Iterator[list[dict[str, Any]]]:
    from .reassembly import Reassembler, packets

    out: list[dict[str, Any]] = []
    r = Reassembler(handler=session_factory(ports, out, stats, **opts), **(caps or {}))
    feed = r._core.packet     # the Cython entry point, without a Python-level wrapper
    for pkt in packets(source):
        feed(pkt)
        if out:
            yield list(out)
            out.clear()     # handlers keep appending to this same list
    r.flush()
    yield list(out)


def transactions(source: Any, *, ports: Iterable[int] = DEFAULT_PORTS,
                 keep_message: bool = False, caps: dict[str, Any] | None = None,
                 **limits: Any) -> TransactionTable:
    """One record per SMTP mail transaction in a source (path, Capture or Packets).

    Records are dicts in the spirit of Zeek's smtp.log, ordered by when each
    transaction ended; with keep_message=True each carries "message" (the bytes).
    `caps` go to the reassembler, `limits` to each `Session`.
    """
    table = TransactionTable()
    opts = {**limits, "keep_message": keep_message}
    for batch in _run(source, ports, caps, opts, table.stats):
        table.extend(batch)
    return table


def iter_transactions(source: Any, *, ports: Iterable[int] = DEFAULT_PORTS,
                      keep_message: bool = False, caps: dict[str, Any] | None = None,
                      **limits: Any) -> Iterator[dict[str, Any]]:
    """Like `transactions`, but yields each record as soon as it ends (for huge captures)."""
    opts = {**limits, "keep_message": keep_message}
    for batch in _run(source, ports, caps, opts):
        yield from batch


def extract(source: Any, directory: str | Path, *, ports: Iterable[int] = DEFAULT_PORTS,
            **limits: Any) -> list[Path]:
    """Write each message as <n>.eml (bytes exactly as carried, dot-unstuffed); returns paths."""
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    opts = {**limits, "keep_message": True}
    for batch in _run(source, ports, None, opts):
        for rec in batch:
            data = rec.get("message")
            if data is None or rec.get("size") is None:
                continue
            path = out_dir / f"{len(written) + 1:04d}-stream{rec['stream']}-{rec['trans_depth']}.eml"
            path.write_bytes(data)
            written.append(path)
    return written
