"""`wirecraft sniff` for real: veth pairs in namespaces, real DNS/SMTP servers and clients.

Every capture, server, client and sender runs inside namespaces the test makes
(tests/netns.py); sends are bounded loops; nothing leaves the namespaces.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import WIRECRAFT_PATH, require_root, require_tool
from netns import VethPair
from tsharkutil import tshark_fields

pytestmark = pytest.mark.live

PY = sys.executable
SRC = WIRECRAFT_PATH
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}

# bounded UDP sender: n datagrams of `size` bytes at `rate`/s, numbered; `flows`
# distinct source ports used round-robin
SENDER = r"""
import socket, sys, time
dst, n, size, rate, flows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
socks = [socket.socket(fam, socket.SOCK_DGRAM) for _ in range(flows)]
start = time.monotonic()
for i in range(n):
    socks[i % flows].sendto(i.to_bytes(4, "big") + bytes(max(size - 4, 0)), (dst, 9999))
    if rate:
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
"""


def wirecraft(*args: str) -> list[str]:
    return [PY, "-m", "wirecraft.cli", *args]


def wait_line(proc: subprocess.Popen, needle: str, timeout: float = 15) -> str:
    """Read proc.stderr until a line containing needle (the capture is open)."""
    end = time.monotonic() + timeout
    seen = []
    while time.monotonic() < end:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            line = proc.stderr.readline()
            if not line:
                break
            seen.append(line)
            if needle in line:
                return line
    proc.kill()
    raise AssertionError(f"{needle!r} never printed; stderr: {''.join(seen)}")


def start_sniff(pair: VethPair, *args: str) -> subprocess.Popen:
    proc = pair.popen("b", wirecraft("sniff", "-i", pair.iface_b, *args), env=ENV,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_line(proc, "listening on")
    return proc


def send_udp(pair: VethPair, n: int, size: int = 100, rate: float = 2000, flows: int = 1,
             wait: bool = True) -> subprocess.Popen | None:
    argv = [PY, "-c", SENDER, pair.addr_b, str(n), str(size), str(rate), str(flows)]
    if wait:
        pair.run("a", argv, check=True)
        return None
    return pair.popen("a", argv)


def exit_stats(stderr: str) -> dict[str, int]:
    """The counters `wirecraft sniff` prints on exit."""
    out = {}
    for key, pattern in (("captured", r"(\d+) packets captured"),
                         ("received", r"(\d+) packets received by filter"),
                         ("kernel", r"(\d+) packets dropped by kernel"),
                         ("wirecraft", r"(\d+) packets dropped by wirecraft")):
        m = re.search(pattern, stderr)
        assert m, f"no {key!r} counter in: {stderr}"
        out[key] = int(m.group(1))
    return out


def file_counts(path: Path) -> tuple[int, int]:
    """(packets per wirecraft, packets per tshark) of a capture file."""
    import wirecraft

    ours = sum(1 for _ in wirecraft.read(path))
    theirs = len(tshark_fields(path, ["frame.number"]))
    return ours, theirs


def pcap_records(path: Path) -> int:
    """Records in a classic pcap file that is still being written (whole records only)."""
    data = path.read_bytes() if path.exists() else b""
    n, off = 0, 24
    while off + 16 <= len(data):
        size = int.from_bytes(data[off + 8:off + 12], "little")
        if off + 16 + size > len(data):
            break
        n += 1
        off += 16 + size
    return n


def settle(path: Path, quiet: float = 0.7, limit: float = 8.0) -> None:
    """Wait until a capture file written with -U has not grown for `quiet` seconds."""
    end = time.monotonic() + limit
    last, since = -1, time.monotonic()
    while time.monotonic() < end:
        n = pcap_records(path)
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def finish(proc: subprocess.Popen, timeout: float = 20) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"sniff did not end; stderr: {err}") from None
    assert "Traceback" not in err, err
    return out, err


# --------------------------------------------------------------------------- errors


def test_without_cap_net_raw_one_clear_line() -> None:
    require_root()
    require_tool("setpriv")
    # root without any capability: no CAP_NET_RAW, yet the interpreter stays readable
    res = subprocess.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs",
                          *wirecraft("sniff", "-i", "lo", "-c", "1")],
                         env=ENV, capture_output=True, text=True, timeout=30)
    assert res.returncode == 77, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "CAP_NET_RAW" in lines[0] and "setcap cap_net_raw,cap_net_admin=eip" in lines[0]
    assert "sudo" in lines[0]
    # an unprivileged user, when that user can run this interpreter at all
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=-all", PY, "-c", "import wirecraft.cli"],
                           env=ENV, capture_output=True, timeout=30)
    if probe.returncode == 0:
        res = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                              "--inh-caps=-all", *wirecraft("sniff", "-i", "lo", "-c", "1")],
                             env=ENV, capture_output=True, text=True, timeout=30)
        assert res.returncode == 77, res
        assert len(res.stderr.strip().splitlines()) == 1
        assert "CAP_NET_RAW" in res.stderr and "Traceback" not in res.stderr


def test_missing_interface_and_bad_filter() -> None:
    require_root()
    res = subprocess.run(wirecraft("sniff", "-i", "wcnosuch0", "-c", "1"), env=ENV,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        "wirecraft sniff: wcnosuch0: no such interface (see `wirecraft interfaces`)"]
    res = subprocess.run(wirecraft("sniff", "-i", "lo", "-c", "1", "-f", "udp port nosuchport"),
                         env=ENV, capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad filter" in lines[0] and "nosuchport" in lines[0]


def test_interfaces_lists_the_namespace_devices() -> None:
    with VethPair() as pair:
        res = pair.run("b", wirecraft("interfaces", "--json"), env=ENV, capture_output=True,
                       text=True, check=True)
        devs = {d["name"]: d for d in map(json.loads, res.stdout.splitlines())}
        assert devs[pair.iface_b]["up"] and devs[pair.iface_b]["mtu"] == 1500
        assert f"{pair.addr_b}/24" in devs[pair.iface_b]["addresses"]
        assert "lo" in devs and "any" in devs


# --------------------------------------------------------------------------- counting


def test_n_frames_sent_are_n_captured_with_zero_drops(tmp_path: Path) -> None:
    require_tool("tshark")
    n = 1500
    out = tmp_path / "count.pcap"
    with VethPair() as pair:
        proc = start_sniff(pair, "-c", str(n), "-w", str(out), "-f", "udp port 9999",
                           "--duration", "30")
        send_udp(pair, n, size=200, rate=3000)
        _, err = finish(proc)
    assert proc.returncode == 0, err
    stats = exit_stats(err)
    assert stats["captured"] == n and stats["received"] == n
    assert stats["kernel"] == 0 and stats["wirecraft"] == 0
    assert file_counts(out) == (n, n)
    import wirecraft

    seq = [int.from_bytes(p.payload[:4], "big") for p in wirecraft.read(out)]
    assert seq == list(range(n))
    assert all(p.wire_len == p.caplen == 242 for p in wirecraft.read(out))


def test_sigint_mid_capture_leaves_a_valid_file_with_every_packet_counted(
        tmp_path: Path) -> None:
    require_tool("tshark")
    out = tmp_path / "sigint.pcap"
    with VethPair() as pair:
        proc = start_sniff(pair, "-w", str(out), "-f", "udp port 9999")
        sender = send_udp(pair, 4000, size=300, rate=2000, wait=False)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = finish(proc)
        assert sender is not None
        sender.wait(timeout=10)
    assert proc.returncode == 0, err
    stats = exit_stats(err)
    assert 200 < stats["captured"] < 4000, stats
    assert stats["kernel"] == 0 and stats["wirecraft"] == 0
    assert stats["received"] >= stats["captured"]
    ours, theirs = file_counts(out)
    assert ours == theirs == stats["captured"]
    import wirecraft

    seq = [int.from_bytes(p.payload[:4], "big") for p in wirecraft.read(out)]
    assert seq == list(range(len(seq)))  # nothing lost or reordered before the signal


def test_sigterm_and_workers_merge_counters(tmp_path: Path) -> None:
    require_tool("tshark")
    out = tmp_path / "workers.pcap"
    n = 1200
    with VethPair() as pair:
        proc = start_sniff(pair, "--workers", "2", "-w", str(out), "-f", "udp port 9999")
        send_udp(pair, n, size=120, rate=3000, flows=24)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = finish(proc)
    assert proc.returncode == 0, err
    stats = exit_stats(err)
    assert stats == {"captured": n, "received": n, "kernel": 0, "wirecraft": 0}
    assert file_counts(out) == (n, n)
    import wirecraft

    assert sorted(int.from_bytes(p.payload[:4], "big") for p in wirecraft.read(out)) == \
        list(range(n))


# --------------------------------------------------------------------------- DNS

DNS_SERVER = r"""
import socket, sys, threading, time
import dns.message, dns.rcode, dns.rdatatype, dns.rrset

def answer(data):
    q = dns.message.from_wire(data)
    r = dns.message.make_response(q)
    qq = q.question[0]
    name = qq.name.to_text()
    if name.startswith("nx."):
        r.set_rcode(dns.rcode.NXDOMAIN)
    elif qq.rdtype == dns.rdatatype.A:
        r.answer.append(dns.rrset.from_text(qq.name, 300, "IN", "A", "192.0.2.7"))
    elif qq.rdtype == dns.rdatatype.MX:
        r.answer.append(dns.rrset.from_text(qq.name, 60, "IN", "MX", "10 mail." + name))
    elif qq.rdtype == dns.rdatatype.AAAA:
        r.answer.append(dns.rrset.from_text(qq.name, 120, "IN", "AAAA", "2001:db8::7"))
    return r.to_wire()

def serve_udp(s):
    while True:
        data, peer = s.recvfrom(4096)
        s.sendto(answer(data), peer)

def serve_tcp(s):
    while True:
        c, _ = s.accept()
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.settimeout(5)
        buf = b""
        with c:
            while True:
                data = c.recv(65535)
                if not data:
                    break
                buf += data
                while len(buf) >= 2 and len(buf) >= 2 + int.from_bytes(buf[:2], "big"):
                    size = int.from_bytes(buf[:2], "big")
                    wire = answer(buf[2:2 + size])
                    buf = buf[2 + size:]
                    # the length prefix and the message in separate segments
                    c.sendall(len(wire).to_bytes(2, "big"))
                    time.sleep(0.02)
                    c.sendall(wire)

for addr in sys.argv[1:]:
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((addr, 53))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, 53))
    t.listen(8)
    threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
    threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
print("ready", flush=True)
time.sleep(60)
"""

# (name, type, expected rcode, transport, address family)
QUERIES = [("www.example.test.", "A", "NOERROR", "udp", 4),
           ("example.test.", "MX", "NOERROR", "tcp", 4),
           ("v6.example.test.", "AAAA", "NOERROR", "udp", 6),
           ("nx.example.test.", "A", "NXDOMAIN", "udp", 4),
           ("www.example.test.", "A", "NOERROR", "tcp", 6),
           ("example.test.", "MX", "NOERROR", "udp", 6)]


def test_sniff_dns_prints_exactly_the_transactions_dig_made() -> None:
    require_tool("dig")
    with VethPair() as pair:
        server = pair.popen("b", [PY, "-c", DNS_SERVER, pair.addr_b, pair.addr6_b],
                            stdout=subprocess.PIPE, text=True, env=ENV)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        proc = start_sniff(pair, "--dns", "-f", "port 53", "--duration", "30")
        made = []
        for name, qtype, rcode, proto, family in QUERIES:
            server_addr = pair.addr_b if family == 4 else pair.addr6_b
            client_addr = pair.addr_a if family == 4 else pair.addr6_a
            res = pair.run("a", ["dig", f"@{server_addr}", "+tries=1", "+time=3",
                                 "+tcp" if proto == "tcp" else "+notcp", name, qtype],
                           capture_output=True, text=True, check=True)
            header = re.search(r"status: (\w+), id: (\d+)", res.stdout)
            assert header and header.group(1) == rcode, res.stdout
            made.append((name.rstrip("."), qtype, rcode, int(header.group(2)), proto,
                         client_addr, server_addr))
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = finish(proc)
        server.kill()
    assert proc.returncode == 0, err
    lines = [line for line in out.splitlines() if line.strip()]
    # one line per transaction, in the order dig made them, each printed once complete
    assert len(lines) == len(made), out
    # the line is `wirecraft dns`'s (cli.dns.format_row): endpoints, id, query, type,
    # rcode, answers with their TTLs, rtt
    answers = []
    for line, (name, qtype, rcode, ident, proto, client, server_addr) in zip(
            lines, made, strict=True):
        c, s = (f"[{client}]", f"[{server_addr}]") if ":" in client else (client, server_addr)
        assert f" {proto} {c}:" in line and f" > {s}:53 " in line, line
        found = re.search(rf" id={ident} {re.escape(name)} {qtype} {rcode} (.*) rtt=(\S+) ",
                          line)
        assert found and found.group(2) != "-", line
        answers.append(found.group(1))
    assert answers == ["192.0.2.7 (300)", "10 mail.example.test. (60)", "2001:db8::7 (120)",
                       "(no answers)", "192.0.2.7 (300)", "10 mail.example.test. (60)"]


# --------------------------------------------------------------------------- SMTP

SMTP_SERVER = r"""
import sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK queued"
c = Controller(Sink(), hostname=sys.argv[1], port=25, ready_timeout=10)
c.start()
print("ready", flush=True)
time.sleep(60)
"""

SMTP_CLIENT = r"""
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "alice@example.test"
m["To"] = "bob@example.test, carol@example.test"
m["Subject"] = "live capture check"
m.set_content("Hello over a veth pair.\n.leading dot line\n" + "x" * 3000 + "\n")
with smtplib.SMTP(sys.argv[1], 25, local_hostname="client.example.test", timeout=10) as s:
    s.send_message(m, from_addr="alice@example.test",
                   to_addrs=["bob@example.test", "carol@example.test"])
"""


def test_sniff_smtp_reports_envelope_and_writes_what_was_sent(tmp_path: Path) -> None:
    require_tool("tcpdump")
    require_tool("tshark")
    out = tmp_path / "smtp.pcap"
    ref = tmp_path / "reference.pcap"
    with VethPair() as pair:
        server = pair.popen("b", [PY, "-c", SMTP_SERVER, pair.addr_b], stdout=subprocess.PIPE,
                            text=True, env=ENV)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        # the reference count: tcpdump on the client's side of the veth
        dump = pair.popen("a", ["tcpdump", "-i", pair.iface_a, "-U", "-n", "-w", str(ref),
                                "tcp port 25"], stderr=subprocess.PIPE, text=True)
        wait_line(dump, "listening on")
        proc = start_sniff(pair, "--smtp", "-w", str(out), "-f", "tcp port 25")
        pair.run("a", [PY, "-c", SMTP_CLIENT, pair.addr_b], check=True, env=ENV)
        settle(ref)  # the last FIN/ACK has crossed
        proc.send_signal(signal.SIGINT)
        stdout, err = finish(proc)
        dump.send_signal(signal.SIGINT)
        dump.communicate(timeout=10)
        server.kill()
    assert proc.returncode == 0, err
    lines = [line for line in stdout.splitlines() if "SMTP" in line]
    assert len(lines) == 1, stdout
    line = lines[0]
    assert "helo=client.example.test" in line
    assert "MAIL FROM:<alice@example.test>" in line
    assert "RCPT TO:<bob@example.test>,<carol@example.test>" in line
    assert "subject='live capture check'" in line and "reply='250 OK queued'" in line
    assert "from='alice@example.test' to='bob@example.test,carol@example.test'" in line
    assert "size=3" in line and "problems" not in line
    sent = len(tshark_fields(ref, ["frame.number"]))
    assert sent >= 10
    stats = exit_stats(err)
    assert stats["captured"] == sent and stats["kernel"] == 0
    assert file_counts(out) == (sent, sent)
    import wirecraft.smtp as wsmtp

    recs = wsmtp.transactions(str(out))
    assert len(recs) == 1 and recs[0]["rcpt_to"] == ["bob@example.test", "carol@example.test"]


# --------------------------------------------------------------------------- rotation


def test_rotation_by_size_keeps_a_ring_of_valid_files(tmp_path: Path) -> None:
    require_tool("tshark")
    base = tmp_path / "ring.pcap"
    n = 100
    with VethPair() as pair:
        proc = start_sniff(pair, "-w", str(base), "-C", "0.01", "-W", "3", "-f",
                           "udp port 9999", "-c", str(n), "--duration", "20")
        send_udp(pair, n, size=500, rate=2000)
        _, err = finish(proc)
    assert proc.returncode == 0, err
    assert exit_stats(err)["captured"] == n
    files = sorted(tmp_path.glob("ring.pcap*"))
    assert [f.name for f in files] == ["ring.pcap0", "ring.pcap1", "ring.pcap2"]
    import wirecraft

    seqs = []
    for f in files:
        assert f.stat().st_size <= 10_000
        ours, theirs = file_counts(f)
        assert ours == theirs > 0
        seqs.append([int.from_bytes(p.payload[:4], "big") for p in wirecraft.read(f)])
    # a ring: every file holds consecutive packets, and the newest end at the last one sent
    flat = sorted(s for part in seqs for s in part)
    assert flat == list(range(flat[0], n))
    for part in seqs:
        assert part == list(range(part[0], part[0] + len(part)))


def test_rotation_by_time_stops_after_w_files(tmp_path: Path) -> None:
    pattern = tmp_path / "t-%H%M%S.pcap"
    with VethPair() as pair:
        proc = start_sniff(pair, "-w", str(pattern), "-G", "1", "-W", "2", "-f",
                           "udp port 9999", "--duration", "20", "--immediate")
        # 3.2 s of traffic: the third second would need a third file, so the capture ends
        send_udp(pair, 160, size=60, rate=50)
        _, err = finish(proc)
    assert proc.returncode == 0, err
    files = sorted(tmp_path.glob("t-*.pcap"))
    assert len(files) == 2
    import wirecraft

    counts = [sum(1 for _ in wirecraft.read(f)) for f in files]
    assert all(c > 0 for c in counts)
    assert exit_stats(err)["captured"] >= sum(counts)


def test_write_to_stdout_feeds_tcpdump() -> None:
    tcpdump = require_tool("tcpdump")
    with VethPair() as pair:
        cmd = " ".join(wirecraft("sniff", "-i", pair.iface_b, "-w", "-", "-c", "25",
                                 "--duration", "20", "udp", "port", "9999"))
        proc = pair.popen("b", ["sh", "-c", f"{cmd} | {tcpdump} -n -r - 2>/dev/null"],
                          env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_line(proc, "listening on")
        send_udp(pair, 25, size=80, rate=1000)
        out, err = finish(proc)
    lines = out.splitlines()
    assert len(lines) == 25 and all("> 198.18.0.2.9999: UDP, length 80" in x for x in lines)
    assert exit_stats(err)["captured"] == 25
