"""scapy's send, sendp and sniff(stop_filter=...) for real, on a veth pair in namespaces.

wirecraft.send/sendp run in namespace a and fill the addresses a packet does not give
from a's route and neighbour tables; tcpdump in b records what arrived. Sniffers run in
b while a sends a bounded, numbered burst; the capture must end at the packet the
stop_filter (or the callback) chose, with nothing after it delivered.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import wirecraft

from conftest import WIRECRAFT_PATH, require_tool
from netns import VethPair

pytestmark = pytest.mark.live

ENV = {**os.environ, "PYTHONPATH": WIRECRAFT_PATH}
PORT = 40002


def _mac(pair: VethPair, side: str) -> str:
    iface = pair.iface_a if side == "a" else pair.iface_b
    return pair.run(side, ["cat", f"/sys/class/net/{iface}/address"], capture_output=True,
                    text=True).stdout.strip()


class Tcpdump:
    """tcpdump -U -w in namespace b (nanosecond stamps), stopped with SIGINT."""

    def __init__(self, pair: VethPair, path: Path, bpf: str) -> None:
        tcpdump = require_tool("tcpdump")
        self.path = path
        self.proc = pair.popen("b", [tcpdump, "-U", "--immediate-mode", "-n", "-Z", "root",
                                     "-i", pair.iface_b, "-w", str(path), bpf],
                               stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        assert "listening on" in line, line

    def stop(self) -> list:
        time.sleep(0.3)
        self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=20)
        return list(wirecraft.read(self.path))


SEND = """
    import json, sys
    import wirecraft
    from wirecraft.craft import ARP, UDP, Ethernet, IPv4, IPv6
    iface, b, b6, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    probe = IPv4(dst=b) / UDP(src_port=port, dst_port=9) / b"l3"
    out = {}
    out["l3"] = wirecraft.send(probe, iface=iface).packets
    out["untouched"] = [probe.src, bytes(probe)[12:16].hex()]
    out["l3v6"] = wirecraft.send([IPv6(dst=b6) / UDP(src_port=port, dst_port=9) / b"v6"]).packets
    out["l2"] = wirecraft.sendp(Ethernet() / IPv4(dst=b) / UDP(src_port=port, dst_port=9)
                                / b"l2", iface=iface, count=3, pps=100).packets
    out["l2_noiface"] = wirecraft.sendp(Ethernet() / IPv6(dst=b6)
                                        / UDP(src_port=port, dst_port=9) / b"l2v6").packets
    out["explicit"] = wirecraft.sendp(
        Ethernet(src="02:00:00:00:00:aa", dst="02:00:00:00:00:bb")
        / IPv4(src="127.0.0.1", dst=b) / UDP(src_port=port, dst_port=9) / b"explicit",
        iface=iface).packets
    out["multicast"] = wirecraft.sendp(Ethernet() / IPv4(dst="224.0.0.251")
                                       / UDP(src_port=port, dst_port=5353) / b"mc",
                                       iface=iface).packets
    out["arp"] = wirecraft.sendp(Ethernet() / ARP(opcode=2, sender_ip="198.18.0.77",
                                                  target_ip="198.18.0.78"), iface=iface).packets
    frame = bytes(Ethernet() / IPv4(src=sys.argv[5], dst=b) / UDP(src_port=port, dst_port=9)
                  / b"decoded")
    out["decoded"] = wirecraft.send(wirecraft.decode(frame), iface=iface).packets
    try:
        wirecraft.send(Ethernet() / IPv4(dst=b))
    except wirecraft.WirecraftError as exc:
        out["refused"] = str(exc)
    try:
        wirecraft.send(IPv4(dst="203.0.113.9") / UDP())   # a has no default route
    except wirecraft.WirecraftError as exc:
        out["unrouted"] = str(exc)
    print(json.dumps(out))
"""


def test_send_and_sendp_fill_addresses_from_the_kernels_tables(tmp_path: Path) -> None:
    with VethPair() as pair:
        mac_a, mac_b = _mac(pair, "a"), _mac(pair, "b")
        cap = Tcpdump(pair, tmp_path / "rx.pcap", f"udp src port {PORT} or arp host 198.18.0.77")
        out = pair.run("a", [sys.executable, "-c", textwrap.dedent(SEND), pair.iface_a,
                             pair.addr_b, pair.addr6_b, str(PORT), pair.addr_a],
                       capture_output=True, text=True, env=ENV, timeout=60)
        got = cap.stop()
    assert out.returncode == 0, out.stderr
    sent = json.loads(out.stdout)
    assert {k: v for k, v in sent.items() if isinstance(v, int)} == {
        "l3": 1, "l3v6": 1, "l2": 3, "l2_noiface": 1, "explicit": 1, "multicast": 1, "arp": 1,
        "decoded": 1}
    # the caller's packet keeps its build default
    assert sent["untouched"] == ["127.0.0.1", "7f000001"]
    assert "send frames with sendp()" in sent["refused"]
    assert sent["unrouted"].startswith("no route to 203.0.113.9: ")
    assert "\n" not in sent["unrouted"]
    by_payload: dict[bytes, list] = {}
    for p in got:
        by_payload.setdefault(p.payload if p.arp is None else b"arp", []).append(p)
    l3, = by_payload[b"l3"]
    assert (l3.ip.src, l3.ip.dst, l3.eth.src, l3.eth.dst) == (pair.addr_a, pair.addr_b,
                                                              mac_a, mac_b)
    v6, = by_payload[b"v6"]
    assert (v6.ip.src, v6.eth.src, v6.eth.dst) == (pair.addr6_a, mac_a, mac_b)
    assert len(by_payload[b"l2"]) == 3
    for p in by_payload[b"l2"] + by_payload[b"l2v6"]:
        assert (p.eth.src, p.eth.dst) == (mac_a, mac_b)
        assert p.ip.src in (pair.addr_a, pair.addr6_a)
    explicit, = by_payload[b"explicit"]
    assert (explicit.ip.src, explicit.eth.src, explicit.eth.dst) == (
        "127.0.0.1", "02:00:00:00:00:aa", "02:00:00:00:00:bb")
    mc, = by_payload[b"mc"]
    assert (mc.ip.src, mc.ip.dst, mc.eth.src, mc.eth.dst) == (
        pair.addr_a, "224.0.0.251", mac_a, "01:00:5e:00:00:fb")
    decoded, = by_payload[b"decoded"]
    assert (decoded.ip.src, decoded.ip.dst, decoded.eth.dst) == (pair.addr_a, pair.addr_b,
                                                                 mac_b)
    arp, = by_payload[b"arp"]
    assert (arp.eth.src, arp.eth.dst) == (mac_a, "ff:ff:ff:ff:ff:ff")
    assert all(not p.problems for p in got)


# ---------------------------------------------------------------- sniff stop_filter

BURST = """
    import socket, sys, time
    dst, n = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(i.to_bytes(4, "big") + b"burst", (dst, 9999))
"""

SNIFF = """
    import json, sys, threading, time
    import wirecraft
    from wirecraft.live import STOP, Sniffer
    iface = sys.argv[1]

    def number(p):
        return int.from_bytes(p.payload[:4], "big")

    def ready(s):
        print("ready", flush=True)
        return s

    def report(name, got, s, t0):
        print(json.dumps({"case": name, "got": got, "captured": s.stats().captured,
                          "seconds": time.monotonic() - t0}), flush=True)

    def packet_sockets():
        with open("/proc/net/packet") as f:
            return len(f.readlines()) - 1

    def ready_once_open():
        # sniff() opens its handle inside the call: say "ready" when its packet socket
        # exists (and its filter had time to be set), from a thread
        before = packet_sockets()
        def watch():
            while packet_sockets() <= before:
                time.sleep(0.005)
            time.sleep(0.1)
            print("ready", flush=True)
        threading.Thread(target=watch, daemon=True).start()

    flt = "udp dst port 9999"
    # 1: iterating, stop_filter
    with ready(Sniffer(iface, filter=flt, timeout=15, stop_filter=lambda p: number(p) == 5)) as s:
        t0 = time.monotonic()
        got = [number(p) for p in s]
    report("iterate", got, s, t0)
    # 2: sniff() with a callback returning STOP
    got = []
    def cb(p):
        got.append(number(p))
        return STOP if number(p) == 7 else None
    s = Sniffer(iface, filter=flt, timeout=15)
    ready(s)
    t0 = time.monotonic()
    with s:
        s.run(cb)
    report("callback", got, s, t0)
    # 3: sniff(callback=..., stop_filter=...) at top level; the callback returns False later
    got = []
    ready_once_open()
    t0 = time.monotonic()
    s = wirecraft.sniff(iface, filter=flt, timeout=15, callback=lambda p: got.append(number(p)),
                        stop_filter=lambda p: number(p) == 0)
    report("sniff", got, s, t0)
    # 4: batches, cut after the stopping packet
    with ready(Sniffer(iface, filter=flt, timeout=15, stop_filter=lambda p: number(p) == 9)) as s:
        t0 = time.monotonic()
        got = [number(p) for b in s.packet_batches() for p in b]
    report("batches", got, s, t0)
    # 5: a callback returning False
    got = []
    ready_once_open()
    t0 = time.monotonic()
    s = wirecraft.sniff(iface, filter=flt, timeout=15,
                        callback=lambda p: got.append(number(p)) or number(p) != 2)
    report("false", got, s, t0)
"""

EXPECTED = {"iterate": list(range(6)), "callback": list(range(8)), "sniff": [0],
            "batches": list(range(10)), "false": list(range(3))}


def _line(proc: subprocess.Popen, timeout: float = 20) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        raise AssertionError(f"no output; stderr: {proc.communicate()[1]}")
    return proc.stdout.readline()


def test_stop_filter_and_callback_end_the_capture_at_the_chosen_packet() -> None:
    with VethPair() as pair:
        proc = pair.popen("b", [sys.executable, "-c", textwrap.dedent(SNIFF), pair.iface_b],
                          env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        results = {}
        try:
            for _ in EXPECTED:
                line = _line(proc)
                assert line.strip() == "ready", (line, proc.stderr.read() if line == "" else "")
                # a burst of 30 numbered datagrams, sent as fast as the socket takes them:
                # the packets after the stopping one arrive in the same reads
                sender = pair.run("a", [sys.executable, "-c", textwrap.dedent(BURST),
                                        pair.addr_b, "30"], capture_output=True, text=True)
                assert sender.returncode == 0, sender.stderr
                result = json.loads(_line(proc))
                results[result["case"]] = result
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0
    for case, expected in EXPECTED.items():
        r = results[case]
        assert r["got"] == expected, case
        assert r["captured"] == len(expected), case    # the rest of the read is not counted
        assert r["seconds"] < 10, case                 # ended by the packet, not the timeout
