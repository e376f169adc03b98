"""Injection and live capture on a veth pair between two fresh network namespaces.

    python live.py --tool wirecraft|c|tcpreplay --file F --loops N        # injection
    python live.py --capture raw|decode|write|tcpdump --file F --count N  # live capture

Namespace `a` sends, namespace `b` receives; IPv6 and ARP are off on both ends so nothing
but the benchmark's frames crosses. Injection: the tool sends the frames of F, N times, as
fast as it can, and the receiving veth's kernel counters give the frames that arrived.
Live capture: tcpreplay sends the first N frames of F at rising rates while the receiver
(wirecraft capture only, + decode, + decode and write, or tcpdump -w) captures them; the
result is the highest rate at which all N were captured with zero drops.
The namespaces have unique names and are deleted on exit; every send is bounded. Needs root.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
from common import emit, now  # noqa: E402

RATES = (25_000, 50_000, 100_000, 200_000, 0)  # 0: top speed (C pcap_inject)


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True,
                          timeout=30).stdout


def rx(ns: str, iface: str) -> tuple[int, int]:
    stats = json.loads(ip("-n", ns, "-s", "-j", "link", "show", iface))[0]["stats64"]["rx"]
    return stats["packets"], stats["dropped"]


def frames_in(path: str) -> int:
    """Records in a classic pcap file (the harness's captures are all classic pcap)."""
    n, data = 0, Path(path).read_bytes()
    off = 24
    while off + 16 <= len(data):
        n += 1
        off += 16 + int.from_bytes(data[off + 8:off + 12], "little")
    return n


class Pair:
    """Two namespaces joined by a veth pair (`va` in a, `vb` in b), removed on exit."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.a, self.b, self.va, self.vb = f"wcba{tag}", f"wcbb{tag}", "wcbva", "wcbvb"
        self.made: list[str] = []

    def __enter__(self) -> Pair:
        try:
            for ns in (self.a, self.b):
                ip("netns", "add", ns)
                self.made.append(ns)
                subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                                "net.ipv6.conf.all.disable_ipv6=1",
                                "net.ipv6.conf.default.disable_ipv6=1"], check=True, timeout=30)
            ip("-n", self.a, "link", "add", self.va, "type", "veth", "peer", "name", self.vb,
               "netns", self.b)
            for ns, dev in ((self.a, self.va), (self.b, self.vb)):
                ip("-n", ns, "link", "set", dev, "arp", "off", "up")
            time.sleep(0.2)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for ns in self.made:
            for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                      text=True, timeout=30).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self.made.clear()

    def in_a(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.a, *cmd]

    def in_b(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.b, *cmd]


def inject(a: argparse.Namespace, T0: float) -> None:
    with Pair() as pair:
        before, dropped_before = rx(pair.b, pair.vb)
        expected = frames_in(a.file) * a.loops
        if a.tool == "wirecraft":
            cmd = pair.in_a(sys.executable, "-m", "wirecraft", "replay", a.file, "-i", pair.va,
                            "--topspeed", "--loop", str(a.loops))
        elif a.tool == "tcpreplay":
            cmd = pair.in_a("tcpreplay", "-q", "-i", pair.va, "--topspeed", "--loop",
                            str(a.loops), a.file)
        else:
            cmd = pair.in_a(a.c_inject, pair.va, a.file, str(a.loops))
        t0 = now()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        t1 = now()
        if r.returncode != 0:
            raise SystemExit(f"{a.tool} failed ({r.returncode}): {r.stderr.strip()[-300:]}")
        time.sleep(0.3)  # let the receive side drain its backlog
        after, dropped_after = rx(pair.b, pair.vb)
    received, dropped = after - before, dropped_after - dropped_before
    own = None  # the tool's own figure for its send loop, where it prints one
    if a.tool == "c":
        own = json.loads(r.stdout.strip().splitlines()[-1])["work_s"]
    else:
        pattern = (r"Actual: \d+ packets \(\d+ bytes\) sent in ([\d.]+) seconds"
                   if a.tool == "tcpreplay" else r"sent \d+ packets, \d+ bytes in ([\d.]+) s")
        m = re.search(pattern, r.stdout + r.stderr)
        own = float(m.group(1)) if m else None
    problems = []
    if received != expected:
        problems.append(f"sent {expected} frames, {received} arrived ({dropped} dropped)")
    # work = the tool's own figure for its send loop (start-up excluded, as for the others);
    # the tool's whole process is reported beside it
    emit(T0, t0, t0 + (own if own is not None else t1 - t0), expected,
         {"received": received, "dropped": dropped}, problems=problems, tool_wall_s=t1 - t0,
         own_figure=own is not None, output=(r.stdout + r.stderr)[-400:])


def capture_once(pair: Pair, a: argparse.Namespace, rate: int, out: str) -> dict:
    """Send `a.count` frames at `rate` pps; return what the receiver captured and dropped."""
    wait = a.count / (rate or 100_000) + 3
    if a.capture == "tcpdump":
        cmd = pair.in_b("tcpdump", "-i", pair.vb, "-n", "-B", "4096", "-c", str(a.count),
                        "-w", out)
    else:
        cmd = pair.in_b(sys.executable, str(Path(__file__).with_name("sniff_recv.py")),
                        pair.vb, str(a.count), str(wait), a.capture, out)
    recv = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stream = recv.stderr if a.capture == "tcpdump" else recv.stdout
        marker = "listening on" if a.capture == "tcpdump" else "READY"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = stream.readline()
            if not line or marker in line:
                break
        time.sleep(0.2)
        if rate:
            send = subprocess.run(pair.in_a("tcpreplay", "-q", "-i", pair.va, f"--pps={rate}",
                                            f"--limit={a.count}", a.file),
                                  capture_output=True, text=True, timeout=wait + 60)
            m = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", send.stdout)
            achieved = float(m.group(1)) if m else None
        else:  # top speed: the C pcap_inject loop, faster than tcpreplay's rate control
            send = subprocess.run(pair.in_a(a.c_inject, pair.va, a.file, "1000",
                                            str(a.count)),
                                  capture_output=True, text=True, timeout=wait + 60)
            achieved = a.count / json.loads(send.stdout.strip().splitlines()[-1])["work_s"]
        try:
            out_text, err_text = recv.communicate(timeout=wait)
        except subprocess.TimeoutExpired:
            recv.send_signal(signal.SIGINT)  # tcpdump prints its counters on SIGINT
            out_text, err_text = recv.communicate(timeout=30)
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    if a.capture == "tcpdump":
        text = err_text
        cap = re.search(r"(\d+) packets? captured", text)
        drop = re.search(r"(\d+) packets? dropped by kernel", text)
        captured = int(cap.group(1)) if cap else 0
        dropped = int(drop.group(1)) if drop else -1
    else:
        res = json.loads(out_text.strip().splitlines()[-1])
        captured = res["captured"]
        dropped = res["stats"]["dropped_kernel"] + res["stats"]["dropped_wirecraft"]
    return {"rate": rate or "top", "achieved_pps": achieved, "captured": captured,
            "dropped": dropped}


def capture(a: argparse.Namespace, T0: float) -> None:
    t_start = now()
    tried = []
    best = 0.0
    with Pair() as pair, tempfile.TemporaryDirectory() as tmp:
        for rate in RATES:
            r = capture_once(pair, a, rate, os.path.join(tmp, "out.pcap"))
            tried.append(r)
            if r["captured"] != a.count or r["dropped"] != 0:
                break
            best = max(best, r["achieved_pps"] or rate)
    problems = [] if best else [f"frames lost even at {RATES[0]} pps: {tried[0]}"]
    # zero drops even at the sender's top speed: the figure is a lower bound (sender-bound)
    # rate = count / work: work is chosen so that the reported rate is the best zero-drop one
    work = a.count / best if best else now() - t_start
    emit(T0, t_start, t_start + work, a.count, {}, problems=problems, tried=tried,
         sender_bound=len(tried) == len(RATES) and tried[-1]["dropped"] == 0
         and tried[-1]["captured"] == a.count)


def main() -> None:
    T0 = time.perf_counter()
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", choices=["wirecraft", "c", "tcpreplay"])
    ap.add_argument("--capture", choices=["raw", "decode", "write", "tcpdump"])
    ap.add_argument("--file", required=True)
    ap.add_argument("--loops", type=int, default=1)
    ap.add_argument("--count", type=int, default=50_000)
    ap.add_argument("--c-inject", default=str(HERE / "out" / "pcap_inject"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("live benchmarks need root (network namespaces)")
    if a.tool:
        inject(a, T0)
    elif a.capture:
        capture(a, T0)
    else:
        raise SystemExit("give --tool or --capture")


if __name__ == "__main__":
    main()
