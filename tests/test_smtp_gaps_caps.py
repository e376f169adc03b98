"""SMTP: resynchronisation after gaps (DATA, BDAT, command lines) and honest caps.

Sessions are generated in code: a few transactions, each with its own From/To/Subject
and body, sent with DATA or in BDAT chunks; then a range of client bytes is cut out at
many offsets and lengths. Every transaction that lies wholly outside the lost range
must come out intact (envelope, headers and the sha256 of the message bytes), and the
bytes of the one the gap hit must not be spliced onto another.
"""

from __future__ import annotations

import hashlib

import pytest
from test_reassembly_helpers import ACK, FIN, PSH, SYN, fake_packet

from wirecraft import smtp
from wirecraft.smtp import CLIENT, SERVER, Session

GREETING = b"220 mx.test ESMTP\r\n"


def _message(i: int) -> bytes:
    body = b"".join(b"line %d of message %d, some text to fill it\r\n" % (k, i)
                    for k in range(12))
    return (b"From: sender%d@a.test\r\nTo: rcpt%d@b.test\r\nSubject: message number %d\r\n"
            b"\r\n" % (i, i, i)) + body


def _stuff(message: bytes) -> bytes:
    lines = message.split(b"\r\n")
    return b"\r\n".join(b"." + ln if ln.startswith(b".") else ln for ln in lines)


def build(kinds: list[str]) -> tuple[list[tuple[int, bytes]], list[dict]]:
    """(script of (direction, bytes) in time order, one dict per transaction with its
    envelope, message and [start, end) client-stream span)."""
    script: list[tuple[int, bytes]] = [(SERVER, GREETING), (CLIENT, b"EHLO c.test\r\n"),
                                       (SERVER, b"250-mx.test\r\n250 CHUNKING\r\n")]
    offset = len(b"EHLO c.test\r\n")
    txns = []

    def client(data: bytes) -> None:
        nonlocal offset
        script.append((CLIENT, data))
        offset += len(data)

    for i, kind in enumerate(kinds):
        msg = _message(i)
        start = offset
        client(b"MAIL FROM:<sender%d@a.test>\r\n" % i)
        script.append((SERVER, b"250 ok\r\n"))
        client(b"RCPT TO:<rcpt%d@b.test>\r\n" % i)
        script.append((SERVER, b"250 ok\r\n"))
        if kind == "data":
            client(b"DATA\r\n")
            script.append((SERVER, b"354 go ahead\r\n"))
            client(_stuff(msg) + b".\r\n")
            script.append((SERVER, b"250 queued %d\r\n" % i))
        else:
            third = len(msg) // 3
            pieces = [msg[:third], msg[third:2 * third], msg[2 * third:]]
            for k, piece in enumerate(pieces):
                last = b" LAST" if k == len(pieces) - 1 else b""
                client(b"BDAT %d%s\r\n" % (len(piece), last) + piece)
                script.append((SERVER, b"250 %d bytes ok\r\n" % len(piece)))
        txns.append({"mail_from": f"sender{i}@a.test", "rcpt_to": [f"rcpt{i}@b.test"],
                     "subject": f"message number {i}", "from": f"sender{i}@a.test",
                     "sha": hashlib.sha256(msg).hexdigest(), "start": start, "end": offset})
    client(b"QUIT\r\n")
    script.append((SERVER, b"221 bye\r\n"))
    return script, txns


def run_with_gap(script: list[tuple[int, bytes]], lo: int, hi: int,
                 early: bool = True) -> Session:
    """Feed the script with client stream bytes [lo, hi) lost, reported as one gap: early,
    as soon as the lost range is over (as when the server's ACK passes the hole), or
    late, when the next client bytes arrive (after the server's replies)."""
    s = Session(keep_message=True)
    off = 0
    gapped = False
    for direction, data in script:
        if direction == SERVER:
            if early and not gapped and off >= hi:
                s.gap(CLIENT, hi - lo)
                gapped = True
            s.receive(SERVER, data)
            continue
        a, b = off, off + len(data)
        off = b
        if b <= lo or a >= hi:
            if a >= hi and not gapped:
                s.gap(CLIENT, hi - lo)
                gapped = True
            s.receive(CLIENT, data)
            continue
        if a < lo:
            s.receive(CLIENT, data[:lo - a])
        if b > hi:
            s.gap(CLIENT, hi - lo)
            gapped = True
            s.receive(CLIENT, data[hi - a:])
    if not gapped:
        s.gap(CLIENT, hi - lo)
    s.close()
    return s


def check_intact(records: list[dict], txns: list[dict], lo: int, hi: int) -> None:
    for t in txns:
        ok = [r for r in records if r["mail_from"] == t["mail_from"]
              and r["rcpt_to"] == t["rcpt_to"] and r["subject"] == t["subject"]
              and r["from"] == t["from"] and r.get("message") is not None
              and hashlib.sha256(r["message"]).hexdigest() == t["sha"]]
        if t["end"] <= lo or t["start"] >= hi:
            assert len(ok) == 1, (t, lo, hi, records)
            assert ok[0]["complete"] and "gap" not in ok[0]["problems"], (lo, hi, ok[0])
    for r in records:
        clean = not r["problems"] or r["problems"] == []
        if clean and r["subject"] is not None:
            # a record with no problem is exactly one of the transactions sent
            assert any(r["subject"] == t["subject"] and r["from"] == t["from"]
                       and hashlib.sha256(r["message"]).hexdigest() == t["sha"]
                       for t in txns), (lo, hi, r)
    hit = [r for r in records if any(t["start"] < hi and t["end"] > lo
                                     and r["mail_from"] == t["mail_from"] for t in txns)]
    for r in hit:
        if r.get("message") is not None and hashlib.sha256(r["message"]).hexdigest() not in {
                t["sha"] for t in txns}:
            assert r["problems"], (lo, hi, r)     # the one the gap hit is flagged


def _offsets(txns: list[dict], step: int) -> list[int]:
    return list(range(txns[0]["start"], txns[-1]["end"], step))


@pytest.mark.parametrize("kinds", [["bdat", "data", "data"], ["data", "bdat", "data"],
                                   ["data", "data", "bdat"], ["bdat", "bdat", "data"]])
@pytest.mark.parametrize("length", [1, 9, 60, 400])
@pytest.mark.parametrize("early", [True, False])
def test_transactions_after_a_gap_are_intact(kinds, length, early):
    script, txns = build(kinds)
    for lo in _offsets(txns, 13):
        s = run_with_gap(script, lo, lo + length, early)
        check_intact(s.records, txns, lo, lo + length)


def run_with_server_gap(script: list[tuple[int, bytes]], lo: int, hi: int) -> Session:
    """Feed the script with server stream bytes [lo, hi) lost (replies), reported as
    soon as the client sends again."""
    s = Session(keep_message=True)
    off = 0
    gapped = False
    for direction, data in script:
        if direction == CLIENT:
            if not gapped and off >= hi:
                s.gap(SERVER, hi - lo)
                gapped = True
            s.receive(CLIENT, data)
            continue
        a, b = off, off + len(data)
        off = b
        if b <= lo or a >= hi:
            s.receive(SERVER, data)
            continue
        if a < lo:
            s.receive(SERVER, data[:lo - a])
        if b > hi:
            s.gap(SERVER, hi - lo)
            gapped = True
            s.receive(SERVER, data[hi - a:])
    if not gapped:
        s.gap(SERVER, hi - lo)
    s.close()
    return s


@pytest.mark.parametrize("kinds", [["data", "bdat", "data"], ["bdat", "data", "bdat"]])
@pytest.mark.parametrize("length", [1, 5, 14, 40])
def test_lost_replies_do_not_cost_any_message(kinds, length):
    """Replies lost (a 354 among them): every message is still decoded whole, since
    what the client sends after DATA tells whether it was accepted."""
    script, txns = build(kinds)
    total = sum(len(d) for w, d in script if w == SERVER)
    for lo in range(0, total - 1, 3):
        s = run_with_server_gap(script, lo, lo + length)
        for t in txns:
            ok = [r for r in s.records if r["mail_from"] == t["mail_from"]
                  and r["subject"] == t["subject"] and r.get("message") is not None
                  and hashlib.sha256(r["message"]).hexdigest() == t["sha"]]
            assert len(ok) == 1, (lo, length, t["mail_from"], s.records)


def test_refused_data_with_its_reply_lost_goes_on_with_commands():
    s = Session(keep_message=True)
    s.receive(SERVER, GREETING)
    s.receive(CLIENT, b"MAIL FROM:<a@a.test>\r\nRCPT TO:<b@b.test>\r\nDATA\r\n")
    s.receive(SERVER, b"250 ok\r\n250 ok\r\n")
    s.gap(SERVER, len(b"554 no\r\n"))
    s.receive(CLIENT, b"RSET\r\nMAIL FROM:<c@a.test>\r\nRCPT TO:<d@b.test>\r\nDATA\r\n")
    s.receive(SERVER, b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n")
    s.receive(CLIENT, b"Subject: s\r\n\r\nbody\r\n.\r\n")
    s.receive(SERVER, b"250 ok\r\n")
    s.close()
    first, second = s.records
    assert first["mail_from"] == "a@a.test" and first["size"] is None
    assert second["mail_from"] == "c@a.test" and second["subject"] == "s"
    assert second["message"] == b"Subject: s\r\n\r\nbody\r\n" and second["complete"]


def test_server_gap_ending_at_a_line_start_keeps_the_next_reply():
    s = Session()
    s.receive(SERVER, GREETING)
    s.receive(CLIENT, b"NOOP\r\nMAIL FROM:<a@a.test>\r\n")
    s.gap(SERVER, len(b"250 ok\r\n"))
    ev = s.receive(SERVER, b"250 sender ok\r\n")
    assert any(getattr(e, "code", None) == 250 for e in ev)


def test_gap_inside_bdat_does_not_swallow_next_data():
    """The reported case: a gap in a BDAT chunk, then a DATA transaction."""
    script, txns = build(["bdat", "data"])
    first_chunk = txns[0]["start"] + 60
    s = run_with_gap(script, first_chunk, first_chunk + 30)
    check_intact(s.records, txns, first_chunk, first_chunk + 30)
    second = [r for r in s.records if r["mail_from"] == "sender1@a.test"]
    assert len(second) == 1 and second[0]["from"] == "sender1@a.test"
    first = [r for r in s.records if r["mail_from"] == "sender0@a.test"]
    assert len(first) == 1 and "gap" in first[0]["problems"]


def test_bdat_chunk_longer_than_the_bytes_sent_resyncs_on_the_next_command():
    """After a gap the declared chunk size is not trusted: here the lost bytes are
    reported smaller than they were, and a DATA transaction follows the chunk."""
    msg1 = _message(1)
    s = Session(keep_message=True)
    s.receive(SERVER, GREETING)
    s.receive(CLIENT, b"EHLO c\r\nMAIL FROM:<x@a.test>\r\nRCPT TO:<y@b.test>\r\n"
                      b"BDAT 5000 LAST\r\nSubject: one\r\n\r\nstart of")
    s.receive(SERVER, b"250 ok\r\n250 ok\r\n250 ok\r\n")
    s.gap(CLIENT, 100)
    s.receive(CLIENT, b"end of it\r\nMAIL FROM:<sender1@a.test>\r\nRCPT TO:<rcpt1@b.test>\r\n"
                      b"DATA\r\n")
    s.receive(SERVER, b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n")
    s.receive(CLIENT, _stuff(msg1) + b".\r\nQUIT\r\n")
    s.receive(SERVER, b"250 queued\r\n221 bye\r\n")
    s.close()
    recs = {r["mail_from"]: r for r in s.records}
    assert "gap" in recs["x@a.test"]["problems"]
    r1 = recs["sender1@a.test"]
    assert r1["from"] == "sender1@a.test" and r1["subject"] == "message number 1"
    assert hashlib.sha256(r1["message"]).hexdigest() == hashlib.sha256(msg1).hexdigest()
    assert r1["complete"] and "gap" not in r1["problems"]


def test_gap_in_command_phase_keeps_a_whole_next_line():
    """A gap that ends exactly at a line start must not cost the next command."""
    s = Session(keep_message=True)
    s.receive(SERVER, GREETING)
    s.receive(CLIENT, b"EHLO c\r\n")
    s.receive(SERVER, b"250 ok\r\n")
    s.gap(CLIENT, len(b"NOOP\r\n"))     # its reply is lost too
    s.receive(CLIENT, b"MAIL FROM:<a@a.test>\r\nRCPT TO:<b@b.test>\r\nDATA\r\n")
    s.receive(SERVER, b"250 ok\r\n250 ok\r\n354 go\r\n")
    s.receive(CLIENT, b"Subject: s\r\n\r\nbody\r\n.\r\n")
    s.receive(SERVER, b"250 ok\r\n")
    s.close()
    (rec,) = s.records
    assert rec["mail_from"] == "a@a.test" and rec["subject"] == "s" and rec["complete"]


def test_lost_data_command_is_recovered_from_the_354_reply():
    s = Session(keep_message=True)
    s.receive(SERVER, GREETING)
    s.receive(CLIENT, b"MAIL FROM:<a@a.test>\r\nRCPT TO:<b@b.test>\r\n")
    s.receive(SERVER, b"250 ok\r\n250 ok\r\n")
    s.gap(CLIENT, len(b"DATA\r\n"))
    s.receive(SERVER, b"354 go\r\n")
    s.receive(CLIENT, b"Subject: s\r\n\r\nbody\r\n.\r\n")
    s.receive(SERVER, b"250 ok\r\n")
    s.close()
    (rec,) = s.records
    assert rec["subject"] == "s" and rec["message"] == b"Subject: s\r\n\r\nbody\r\n"
    assert "gap" in rec["problems"]


# ------------------------------------------------------------- through reassembly

CL, SV = "192.0.2.10", "192.0.2.25"


def packets(script: list[tuple[int, bytes]], drop: set[int], mss: int = 48) -> list:
    """TCP packets carrying the script in segments of at most mss bytes; the client
    segments whose index is in drop are left out of the capture (a real hole)."""
    isn_c, isn_s = 1000, 5000
    pkts = [fake_packet(CL, 40001, SV, 25, isn_c, SYN),
            fake_packet(SV, 25, CL, 40001, isn_s, SYN | ACK, ack=isn_c + 1),
            fake_packet(CL, 40001, SV, 25, isn_c + 1, ACK, ack=isn_s + 1)]
    seq = {CLIENT: isn_c + 1, SERVER: isn_s + 1}
    t = 0
    k = 0
    for direction, data in script:
        for i in range(0, len(data), mss):
            chunk = data[i:i + mss]
            t += 1000
            if direction == CLIENT:
                if k not in drop:
                    pkts.append(fake_packet(CL, 40001, SV, 25, seq[CLIENT], ACK | PSH, chunk,
                                            ack=seq[SERVER], time_ns=t))
                k += 1
            else:
                pkts.append(fake_packet(SV, 25, CL, 40001, seq[SERVER], ACK | PSH, chunk,
                                        ack=seq[CLIENT], time_ns=t))
            seq[direction] += len(chunk)
    pkts.append(fake_packet(CL, 40001, SV, 25, seq[CLIENT], FIN | ACK, ack=seq[SERVER]))
    pkts.append(fake_packet(SV, 25, CL, 40001, seq[SERVER], FIN | ACK, ack=seq[CLIENT] + 1))
    return pkts


def test_capture_with_lost_client_segments_keeps_later_transactions():
    script, txns = build(["bdat", "data", "bdat", "data"])
    n_client = sum((len(d) + 47) // 48 for w, d in script if w == CLIENT)
    for k in range(1, n_client - 1, 3):
        table = smtp.transactions(packets(script, {k}), keep_message=True)
        hi = _end_of(script, k)
        lo = hi - 48
        for t in txns:
            if t["start"] < hi and t["end"] > lo:
                continue   # possibly hit by the hole
            ok = [r for r in table if r["mail_from"] == t["mail_from"] and r["from"] == t["from"]
                  and hashlib.sha256(r["message"]).hexdigest() == t["sha"]]
            assert len(ok) == 1 and ok[0]["complete"], (k, t)
        assert table.stats["gaps"] == 1


def _end_of(script: list[tuple[int, bytes]], k: int, mss: int = 48) -> int:
    """Client stream offset where client segment k ends."""
    off = 0
    idx = 0
    for direction, data in script:
        if direction != CLIENT:
            continue
        for i in range(0, len(data), mss):
            chunk = data[i:i + mss]
            off += len(chunk)
            if idx == k:
                return off
            idx += 1
    return off


# ------------------------------------------------------------------ caps


def test_transactions_over_the_cap_are_flagged_and_counted():
    s = Session(max_transactions=1000)
    s.receive(SERVER, GREETING)
    for i in range(3000):
        s.receive(CLIENT, b"MAIL FROM:<a%d@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" % i)
        s.receive(SERVER, b"250 ok\r\n250 ok\r\n354 go\r\n")
        s.receive(CLIENT, b"Subject: %d\r\n\r\nx\r\n.\r\n" % i)
        s.receive(SERVER, b"250 ok\r\n")
    s.close()
    assert len(s.records) == 1000
    last = s.records[-1]
    assert "transactions_truncated" in last["problems"]
    assert last["transactions_dropped"] == 2000
    assert s.stats["transactions_dropped"] == 2000
    assert all("transactions_truncated" not in r["problems"] for r in s.records[:-1])


def test_transaction_cap_through_a_capture_streams_the_flagged_row():
    script = [(SERVER, GREETING)]
    for i in range(12):
        script += [(CLIENT, b"MAIL FROM:<a%d@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n" % i),
                   (SERVER, b"250 ok\r\n250 ok\r\n354 go\r\n"),
                   (CLIENT, b"Subject: %d\r\n\r\nx\r\n.\r\n" % i), (SERVER, b"250 ok\r\n")]
    pkts = packets(script, set(), mss=1000)
    rows = list(smtp.iter_transactions(pkts, max_transactions=5))
    assert len(rows) == 5
    assert "transactions_truncated" in rows[-1]["problems"]
    assert rows[-1]["transactions_dropped"] == 7
    table = smtp.transactions(pkts, max_transactions=5)
    assert table.stats["transactions_dropped"] == 7 and table.stats["sessions"] == 1


def test_rcpt_over_the_cap_is_flagged_and_counted():
    s = Session()
    s.receive(SERVER, GREETING)
    s.receive(CLIENT, b"MAIL FROM:<a@x.test>\r\n")
    s.receive(CLIENT, b"".join(b"RCPT TO:<r%d@y.test>\r\n" % i for i in range(100_000)))
    s.receive(CLIENT, b"RSET\r\n")
    s.close()
    rec = s.records[0]
    assert len(rec["rcpt_to"]) == 10_000
    assert "rcpt_truncated" in rec["problems"] and rec["rcpt_dropped"] == 90_000
    assert s.stats["rcpt_dropped"] == 90_000


@pytest.mark.parametrize("limit,sent", [(1, 3), (10, 11), (10, 500)])
def test_rcpt_cap_keyword(limit, sent):
    s = Session(max_rcpt=limit)
    s.receive(CLIENT, b"MAIL FROM:<a@x.test>\r\n")
    s.receive(CLIENT, b"".join(b"RCPT TO:<r%d@y.test>\r\n" % i for i in range(sent)))
    s.close()
    (rec,) = s.records
    assert rec["rcpt_to"] == [f"r{i}@y.test" for i in range(limit)]
    assert rec["rcpt_dropped"] == sent - limit and "rcpt_truncated" in rec["problems"]


def test_under_the_caps_nothing_is_flagged():
    s = Session(max_rcpt=3, max_transactions=2)
    s.receive(CLIENT, b"MAIL FROM:<a@x.test>\r\n" + b"RCPT TO:<r@y.test>\r\n" * 3)
    s.close()
    (rec,) = s.records
    assert rec["rcpt_dropped"] == 0 and rec["transactions_dropped"] == 0
    assert "rcpt_truncated" not in rec["problems"]
    assert s.stats["rcpt_dropped"] == 0 and s.stats["transactions_dropped"] == 0


def test_other_caps_are_counted_in_stats():
    s = Session(max_line=64, max_message=10, max_reply_lines=2, keep_message=True)
    s.receive(SERVER, b"220-a\r\n220-b\r\n220-c\r\n220 d\r\n")
    s.receive(CLIENT, b"NOOP " + b"x" * 100 + b"\r\nMAIL FROM:<a@b>\r\nDATA\r\n")
    s.receive(SERVER, b"250 ok\r\n250 ok\r\n354 go\r\n")
    s.receive(CLIENT, b"Subject: s\r\n\r\n" + b"y" * 50 + b"\r\n.\r\n")
    s.receive(SERVER, b"250 ok\r\n")
    s.close()
    assert s.stats["lines_too_long"] == 1 and s.stats["replies_too_long"] == 1
    assert s.stats["messages_truncated"] == 1
    assert s.stats["message_bytes_dropped"] == len(b"Subject: s\r\n\r\n" + b"y" * 50 + b"\r\n") - 10
    rec = s.records[0]
    assert "message_truncated" in rec["problems"]


def _bounded(fn):
    """Run fn with a 10 s alarm: a hang becomes a failure, not a stuck test run."""
    import signal

    def on_alarm(signum, frame):
        raise TimeoutError("no progress")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 10)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("tail", [b"0123456789ABC\r\nMORE", b"01234", b"0123456789" * 200,
                                  b"\r\n", b"\nQUIT\r\n", b"0123456789QUIT\r\n"])
@pytest.mark.parametrize("left", [1, 10, 12])
def test_bdat_after_gap_always_makes_progress(tail, left):
    """A chunk's rest after a gap, shorter than the line it starts: no endless loop,
    every byte kept as chunk data or parsed as a command."""
    def go() -> Session:
        s = Session(keep_message=True)
        s.receive(CLIENT, b"MAIL FROM:<a@a.test>\r\nBDAT %d LAST\r\nxy" % (left + 2 + 5))
        s.gap(CLIENT, 5)
        s.receive(CLIENT, tail)
        s.receive(CLIENT, b"QUIT\r\n")
        s.close()
        return s

    s = _bounded(go)
    (rec,) = s.records
    assert "gap" in rec["problems"]
    assert rec["message"].startswith(b"xy")
    assert len(rec["message"]) <= 2 + left


def _segments(script: list[tuple[int, bytes]], mss: int = 48) -> list[tuple[int, int, int]]:
    """(direction, start, end) in its stream of each segment packets() makes."""
    out = []
    off = {CLIENT: 0, SERVER: 0}
    for direction, data in script:
        for i in range(0, len(data), mss):
            size = len(data[i:i + mss])
            out.append((direction, off[direction], off[direction] + size))
            off[direction] += size
    return out


def packets_both(script: list[tuple[int, bytes]], drop: set[int], mss: int = 48) -> list:
    """Like packets(), with drop counting the segments of both directions."""
    isn_c, isn_s = 1000, 5000
    pkts = [fake_packet(CL, 40001, SV, 25, isn_c, SYN),
            fake_packet(SV, 25, CL, 40001, isn_s, SYN | ACK, ack=isn_c + 1),
            fake_packet(CL, 40001, SV, 25, isn_c + 1, ACK, ack=isn_s + 1)]
    seq = {CLIENT: isn_c + 1, SERVER: isn_s + 1}
    t = k = 0
    for direction, data in script:
        ends = (CL, 40001, SV, 25) if direction == CLIENT else (SV, 25, CL, 40001)
        for i in range(0, len(data), mss):
            chunk = data[i:i + mss]
            t += 1000
            if k not in drop:
                pkts.append(fake_packet(*ends, seq[direction], ACK | PSH, chunk,
                                        ack=seq[1 - direction], time_ns=t))
            k += 1
            seq[direction] += len(chunk)
    pkts.append(fake_packet(CL, 40001, SV, 25, seq[CLIENT], FIN | ACK, ack=seq[SERVER]))
    pkts.append(fake_packet(SV, 25, CL, 40001, seq[SERVER], FIN | ACK, ack=seq[CLIENT] + 1))
    return pkts


@pytest.mark.parametrize("seed", range(4))
def test_capture_with_holes_in_both_directions(seed):
    """Several segments of either side missing: every transaction whose client bytes
    were all captured comes out whole, whatever replies were lost."""
    import random

    rng = random.Random(seed)
    script, txns = build(["bdat", "data", "bdat", "data", "data"])
    segs = _segments(script)
    for _ in range(12):
        drop = set(rng.sample(range(1, len(segs) - 1), rng.randint(1, 4)))
        table = smtp.transactions(packets_both(script, drop), keep_message=True)
        for t in txns:
            if any(segs[k][0] == CLIENT and t["start"] < segs[k][2] and t["end"] > segs[k][1]
                   for k in drop):
                continue
            ok = [r for r in table if r["mail_from"] == t["mail_from"] and r["from"] == t["from"]
                  and r["message"] is not None
                  and hashlib.sha256(r["message"]).hexdigest() == t["sha"]]
            assert len(ok) == 1, (sorted(drop), t["mail_from"])


def test_server_gap_before_the_354_arrives_does_not_outlive_it():
    """Replies lost while DATA waits, then its 354 arrives after all: the next DATA
    waits for its own reply again (pipelined bytes held, not taken as a body)."""
    s = Session(keep_message=True)
    s.receive(SERVER, GREETING)
    s.receive(CLIENT, b"MAIL FROM:<a@a.test>\r\nRCPT TO:<b@b.test>\r\nDATA\r\n")
    s.gap(SERVER, len(b"250 ok\r\n250 ok\r\n"))
    s.receive(SERVER, b"354 go\r\n")
    s.receive(CLIENT, b"Subject: one\r\n\r\nx\r\n.\r\n")
    s.receive(SERVER, b"250 ok\r\n")
    s.receive(CLIENT, b"MAIL FROM:<c@a.test>\r\nRCPT TO:<d@b.test>\r\nDATA\r\n")
    s.receive(CLIENT, b"Subject: two\r\n\r\ny\r\n.\r\n")    # sent before the 354
    s.receive(SERVER, b"250 ok\r\n250 ok\r\n354 go\r\n")
    s.receive(SERVER, b"250 ok\r\n")
    s.close()
    first, second = s.records
    assert first["subject"] == "one" and first["message"] == b"Subject: one\r\n\r\nx\r\n"
    assert second["subject"] == "two" and second["complete"]
    assert "data_reply_missing" not in second["problems"]
