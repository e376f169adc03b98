"""A real exchange: dig in one namespace asks a dnspython server in the other, over UDP and
TCP, IPv4 and IPv6; tcpdump records it in the server's namespace, and the transactions
wirecraft decodes from that file are exactly what dig asked and the server answered."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import wirecraft
from wirecraft import dns as wdns

from conftest import require_tool
from netns import VethPair

pytestmark = pytest.mark.live

# A tiny authoritative server: answers from ZONE, NXDOMAIN otherwise; prints one JSON line
# per answer it sent (id, question, rcode, answers as text) so the test knows the truth.
SERVER = r'''
import json, select, socket, struct, sys, time
import dns.message, dns.rcode, dns.rrset, dns.rdatatype, dns.flags
ZONE = {
    ("www.example.test.", "A"): [("A", 300, "192.0.2.10"), ("A", 300, "192.0.2.11")],
    ("www.example.test.", "AAAA"): [("AAAA", 120, "2001:db8::10")],
    ("example.test.", "MX"): [("MX", 3600, "10 mail.example.test."),
                              ("MX", 3600, "20 backup.example.test.")],
    ("example.test.", "TXT"): [("TXT", 60, '"v=spf1 -all" "hello world"')],
    ("alias.example.test.", "A"): [("CNAME", 600, "www.example.test."),
                                   ("A", 300, "192.0.2.10")],
    ("example.test.", "SOA"): [("SOA", 86400, "ns.example.test. admin.example.test. "
                                              "2024010101 7200 3600 1209600 300")],
    ("svc.example.test.", "HTTPS"): [("HTTPS", 300, "1 . mandatory=alpn alpn=h2,h3 no-default-alpn port=443 "
                                                "ipv4hint=192.0.2.1,192.0.2.2 ech=AAZhYmNkZWY= "
                                                "ipv6hint=2001:db8::1,2001:db8::2")],
}
def answer(wire):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    question = q.question[0]
    key = (question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype))
    owner = question.name
    rows = ZONE.get(key)
    if rows is None:
        r.set_rcode(dns.rcode.NXDOMAIN)
        rows = []
    for rtype, ttl, text in rows:
        rr = dns.rrset.from_text(owner, ttl, "IN", rtype, text)
        r.answer.append(rr)
        if rtype == "CNAME":
            owner = rr[0].target
    print(json.dumps({"id": r.id, "name": question.name.to_text(),
                      "type": dns.rdatatype.to_text(question.rdtype),
                      "rcode": dns.rcode.to_text(r.rcode()),
                      "answers": [[rr.name.to_text(), rr.ttl, rd.to_text()]
                                  for rr in r.answer for rd in rr]}), flush=True)
    return r.to_wire()
socks = []
for fam, addr in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((addr, 53)); socks.append(u)
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, 53)); t.listen(8); socks.append(t)
print("ready", flush=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    ready, _, _ = select.select(socks, [], [], 0.5)
    for s in ready:
        if s.type == socket.SOCK_DGRAM:
            data, peer = s.recvfrom(65535)
            s.sendto(answer(data), peer)
        else:
            conn, _ = s.accept()
            conn.settimeout(5)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = conn.recv(65535)
                if not chunk:
                    break
                buf += chunk
            if len(buf) >= 2:
                out = answer(buf[2:2 + struct.unpack("!H", buf[:2])[0]])
                conn.sendall(struct.pack("!H", len(out)) + out)
            conn.close()
'''

QUERIES = [
    # (dig options, name, type)
    ([], "www.example.test", "A"),
    ([], "www.example.test", "AAAA"),
    ([], "example.test", "MX"),
    ([], "example.test", "TXT"),
    ([], "alias.example.test", "A"),
    ([], "missing.example.test", "A"),
    (["+tcp"], "example.test", "SOA"),
    (["+tcp"], "www.example.test", "A"),
    (["-6"], "svc.example.test", "HTTPS"),
    (["-6", "+tcp"], "www.example.test", "AAAA"),
]

HEADER = re.compile(r"opcode: (\w+), status: (\w+), id: (\d+)")
FLAGS = re.compile(r";; flags: ([a-z ]*);")


def _unquote_svcb(text: str) -> str:
    return re.sub(r'([a-z0-9-]+)="([^"]*)"', r"\1=\2", text).lower()


def _dig(pair: VethPair, options: list[str], name: str, rtype: str) -> dict:
    server = pair.addr6_b if "-6" in options else pair.addr_b
    argv = ["dig", f"@{server}", name, rtype, "+tries=1", "+time=3", "+nostats",
            *[o for o in options if o != "-6"]]
    out = pair.run("a", argv, capture_output=True, text=True, timeout=20).stdout
    header = HEADER.search(out)
    assert header, out
    answers = []
    section = None
    for line in out.splitlines():
        if line.startswith(";; ANSWER SECTION"):
            section = "answer"
            continue
        if not line.strip() or line.startswith(";;"):
            section = None if line.startswith(";;") else section
            continue
        if section == "answer" and not line.startswith(";"):
            owner, ttl, cls, typ, text = line.split(None, 4)
            answers.append((owner, int(ttl), typ, text))
    return {"id": int(header.group(3)), "status": header.group(2),
            "flags": FLAGS.search(out).group(1).split(), "answers": answers,
            "tcp": "+tcp" in options, "v6": "-6" in options, "name": name, "type": rtype}


def test_dig_against_dnspython_server(tmp_path: Path) -> None:
    require_tool("dig")
    require_tool("tcpdump")
    pcap = tmp_path / "dns.pcap"
    with VethPair() as pair:
        # --immediate-mode: without it packets wait in libpcap's ring until a 1 s timeout,
        # and those still waiting when tcpdump is stopped never reach the file
        dump = pair.popen("b", ["tcpdump", "-U", "--immediate-mode", "-n", "-i", pair.iface_b,
                                "-w", str(pcap), "port 53"], stderr=subprocess.PIPE, text=True)
        server = pair.popen("b", [sys.executable, "-c", SERVER, pair.addr_b, pair.addr6_b],
                            stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout.readline().strip() == "ready"
            line = dump.stderr.readline()  # "listening on ..." once the capture runs
            assert "listening" in line, line
            digs = [_dig(pair, opts, name, rtype) for opts, name, rtype in QUERIES]
            time.sleep(0.3)
        finally:
            dump.send_signal(signal.SIGINT)
            dump.wait(timeout=10)
            server.kill()
            served = [json.loads(x) for x in server.stdout.read().splitlines() if x]
            server.wait(timeout=10)
    assert len(served) == len(QUERIES)

    rows = wdns.transactions(wirecraft.read(pcap))
    assert len(rows) == len(QUERIES), rows
    by_id = {(r["trans_id"], r["query"]): r for r in rows}
    truth = {(s["id"], s["name"].rstrip(".")): s for s in served}
    for dig in digs:
        row = by_id[(dig["id"], dig["name"])]
        sent = truth[(dig["id"], dig["name"])]
        # what dig asked
        assert row["qtype_name"] == dig["type"] == sent["type"]
        assert row["qclass_name"] == "IN"
        assert row["proto"] == ("tcp" if dig["tcp"] else "udp")
        assert row["id_orig_h"] == (pair.addr6_a if dig["v6"] else pair.addr_a)
        assert row["id_resp_h"] == (pair.addr6_b if dig["v6"] else pair.addr_b)
        assert row["id_resp_p"] == 53 and row["id_orig_p"] > 1023
        assert row["RD"] is True
        # what the server answered, as dig showed it and as the server logged it
        assert row["status"] == "answered" and 0 < row["rtt"] < 5
        assert row["rcode_name"] == dig["status"] == sent["rcode"]
        assert row["AA"] is ("aa" in dig["flags"]) is True
        assert row["RA"] is ("ra" in dig["flags"])
        assert row["answers"] == [a[3] for a in dig["answers"]]
        assert row["TTLs"] == [a[1] for a in dig["answers"]] == [a[1] for a in sent["answers"]]
        # dnspython writes SVCB values without dig's double quotes
        assert [_unquote_svcb(t) for t in row["answers"]] == [
            _unquote_svcb(a[2]) for a in sent["answers"]]
        assert row["problems"] == []
        assert row["duplicate_queries"] == row["duplicate_responses"] == 0
    # the full messages: dig's EDNS cookie is decoded in every query
    events = list(wdns.messages(wirecraft.read(pcap)))
    assert len(events) == 2 * len(QUERIES)
    for ev in events:
        if not ev.message.qr:
            assert ev.message.edns is not None
            assert any(o.name == "COOKIE" for o in ev.message.edns.options)
