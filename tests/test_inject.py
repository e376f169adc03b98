"""Injection for real: frames sent in one namespace of a veth pair arrive byte-identical,
in the right number and at the requested rate in the other (captured there by tcpdump)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import wirecraft
from wirecraft.craft import UDP, Ethernet, IPv4
from wirecraft.writers import write_pcap

from conftest import REPO, WIRECRAFT_PATH, require_tool
from netns import VethPair

SRC_MAC = "02:00:00:00:00:aa"
ENV = {**os.environ, "PYTHONPATH": WIRECRAFT_PATH}

pytestmark = pytest.mark.live


class Capture:
    """tcpdump -U -w inside namespace b, only frames from our crafted source MAC."""

    def __init__(self, pair: VethPair, path: Path, bpf: str = f"ether src {SRC_MAC}") -> None:
        tcpdump = require_tool("tcpdump")
        self.path = path
        # a small snaplen and a 16 MiB buffer: the ring then holds thousands of frames
        self.proc = pair.popen("b", [tcpdump, "-U", "--immediate-mode", "-n", "-s", "2048",
                                     "-B", "16384", "-Z", "root",
                                     "--time-stamp-precision=nano", "-i", pair.iface_b,
                                     "-w", str(path), bpf],
                               stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        assert "listening on" in line, line

    def stop(self) -> list:
        time.sleep(0.2)  # let the last frames reach tcpdump
        self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=20)
        return list(wirecraft.read(self.path))


def _run_in_a(pair: VethPair, code: str, *args: str) -> subprocess.CompletedProcess:
    return pair.run("a", [sys.executable, "-c", textwrap.dedent(code), *args],
                    capture_output=True, text=True, env=ENV, timeout=60)


def _frames(n: int, pair: VethPair, size: int = 0) -> list[bytes]:
    return [bytes(Ethernet(src=SRC_MAC, dst="ff:ff:ff:ff:ff:ff")
                  / IPv4(src=pair.addr_a, dst=pair.addr_b, id=i)
                  / UDP(src_port=40000, dst_port=9) / (i.to_bytes(4, "big") + bytes(size)))
            for i in range(n)]


SEND = """
    import json, sys
    from wirecraft.inject import send
    frames = [bytes.fromhex(h) for h in open(sys.argv[1]).read().split()]
    kw = json.loads(sys.argv[2])
    s = send(frames, sys.argv[3], **kw)
    print(json.dumps({"packets": s.packets, "pps": s.pps, "mbps": s.mbps, "text": str(s)}))
"""


@pytest.mark.parametrize("backend,pps,n", [("auto", 1000, 500), ("sendmmsg", 2000, 600),
                                           ("pcap", 2000, 400)])
def test_l2_frames_arrive_identical_at_requested_rate(tmp_path: Path, backend: str, pps: int,
                                                      n: int) -> None:
    with VethPair() as pair:
        frames = _frames(n, pair)
        hexfile = tmp_path / "frames.hex"
        hexfile.write_text("\n".join(f.hex() for f in frames))
        cap = Capture(pair, tmp_path / "rx.pcap")
        out = _run_in_a(pair, SEND, str(hexfile),
                        json.dumps({"pps": pps, "backend": backend}), pair.iface_a)
        got = cap.stop()
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    assert stats["packets"] == n
    assert [p.data for p in got] == frames  # byte-identical, all of them, in order
    span = (got[-1].time_ns - got[0].time_ns) / 1e9
    rx_pps = (n - 1) / span
    assert abs(rx_pps - pps) / pps < 0.1, (rx_pps, stats["text"])
    assert abs(stats["pps"] - pps) / pps < 0.05, stats["text"]
    assert f"requested {pps} pps" in stats["text"]


def test_mbps_and_topspeed_with_a_template(tmp_path: Path) -> None:
    code = """
        import json, sys
        from wirecraft.craft import Ethernet, IPv4, UDP
        from wirecraft.craft.template import Template, Counter
        from wirecraft.inject import send
        t = Template(Ethernet(src=sys.argv[2], dst="ff:ff:ff:ff:ff:ff")
                     / IPv4(src="198.18.0.1", dst="198.18.0.2") / UDP(dst_port=9) / bytes(458))
        t.vary("udp.src_port", Counter(1000))
        out = []
        for n, kw in ((1000, {"mbps": 4.0}), (300, {"topspeed": True})):
            s = send(t, sys.argv[1], count=n, **kw)
            out.append({"packets": s.packets, "mbps": s.mbps, "pps": s.pps, "bytes": s.bytes})
        print(json.dumps(out))
    """
    with VethPair() as pair:
        cap = Capture(pair, tmp_path / "rx.pcap")
        out = _run_in_a(pair, code, pair.iface_a, SRC_MAC)
        got = cap.stop()
    assert out.returncode == 0, out.stderr
    rated, top = json.loads(out.stdout)
    assert len(got) == 1300
    assert [p.udp.src_port for p in got] == list(range(1000, 2000)) + list(range(1000, 1300))
    assert all(len(p.data) == 500 and not p.problems for p in got)
    # 500-byte frames at 4 Mbit/s: 1000 pps; the receiver sees the same pace
    assert abs(rated["mbps"] - 4.0) / 4.0 < 0.05
    span = (got[999].time_ns - got[0].time_ns) / 1e9
    assert abs(999 * 500 * 8 / span / 1e6 - 4.0) / 4.0 < 0.1
    assert top["pps"] > 5 * rated["pps"]


def test_send_l3_fills_link_header_from_the_kernel(tmp_path: Path) -> None:
    code = """
        import json, sys
        from wirecraft.craft import IPv4, IPv6, UDP
        from wirecraft.inject import send_l3
        a, b, a6, b6 = sys.argv[1:5]
        pkts = [IPv4(src=a, dst=b, id=i) / UDP(src_port=40001, dst_port=9) / b"l3" for i in range(20)]
        s4 = send_l3(pkts, pps=500)
        s6 = send_l3([IPv6(src=a6, dst=b6) / UDP(src_port=40001, dst_port=9) / b"v6"] * 5)
        print(json.dumps([s4.packets, s6.packets]))
    """
    with VethPair() as pair:
        mac_b = pair.run("b", ["cat", f"/sys/class/net/{pair.iface_b}/address"],
                         capture_output=True, text=True).stdout.strip()
        mac_a = pair.run("a", ["cat", f"/sys/class/net/{pair.iface_a}/address"],
                         capture_output=True, text=True).stdout.strip()
        cap = Capture(pair, tmp_path / "rx.pcap", "udp src port 40001")
        out = _run_in_a(pair, code, pair.addr_a, pair.addr_b, pair.addr6_a, pair.addr6_b)
        got = cap.stop()
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [20, 5]
    assert len(got) == 25
    for p in got:
        assert (p.eth.src, p.eth.dst) == (mac_a, mac_b)
        assert not p.problems
    assert [p.ip.id for p in got[:20]] == list(range(20))
    assert [p.payload for p in got[20:]] == [b"v6"] * 5


def _cli(pair: VethPair, *args: str) -> subprocess.CompletedProcess:
    return pair.run("a", [sys.executable, "-m", "wirecraft.cli", *args], capture_output=True,
                    text=True, env=ENV, timeout=60)


def test_cli_send_hex_and_replay(tmp_path: Path) -> None:
    with VethPair() as pair:
        frames = _frames(100, pair, size=30)
        src = tmp_path / "in.pcap"
        # 100 frames 4 ms apart in the capture; replayed twice as fast: ~2 ms apart
        write_pcap(src, [(1_700_000_000_000_000_000 + i * 4_000_000, f)
                         for i, f in enumerate(frames)])
        cap = Capture(pair, tmp_path / "rx.pcap")
        send = _cli(pair, "send", "-i", pair.iface_a, "--hex", frames[0].hex(), "--count", "200",
                    "--pps", "1000")
        replay = _cli(pair, "replay", str(src), "-i", pair.iface_a, "--multiplier", "2")
        looped = _cli(pair, "replay", str(src), "-i", pair.iface_a, "--topspeed", "--loop", "3")
        got = cap.stop()
    for r in (send, replay, looped):
        assert r.returncode == 0, r.stderr
    assert "requested 1000 pps" in send.stdout and "requested capture timing x2" in replay.stdout
    assert [p.data for p in got] == [frames[0]] * 200 + frames + frames * 3
    replayed = got[200:300]
    span = (replayed[-1].time_ns - replayed[0].time_ns) / 1e9
    assert abs(span - 0.198) < 0.03, span


def test_template_options_on_the_cli(tmp_path: Path) -> None:
    with VethPair() as pair:
        cap = Capture(pair, tmp_path / "rx.pcap")
        r = _cli(pair, "send", "-i", pair.iface_a, "--hex", _frames(1, pair)[0].hex(),
                 "--vary", "ipv4.id=counter:100", "--vary", "udp.src_port=list:7,8,9",
                 "--count", "30", "--topspeed")
        script = tmp_path / "script.py"
        script.write_text(textwrap.dedent(f"""
            packets = [Ethernet(src="{SRC_MAC}") / IPv4(src="{pair.addr_a}", dst="{pair.addr_b}")
                       / UDP(src_port=4000 + i, dst_port=9) / b"script" for i in range(5)]
        """))
        s = _cli(pair, "send", "-i", pair.iface_a, "--script", str(script), "--loop", "2")
        got = cap.stop()
    assert r.returncode == 0 and s.returncode == 0, (r.stderr, s.stderr)
    assert [p.ip.id for p in got[:30]] == list(range(100, 130))
    assert [p.udp.src_port for p in got[:30]] == [7, 8, 9] * 10
    assert all(not p.problems for p in got)
    assert [p.udp.src_port for p in got[30:]] == [4000, 4001, 4002, 4003, 4004] * 2


def test_without_cap_net_raw_one_line_and_exit_77() -> None:
    setpriv = require_tool("setpriv")
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to an unprivileged user")
    for args in (["send", "-i", "lo", "--hex", "ffffffffffff0000000000000800"],
                 ["replay", str(REPO / "captures" / "pcapyng__96pings.pcap"), "-i", "lo"]):
        out = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                              "--inh-caps=-all", "--bounding-set=-all", sys.executable, "-m",
                              "wirecraft.cli", *args], capture_output=True, text=True, env=ENV,
                             timeout=60)
        assert out.returncode == 77, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "CAP_NET_RAW" in lines[0] and "setcap" in lines[0]
        assert "Traceback" not in out.stderr
    with pytest.raises(wirecraft.errors.WirecraftError):
        from wirecraft.inject import send

        send([b"x" * 60], "no-such-iface0")


def test_cli_send_l3_script(tmp_path: Path) -> None:
    with VethPair() as pair:
        script = tmp_path / "l3.py"
        script.write_text(textwrap.dedent(f"""
            packets = [IPv4(dst="{pair.addr_b}", id=i) / UDP(src_port=40002, dst_port=9)
                       / b"cli-l3" for i in range(10)]
        """))
        cap = Capture(pair, tmp_path / "rx.pcap", "udp src port 40002")
        r = _cli(pair, "send", "--l3", "--script", str(script), "--pps", "200")
        got = cap.stop()
    assert r.returncode == 0, r.stderr
    assert "requested 200 pps" in r.stdout
    assert [p.ip.id for p in got] == list(range(10))
    # the source left out is the route's, as wirecraft.send fills it (not 127.0.0.1)
    assert {p.ip.src for p in got} == {pair.addr_a}
    assert all(p.payload == b"cli-l3" and not p.problems for p in got)
