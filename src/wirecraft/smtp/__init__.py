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

The package: `events` (event types, line parsers), `session` (the Session state
machine), `message` (what a record says about its message), `log` (runs over a
capture: transactions, extract).
"""

from __future__ import annotations

from .events import (
    CLIENT,
    DEFAULT_PORTS,
    SERVER,
    Command,
    Event,
    MessageData,
    MessageEnd,
    Problem,
    Reply,
    TLSStarted,
    TransactionDone,
    is_command_line,
    parse_command,
    parse_reply,
)
from .log import (
    TransactionTable,
    extract,
    iter_transactions,
    session_factory,
    transactions,
)
from .session import (
    Session,
)

__all__ = [
    "CLIENT",
    "Command",
    "DEFAULT_PORTS",
    "Event",
    "MessageData",
    "MessageEnd",
    "Problem",
    "Reply",
    "SERVER",
    "Session",
    "TLSStarted",
    "TransactionDone",
    "TransactionTable",
    "extract",
    "is_command_line",
    "iter_transactions",
    "parse_command",
    "parse_reply",
    "session_factory",
    "transactions",
]
