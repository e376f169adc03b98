"""SMTP's catalogue fields (wirecraft.proto.smtp): per-packet values through smtp.py's
own line parsers, compared with tshark's per-frame smtp fields on the sample captures."""

from __future__ import annotations

import pytest

import wirecraft
from wirecraft import smtp
from wirecraft.craft import TCP, Ethernet, IPv4
from wirecraft.proto import smtp as psmtp

from conftest import CAPTURES
from tsharkutil import tshark_fields


def _value(name: str, pkt: wirecraft.Packet) -> object:
    v = psmtp.PROTOCOL.extra["view"](pkt)
    return None if v is None else psmtp.PROTOCOL.field(name).extra_value(v)


def _frame(payload: bytes, sport: int, dport: int) -> wirecraft.Packet:
    return wirecraft.decode(bytes(Ethernet() / IPv4(src="192.0.2.1", dst="192.0.2.2")
                                  / TCP(src_port=sport, dst_port=dport, flags="PA") / payload))


def test_ports_are_the_binding_table_s() -> None:
    assert psmtp.PORTS == smtp.DEFAULT_PORTS == (25, 587, 2525)


def test_pipelined_commands_are_lists() -> None:
    pkt = _frame(b"MAIL FROM:<a@example.test> SIZE=10\r\nRCPT TO:<b@example.test>\r\nDATA\r\n",
                 40000, 25)
    assert _value("smtp.req", pkt) is True
    assert _value("smtp.req.command", pkt) == ["MAIL", "RCPT", "DATA"]
    assert _value("smtp.req.parameter", pkt) == ["FROM:<a@example.test> SIZE=10",
                                                 "TO:<b@example.test>"]   # DATA has none
    assert _value("smtp.response.code", pkt) is None
    assert _value("smtp.data.fragment", pkt) is None


def test_multiline_reply_has_one_code_per_reply() -> None:
    pkt = _frame(b"250-mx.example.test hello\r\n250-PIPELINING\r\n250 SIZE 100\r\n554 no\r\n",
                 25, 40000)
    assert _value("smtp.rsp", pkt) is True
    assert _value("smtp.response.code", pkt) == [250, 554]
    assert _value("smtp.rsp.parameter", pkt) == ["mx.example.test hello", "PIPELINING",
                                                 "SIZE 100", "no"]
    assert _value("smtp.req.command", pkt) is None


def test_auth_shows_the_mechanism_only() -> None:
    pkt = _frame(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", 40000, 587)
    assert _value("smtp.req.command", pkt) == ["AUTH"]
    assert _value("smtp.req.parameter", pkt) == ["PLAIN"]
    assert _value("smtp.command_line", pkt) == ["AUTH PLAIN"]


def test_body_bytes_are_a_data_fragment() -> None:
    pkt = _frame(b"Subject: hi\r\n\r\nhello\r\n", 40000, 25)
    assert _value("smtp.data.fragment", pkt) == pkt.index + 1
    assert _value("smtp.req", pkt) is None and _value("smtp.req.command", pkt) is None


def test_not_smtp_gives_none() -> None:
    assert psmtp.view(_frame(b"GET / HTTP/1.1\r\n", 40000, 80)) is None
    assert psmtp.view(_frame(b"", 40000, 25)) is None


def test_session_and_catalogue_parse_lines_alike() -> None:
    # one parser: a Session's Command/Reply events carry what the line parsers return
    s = smtp.Session()
    events = s.receive(smtp.SERVER, b"220 mx ready\r\n")
    events += s.receive(smtp.CLIENT, b"ehlo client.example\r\n")
    cmd = next(e for e in events if isinstance(e, smtp.Command))
    assert (cmd.verb, cmd.argument) == smtp.parse_command(b"ehlo client.example\r\n")
    assert smtp.parse_reply(b"220 mx ready\r\n") == (220, False, "mx ready")


@pytest.mark.parametrize("line", ["\u00b250 odd digits\r\n", "2\u0665\u0660 arabic\r\n",
                                  "25\r\n", "2500 x\r\n", "abc\r\n"])
def test_a_reply_code_of_non_ascii_digits_is_a_bad_reply(line: str) -> None:
    # '²50'.isdigit() is True and int('²50') raised ValueError inside Session.receive
    s = smtp.Session()
    events = s.receive(smtp.SERVER, line.encode())
    assert [e for e in events if isinstance(e, smtp.Problem)] == [
        smtp.Problem("bad_reply", smtp.SERVER)]
    assert smtp.parse_reply(line.encode()) is None


def test_fields_agree_with_tshark() -> None:
    compared = ("smtp.req.command", "smtp.req.parameter", "smtp.response.code",
                "smtp.rsp.parameter")
    seen = 0
    for name in ("zeek__smtp.pcap", "zeek__smtp-multi-addr.pcap"):
        path = CAPTURES / name
        rows = tshark_fields(path, ["frame.number", *compared], "smtp")
        tshark = {int(r[0]): r[1:] for r in rows}
        for pkt in wirecraft.read(path):
            frame = pkt.index + 1
            v = psmtp.view(pkt)
            if frame not in tshark or v is None:
                continue
            if v.request and not v.commands:
                continue  # AUTH continuations and message bytes: see the module doc
            seen += 1
            for field, text in zip(compared, tshark[frame], strict=True):
                ours = _value(field, pkt)
                ours_text = "" if ours is None else ",".join(str(x) for x in ours)
                assert ours_text == text, (name, frame, field)
    assert seen >= 20


def test_names_do_not_clash_with_the_registry() -> None:
    from wirecraft import proto
    from wirecraft.proto import dns as pdns

    ours = {f.name for p in (psmtp.PROTOCOL, pdns.PROTOCOL) for f in p.fields}
    registered = {n for n, f in proto.FIELDS.items()
                  if proto.PROTOCOL_OF[n].name not in ("dns", "smtp")}
    assert not ours & registered
    for p in (psmtp.PROTOCOL, pdns.PROTOCOL):
        assert all(f.name.startswith(p.name + ".") for f in p.fields)
