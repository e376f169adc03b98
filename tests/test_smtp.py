"""The sans-IO SMTP session: commands, replies, bodies, limits and hostile input."""

from __future__ import annotations

import os
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from test_reassembly_helpers import ACK, FIN, PSH, RST, SYN, fake_packet

from wirecraft import smtp
from wirecraft.smtp import CLIENT, SERVER, Command, MessageEnd, Problem, Reply, Session


def run(session: Session, script: list[tuple[int, bytes]]) -> list:
    events = []
    for direction, data in script:
        events += session.receive(direction, data)
    return events


def stuff(message: bytes) -> bytes:
    """Dot-stuff a message the way a client does (RFC 5321 4.5.2)."""
    lines = message.split(b"\r\n")
    return b"\r\n".join(b"." + ln if ln.startswith(b".") else ln for ln in lines)


GREETING = (SERVER, b"220 mx.test ESMTP\r\n")


def test_pipelined_commands_match_replies_in_order():
    s = Session()
    ev = run(s, [
        GREETING,
        (CLIENT, b"EHLO c.test\r\n"),
        (SERVER, b"250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"),
        (CLIENT, b"MAIL FROM:<a@x.test> SIZE=42 BODY=8BITMIME\r\nRCPT TO:<b@x.test>\r\n"
                 b"RCPT TO:<c@x.test> NOTIFY=NEVER\r\nRCPT TO:<d@x.test>\r\nDATA\r\n"),
        (SERVER, b"250 ok\r\n250 ok b\r\n550 no c\r\n250 ok d\r\n354 go\r\n"),
        (CLIENT, b"Subject: hi\r\n\r\n..dot\r\n.\r\n"),
        (SERVER, b"250 queued as X\r\n"),
        (CLIENT, b"QUIT\r\n"),
        (SERVER, b"221 bye\r\n"),
    ])
    replies = [(e.command, e.code) for e in ev if isinstance(e, Reply)]
    assert replies == [("<greeting>", 220), ("EHLO", 250), ("MAIL", 250), ("RCPT", 250),
                       ("RCPT", 550), ("RCPT", 250), ("DATA", 354), (".", 250), ("QUIT", 221)]
    ehlo = next(e for e in ev if isinstance(e, Reply) and e.command == "EHLO")
    assert ehlo.lines == ("mx.test", "PIPELINING", "SIZE 1000")
    s.close()
    (rec,) = s.records
    assert rec["mail_from"] == "a@x.test" and rec["mail_params"] == "SIZE=42 BODY=8BITMIME"
    assert rec["rcpt_to"] == ["b@x.test", "c@x.test", "d@x.test"]
    assert rec["subject"] == "hi" and rec["size"] == len(b"Subject: hi\r\n\r\n.dot\r\n")
    assert rec["last_reply"] == "250 queued as X" and rec["complete"]


def test_every_command_kind_and_unknown_commands_are_kept():
    s = Session()
    ev = run(s, [GREETING, (CLIENT, b"HELO c\r\nVRFY bob\r\nEXPN staff\r\nHELP MAIL\r\n"
                                    b"NOOP\r\nXFOO some thing\r\nRSET\r\n")])
    verbs = [(e.verb, e.argument) for e in ev if isinstance(e, Command)]
    assert verbs == [("HELO", "c"), ("VRFY", "bob"), ("EXPN", "staff"), ("HELP", "MAIL"),
                     ("NOOP", ""), ("XFOO", "some thing"), ("RSET", "")]
    assert s.commands["XFOO"] == 1


def test_auth_credentials_are_never_kept():
    s = Session(keep_message=True)
    ev = run(s, [
        GREETING, (CLIENT, b"EHLO c\r\n"), (SERVER, b"250 AUTH PLAIN LOGIN\r\n"),
        (CLIENT, b"AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"), (SERVER, b"235 ok\r\n"),
        (CLIENT, b"AUTH LOGIN\r\n"), (SERVER, b"334 VXNlcm5hbWU6\r\n"),
        (CLIENT, b"dXNlcg==\r\n"), (SERVER, b"334 UGFzc3dvcmQ6\r\n"),
        (CLIENT, b"c2VjcmV0\r\n"), (SERVER, b"235 ok\r\n"),
        (CLIENT, b"MAIL FROM:<a@b>\r\n"), (SERVER, b"250 ok\r\n"),
    ])
    s.close()
    everything = repr(ev) + repr(s.records) + repr(vars(s))
    for secret in ("AHVzZXIAc2VjcmV0", "dXNlcg==", "c2VjcmV0"):
        assert secret not in everything
    cmds = [(e.verb, e.argument) for e in ev if isinstance(e, Command)]
    assert cmds == [("EHLO", "c"), ("AUTH", "PLAIN"), ("AUTH", "LOGIN"), ("MAIL", "FROM:<a@b>")]
    assert s.auth == "LOGIN" and s.records[0]["auth"] == "LOGIN"


def test_bdat_chunks_are_taken_verbatim():
    body1 = b"Subject: b\r\n\r\n.\r\n"      # binary-safe: no end marker, no unstuffing
    body2 = b"\x00\xff end\r\n"
    s = Session(keep_message=True)
    ev = run(s, [
        GREETING, (CLIENT, b"EHLO c\r\n"), (SERVER, b"250 CHUNKING\r\n"),
        (CLIENT, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"),
        (CLIENT, b"BDAT %d\r\n" % len(body1) + body1[:5]), (CLIENT, body1[5:]),
        (CLIENT, b"BDAT %d LAST\r\n" % len(body2) + body2 + b"QUIT\r\n"),
        (SERVER, b"250 ok\r\n250 ok\r\n250 got 1\r\n250 done\r\n221 bye\r\n"),
    ])
    s.close()
    (rec,) = s.records
    assert rec["message"] == body1 + body2 and rec["size"] == len(body1 + body2)
    assert rec["complete"] and rec["last_reply"] == "250 done"
    assert [e.verb for e in ev if isinstance(e, Command)][-1] == "QUIT"


def test_starttls_marks_the_rest_tls_and_a_refusal_does_not():
    s = Session()
    ev = run(s, [GREETING, (CLIENT, b"EHLO c\r\nSTARTTLS\r\n"),
                 (SERVER, b"250 STARTTLS\r\n454 not now\r\n"),
                 (CLIENT, b"STARTTLS\r\n"), (SERVER, b"220 go ahead\r\n"),
                 (CLIENT, b"\x16\x03\x01\x02\x00MAIL FROM:<x@y>\r\n"),
                 (SERVER, b"\x16\x03\x03 250 fake\r\n")])
    assert any(isinstance(e, smtp.TLSStarted) for e in ev)
    assert [e.verb for e in ev if isinstance(e, Command)] == ["EHLO", "STARTTLS", "STARTTLS"]
    s.close()
    (rec,) = s.records
    assert rec["tls"] is True and rec["mail_from"] is None
    assert rec["last_reply"] == "220 go ahead"


def test_rejected_data_keeps_decoding_commands():
    s = Session()
    ev = run(s, [GREETING, (CLIENT, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
                 (SERVER, b"250 ok\r\n250 ok\r\n554 no valid recipients\r\n"),
                 (CLIENT, b"QUIT\r\n"), (SERVER, b"221 bye\r\n")])
    assert [e.verb for e in ev if isinstance(e, Command)] == ["MAIL", "RCPT", "DATA", "QUIT"]
    s.close()
    (rec,) = s.records
    assert rec["size"] is None and rec["last_reply"] == "554 no valid recipients"


def test_ten_mebibyte_line_without_crlf_is_cut_and_bounded():
    s = Session(max_line=4096)
    run(s, [GREETING])
    chunk = b"A" * 65536
    problems = []
    for _ in range(160):                          # 10 MiB
        for e in s.receive(CLIENT, chunk):
            if isinstance(e, Problem):
                problems.append(e.name)
        assert len(s._cbuf) <= 4096 + len(chunk)
    ev = s.receive(CLIENT, b"tail\r\nNOOP\r\n")
    assert problems == ["line_too_long"]
    cmds = [e for e in ev if isinstance(e, Command)]
    assert [c.verb for c in cmds] == ["NOOP"]     # the rest of the long line is dropped
    assert "line_too_long" in s.problems
    # the same on the server side
    for _ in range(160):
        s.receive(SERVER, chunk)
        assert len(s._sbuf) <= 4096 + len(chunk)
    assert [e.command for e in s.receive(SERVER, b"\r\n250 ok\r\n") if isinstance(e, Reply)]


def test_reply_before_any_command_is_flagged_not_fatal():
    s = Session()
    ev = run(s, [(SERVER, b"220 hello\r\n250 unexpected\r\n"), (CLIENT, b"NOOP\r\n"),
                 (SERVER, b"250 ok\r\n")])
    replies = [(e.command, e.code) for e in ev if isinstance(e, Reply)]
    assert replies == [("<greeting>", 220), (None, 250), ("NOOP", 250)]
    assert any(isinstance(e, Problem) and e.name == "unmatched_reply" for e in ev)


def test_cut_in_the_middle_of_data_gives_a_partial_flagged_transaction():
    s = Session(keep_message=True)
    run(s, [GREETING, (CLIENT, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
            (SERVER, b"250 ok\r\n250 ok\r\n354 go\r\n"),
            (CLIENT, b"Subject: cut\r\n\r\nfirst line\r\nsecond li")])
    ev = s.close()
    assert any(isinstance(e, MessageEnd) and not e.complete for e in ev)
    (rec,) = s.records
    assert not rec["complete"]
    assert "message_incomplete" in rec["problems"]
    assert rec["message"] == b"Subject: cut\r\n\r\nfirst line\r\nsecond li"
    assert rec["subject"] == "cut"


def test_limits_pending_transactions_and_message_size():
    s = Session(max_pending=5, max_transactions=3, max_message=100, keep_message=True)
    run(s, [GREETING, (CLIENT, b"NOOP\r\n" * 20)])
    assert "too_many_pending" in s.problems and len(s._pending) == 5
    s = Session(max_transactions=3, max_message=100, keep_message=True)
    script = [GREETING]
    for i in range(6):
        script += [(CLIENT, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
                   (SERVER, b"250 ok\r\n250 ok\r\n354 go\r\n"),
                   (CLIENT, b"x" * 500 + b"\r\n.\r\n"), (SERVER, b"250 ok %d\r\n" % i)]
    run(s, script)
    s.close()
    assert len(s.records) == 3 and "too_many_transactions" in s.problems
    rec = s.records[0]
    assert rec["size"] == 502 and len(rec["message"]) == 100
    assert "message_truncated" in rec["problems"]


def test_gap_inside_data_is_flagged():
    s = Session()
    run(s, [GREETING, (CLIENT, b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
            (SERVER, b"250 ok\r\n250 ok\r\n354 go\r\n"), (CLIENT, b"Subject: x\r\n\r\nab")])
    s.gap(CLIENT, 1000)
    run(s, [(CLIENT, b"cd\r\n.\r\n"), (SERVER, b"250 ok\r\n")])
    s.close()
    (rec,) = s.records
    assert "gap_in_message" in rec["problems"] and rec["complete"]
    assert rec["size"] == len(b"Subject: x\r\n\r\nab") + 1000 + len(b"cd\r\n")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([b"", b".", b"..", b".x", b"x.", b"\r", b"text", b". ",
                                 b"...", b".\r", b"a.b"]), max_size=30),
       st.integers(0, 2**32 - 1))
def test_dot_unstuffing_in_any_chunking(lines, seed):
    message = b"".join(ln + b"\r\n" for ln in lines)
    wire = stuff(message) + b".\r\n" if message else b".\r\n"
    if message and not stuff(message).endswith(b"\r\n"):
        return
    rng = random.Random(seed)
    s = Session(keep_message=True)
    run(s, [GREETING, (CLIENT, b"MAIL FROM:<a@b>\r\nDATA\r\n"), (SERVER, b"250 ok\r\n354 go\r\n")])
    data = wire + b"QUIT\r\n"
    pos = 0
    while pos < len(data):
        n = rng.randint(1, 7)
        s.receive(CLIENT, data[pos:pos + n])
        pos += n
    ev = run(s, [(SERVER, b"250 ok\r\n221 bye\r\n")])
    assert [e.command for e in ev if isinstance(e, Reply)] == [".", "QUIT"]
    (rec,) = s.records
    assert rec["message"] == message and rec["complete"]


# ---------------------------------------------------------------- through reassembly

CL, SV = "192.0.2.10", "192.0.2.25"


def conversation(script, *, cut=False, isn_c=1000, isn_s=5000):
    """Packets of a TCP conversation on port 25 carrying the scripted bytes."""
    pkts = [fake_packet(CL, 40001, SV, 25, isn_c, SYN),
            fake_packet(SV, 25, CL, 40001, isn_s, SYN | ACK, ack=isn_c + 1),
            fake_packet(CL, 40001, SV, 25, isn_c + 1, ACK, ack=isn_s + 1)]
    seq = {CLIENT: isn_c + 1, SERVER: isn_s + 1}
    t = 0
    for direction, data in script:
        t += 1000
        if direction == CLIENT:
            pkts.append(fake_packet(CL, 40001, SV, 25, seq[CLIENT], ACK | PSH, data,
                                    ack=seq[SERVER], time_ns=t))
        else:
            pkts.append(fake_packet(SV, 25, CL, 40001, seq[SERVER], ACK | PSH, data,
                                    ack=seq[CLIENT], time_ns=t))
        seq[direction] += len(data)
    if cut:
        pkts.append(fake_packet(SV, 25, CL, 40001, seq[SERVER], RST | ACK, time_ns=t + 1))
    else:
        pkts.append(fake_packet(CL, 40001, SV, 25, seq[CLIENT], FIN | ACK, ack=seq[SERVER]))
        pkts.append(fake_packet(SV, 25, CL, 40001, seq[SERVER], FIN | ACK, ack=seq[CLIENT] + 1))
    return pkts


def test_binary_garbage_on_port_25_is_survived():
    rng = random.Random(25)
    script = []
    for i in range(300):
        script.append((i % 2, rng.randbytes(rng.randint(1, 3000))))
    recs = smtp.transactions(conversation(script))
    assert len(recs) <= 1
    for rec in recs:
        assert rec["problems"]
    # and garbage with newlines: every line an unknown command, nothing kept unbounded
    s = Session()
    junk = os.urandom(200000)
    s.receive(CLIENT, junk)
    s.receive(SERVER, junk)
    s.close()
    assert len(s.commands) <= 65


def test_cut_mid_data_through_reassembly_and_extract(tmp_path):
    script = [GREETING, (CLIENT, b"EHLO c\r\n"), (SERVER, b"250 ok\r\n"),
              (CLIENT, b"MAIL FROM:<a@b>\r\n"), (SERVER, b"250 ok\r\n"),
              (CLIENT, b"RCPT TO:<c@d>\r\n"), (SERVER, b"250 ok\r\n"),
              (CLIENT, b"DATA\r\n"), (SERVER, b"354 go\r\n"),
              (CLIENT, b"Subject: partial\r\n\r\n..stuffed\r\nmore")]
    recs = smtp.transactions(conversation(script, cut=True), keep_message=True)
    (rec,) = recs
    assert rec["message"] == b"Subject: partial\r\n\r\n.stuffed\r\nmore"
    assert not rec["complete"] and "message_incomplete" in rec["problems"]
    assert rec["client"] == CL and rec["server_port"] == 25 and rec["helo"] == "c"
    paths = smtp.extract(conversation(script, cut=True), tmp_path)
    assert [p.read_bytes() for p in paths] == [rec["message"]]


def test_midstream_pickup_with_roles_from_the_port():
    script = [(CLIENT, b"MAIL FROM:<a@b>\r\n"), (SERVER, b"250 ok\r\n"),
              (CLIENT, b"RCPT TO:<c@d>\r\n"), (SERVER, b"250 ok\r\n")]
    pkts = conversation(script)[3:]          # no handshake
    (rec,) = smtp.transactions(pkts)
    assert rec["mail_from"] == "a@b" and rec["rcpt_to"] == ["c@d"]
    assert "midstream" in rec["problems"]
