"""The SMTP Session state machine (sans-IO): bytes per direction in, events out.

RFC 5321, RFC 2920 (PIPELINING), RFC 3030 (BDAT), RFC 3207 (STARTTLS), RFC 4954 (AUTH);
limits and gap handling are described in wirecraft.smtp."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .events import (
    _AUTH,
    _AWAIT_DATA,
    _AWAIT_TLS,
    _BDAT,
    _BDAT_LAST,
    _BODY,
    _COMMAND,
    _COMMAND_LINE,
    _MAX_COMMAND_LINE,
    _MAX_WAITING,
    _REPLY_LINE,
    _STAT_KEYS,
    _TLS,
    _TRANSACTION_VERBS,
    CLIENT,
    SERVER,
    Command,
    Event,
    MessageData,
    MessageEnd,
    Problem,
    Reply,
    TLSStarted,
    TransactionDone,
    parse_command,
    parse_reply,
)
from .message import _HEADER_FIELDS, _command_at, _describe_message, _path_and_params


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
                    if self._resync and mode == _COMMAND:
                        # after a gap a line is judged whole (is it a command line?), so
                        # it is held to its end, however it was chunked; none is longer
                        # than _MAX_COMMAND_LINE, so a longer one is dropped to its LF
                        if n - pos > _MAX_COMMAND_LINE:
                            self.stats["gap_lines_skipped"] += 1
                            self._cskip = True
                            pos = n
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
                    if len(line) > _MAX_COMMAND_LINE or _COMMAND_LINE.fullmatch(line) is None:
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
                    waiting = self._release_held(waiting)
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
            waiting = self._release_held(waiting)
        self._sbuf = buf[pos:] if pos < n and self._mode != _TLS else b""

    def _release_held(self, waiting: bool) -> bool:
        """After a reply: client bytes held while waiting for it are decoded now, before
        the next reply line (so that how the server's bytes were chunked does not matter);
        returns whether the client is waiting for a reply again."""
        if waiting and self._cbuf and self._mode not in (_AWAIT_DATA, _AWAIT_TLS, _TLS):
            held, self._cbuf = self._cbuf, b""
            self._client(held)
        return self._mode in (_AWAIT_DATA, _AWAIT_TLS)

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
        # Zeek smtp.log's names (the ones above stay, as aliases, for one release):
        # `uid` is the connection's in wirecraft.flows, set by the capture runners
        rec["uid"] = None
        rec["id.orig_h"], rec["id.orig_p"] = self.client, self.client_port
        rec["id.resp_h"], rec["id.resp_p"] = self.server, self.server_port
        rec["mailfrom"] = rec["mail_from"]
        rec["rcptto"] = list(rec["rcpt_to"])
        rec["fuids"] = ["F" + a["sha256"][:16] for a in rec["attachments"] if a.get("sha256")]
        if "message_truncated" in problems:
            self.stats["messages_truncated"] += 1
            if txn.message is not None and txn.size is not None:
                self.stats["message_bytes_dropped"] += max(0, txn.size - len(txn.message))
        if self.keep_message:
            rec["message"] = bytes(txn.message) if txn.size is not None else None
        txn.message = None    # the bytes are not needed any more
        return rec


