"""Send-and-receive at speed: a SYN scan of every port of a host, and echo requests by
the thousand, on a veth pair between two fresh network namespaces.

    python probe.py --tool wirecraft|masscan|nmap|scapy --scan PORTS
    python probe.py --tool wirecraft|scapy --echo COUNT

Namespace `a` probes, namespace `b` is the target: its kernel answers every SYN (RST
from a closed port, SYN/ACK from the LISTENERS ports a listener holds open) and every
echo request. Each tool runs as its own process, as a user would run it, and the work
time is that whole process (start-up included, for every tool alike); probes/s is
probes over that time. Every tool must report what the target really is: the open
ports exactly, and (for the tools that report them) every other port closed, or every
echo answered. A tool that misses answers is a failure, not a number.

scapy is run on a prefix of the probes (`--limit`) and reported per probe, since a whole
65,535-port scan takes it minutes. Needs root; the namespaces have unique names and are
deleted on exit; every send is bounded (one probe per port or per echo, no retries but
wirecraft's and nmap's own when an answer is missing).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
from common import emit  # noqa: E402

LISTENERS = tuple(range(7001, 7011))      # open ports on the target
# nmap's --min-rate: at 100,000 it lost most answers here (53,055 of 65,535 ports
# "filtered"); at this rate it reports the target right
NMAP_RATE = 20000
A, B = "198.18.40.1", "198.18.40.2"

LISTEN = """
    import socket, sys
    socks = []
    for port in map(int, sys.argv[1:]):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port)); s.listen(64); socks.append(s)
    print("ready", flush=True)
    sys.stdin.read()
"""

WIRECRAFT_ECHO = """
    import json, sys, time
    import wirecraft
    from wirecraft.craft import ICMP, IPv4
    from wirecraft.craft.template import Range, Template
    n = int(sys.argv[2])
    t = Template(IPv4(dst=sys.argv[1]) / ICMP(id=4242, seq=0), linktype=101)
    t.vary("icmp.seq", Range(0, n))
    ans, unans = wirecraft.sr(t, count=n, timeout=2)
    ok = sum(1 for p, a in ans if a.icmp.seq == p.icmp.seq and a.icmp.type == 0)
    print(json.dumps({"answered": ok, "unanswered": len(unans)}))
"""

SCAPY_SCAN = """
    import json, sys
    from scapy.all import IP, TCP, conf, sr
    conf.verb = 0
    ports = list(range(1, int(sys.argv[2]) + 1)) + [int(p) for p in sys.argv[3:]]
    ans, unans = sr(IP(dst=sys.argv[1]) / TCP(sport=45000, dport=ports, flags="S"),
                    timeout=2)
    opened = sorted(r[TCP].sport for _, r in ans if r[TCP].flags & 0x12 == 0x12)
    closed = sum(1 for _, r in ans if r[TCP].flags & 0x04)
    print(json.dumps({"open": opened, "closed": closed, "probes": len(ports)}))
"""

SCAPY_ECHO = """
    import json, sys
    from scapy.all import ICMP, IP, conf, sr
    conf.verb = 0
    n = int(sys.argv[2])
    ans, unans = sr([IP(dst=sys.argv[1]) / ICMP(id=4243, seq=i) for i in range(n)], timeout=2)
    print(json.dumps({"answered": len(ans), "unanswered": len(unans)}))
"""


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True,
                          timeout=30).stdout


class Pair:
    """Namespaces a and b joined by a veth pair (IPv6 off: nothing else crosses)."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.a, self.b = f"wcpa{tag}", f"wcpb{tag}"
        self.made: list[str] = []

    def __enter__(self) -> Pair:
        try:
            for ns in (self.a, self.b):
                ip("netns", "add", ns)
                self.made.append(ns)
                ip("-n", ns, "link", "set", "lo", "up")
                subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                                "net.ipv6.conf.all.disable_ipv6=1"], check=True, timeout=30)
            ip("-n", self.a, "link", "add", "pa", "type", "veth", "peer", "name", "pb",
               "netns", self.b)
            ip("-n", self.a, "addr", "add", f"{A}/24", "dev", "pa")
            ip("-n", self.b, "addr", "add", f"{B}/24", "dev", "pb")
            ip("-n", self.a, "link", "set", "pa", "up")
            ip("-n", self.b, "link", "set", "pb", "up")
            # a busy scan must not lose answers to the target's own limits
            for knob in ("net.ipv4.icmp_ratelimit=0", "net.ipv4.tcp_max_syn_backlog=65536",
                         "net.core.somaxconn=65535"):
                subprocess.run(["ip", "netns", "exec", self.b, "sysctl", "-qw", knob],
                               timeout=30)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self.made = []

    def cmd(self, ns: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def mac_b(self) -> str:
        return subprocess.run(self.cmd(self.b, ["cat", "/sys/class/net/pb/address"]),
                              capture_output=True, text=True, check=True).stdout.strip()


def syn_times(path: str) -> list[float]:
    """Record timestamps of a classic pcap (microseconds), in seconds."""
    import struct

    data = Path(path).read_bytes()
    out, off = [], 24
    while off + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack_from("<IIII", data, off)
        out.append(sec + usec / 1e6)
        off += 16 + incl
    return out


class WireCount:
    """tcpdump on the target's side counting what arrives (SYNs or echo requests), so
    every tool's probe rate is measured the same way: probes over first-to-last arrival."""

    def __init__(self, pair: Pair, bpf: str, path: str) -> None:
        self.path = path
        self.proc = subprocess.Popen(pair.cmd(pair.b, ["tcpdump", "-i", "pb", "-n", "-s", "64",
                                                       "-B", "262144", "-w", path, bpf]),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        assert self.proc.stderr is not None
        self.proc.stderr.readline()          # "listening on pb ..."

    def stop(self) -> dict:
        time.sleep(0.3)
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        times = syn_times(self.path)
        dropped = re.search(r"(\d+) packets dropped by kernel", err)
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return {"wire_probes": len(times), "wire_seconds": span,
                "wire_probes_per_s": len(times) / span if span else None,
                "wire_dropped": int(dropped.group(1)) if dropped else None}


def timed(argv: list[str], env: dict[str, str] | None = None,
          timeout: float = 900) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    took = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{argv[3:6]} failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return took, r.stdout


def _nmap_like(out: str) -> dict:
    """Open ports and the closed count from nmap's report (wirecraft scan prints the
    same form)."""
    opened = sorted(int(m) for m in re.findall(r"^(\d+)/tcp\s+open\b", out, re.M))
    hidden = re.search(r"Not shown: .*?(\d+) closed", out)
    closed = int(hidden.group(1)) if hidden else len(re.findall(r"/tcp\s+closed", out))
    return {"open": opened, "closed": closed}


def scan(pair: Pair, tool: str, ports: int, limit: int, env: dict[str, str]) -> dict:
    """One scan of ports 1..ports (the listeners among them); counts it reported."""
    spec = f"1-{ports}"
    if tool == "wirecraft":
        took, out = timed(pair.cmd(pair.a, [sys.executable, "-m", "wirecraft", "scan", B,
                                            "-p", spec, "-w", "1", "--retries", "1"]), env)
        return {"seconds": took, "probes": ports, **_nmap_like(out)}
    if tool == "nmap":
        took, out = timed(pair.cmd(pair.a, ["nmap", "-sS", "-T5", "--min-rate",
                                            str(NMAP_RATE), "--max-retries", "1", "-n", "-Pn",
                                            "-p", spec, "-e", "pa", B]))
        return {"seconds": took, "probes": ports, **_nmap_like(out)}
    if tool == "masscan":
        # masscan reports open ports only; --wait 1 as the others wait about a second;
        # at --rate 1M or 10M it missed one of the 10 open ports here, at 300k it did not
        took, out = timed(pair.cmd(pair.a, ["masscan", B, "-p", spec, "--rate", "300000",
                                            "--wait", "1", "-e", "pa", "--router-mac",
                                            pair.mac_b()]))
        opened = sorted(int(m) for m in re.findall(r"open port (\d+)/tcp", out))
        return {"seconds": took, "probes": ports, "open": opened, "closed": None}
    if tool == "scapy":
        n = min(limit, ports)
        extra = [str(p) for p in LISTENERS if p > n]
        took, out = timed(pair.cmd(pair.a, [sys.executable, "-c", textwrap.dedent(SCAPY_SCAN),
                                            B, str(n), *extra]), env)
        got = json.loads(out.splitlines()[-1])
        return {"seconds": took, "probes": got["probes"], "open": got["open"],
                "closed": got["closed"]}
    raise SystemExit(f"unknown tool {tool}")


def echo(pair: Pair, tool: str, count: int, limit: int, env: dict[str, str]) -> dict:
    if tool == "wirecraft":
        n = count
        took, out = timed(pair.cmd(pair.a, [sys.executable, "-c",
                                            textwrap.dedent(WIRECRAFT_ECHO), B, str(n)]), env)
    elif tool == "scapy":
        n = min(limit, count)
        took, out = timed(pair.cmd(pair.a, [sys.executable, "-c", textwrap.dedent(SCAPY_ECHO),
                                            B, str(n)]), env)
    else:
        raise SystemExit(f"{tool} has no echo mode here")
    got = json.loads(out.splitlines()[-1])
    return {"seconds": took, "probes": n, **got}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--scan", type=int, default=0, help="scan ports 1..N")
    ap.add_argument("--echo", type=int, default=0, help="send N echo requests")
    ap.add_argument("--limit", type=int, default=2000, help="probes for scapy")
    opts = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("probe.py needs root (network namespaces)")
    for tool in ("nmap", "masscan"):
        if opts.tool == tool and shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    env = {**os.environ}
    t_start = time.perf_counter()
    with Pair() as pair, tempfile.TemporaryDirectory() as tmp:
        listener = subprocess.Popen(pair.cmd(pair.b, [sys.executable, "-c",
                                                      textwrap.dedent(LISTEN),
                                                      *map(str, LISTENERS)]),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert listener.stdout is not None and listener.stdout.readline() == "ready\n"
            bpf = "tcp[tcpflags] == tcp-syn" if opts.scan else "icmp[icmptype] == icmp-echo"
            wire = WireCount(pair, bpf, os.path.join(tmp, "wire.pcap"))
            t_ready = time.perf_counter()
            if opts.scan:
                got = scan(pair, opts.tool, opts.scan, opts.limit, env)
                expected_open = [p for p in LISTENERS if p <= opts.scan or opts.tool == "scapy"]
                counts = {"open": len(got["open"]), "open_right": got["open"] == expected_open,
                          "closed": got["closed"], "probes": got["probes"]}
            else:
                got = echo(pair, opts.tool, opts.echo, opts.limit, env)
                counts = {"answered": got["answered"], "unanswered": got["unanswered"],
                          "probes": got["probes"]}
            on_wire = wire.stop()
        finally:
            listener.kill()
            listener.wait(timeout=10)
    # work: the tool's whole process; import_s: namespace set-up (not counted)
    emit(t_start, t_ready, t_ready + got["seconds"], got["probes"], counts,
         probes_per_s=got["probes"] / got["seconds"], **on_wire)


if __name__ == "__main__":
    main()
