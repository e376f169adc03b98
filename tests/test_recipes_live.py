"""`wirecraft ping` and `wirecraft traceroute` across routed namespaces: a host, two
routers and a destination (three hops), the kernels forwarding, answering pings and
sending time-exceeded and port-unreachable messages.

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
