"""Fuzz target: an SMTP session (`wirecraft.smtp.Session`) fed both directions in pieces.

Input: a caps byte (0: the defaults; else small caps read from the input, so that every
cap is reached), a chunking seed, then steps: one byte (direction in bit 0, bit 1: a gap
of the length that follows instead of data) and a length-prefixed piece of data. The
session runs twice: each step's bytes whole, and the same steps cut into random chunks
(from the seed). Any exception is a bug; the records, problems, commands and statistics
must not depend on how the bytes were chunked (a sans-IO parser sees a stream, not
packets); the held input stays bounded by the line caps.
"""

from __future__ import annotations

import random

from fuzzkit import Input, Output, capture_paths

from wirecraft.smtp import CLIENT, SERVER, Session
from wirecraft.smtp.events import _MAX_COMMAND_LINE

MAX_STEPS = 400


def _options(inp: Input) -> dict:
    profile = inp.u8()
    if profile == 0:
        return {"mime": True}
    return {
        "max_line": 8 + inp.u8() * 4,
        "max_message": inp.u16(),
        "max_pending": 1 + inp.u8() % 16,
        "max_transactions": 1 + inp.u8() % 8,
        "max_reply_lines": 1 + inp.u8() % 8,
        "max_rcpt": inp.u8() % 8,
        "keep_message": bool(profile & 1),
        "mime": bool(profile & 2),
    }


def _steps(inp: Input) -> list[tuple[int, bool, bytes | int]]:
    steps: list[tuple[int, bool, bytes | int]] = []
    while inp.left() and len(steps) < MAX_STEPS:
        op = inp.u8()
        direction = op & 1
        if op & 2:
            steps.append((direction, True, 1 + inp.u16()))
        else:
            steps.append((direction, False, inp.blob()))
    return steps


def _run(steps: list, opts: dict, rng: random.Random | None) -> dict:
    s = Session(client="192.0.2.1", client_port=40000, server="192.0.2.2", server_port=25,
                **opts)
    line = opts.get("max_line", 4096)
    bound = 4 * line + _MAX_COMMAND_LINE
    for t, (direction, is_gap, item) in enumerate(steps):
        if is_gap:
            s.gap(direction, item)
            continue
        pieces = [item]
        if rng is not None and len(item) > 1:
            cuts = sorted(rng.sample(range(1, len(item)), min(len(item) - 1, rng.randint(1, 8))))
            pieces = [item[a:b] for a, b in zip([0, *cuts], [*cuts, len(item)], strict=True)]
        for piece in pieces:
            s.receive(direction, piece, t)
            held = len(s._cbuf) if direction == CLIENT else len(s._sbuf)
            assert held <= bound + len(piece), ("held input", direction, held, bound)
    s.close()
    return {"records": s.records, "problems": s.problems, "commands": s.commands,
            "stats": s.stats, "helo": s.helo, "auth": s.auth, "tls": s.tls,
            "last_reply": s.last_reply}


def TestOneInput(data: bytes) -> None:
    inp = Input(data)
    opts = _options(inp)
    seed = inp.u32()
    steps = _steps(inp)
    whole = _run(steps, opts, None)
    chunked = _run(steps, opts, random.Random(seed))
    for key in whole:
        assert whole[key] == chunked[key], (key, whole[key], chunked[key])


def encode(steps: list[tuple[int, bool, bytes | int]], profile: bytes = b"\0",
           seed: int = 1) -> bytes:
    """An input for the steps (the inverse of _options/_steps with the default caps)."""
    out = Output().raw(profile).u32(seed)
    for direction, is_gap, item in steps:
        if is_gap:
            out.u8(direction | 2).u16(int(item) - 1)
        else:
            for i in range(0, max(len(item), 1), 0xFFFF):
                out.u8(direction).blob(item[i:i + 0xFFFF])
    return out.bytes()


def seeds() -> list[bytes]:
    """The SMTP connections of the sample captures as steps (their reassembled data and
    gaps in capture order), with the default caps and with small ones; and a hand-made
    session with pipelining, BDAT, AUTH and STARTTLS."""
    from wirecraft.reassembly import Reassembler

    out = []
    for path in capture_paths():
        conns: dict[int, list] = {}

        def on_data(c, d, x, conns=conns):
            conns.setdefault(c.index, []).append((d, False, x))

        def on_gap(c, d, n, conns=conns):
            conns.setdefault(c.index, []).append((d, True, n))

        r = Reassembler(on_data, on_gap)
        try:
            r.feed_all(path)
        except Exception:  # noqa: BLE001 - a sample the reader rejects gives no seed
            continue
        for steps in conns.values():
            if any(not gap and (b"EHLO" in item or b"HELO" in item or b"220 " in item[:8])
                   for _d, gap, item in steps):
                out.append(encode(steps))
                out.append(encode(steps, profile=b"\x03\x10\x04\x00\x04\x02\x03\x03", seed=7))
    hand = [
        (SERVER, False, b"220 mx ESMTP\r\n"),
        (CLIENT, False, b"EHLO c\r\n"),
        (SERVER, False, b"250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 AUTH PLAIN\r\n"),
        (CLIENT, False, b"AUTH PLAIN\r\n"), (SERVER, False, b"334 \r\n"),
        (CLIENT, False, b"AGFAYg==\r\n"), (SERVER, False, b"235 ok\r\n"),
        (CLIENT, False, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
        (SERVER, False, b"250 ok\r\n250 ok\r\n354 go\r\n"),
        (CLIENT, False, b"Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\n"),
        (SERVER, False, b"250 queued\r\n"),
        (CLIENT, False, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 5 LAST\r\nhello"),
        (SERVER, False, b"250 ok\r\n250 ok\r\n250 ok\r\n"),
        (CLIENT, True, 40), (CLIENT, False, b"RSET\r\nSTARTTLS\r\n"),
        (SERVER, False, b"250 ok\r\n220 go\r\n"), (CLIENT, False, b"\x16\x03\x01"),
    ]
    out.append(encode(hand))
    return out
