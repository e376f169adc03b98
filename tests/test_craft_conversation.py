"""Conversation builders: crafted SMTP and DNS traffic, written to pcap, read back by
tshark and by wirecraft's own decoders to exactly the messages that were put in."""

from __future__ import annotations

import email
import email.policy
import subprocess
from pathlib import Path

import pytest

import wirecraft
import wirecraft.dns
import wirecraft.smtp
from wirecraft.craft import DNS, Record
from wirecraft.craft.conversation import (
    TCPConversation,
    build_message,
    dns_tcp_exchange,
    dns_udp_exchange,
    dot_stuff,
    smtp_session,
)

from conftest import require_tool
from tsharkutil import tshark_fields

BODY = "Hello Bob,\n.this line starts with a dot\n..and this with two\n\nBye\n"
ATTACHMENT = bytes(range(256)) * 24  # 6 KiB, spans several segments once base64-encoded


def _message():
    return build_message("alice@example.org", ["bob@example.net", "carol@example.net"],
                         "Quarterly numbers", BODY,
                         [("numbers.bin", ATTACHMENT, "application/octet-stream")])


@pytest.mark.parametrize("impair", [{}, {"loss": 0.2, "seed": 4}, {"reorder": 0.3, "seed": 9}],
                         ids=["clean", "loss", "reorder"])
def test_smtp_session_read_back_by_tshark_and_wirecraft(tmp_path: Path, impair: dict) -> None:
    msg = _message()
    conv = smtp_session("alice@example.org", ["bob@example.net", "carol@example.net", "dave@x.io"],
                        msg, **impair)
    path = tmp_path / "smtp.pcap"
    assert conv.write(path) == len(conv)

    rows = tshark_fields(path, ["smtp.req.command", "smtp.req.parameter",
                                "smtp.response.code"], "smtp")
    commands = [r[0] for r in rows if r[0]]
    assert commands == ["EHLO", "MAIL", "RCPT", "RCPT", "RCPT", "DATA", "QUIT"]
    params = [r[1] for r in rows if r[0] == "RCPT"]
    assert params == ["TO:<bob@example.net>", "TO:<carol@example.net>", "TO:<dave@x.io>"]
    codes = [c for r in rows for c in r[2].split(",") if c]
    assert codes[:2] == ["220", "250"] and codes[-2:] == ["250", "221"]
    imf = tshark_fields(path, ["imf.subject", "imf.from"], "imf")
    assert imf == [["Quarterly numbers", "alice@example.org"]]

    (t,) = wirecraft.smtp.transactions(path, keep_message=True)
    assert t["helo"] == "client.example.org"
    assert t["mail_from"] == "alice@example.org"
    assert t["rcpt_to"] == ["bob@example.net", "carol@example.net", "dave@x.io"]
    assert t["subject"] == "Quarterly numbers" and t["complete"] and not t["problems"]
    assert t["message"] == msg.as_bytes(policy=email.policy.SMTP)
    parsed = email.message_from_bytes(t["message"], policy=email.policy.default)
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == BODY
    (att,) = list(parsed.iter_attachments())
    assert att.get_filename() == "numbers.bin" and att.get_content() == ATTACHMENT

    # the stream really is what the builder says it sent, in TCP order
    if "loss" in impair:
        retrans = tshark_fields(path, ["frame.number"], "tcp.analysis.retransmission")
        assert retrans, "loss must produce retransmissions"


def test_dot_stuffing() -> None:
    assert dot_stuff(b"a\r\n.b\r\n..c\r\n") == b"a\r\n..b\r\n...c\r\n.\r\n"
    assert dot_stuff(b"no newline") == b"no newline\r\n.\r\n"


def test_dns_over_tcp_and_udp_read_back(tmp_path: Path) -> None:
    q1 = DNS.query("example.com", "A", id=0x0101)
    r1 = DNS.response(q1, [Record("example.com", "A", "93.184.216.34", 300)])
    q2 = DNS.query("example.com", "MX", id=0x0202)
    r2 = DNS.response(q2, [Record("example.com", "MX", (10, "mail.example.com"), 300),
                           Record("example.com", "MX", (20, "backup.example.com"), 300)])
    # a response larger than one segment, to force reassembly
    q3 = DNS.query("big.example.com", "TXT", id=0x0303)
    r3 = DNS.response(q3, [Record("big.example.com", "TXT", ["x" * 200] * 3, 60)
                           for _ in range(4)])
    conv = dns_tcp_exchange([(q1, r1), (q2, r2), (q3, r3)], mss=536)
    udp = dns_udp_exchange(DNS.query("udp.example.com", "AAAA", id=0x0404),
                           DNS.response(DNS.query("udp.example.com", "AAAA", id=0x0404),
                                        [Record("udp.example.com", "AAAA", "2001:db8::5", 30)]),
                           start_ns=conv.packets[-1][0] + 1000)
    path = tmp_path / "dns.pcap"
    from wirecraft.writers import write_pcap

    write_pcap(path, conv.packets + udp)

    rows = tshark_fields(path, ["dns.id", "dns.flags.response", "dns.qry.name", "dns.a",
                                "dns.mx.mail_exchange", "dns.aaaa", "dns.count.answers"],
                         "dns")
    got = [(int(r[0], 16), r[1], r[2]) for r in rows]
    assert got == [(0x101, "0", "example.com"), (0x101, "1", "example.com"),
                   (0x202, "0", "example.com"), (0x202, "1", "example.com"),
                   (0x303, "0", "big.example.com"), (0x303, "1", "big.example.com"),
                   (0x404, "0", "udp.example.com"), (0x404, "1", "udp.example.com")]
    assert rows[1][3] == "93.184.216.34"
    assert rows[3][4] == "mail.example.com,backup.example.com"
    assert rows[5][6] == "4" and rows[7][5] == "2001:db8::5"

    events = list(wirecraft.dns.messages(path))
    assert [(e.proto, e.message.id) for e in events] == [
        ("tcp", 0x101), ("tcp", 0x101), ("tcp", 0x202), ("tcp", 0x202), ("tcp", 0x303),
        ("tcp", 0x303), ("udp", 0x404), ("udp", 0x404)]
    assert len(events[5].message.answers) == 4


def test_tcp_conversation_sequence_numbers_and_options() -> None:
    conv = TCPConversation(("2001:db8::1", 50000), ("2001:db8::2", 8080), mss=1000,
                           client_isn=2**32 - 5, server_isn=100).handshake()
    conv.send("client", b"a" * 2500).send("server", b"b" * 10).close("client")
    pkts = [wirecraft.decode(f) for _, f in conv]
    assert all(not p.problems for p in pkts)
    syn, synack, ack = pkts[:3]
    assert syn.tcp.flags == 2 and synack.tcp.flags == 18 and ack.tcp.flags == 16
    assert synack.tcp.ack == (2**32 - 4) % 2**32
    opts = dict(syn.tcp.options)
    assert opts["mss"] == 1000 and opts["wscale"] == 7 and opts["sack_permitted"]
    assert "timestamp" in str(opts).lower()
    data = [p for p in pkts if p.payload and p.tcp.src_port == 50000]
    assert [len(p.payload) for p in data] == [988, 988, 524]  # MSS minus 12 option bytes
    assert [p.tcp.seq for p in data] == [(2**32 - 4 + k * 988) % 2**32 for k in range(3)]
    fins = [p for p in pkts if p.tcp.flags & 1]
    assert len(fins) == 2 and pkts[-1].tcp.flags == 16
    rst = TCPConversation().handshake().close("server", rst=True)
    assert wirecraft.decode(rst.packets[-1][1]).tcp.flags & 4


def test_tcp_payload_reassembles_after_loss_and_reordering(tmp_path: Path) -> None:
    data = bytes(range(256)) * 100
    conv = TCPConversation(mss=500, loss=0.25, reorder=0.25, seed=11).handshake()
    conv.send("client", data).close()
    path = tmp_path / "c.pcap"
    conv.write(path)
    rows = tshark_fields(path, ["tcp.seq", "tcp.len"], "tcp.len > 0")
    assert sum(int(r[1]) for r in rows) > len(data)  # retransmissions happened
    out = subprocess.run([require_tool("tshark"), "-n", "-r", str(path), "-q", "-z",
                          "follow,tcp,raw,0"], capture_output=True, text=True, timeout=60)
    client_hex = [line for line in out.stdout.splitlines()
                  if line and not line.startswith("\t") and set(line) <= set("0123456789abcdef")]
    assert bytes.fromhex("".join(client_hex)) == data
    assert conv.client_data == data
