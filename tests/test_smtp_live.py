"""A real SMTP session recorded by the test: aiosmtpd in one namespace, smtplib in the other.

tcpdump captures inside the server's namespace; the decoded transactions must equal what
the client sent, byte for byte (DATA after dot-unstuffing), and agree with tshark.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from wirecraft import smtp

from conftest import require_tool
from netns import VethPair

pytestmark = pytest.mark.live

SERVER = r"""
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
servers = [Controller(Sink(), hostname=h, port=25) for h in sys.argv[1:]]
for c in servers:
    c.start()
print("ready", flush=True)
sys.stdin.read()
for c in servers:
    c.stop()
"""

CLIENT = r"""
import json, smtplib, sys
plan = json.load(open(sys.argv[1]))
for host, session in plan:
    with smtplib.SMTP(host, 25, local_hostname="client.wirecraft.test", timeout=20) as s:
        s.ehlo()
        s.noop()
        for m in session:
            if m.get("vrfy"):
                s.verify(m["vrfy"])
            if m.get("reset"):
                s.mail(m["from"])
                s.rset()
            s.sendmail(m["from"], m["to"], open(m["file"], "rb").read())
"""


def _wait_for(stream, needle: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    seen = ""
    fd = stream.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096).decode(errors="replace")
            if not chunk:
                break
            seen += chunk
            if needle in seen:
                return
    raise AssertionError(f"did not see {needle!r}; got {seen!r}")


def _messages(tmp: Path, v4: str, v6: str) -> tuple[list, dict[str, bytes], bytes]:
    crlf = b"\r\n"
    plain = crlf.join([
        b"From: Alice <alice@wirecraft.test>",
        b"To: Bob <bob@wirecraft.test>",
        b"Subject: dots and more dots",
        b"Message-ID: <one@wirecraft.test>",
        b"Date: Tue, 24 Nov 2026 04:00:00 +0000",
        b"",
        b".a line starting with a dot",
        b".",
        b"..two dots",
        b"a line ending with a dot.",
        b" .space then dot",
        b"",
    ])
    multi = crlf.join([
        b"From: alice@wirecraft.test",
        b"To: Bob <bob@wirecraft.test>, \"Carol, C.\" <carol@wirecraft.test>",
        b"Cc: dave@wirecraft.test",
        b"Subject: =?utf-8?q?caf=C3=A9_for_three?=",
        b"User-Agent: wirecraft-test/1.0",
        b"",
        b"Hello all three.",
        b"",
    ])
    att = os.urandom(40000)
    em = EmailMessage()
    em["From"] = "alice@wirecraft.test"
    em["To"] = "bob@wirecraft.test"
    em["Subject"] = "report attached"
    em["Message-ID"] = "<three@wirecraft.test>"
    em.set_content("See the attachment.\n.\nBye.\n")
    em.add_attachment(att, maintype="application", subtype="octet-stream",
                      filename="report.bin")
    mime = em.as_bytes(policy=em.policy.clone(linesep="\r\n"))
    big = crlf.join([b"Subject: big", b""] + [b"." + b"x" * 70 + b"%06d" % i
                                               for i in range(3000)]) + crlf
    bodies = {"plain": plain, "multi": multi, "mime": mime, "big": big}
    for name, data in bodies.items():
        assert data.endswith(crlf)
        (tmp / f"{name}.eml").write_bytes(data)
    f = lambda n: str(tmp / f"{n}.eml")  # noqa: E731
    plan = [
        (v4, [
            {"from": "alice@wirecraft.test", "to": ["bob@wirecraft.test"], "file": f("plain"),
             "vrfy": "bob"},
            {"from": "alice@wirecraft.test",
             "to": ["bob@wirecraft.test", "carol@wirecraft.test", "dave@wirecraft.test"],
             "file": f("multi"), "reset": True},
            {"from": "alice@wirecraft.test", "to": ["bob@wirecraft.test"], "file": f("mime")},
        ]),
        (v4, [
            {"from": "big@wirecraft.test", "to": ["bob@wirecraft.test"], "file": f("big")},
        ]),
        (v6, [
            {"from": "six@wirecraft.test", "to": ["bob@wirecraft.test"], "file": f("plain")},
        ]),
    ]
    return plan, bodies, att


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    require_tool("tcpdump")
    tmp = tmp_path_factory.mktemp("smtp_live")
    pcap = tmp / "live.pcap"
    with VethPair() as pair:
        plan, bodies, att = _messages(tmp, pair.addr_b, pair.addr6_b)
        (tmp / "plan.json").write_text(json.dumps(plan))
        srv = pair.popen("b", [sys.executable, "-c", SERVER, pair.addr_b, pair.addr6_b],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        dump = None
        try:
            _wait_for(srv.stdout, "ready")
            dump = pair.popen("b", ["tcpdump", "-U", "--immediate-mode", "-n", "-i", pair.iface_b, "-w", str(pcap),
                                    "tcp port 25"], stderr=subprocess.PIPE)
            _wait_for(dump.stderr, "listening on")
            pair.run("a", [sys.executable, "-c", CLIENT, str(tmp / "plan.json")],
                     timeout=60, check=True, capture_output=True)
            time.sleep(0.5)     # the last FIN/ACKs
        finally:
            if dump is not None:
                dump.terminate()
                dump.wait(timeout=10)
            srv.stdin.close()
            srv.terminate()
            srv.wait(timeout=10)
    return pcap, bodies, att, tmp


def test_transactions_equal_what_the_client_sent(recorded):
    pcap, bodies, att, _ = recorded
    recs = smtp.transactions(pcap, keep_message=True)
    assert [r["mail_from"] for r in recs] == ["alice@wirecraft.test", "alice@wirecraft.test",
                                              "alice@wirecraft.test", "alice@wirecraft.test",
                                              "big@wirecraft.test", "six@wirecraft.test"]
    reset, plain, multi, mime, big, six = recs[1], recs[0], recs[2], recs[3], recs[4], recs[5]
    # the RSET transaction carried no message
    assert reset["size"] is None and "reset" in reset["problems"] and not reset["complete"]
    for rec, name in ((plain, "plain"), (multi, "multi"), (mime, "mime"), (big, "big")):
        assert rec["message"] == bodies[name], name
        assert rec["size"] == len(bodies[name])
        assert rec["complete"] and rec["problems"] == []
        assert rec["last_reply"].startswith("250")
        assert rec["helo"] == "client.wirecraft.test"
        assert rec["server_port"] == 25 and rec["server"] == "198.18.0.2"
        assert rec["client"] == "198.18.0.1"
    assert six["message"] == bodies["plain"] and six["complete"] and six["problems"] == []
    assert (six["client"], six["server"]) == ("fd00:5757::1", "fd00:5757::2")
    assert plain["subject"] == "dots and more dots"
    assert plain["msg_id"] == "<one@wirecraft.test>"
    assert multi["rcpt_to"] == ["bob@wirecraft.test", "carol@wirecraft.test",
                                "dave@wirecraft.test"]
    assert multi["to"] == ["Bob <bob@wirecraft.test>", "\"Carol, C.\" <carol@wirecraft.test>"]
    assert multi["cc"] == ["dave@wirecraft.test"]
    assert multi["subject"] == "café for three"
    assert multi["user_agent"] == "wirecraft-test/1.0"
    assert mime["attachments"] == [{"name": "report.bin", "type": "application/octet-stream",
                                    "size": len(att),
                                    "sha256": hashlib.sha256(att).hexdigest()}]
    assert plain["stream"] == multi["stream"] == mime["stream"] != big["stream"]
    assert [r["trans_depth"] for r in recs] == [1, 2, 3, 4, 1, 1]


def test_extract_writes_the_exact_messages(recorded, tmp_path):
    pcap, bodies, _, _ = recorded
    paths = smtp.extract(pcap, tmp_path / "out")
    got = [p.read_bytes() for p in paths]
    assert got == [bodies["plain"], bodies["multi"], bodies["mime"], bodies["big"],
                   bodies["plain"]]


def test_commands_and_replies_agree_with_tshark(recorded):
    pcap, _, _, _ = recorded
    from test_smtp_captures import events_by_stream, tshark_dialogue

    ours = events_by_stream(pcap)
    theirs = tshark_dialogue(pcap)
    assert set(ours) == set(theirs)
    for stream in ours:
        assert ours[stream] == theirs[stream], stream
    verbs = [e[1] for e in ours[min(ours)] if e[0] == "C"]
    for verb in ("EHLO", "NOOP", "VRFY", "MAIL", "RCPT", "DATA", "RSET", "QUIT"):
        assert verb in verbs
