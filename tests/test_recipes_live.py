"""`wirecraft ping`, `traceroute` and `scan` across routed namespaces: a host, two
routers and a destination (three hops), the kernels forwarding, answering pings and
sending time-exceeded and port-unreachable messages; for the scan, listeners on the
destination and a firewall rule (nftables) that drops one port.

    a (198.19.1.1) -- r1 -- (198.19.2.0/24) -- r2 -- c (198.19.3.1)
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from conftest import WIRECRAFT_PATH, require_root, require_tool

pytestmark = pytest.mark.live

ENV = {"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
DEST = "198.19.3.1"
HOPS = ["198.19.1.254", "198.19.2.2", DEST]


class Chain:
    """Four namespaces in a line, routed; removed on exit, also after a failure."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns = {k: f"wcrt{tag}{k}" for k in ("a", "r1", "r2", "c")}

    def ip(self, ns: str, *args: str) -> None:
        subprocess.run(["ip", "-n", self.ns[ns], *args], check=True, timeout=30)

    def sysctl(self, ns: str, setting: str) -> None:
        subprocess.run(["ip", "netns", "exec", self.ns[ns], "sysctl", "-q", "-w", setting],
                       check=True, timeout=30)

    def __enter__(self) -> Chain:
        require_root()
        require_tool("ip")
        try:
            for name in self.ns.values():
                subprocess.run(["ip", "netns", "add", name], check=True, timeout=30)
            links = [("a", "e0", "198.19.1.1/24", "r1", "e0", "198.19.1.254/24"),
                     ("r1", "e1", "198.19.2.1/24", "r2", "e0", "198.19.2.2/24"),
                     ("r2", "e1", "198.19.3.254/24", "c", "e0", "198.19.3.1/24")]
            for left, lif, laddr, right, rif, raddr in links:
                self.ip(left, "link", "add", lif, "type", "veth", "peer", "name", rif,
                        "netns", self.ns[right])
                for ns, iface, addr in ((left, lif, laddr), (right, rif, raddr)):
                    self.ip(ns, "addr", "add", addr, "dev", iface)
                    self.ip(ns, "link", "set", iface, "up")
            for ns in self.ns:
                self.ip(ns, "link", "set", "lo", "up")
                self.sysctl(ns, "net.ipv4.icmp_ratelimit=0")
            self.ip("a", "route", "add", "default", "via", "198.19.1.254")
            self.ip("c", "route", "add", "default", "via", "198.19.3.254")
            self.ip("r1", "route", "add", "198.19.3.0/24", "via", "198.19.2.2")
            self.ip("r2", "route", "add", "198.19.1.0/24", "via", "198.19.2.1")
            for ns in ("r1", "r2"):
                self.sysctl(ns, "net.ipv4.ip_forward=1")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for name in self.ns.values():
            subprocess.run(["ip", "netns", "del", name], timeout=30, capture_output=True)

    def wirecraft(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.ns["a"], sys.executable, "-m",
                               "wirecraft", *args], capture_output=True, text=True, env=ENV,
                              timeout=120)


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    with Chain() as c:
        yield c


HOP = re.compile(r"^ ?(\d+)  (\S+)((?:  [\d.]+ ms)+)$")


@pytest.mark.parametrize("method", ["-U", "-I", "-T"])
def test_traceroute_finds_each_router_and_stops_at_the_destination(chain: Chain,
                                                                   method: str) -> None:
    r = chain.wirecraft("traceroute", method, "-n", "-w", "1", "-m", "6", DEST)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"traceroute to {DEST} ({DEST}), 6 hops max")
    hops = []
    for line in lines[1:]:
        m = HOP.match(line)
        assert m, line
        hops.append((int(m.group(1)), m.group(2), m.group(3).count(" ms")))
    assert hops == [(i + 1, addr, 3) for i, addr in enumerate(HOPS)], r.stdout


def test_ping_prints_replies_and_statistics(chain: Chain) -> None:
    r = chain.wirecraft("ping", "-c", "3", "-i", "0.2", DEST)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"PING {DEST} ({DEST}) 56(84) bytes of data."
    replies = [ln for ln in lines if ln.startswith("64 bytes from")]
    assert [re.sub(r"time=[\d.]+", "time=T", ln) for ln in replies] == [
        f"64 bytes from {DEST}: icmp_seq={i} ttl=62 time=T ms" for i in (1, 2, 3)]
    assert "3 packets transmitted, 3 received, 0% packet loss" in r.stdout
    assert re.search(r"^rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms$", r.stdout,
                     re.M)


def test_ping_without_replies_exits_1(chain: Chain) -> None:
    r = chain.wirecraft("ping", "-c", "2", "-i", "0.1", "-W", "0.3", "198.19.3.77")
    assert r.returncode == 1, r.stderr
    assert "2 packets transmitted, 0 received, 100% packet loss" in r.stdout
    assert "bytes from" not in r.stdout


def test_ping_reports_the_routers_unreachable_as_ping_does(chain: Chain) -> None:
    # r2 finds no neighbour for .77 and answers, after its ARP attempts, with a host
    # unreachable that quotes the request: an error, not a reply
    r = chain.wirecraft("ping", "-c", "1", "-W", "5", "198.19.3.77")
    assert r.returncode == 1, r.stderr
    assert "From 198.19.2.2 icmp_seq=1 Destination Host Unreachable" in r.stdout
    assert "1 packets transmitted, 0 received, +1 errors, 100% packet loss" in r.stdout


LISTENERS = """
    import socket, sys
    socks = []
    for port in map(int, sys.argv[1:3]):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port)); s.listen(64); socks.append(s)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", int(sys.argv[3])))
    print("ready", flush=True)
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(b"echo:" + data, peer)
"""
OPEN1, OPEN2, DROPPED, UDP_OPEN, UDP_DROPPED = 40100, 40101, 40102, 40103, 40104


@pytest.fixture()
def served(chain: Chain) -> Iterator[Chain]:
    import textwrap

    nft = require_tool("nft")
    c = chain.ns["c"]
    rules = (f"table inet wctest {{\n chain in {{\n type filter hook input priority 0\n"
             f" tcp dport {DROPPED} drop\n udp dport {UDP_DROPPED} drop\n }}\n}}\n")
    subprocess.run(["ip", "netns", "exec", c, nft, "-f", "-"], input=rules, text=True,
                   check=True, timeout=30)
    proc = subprocess.Popen(["ip", "netns", "exec", c, sys.executable, "-c",
                             textwrap.dedent(LISTENERS), str(OPEN1), str(OPEN2), str(UDP_OPEN)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield chain
    finally:
        proc.kill()
        proc.wait(timeout=10)
        subprocess.run(["ip", "netns", "exec", c, nft, "delete", "table", "inet", "wctest"],
                       timeout=30)


def _table(out: str) -> dict[str, str]:
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\d+/(?:tcp|udp))\s+(\S+)\s+\S+$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_syn_scan_tells_open_closed_and_filtered(served: Chain) -> None:
    r = served.wirecraft("scan", DEST, "-p", f"1-1024,{OPEN1}-{DROPPED}", "-w", "0.5")
    assert r.returncode == 0, r.stderr
    assert f"wirecraft scan report for {DEST}" in r.stdout
    assert "Not shown: 1024 closed tcp ports (reset)" in r.stdout
    assert _table(r.stdout) == {f"{OPEN1}/tcp": "open", f"{OPEN2}/tcp": "open",
                                f"{DROPPED}/tcp": "filtered"}, r.stdout


def test_udp_scan(served: Chain) -> None:
    r = served.wirecraft("scan", DEST, "--udp", "-p", f"{OPEN1},{UDP_OPEN},{UDP_DROPPED}",
                         "-w", "0.5")
    assert r.returncode == 0, r.stderr
    assert _table(r.stdout) == {f"{OPEN1}/udp": "closed", f"{UDP_OPEN}/udp": "open",
                                f"{UDP_DROPPED}/udp": "open|filtered"}, r.stdout


def test_scan_refuses_a_bad_port_list(chain: Chain) -> None:
    r = chain.wirecraft("scan", DEST, "-p", "80-70000")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "1-65535" in r.stderr


DNS_SERVER = """
    import socket, sys, threading
    import dns.flags, dns.message, dns.rrset

    def answer(data, over_tcp):
        q = dns.message.from_wire(data)
        r = dns.message.make_response(q)
        qname = q.question[0].name.to_text()
        if qname in ("www.test.", "big.test."):
            r.answer.append(dns.rrset.from_text(qname, 300, "IN", "A", "192.0.2.55",
                                                "192.0.2.56"))
            if qname == "big.test." and not over_tcp:   # too big for UDP: truncated
                r.answer.clear()
                r.flags |= dns.flags.TC
        else:
            r.set_rcode(3)
        return r.to_wire()

    def tcp_server():
        t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind(("0.0.0.0", 53)); t.listen(8)
        while True:
            c, _ = t.accept()
            with c:
                buf = b""
                while len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
                    more = c.recv(4096)
                    if not more:
                        break
                    buf += more
                if len(buf) >= 2:
                    wire = answer(buf[2:2 + int.from_bytes(buf[:2], "big")], True)
                    c.sendall(len(wire).to_bytes(2, "big") + wire)
                    c.recv(1)            # the client's FIN

    threading.Thread(target=tcp_server, daemon=True).start()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 53))
    print("ready", flush=True)
    while True:
        data, peer = u.recvfrom(4096)
        u.sendto(answer(data, False), peer)
"""


@pytest.fixture()
def dns_server(chain: Chain) -> Iterator[Chain]:
    import textwrap

    proc = subprocess.Popen(["ip", "netns", "exec", chain.ns["c"], sys.executable, "-c",
                             textwrap.dedent(DNS_SERVER)], stdout=subprocess.PIPE, text=True,
                            env={**ENV, "PYTHONPATH": sys.path[0] + ":" + WIRECRAFT_PATH})
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield chain
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _section(out: str, name: str) -> list[str]:
    lines, inside = [], False
    for line in out.splitlines():
        if line.startswith(";; ") and line.endswith("SECTION:"):
            inside = line == f";; {name} SECTION:"
            continue
        if inside and line.strip() and not line.startswith(";;"):
            lines.append(" ".join(line.split()))
        elif inside and not line.strip():
            inside = False
    return lines


def test_query_prints_the_answer_as_dig_does(dns_server: Chain) -> None:
    dig = require_tool("dig")
    ours = dns_server.wirecraft("query", DEST, "www.test", "A")
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run(["ip", "netns", "exec", dns_server.ns["a"], dig, f"@{DEST}",
                             "www.test", "A", "+noedns"], capture_output=True, text=True,
                            timeout=60)
    assert theirs.returncode == 0, theirs.stderr
    answers = _section(ours.stdout, "ANSWER")
    # (the server's record order is dnspython's set order: compared as sets of lines)
    assert sorted(answers) == ["www.test. 300 IN A 192.0.2.55", "www.test. 300 IN A 192.0.2.56"]
    assert sorted(answers) == sorted(_section(theirs.stdout, "ANSWER"))
    assert ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: " in ours.stdout
    assert f";; SERVER: {DEST}#53({DEST}) (UDP)" in ours.stdout
    missing = dns_server.wirecraft("query", DEST, "nothing.test", "AAAA")
    assert "status: NXDOMAIN" in missing.stdout


def test_query_over_tcp_with_crafted_segments(dns_server: Chain) -> None:
    dig = require_tool("dig")
    for name, args, dig_args in (("www.test", ["--tcp"], ["+tcp"]),
                                 ("big.test", [], [])):
        ours = dns_server.wirecraft("query", DEST, name, "A", *args)
        assert ours.returncode == 0, ours.stderr
        theirs = subprocess.run(["ip", "netns", "exec", dns_server.ns["a"], dig, f"@{DEST}",
                                 name, "A", "+noedns", *dig_args], capture_output=True,
                                text=True, timeout=60)
        assert theirs.returncode == 0, theirs.stderr
        assert f";; SERVER: {DEST}#53({DEST}) (TCP)" in ours.stdout
        assert sorted(_section(ours.stdout, "ANSWER")) == [
            f"{name}. 300 IN A 192.0.2.55", f"{name}. 300 IN A 192.0.2.56"]
        assert sorted(_section(ours.stdout, "ANSWER")) == sorted(
            _section(theirs.stdout, "ANSWER"))
        assert (";; Truncated, retrying in TCP mode." in ours.stdout) == (name == "big.test")
        assert (";; Truncated, retrying in TCP mode." in theirs.stdout) == (name == "big.test")
    # nothing of the crafted connection is left behind: no rule, and the server was
    # not reset (it answered and saw our FIN)
    rules = subprocess.run(["ip", "netns", "exec", dns_server.ns["a"], "nft", "list",
                            "tables"], capture_output=True, text=True, timeout=30)
    assert "wirecraft_rst" not in rules.stdout


def test_query_without_a_server_exits_9_as_dig_does(served: Chain) -> None:
    # no server on 53: the port unreachable that quotes the question
    r = served.wirecraft("query", DEST, "www.test", "-W", "0.5", "--retries", "0")
    assert r.returncode == 9
    assert f";; communications error to {DEST}#53: connection refused" in r.stdout
    # a port the firewall drops: nothing comes back
    r = served.wirecraft("query", DEST, "www.test", "-p", str(UDP_DROPPED), "-W", "0.3",
                         "--retries", "0")
    assert r.returncode == 9
    assert ";; connection timed out; no servers could be reached" in r.stdout


def test_arping_prints_the_neighbours_replies(chain: Chain) -> None:
    mac = subprocess.run(["ip", "netns", "exec", chain.ns["r1"], "cat",
                          "/sys/class/net/e0/address"], capture_output=True, text=True,
                         check=True).stdout.strip()
    r = chain.wirecraft("arping", "-c", "2", "-i", "0.2", "198.19.1.254")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "ARPING 198.19.1.254 from 198.19.1.1 e0"
    replies = [re.sub(r"[\d.]+ms$", "Tms", ln) for ln in lines if ln.startswith("Unicast")]
    assert replies == [f"Unicast reply from 198.19.1.254 [{mac.upper()}]  Tms"] * 2
    assert lines[-1] == "Received 2 response(s)"
    silent = chain.wirecraft("arping", "-c", "1", "-w", "0.3", "198.19.1.77")
    assert silent.returncode == 1 and silent.stdout.splitlines()[-1] == "Received 0 response(s)"
