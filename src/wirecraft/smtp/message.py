"""What a transaction record says about its message: header fields, addresses and
attachments, parsed with Python's email package (RFC 5322, RFC 2045-2049)."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import ipaddress
import re
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

from .events import _COMMAND_LINE, _MAX_COMMAND_LINE

# ------------------------------------------------------------------ message headers

_HEADER_FIELDS = ("date", "from", "reply_to", "subject", "msg_id", "in_reply_to",
                  "x_originating_ip", "user_agent", "first_received", "second_received")
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
    received_all = msg.get_all("Received", [])
    # Zeek's first_received / second_received: the top two Received headers, as text
    if received_all:
        rec["first_received"] = _header_text(received_all[0])
    if len(received_all) > 1:
        rec["second_received"] = _header_text(received_all[1])
    for received in received_all:
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


