"""SMTP (RFC 5321; SIZE RFC 1870, PIPELINING RFC 2920) over TCP: annotated vectors of one
mail transaction, segment decode, session decode (commands, replies, the dot-unstuffed
message, the transaction record), craft, round trip, catalogue names against tshark.

The conversation 192.0.2.10:41000 (client) <-> 192.0.2.25:25 (server) is built by hand:
Ethernet / IPv4 / TCP (PSH ACK, sequence numbers following the bytes sent) / one SMTP
exchange per segment, shown as text beside its hex; the comment above each vector is
what `tcpdump -nn -v -t -S` prints for it. There is no handshake: the capture starts
mid-stream, which the transaction record says ('midstream').
"""

from __future__ import annotations

import pytest

from wirecraft import smtp
from wirecraft.craft import TCP, Ethernet, IPv4, Raw, build_message, smtp_session

from .vectors import (
    Vector,
    assert_layer_matches,
    assert_view,
    catalogue,
    check_fields_against_tshark,
    check_tcpdump_lines,
    ids,
)

CLIENT, SERVER = "192.0.2.10", "192.0.2.25"
MAC_CLIENT, MAC_SERVER = "02:00:00:00:00:0a", "02:00:00:00:00:19"

# IP (tos 0x0, ttl 64, id 512, offset 0, flags [DF], proto TCP (6), length 68) 192.0.2.25.25 > 192.0.2.10.41000: Flags [P.], cksum 0x4f51 (correct), seq 5000:5028, ack 1000, win 510, length 28: SMTP, length: 28 220 mail.example.net ESMTP
BANNER = Vector("banner", """
    0200 0000 000a 0200 0000 0019 0800        # Ethernet, IPv4 (server)
    4500 0044 0200 4000 4006 b490 c000 0219   # IPv4 192.0.2.25 > 192.0.2.10, TCP
    c000 020a
    0019 a028 0000 1388 0000 03e8 5018 01fe   # TCP 25 > 41000 seq 5000 ack 1000, PSH ACK
    4f51 0000
    3232 3020 6d61 696c 2e65 7861 6d70 6c65   # 220 mail.example.net ESMTP\r\n
    2e6e 6574 2045 534d 5450 0d0a
""")

# IP (tos 0x0, ttl 64, id 256, offset 0, flags [DF], proto TCP (6), length 65) 192.0.2.10.41000 > 192.0.2.25.25: Flags [P.], cksum 0xfcca (correct), seq 1000:1025, ack 5028, win 502, length 25: SMTP, length: 25 EHLO client.example.org
EHLO = Vector("ehlo", """
    0200 0000 0019 0200 0000 000a 0800        # Ethernet, IPv4 (client)
    4500 0041 0100 4000 4006 b593 c000 020a   # IPv4 192.0.2.10 > 192.0.2.25, TCP
    c000 0219
    a028 0019 0000 03e8 0000 13a4 5018 01f6   # TCP 41000 > 25 seq 1000 ack 5028, PSH ACK
    fcca 0000
    4548 4c4f 2063 6c69 656e 742e 6578 616d   # EHLO client.example.org\r\n
    706c 652e 6f72 670d 0a
""")

# IP (tos 0x0, ttl 64, id 513, offset 0, flags [DF], proto TCP (6), length 97) 192.0.2.25.25 > 192.0.2.10.41000: Flags [P.], cksum 0x5017 (correct), seq 5028:5085, ack 1025, win 510, length 57: SMTP, length: 57 250-mail.example.net 250-SIZE 10240000 250 PIPELINING
EHLO_REPLY = Vector("ehlo_reply", """
    0200 0000 000a 0200 0000 0019 0800        # Ethernet, IPv4 (server)
    4500 0061 0201 4000 4006 b472 c000 0219   # IPv4 192.0.2.25 > 192.0.2.10, TCP
    c000 020a
    0019 a028 0000 13a4 0000 0401 5018 01fe   # TCP 25 > 41000 seq 5028 ack 1025, PSH ACK
    5017 0000
    3235 302d 6d61 696c 2e65 7861 6d70 6c65   # 250-mail.example.net\r\n
    2e6e 6574 0d0a
    3235 302d 5349 5a45 2031 3032 3430 3030   # 250-SIZE 10240000\r\n
    300d 0a
    3235 3020 5049 5045 4c49 4e49 4e47 0d0a   # 250 PIPELINING\r\n
""")

# IP (tos 0x0, ttl 64, id 257, offset 0, flags [DF], proto TCP (6), length 80) 192.0.2.10.41000 > 192.0.2.25.25: Flags [P.], cksum 0x7350 (correct), seq 1025:1065, ack 5085, win 502, length 40: SMTP, length: 40 MAIL FROM:<alice@example.org> SIZE=120
MAIL_FROM = Vector("mail_from", """
    0200 0000 0019 0200 0000 000a 0800        # Ethernet, IPv4 (client)
    4500 0050 0101 4000 4006 b583 c000 020a   # IPv4 192.0.2.10 > 192.0.2.25, TCP
    c000 0219
    a028 0019 0000 0401 0000 13dd 5018 01f6   # TCP 41000 > 25 seq 1025 ack 5085, PSH ACK
    7350 0000
    4d41 494c 2046 524f 4d3a 3c61 6c69 6365   # MAIL FROM:<alice@example.org> SIZE=120\r\n
    4065 7861 6d70 6c65 2e6f 7267 3e20 5349
    5a45 3d31 3230 0d0a
""")

# IP (tos 0x0, ttl 64, id 514, offset 0, flags [DF], proto TCP (6), length 54) 192.0.2.25.25 > 192.0.2.10.41000: Flags [P.], cksum 0x1f0e (correct), seq 5085:5099, ack 1065, win 510, length 14: SMTP, length: 14 250 2.1.0 Ok
MAIL_OK = Vector("mail_ok", """
    0200 0000 000a 0200 0000 0019 0800        # Ethernet, IPv4 (server)
    4500 0036 0202 4000 4006 b49c c000 0219   # IPv4 192.0.2.25 > 192.0.2.10, TCP
    c000 020a
    0019 a028 0000 13dd 0000 0429 5018 01fe   # TCP 25 > 41000 seq 5085 ack 1065, PSH ACK
    1f0e 0000
    3235 3020 322e 312e 3020 4f6b 0d0a        # 250 2.1.0 Ok\r\n
""")

# IP (tos 0x0, ttl 64, id 258, offset 0, flags [DF], proto TCP (6), length 67) 192.0.2.10.41000 > 192.0.2.25.25: Flags [P.], cksum 0x44cb (correct), seq 1065:1092, ack 5099, win 502, length 27: SMTP, length: 27 RCPT TO:<bob@example.net>
RCPT_TO = Vector("rcpt_to", """
    0200 0000 0019 0200 0000 000a 0800        # Ethernet, IPv4 (client)
    4500 0043 0102 4000 4006 b58f c000 020a   # IPv4 192.0.2.10 > 192.0.2.25, TCP
    c000 0219
    a028 0019 0000 0429 0000 13eb 5018 01f6   # TCP 41000 > 25 seq 1065 ack 5099, PSH ACK
    44cb 0000
    5243 5054 2054 4f3a 3c62 6f62 4065 7861   # RCPT TO:<bob@example.net>\r\n
    6d70 6c65 2e6e 6574 3e0d 0a
""")

# IP (tos 0x0, ttl 64, id 515, offset 0, flags [DF], proto TCP (6), length 54) 192.0.2.25.25 > 192.0.2.10.41000: Flags [P.], cksum 0x19e5 (correct), seq 5099:5113, ack 1092, win 510, length 14: SMTP, length: 14 250 2.1.5 Ok
RCPT_OK = Vector("rcpt_ok", """
    0200 0000 000a 0200 0000 0019 0800        # Ethernet, IPv4 (server)
    4500 0036 0203 4000 4006 b49b c000 0219   # IPv4 192.0.2.25 > 192.0.2.10, TCP
    c000 020a
    0019 a028 0000 13eb 0000 0444 5018 01fe   # TCP 25 > 41000 seq 5099 ack 1092, PSH ACK
    19e5 0000
    3235 3020 322e 312e 3520 4f6b 0d0a        # 250 2.1.5 Ok\r\n
""")

# IP (tos 0x0, ttl 64, id 259, offset 0, flags [DF], proto TCP (6), length 46) 192.0.2.10.41000 > 192.0.2.25.25: Flags [P.], cksum 0xcba1 (correct), seq 1092:1098, ack 5113, win 502, length 6: SMTP, length: 6 DATA
DATA = Vector("data", """
    0200 0000 0019 0200 0000 000a 0800        # Ethernet, IPv4 (client)
    4500 002e 0103 4000 4006 b5a3 c000 020a   # IPv4 192.0.2.10 > 192.0.2.25, TCP
    c000 0219
    a028 0019 0000 0444 0000 13f9 5018 01f6   # TCP 41000 > 25 seq 1092 ack 5113, PSH ACK
    cba1 0000
    4441 5441 0d0a                            # DATA\r\n
""")

# IP (tos 0x0, ttl 64, id 516, offset 0, flags [DF], proto TCP (6), length 77) 192.0.2.25.25 > 192.0.2.10.41000: Flags [P.], cksum 0x4024 (correct), seq 5113:5150, ack 1098, win 510, length 37: SMTP, length: 37 354 End data with <CR><LF>.<CR><LF>
GO_AHEAD = Vector("go_ahead", """
    0200 0000 000a 0200 0000 0019 0800        # Ethernet, IPv4 (server)
    4500 004d 0204 4000 4006 b483 c000 0219   # IPv4 192.0.2.25 > 192.0.2.10, TCP
    c000 020a
    0019 a028 0000 13f9 0000 044a 5018 01fe   # TCP 25 > 41000 seq 5113 ack 1098, PSH ACK
    4024 0000
    3335 3420 456e 6420 6461 7461 2077 6974   # 354 End data with <CR><LF>.<CR><LF>\r\n
    6820 3c43 523e 3c4c 463e 2e3c 4352 3e3c
    4c46 3e0d 0a
""")

# IP (tos 0x0, ttl 64, id 260, offset 0, flags [DF], proto TCP (6), length 78) 192.0.2.10.41000 > 192.0.2.25.25: Flags [P.], cksum 0x12cb (correct), seq 1098:1136, ack 5150, win 502, length 38: SMTP, length: 38 Subject: hi  ..hidden line bye .
MESSAGE = Vector("message", """
    0200 0000 0019 0200 0000 000a 0800        # Ethernet, IPv4 (client)
    4500 004e 0104 4000 4006 b582 c000 020a   # IPv4 192.0.2.10 > 192.0.2.25, TCP
    c000 0219
    a028 0019 0000 044a 0000 141e 5018 01f6   # TCP 41000 > 25 seq 1098 ack 5150, PSH ACK
    12cb 0000
    5375 626a 6563 743a 2068 690d 0a          # Subject: hi\r\n
    0d0a                                      # \r\n
    2e2e 6869 6464 656e 206c 696e 650d 0a     # ..hidden line\r\n
    6279 650d 0a                              # bye\r\n
    2e0d 0a                                   # .\r\n
""")

# IP (tos 0x0, ttl 64, id 517, offset 0, flags [DF], proto TCP (6), length 70) 192.0.2.25.25 > 192.0.2.10.41000: Flags [P.], cksum 0xadfd (correct), seq 5150:5180, ack 1136, win 510, length 30: SMTP, length: 30 250 2.0.0 Ok: queued as 4F3A
QUEUED = Vector("queued", """
    0200 0000 000a 0200 0000 0019 0800        # Ethernet, IPv4 (server)
    4500 0046 0205 4000 4006 b489 c000 0219   # IPv4 192.0.2.25 > 192.0.2.10, TCP
    c000 020a
    0019 a028 0000 141e 0000 0470 5018 01fe   # TCP 25 > 41000 seq 5150 ack 1136, PSH ACK
    adfd 0000
    3235 3020 322e 302e 3020 4f6b 3a20 7175   # 250 2.0.0 Ok: queued as 4F3A\r\n
    6575 6564 2061 7320 3446 3341 0d0a
""")

# IP (tos 0x0, ttl 64, id 261, offset 0, flags [DF], proto TCP (6), length 46) 192.0.2.10.41000 > 192.0.2.25.25: Flags [P.], cksum 0xc90b (correct), seq 1136:1142, ack 5180, win 502, length 6: SMTP, length: 6 QUIT
QUIT = Vector("quit", """
    0200 0000 0019 0200 0000 000a 0800        # Ethernet, IPv4 (client)
    4500 002e 0105 4000 4006 b5a1 c000 020a   # IPv4 192.0.2.10 > 192.0.2.25, TCP
    c000 0219
    a028 0019 0000 0470 0000 143c 5018 01f6   # TCP 41000 > 25 seq 1136 ack 5180, PSH ACK
    c90b 0000
    5155 4954 0d0a                            # QUIT\r\n
""")

# IP (tos 0x0, ttl 64, id 518, offset 0, flags [DF], proto TCP (6), length 55) 192.0.2.25.25 > 192.0.2.10.41000: Flags [P.], cksum 0xc952 (correct), seq 5180:5195, ack 1142, win 510, length 15: SMTP, length: 15 221 2.0.0 Bye
BYE = Vector("bye", """
    0200 0000 000a 0200 0000 0019 0800        # Ethernet, IPv4 (server)
    4500 0037 0206 4000 4006 b497 c000 0219   # IPv4 192.0.2.25 > 192.0.2.10, TCP
    c000 020a
    0019 a028 0000 143c 0000 0476 5018 01fe   # TCP 25 > 41000 seq 5180 ack 1142, PSH ACK
    c952 0000
    3232 3120 322e 302e 3020 4279 650d 0a     # 221 2.0.0 Bye\r\n
""")

CONVERSATION = [BANNER, EHLO, EHLO_REPLY, MAIL_FROM, MAIL_OK, RCPT_TO, RCPT_OK, DATA, GO_AHEAD,
                MESSAGE, QUEUED, QUIT, BYE]
VECTORS = CONVERSATION

# what each segment carries, and who sent it (0 client, 1 server)
TEXT = {
    "banner": (1, b"220 mail.example.net ESMTP\r\n"),
    "ehlo": (0, b"EHLO client.example.org\r\n"),
    "ehlo_reply": (1, b"250-mail.example.net\r\n250-SIZE 10240000\r\n250 PIPELINING\r\n"),
    "mail_from": (0, b"MAIL FROM:<alice@example.org> SIZE=120\r\n"),
    "mail_ok": (1, b"250 2.1.0 Ok\r\n"),
    "rcpt_to": (0, b"RCPT TO:<bob@example.net>\r\n"),
    "rcpt_ok": (1, b"250 2.1.5 Ok\r\n"),
    "data": (0, b"DATA\r\n"),
    "go_ahead": (1, b"354 End data with <CR><LF>.<CR><LF>\r\n"),
    "message": (0, b"Subject: hi\r\n\r\n..hidden line\r\nbye\r\n.\r\n"),
    "queued": (1, b"250 2.0.0 Ok: queued as 4F3A\r\n"),
    "quit": (0, b"QUIT\r\n"),
    "bye": (1, b"221 2.0.0 Bye\r\n"),
}


def _sequence() -> dict[str, tuple[int, int]]:
    """(seq, ack) of each segment: each side starts at its ISN (client 1000, server 5000)
    and advances by the bytes it sent."""
    nxt, out = {0: 1000, 1: 5000}, {}
    for v in CONVERSATION:
        side, text = TEXT[v.name]
        out[v.name] = (nxt[side], nxt[1 - side])
        nxt[side] += len(text)
    return out


SEQ = _sequence()


@pytest.mark.parametrize("v", CONVERSATION, ids=ids(CONVERSATION))
def test_decode_segment(v: Vector) -> None:
    pkt = v.decode()
    side, text = TEXT[v.name]
    seq, ack = SEQ[v.name]
    ports = (41000, 25) if side == 0 else (25, 41000)
    assert_view(pkt.tcp, dict(src_port=ports[0], dst_port=ports[1], seq=seq, ack=ack,
                              flags=0x018, flags_str="P.", header_length=20,
                              window=502 if side == 0 else 510, urgent=0), every=False)
    assert pkt.app == "smtp" and pkt.payload == text
    assert (pkt.stop_layer, pkt.stop_reason, pkt.problems) == ("transport", None, [])
    assert pkt.verify_checksums() == {"ip": True, "tcp": True}


def _events(vectors: list[Vector]) -> list:
    session, out = smtp.Session(), []
    for v in vectors:
        pkt = v.decode()
        out += session.receive(0 if pkt.tcp.dst_port == 25 else 1, pkt.payload)
    return out + session.close()


EXPECTED_EVENTS = [
    smtp.Reply(220, ("mail.example.net ESMTP",), "<greeting>"),
    smtp.Command("EHLO", "client.example.org"),
    smtp.Reply(250, ("mail.example.net", "SIZE 10240000", "PIPELINING"), "EHLO"),
    smtp.Command("MAIL", "FROM:<alice@example.org> SIZE=120"),
    smtp.Reply(250, ("2.1.0 Ok",), "MAIL"),
    smtp.Command("RCPT", "TO:<bob@example.net>"),
    smtp.Reply(250, ("2.1.5 Ok",), "RCPT"),
    smtp.Command("DATA", ""),
    smtp.Reply(354, ("End data with <CR><LF>.<CR><LF>",), "DATA"),
    # dot-unstuffed (RFC 5321 4.5.2): "..hidden" was sent for ".hidden"
    smtp.MessageData(b"Subject: hi\r\n\r\n"),
    smtp.MessageData(b".hidden line\r\nbye\r\n"),
    smtp.MessageEnd(34, True),
    smtp.Reply(250, ("2.0.0 Ok: queued as 4F3A",), "."),
]


def test_session_events() -> None:
    events = _events(CONVERSATION)
    assert events[:13] == EXPECTED_EVENTS
    assert isinstance(events[13], smtp.TransactionDone)
    assert events[14:] == [smtp.Command("QUIT", ""), smtp.Reply(221, ("2.0.0 Bye",), "QUIT")]
    record = events[13].record
    assert (record["helo"], record["mail_from"], record["mail_params"], record["rcpt_to"],
            record["subject"], record["size"], record["complete"], record["last_reply"],
            record["problems"]) == (
        "client.example.org", "alice@example.org", "SIZE=120", ["bob@example.net"], "hi", 34,
        True, "250 2.0.0 Ok: queued as 4F3A", [])


def test_transactions_from_packets() -> None:
    """The same through reassembly: one record, which knows the capture began mid-stream."""
    table = smtp.transactions([v.decode() for v in CONVERSATION])
    assert len(table) == 1
    record = table[0]
    assert (record["client"], record["client_port"], record["server"], record["server_port"],
            record["mail_from"], record["rcpt_to"], record["size"], record["complete"],
            record["problems"]) == (CLIENT, 41000, SERVER, 25, "alice@example.org",
                                    ["bob@example.net"], 34, True, ["midstream"])


def test_message_cut_by_snaplen() -> None:
    """The message segment loses its final '.\r\n' to the snaplen: the segment is a
    truncated payload, and the session ends the message incomplete at close."""
    cut = Vector("message_cut", MESSAGE.hex, cut=len(MESSAGE.frame) - 3)
    pkt = cut.decode()
    assert (pkt.stop_layer, pkt.stop_reason) == ("payload", "truncated payload")
    assert pkt.payload == TEXT["message"][1][:-3]
    events = _events([*CONVERSATION[:9], cut])
    assert events[9:] == [smtp.MessageData(b"Subject: hi\r\n\r\n"),
                          smtp.MessageData(b".hidden line\r\nbye\r\n"),
                          smtp.MessageEnd(34, False), events[12]]
    assert isinstance(events[12], smtp.TransactionDone)
    assert events[12].record["complete"] is False


def test_bad_reply_is_a_problem_not_an_error() -> None:
    session = smtp.Session()
    session.receive(1, b"220 hi\r\n")
    session.receive(0, b"EHLO x\r\n")
    assert session.receive(1, b"2x0 broken\r\n") == [smtp.Problem("bad_reply", 1)]
    assert session.receive(1, b"250 ok\r\n") == [smtp.Reply(250, ("ok",), "EHLO")]


# ---------------------------------------------------------------- craft

def _segment(v: Vector) -> object:
    side, text = TEXT[v.name]
    seq, ack = SEQ[v.name]
    macs, ips = ((MAC_CLIENT, MAC_SERVER), (CLIENT, SERVER)) if side == 0 else (
        (MAC_SERVER, MAC_CLIENT), (SERVER, CLIENT))
    ports = (41000, 25) if side == 0 else (25, 41000)
    ip_id = (0x100 if side == 0 else 0x200) + sum(
        1 for w in CONVERSATION[:CONVERSATION.index(v)] if TEXT[w.name][0] == side)
    return (Ethernet(src=macs[0], dst=macs[1]) / IPv4(src=ips[0], dst=ips[1], id=ip_id,
                                                      flags="DF")
            / TCP(src_port=ports[0], dst_port=ports[1], seq=seq, ack=ack, flags="PA",
                  window=502 if side == 0 else 510) / Raw(text))


@pytest.mark.parametrize("v", CONVERSATION, ids=ids(CONVERSATION))
def test_craft(v: Vector) -> None:
    assert bytes(_segment(v)) == v.frame


def test_crafted_session_decodes() -> None:
    """smtp_session's frames carry a session the decoder reads back whole."""
    msg = build_message("alice@example.org", ["bob@example.net"], "hi", ".hidden\nbye\n")
    conv = smtp_session("alice@example.org", ["bob@example.net"], msg)
    import wirecraft

    pkts = [wirecraft.decode(frame, time_ns=ts) for ts, frame in conv.packets]
    table = smtp.transactions(pkts)
    assert len(table) == 1
    record = table[0]
    assert (record["mail_from"], record["rcpt_to"], record["subject"], record["complete"],
            record["problems"]) == ("alice@example.org", ["bob@example.net"], "hi", True, [])
    assert record["last_reply"].startswith("250 2.0.0 Ok: queued as")


# ---------------------------------------------------------------- round trip

@pytest.mark.parametrize("v", CONVERSATION, ids=ids(CONVERSATION))
def test_round_trip(v: Vector) -> None:
    pkt = v.decode()
    layers = pkt.to_layers()
    assert bytes(layers) == v.frame
    assert_layer_matches(pkt, layers.getlayer(TCP), "tcp", skip=["tcp.options"])
    assert bytes(layers.getlayer(TCP).payload) == TEXT[v.name][1]


# ---------------------------------------------------------------- field names

# catalogue fields whose value is not tshark's for the same name: name -> why
_LINE_END = ("the catalogue's {} is the line without its CRLF (its doc says so), tshark's "
             "keeps the CRLF; and tshark shows one smtp.response for a multi-line reply")
TSHARK_DIFFERS = {"smtp.response": _LINE_END.format("smtp.response"),
                  "smtp.command_line": _LINE_END.format("smtp.command_line")}


def test_catalogue_fields_against_tshark() -> None:
    names = [f.name for f in catalogue("smtp").fields]
    check_fields_against_tshark(CONVERSATION, names, TSHARK_DIFFERS)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=r))
                                  for n, r in TSHARK_DIFFERS.items()])
def test_line_fields_against_tshark(name: str) -> None:
    catalogue("smtp")
    check_fields_against_tshark(CONVERSATION, [name])


def test_tcpdump_lines() -> None:
    check_tcpdump_lines(__file__, VECTORS)
