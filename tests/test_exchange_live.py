"""wirecraft.sr/sr1/srp for real: probes from namespace a, the kernel of namespace b
answering (echo replies, SYN/ACK from a listener, RST from a closed port, ICMP port
unreachable quoting a UDP probe, ARP replies), and pings b ignores left unanswered.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from conftest import WIRECRAFT_PATH
from netns import VethPair

pytestmark = pytest.mark.live

ENV = {"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
OPEN, CLOSED = 40025, 40026

LISTEN = """
    import socket, sys
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
    print("ready", flush=True)
    sys.stdin.read()
"""

PROBE = """
    import json, sys, time
    import wirecraft
    from wirecraft.craft import ARP, ICMP, ICMPv6, TCP, UDP, Ethernet, IPv4, IPv6
    iface, b, b6, opened, closed, phase = sys.argv[1:7]
    out = {}
    if phase == "answered":
        ans, unans = wirecraft.sr([IPv4(dst=b) / ICMP(id=77, seq=i) for i in range(5)],
                                  timeout=2)
        out["echo"] = [[p.seq, a.icmp.type, a.icmp.id, a.icmp.seq, a.ip.src] for p, a in
                       ((p.layers()[1], a) for p, a in ans)]
        out["echo_unanswered"] = len(unans)
        out["rtt"] = [ans.rtt(k) for k in range(len(ans))]
        a6 = wirecraft.sr1(IPv6(dst=b6) / ICMPv6(id=78, seq=9), timeout=2)
        out["echo6"] = [a6.icmpv6.type, a6.icmpv6.id, a6.icmpv6.seq]
        ans, unans = wirecraft.sr([IPv4(dst=b) / TCP(src_port=41000, dst_port=int(opened),
                                                     seq=1000, flags=0x02),
                                   IPv4(dst=b) / TCP(src_port=41001, dst_port=int(closed),
                                                     seq=2000, flags=0x02)], timeout=2)
        out["tcp"] = sorted([p.layers()[1].dst_port, a.tcp.flags, a.tcp.ack] for p, a in ans)
        u = wirecraft.sr1(IPv4(dst=b) / UDP(src_port=41002, dst_port=33434) / b"trace",
                          timeout=2)
        out["udp"] = [u.icmp.type, u.icmp.code, u.ip.src]
        ans, _ = wirecraft.srp(Ethernet(dst="ff:ff:ff:ff:ff:ff")
                               / ARP(opcode=1, target_ip=b), iface=iface, timeout=2)
        out["arp"] = [[a.arp.opcode, a.arp.sender_ip, a.arp.sender_mac] for _, a in ans]
        print(ans.summary(), file=sys.stderr)
    elif phase == "many":
        from wirecraft.craft.template import Range, Template
        # 10,000 echoes (sent from two threads) stamped out of one template, matched in C
        t = Template(IPv4(dst=b) / ICMP(id=81, seq=0), linktype=101).vary(
            "icmp.seq", Range(0, 10000))
        ans, unans = wirecraft.sr(t, count=10000, timeout=2)
        out["many"] = [len(ans), len(unans),
                       sorted(a.icmp.seq for _, a in ans) == list(range(10000)),
                       all(p.icmp.seq == a.icmp.seq for p, a in ans),
                       sum(ans.rtt(k) is not None for k in range(len(ans)))]
        # neighbour discovery: a solicitation answered by the advertisement of its target
        mac = open(f"/sys/class/net/{iface}/address").read().strip()
        import ipaddress
        low = ipaddress.IPv6Address(b6).packed[-3:]
        group = str(ipaddress.IPv6Address(bytes.fromhex("ff02" + "00" * 9 + "01ff")
                                          + low))
        ns = (Ethernet(dst="33:33:ff:" + ":".join(f"{x:02x}" for x in low))
              / IPv6(src=b6[:-1] + "1", dst=group, hop_limit=255)
              / ICMPv6(type=135, target=b6, options=[(1, mac)]))
        # (a fresh interface answers solicitations only once its addresses settle)
        a = wirecraft.srp1(ns, iface=iface, timeout=1, retry=4)
        out["nd"] = None if a is None else [a.icmpv6.type, a.ip.src]
        # srloop: three rounds of one echo, every answer kept
        lines = []
        ans, unans = wirecraft.srloop(IPv4(dst=b) / ICMP(id=82, seq=1), count=3, inter=0.2,
                                      prn=lambda p, a: lines.append(a.icmp.seq))
        out["loop"] = [len(ans), len(unans), lines]
        # the kernel's RST to a SYN/ACK: sent without suppress_rst, dropped with it
        import threading
        resets = []
        sniffer = wirecraft.live.Sniffer(iface, filter=f"tcp dst port {opened} and "
                                         "tcp[tcpflags] & tcp-rst != 0", immediate=True,
                                         timeout=6)
        reader = threading.Thread(target=lambda: resets.extend(
            p.tcp.src_port for p in sniffer))
        reader.start()
        time.sleep(0.3)
        for sport, quiet in ((41100, False), (41101, True)):
            a = wirecraft.sr1(IPv4(dst=b) / TCP(src_port=sport, dst_port=int(opened),
                                                seq=5, flags=0x02),
                              timeout=2, suppress_rst=quiet)
            out.setdefault("synack", []).append(a is not None and a.tcp.flags == 0x12)
        time.sleep(0.5)
        sniffer.stop()
        reader.join()
        out["resets"] = sorted(set(resets))
    else:
        t0 = time.monotonic()
        ans, unans = wirecraft.sr([IPv4(dst=b) / ICMP(id=79, seq=i) for i in range(3)],
                                  timeout=0.5, retry=1)
        out["ignored"] = [len(ans), len(unans), time.monotonic() - t0]
        out["none"] = wirecraft.sr1(IPv4(dst=b) / ICMP(id=80), timeout=0.3)
    print(json.dumps(out))
"""


def _run(pair: VethPair, phase: str) -> dict:
    r = pair.run("a", [sys.executable, "-c", textwrap.dedent(PROBE), pair.iface_a, pair.addr_b,
                       pair.addr6_b, str(OPEN), str(CLOSED), phase],
                 capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_answers_are_paired_with_their_probes() -> None:
    with VethPair() as pair:
        mac_b = pair.run("b", ["cat", f"/sys/class/net/{pair.iface_b}/address"],
                         capture_output=True, text=True).stdout.strip()
        listener = pair.popen("b", [sys.executable, "-c", textwrap.dedent(LISTEN), str(OPEN)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert listener.stdout is not None and listener.stdout.readline() == "ready\n"
            got = _run(pair, "answered")
        finally:
            listener.kill()
            listener.wait(timeout=10)
    # every echo request its own reply: same id and sequence number, from b
    assert got["echo"] == [[i, 0, 77, i, pair.addr_b] for i in range(5)]
    assert got["echo_unanswered"] == 0
    # each probe's departure was seen by the capture: a round trip well under the timeout
    assert all(rtt is not None and 0 < rtt < 1 for rtt in got["rtt"]), got["rtt"]
    assert got["echo6"] == [129, 78, 9]
    # the listener's SYN/ACK and the closed port's RST/ACK, each acknowledging its SYN
    assert got["tcp"] == [[OPEN, 0x12, 1001], [CLOSED, 0x14, 2001]]
    # the port unreachable found its UDP probe by the datagram it quotes
    assert got["udp"] == [3, 3, pair.addr_b]
    assert got["arp"] == [[2, pair.addr_b, mac_b]]


def test_template_probes_neighbour_discovery_srloop_and_resets() -> None:
    with VethPair() as pair:
        listener = pair.popen("b", [sys.executable, "-c", textwrap.dedent(LISTEN), str(OPEN)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert listener.stdout is not None and listener.stdout.readline() == "ready\n"
            out = _run(pair, "many")
            left = pair.run("a", ["nft", "list", "tables"], capture_output=True, text=True)
        finally:
            listener.kill()
            listener.wait(timeout=10)
    assert out["many"] == [10000, 0, True, True, 10000]
    assert out["nd"] == [136, pair.addr6_b]
    assert out["loop"] == [3, 0, [1, 1, 1]]
    assert out["synack"] == [True, True]
    assert out["resets"] == [41100]         # only the unsuppressed SYN/ACK was reset
    assert "wirecraft_rst" not in left.stdout


def test_unanswered_probes_are_returned_after_retries() -> None:
    with VethPair() as pair:
        pair.run("b", ["sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=1"], check=True)
        got = _run(pair, "ignored")
    answered, unanswered, seconds = got["ignored"]
    assert (answered, unanswered) == (0, 3)
    assert 1.0 <= seconds < 10          # two rounds of 0.5 s (the probes sent twice)
    assert got["none"] is None
