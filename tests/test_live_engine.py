"""The live engine through its Python API, in namespaces: wire lengths, forms, stop, workers.

Each scenario is a script run inside one namespace of a VethPair; it prints a
JSON report that the test checks. Traffic is bounded and stays in the pair.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from test_live import ENV, PY, wait_line

from netns import VethPair

# Captures with snaplen 64 on one handle through wirecraft and on a second handle
# through pcapy's next(), whose header carries libpcap's own wire length.
INFERENCE = r"""
import json, socket, sys, threading, time, pcapy
from wirecraft.live import Sniffer

iface, snap = sys.argv[1], int(sys.argv[2])
filt = "udp port 9999 or tcp port 9998 or ether proto 0x88b5"
sn = Sniffer(iface, filter=filt, snaplen=snap, batch=16)
ref = pcapy.open_live(iface, snap, 1, 100)
ref.setfilter(filt)

lst = socket.socket(); lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind(("0.0.0.0", 9998)); lst.listen(1)
def drain():
    c, _ = lst.accept()
    while c.recv(65536):
        pass
    c.close()
threading.Thread(target=drain, daemon=True).start()

polled = []
def poll():
    while not sn.stopped:
        polled.append(sn.stats().captured)
        time.sleep(0.02)
def stopper():
    sys.stdin.readline()
    sn.stop()
threading.Thread(target=poll, daemon=True).start()
threading.Thread(target=stopper, daemon=True).start()
print("ready", flush=True)

got = [(p.time_ns // 1000, p.caplen, p.wire_len, bool(p.truncated)) for p in sn]
stats = sn.stats().as_dict()
sn.close()
ref.setnonblock(1)
refs = []
deadline = time.monotonic() + 3
while len(refs) < len(got) and time.monotonic() < deadline:
    hdr, data = ref.next()
    if hdr is None:
        time.sleep(0.01)
        continue
    sec, usec = hdr.getts()
    refs.append((sec * 1000000 + usec, hdr.getcaplen(), hdr.getlen()))
print(json.dumps({"got": got, "ref": refs, "stats": stats, "polled": polled}))
"""

TRAFFIC = r"""
import socket, struct, sys, time
dst4, dst6, iface = sys.argv[1], sys.argv[2], sys.argv[3]
u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (0, 1, 10, 21, 22, 30, 100, 500, 1400, 1472):
    u4.sendto(bytes(n), (dst4, 9999)); time.sleep(0.002)
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
# a fresh veth's IPv6 neighbour discovery can lose the first datagrams: resolve first
import subprocess
for _ in range(60):
    u6.sendto(b"warm-up", (dst6, 9997))
    neigh = subprocess.run(["ip", "-6", "neigh", "show", dst6], capture_output=True, text=True)
    if any(state in neigh.stdout for state in ("REACHABLE", "STALE", "DELAY")):
        break
    time.sleep(0.05)
for n in (0, 2, 30, 500, 1400):
    u6.sendto(bytes(n), (dst6, 9999)); time.sleep(0.002)
t = socket.create_connection((dst4, 9998))
for _ in range(4):
    t.sendall(bytes(3000)); time.sleep(0.01)
t.close()
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
raw.bind((iface, 0))
mac = raw.getsockname()[4]
for n in (60, 200, 1000):       # not IP: the wire length cannot be read from the packet
    raw.send(b"\xff" * 6 + mac + b"\x88\xb5" + bytes(n - 14)); time.sleep(0.002)
# one 802.1Q-tagged IPv4/UDP frame of 300 bytes
payload = bytes(300 - 14 - 4 - 28)
udp = struct.pack("!HHHH", 1234, 9999, 8 + len(payload), 0)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(payload), 1, 0, 64, 17, 0,
                 socket.inet_aton("198.18.0.1"), socket.inet_aton(dst4))
raw.send(b"\xff" * 6 + mac + b"\x81\x00\x00\x07\x08\x00" + ip + udp + payload)
time.sleep(0.3)
"""


@pytest.mark.live
def test_inferred_wire_lengths_equal_libpcaps_headers() -> None:
    with VethPair() as pair:
        cap = pair.popen("b", [PY, "-c", INFERENCE, pair.iface_b, "64"], env=ENV,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        assert cap.stdout is not None and cap.stdin is not None
        assert cap.stdout.readline().strip() == "ready", cap.stderr.read() if cap.stderr else ""
        pair.run("a", [PY, "-c", TRAFFIC, pair.addr_b, pair.addr6_b, pair.iface_a], check=True)
        t0 = time.monotonic()
        cap.stdin.write("stop\n")
        cap.stdin.flush()
        out, err = cap.communicate(timeout=20)
        assert time.monotonic() - t0 < 5
    assert cap.returncode == 0, err
    report = json.loads(out)
    got, ref, stats = report["got"], report["ref"], report["stats"]
    assert len(got) >= 10 + 5 + 4 + 3 + 1 and len(ref) == len(got)
    v6_udp = [r[2] for r in ref if r[2] in (62, 64, 92, 562, 1462)]
    assert sorted(v6_udp)[-3:] == [92, 562, 1462]
    unknown = 0
    for (ts, caplen, wire, truncated), (rts, rcap, rwire) in zip(got, ref, strict=True):
        # same packets in the same order (each socket stamps its own copy: allow 1 ms)
        assert caplen == rcap and abs(ts - rts) <= 1000
        assert caplen <= 64
        if wire != rwire:  # only the non-IP frames, reported as unknown
            assert wire == caplen == 64 and rwire in (200, 1000), (wire, rwire)
            unknown += 1
            continue
        assert truncated == (rwire > caplen)
    assert unknown == 2
    assert stats["captured"] == len(got) and stats["wire_len_unknown"] == 2
    assert stats["truncated"] == sum(1 for g in got if g[3])
    assert stats["received"] >= len(got) and stats["dropped_kernel"] == 0
    # the TCP segments (veth may hand over segments larger than the MTU) and the
    # tagged frame also came out with the lengths libpcap recorded (checked above)
    assert 300 in [r[2] for r in ref]  # the 802.1Q-tagged frame
    polled = report["polled"]
    assert polled == sorted(polled) and polled[-1] <= len(got)


FORMS = r"""
import json, os, socket, sys, threading, time
import wirecraft
from wirecraft.live import Sniffer

iface, peer = sys.argv[1], sys.argv[2]
filt = "udp port 9999"
def send(n, flows=1, size=50):
    ss = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
    for i in range(n):
        ss[i % flows].sendto(i.to_bytes(4, "big") + bytes(size), (peer, 9999))
        time.sleep(0.0005)
report = {}

# callback form: runs to the count, returns the closed Sniffer
seen = []
s = Sniffer(iface, filter=filt, count=10)
send(15)
s.run(seen.append)
s.close()
report["callback"] = [len(seen), s.stats().captured, [p.index for p in seen]]

# batches form: Tables with the file columns
with Sniffer(iface, filter=filt, count=40, batch=16) as s:
    send(40)
    tables = list(s.batches())
report["batches"] = [[len(t) for t in tables],
                     sorted({int(x) for t in tables for x in t["udp_dst_port"]}),
                     int(sum(int(t["wire_len"].sum()) for t in tables))]

# iterator form with a timeout and no traffic ends on time
t0 = time.monotonic()
with Sniffer(iface, filter="udp port 1", timeout=0.4) as s:
    n = sum(1 for _ in s)
report["timeout"] = [n, round(time.monotonic() - t0, 2)]

# stop() from another thread ends a quiet capture at once
s = Sniffer(iface, filter="udp port 1")
threading.Timer(0.3, s.stop).start()
t0 = time.monotonic()
n = sum(1 for _ in s)
s.close()
report["stop"] = [n, round(time.monotonic() - t0, 2)]

# module-level sniff() with a callback
got = []
threading.Timer(0.2, send, args=(5,)).start()
s = wirecraft.sniff(iface, filter=filt, count=5, timeout=5, callback=got.append)
report["sniff_callback"] = [len(got), s.stats().captured, [p.udp.dst_port for p in got]]

# workers: two processes in one PACKET_FANOUT_HASH group
def handler(raw):
    return (os.getpid(), [(p.udp.src_port, int.from_bytes(p.payload[:4], "big")) for p in raw.decode()])
with Sniffer(iface, filter=filt, count=600, workers=2, handler=handler, timeout=10) as s:
    threading.Timer(0.2, send, args=(600, 30)).start()
    results = list(s.results())
    st = s.stats()
report["workers"] = {"results": results, "stats": st.as_dict()}

# iterating a worker capture: the batches come back and are decoded here
with Sniffer(iface, filter=filt, count=40, workers=2, timeout=10) as s:
    threading.Timer(0.2, send, args=(40, 8)).start()
    pkts = [(p.index, int.from_bytes(p.payload[:4], "big")) for p in s]
report["worker_iter"] = [sorted(i for i, _ in pkts), sorted(q for _, q in pkts),
                         s.stats().captured]
print(json.dumps(report))
"""


@pytest.mark.live
def test_python_api_forms_stop_and_workers() -> None:
    with VethPair() as pair:
        res = pair.run("b", [PY, "-c", FORMS, pair.iface_b, pair.addr_a], env=ENV,
                       capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    n, captured, indexes = r["callback"]
    assert n == captured == 10 and indexes == list(range(10))
    sizes, ports, wire_total = r["batches"]
    assert sum(sizes) == 40 and max(sizes) <= 16 and ports == [9999]
    assert wire_total == 40 * (14 + 20 + 8 + 54)
    n, took = r["timeout"]
    assert n == 0 and 0.35 <= took < 1.5
    n, took = r["stop"]
    assert n == 0 and 0.25 <= took < 1.0
    n, captured, ports = r["sniff_callback"]
    assert n == captured == 5 and ports == [9999] * 5
    results, stats = r["workers"]["results"], r["workers"]["stats"]
    pids = {pid for pid, _ in results}
    assert len(pids) == 2  # 30 flows hashed over two workers
    owner: dict[int, int] = {}
    seqs = []
    for pid, rows in results:
        for src_port, seq in rows:
            assert owner.setdefault(src_port, pid) == pid  # a flow stays with one worker
            seqs.append(seq)
    assert sorted(seqs) == list(range(600))
    assert stats["captured"] == 600 and stats["dropped_kernel"] == 0
    assert stats["dropped_wirecraft"] == 0 and stats["received"] >= 600
    indexes, seqs, captured = r["worker_iter"]
    assert indexes == seqs == list(range(40)) and captured == 40


@pytest.mark.live
def test_drop_privileges_after_open_files_belong_to_user() -> None:
    import os
    import shutil
    import signal
    import tempfile
    from pathlib import Path

    # pytest's tmp_path sits under a 0700 directory: -Z nobody could not write there
    work = Path(tempfile.mkdtemp(prefix="wirecraft-live-"))
    try:
        os.chmod(work, 0o777)
        _drop_privileges_case(work / "z.pcap", signal)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _drop_privileges_case(out, signal) -> None:  # noqa: ANN001
    with VethPair() as pair:
        proc = pair.popen("b", [PY, "-m", "wirecraft.cli", "sniff", "-i", pair.iface_b, "-Z",
                                "nobody", "--workers", "2", "-w", str(out), "-f", "udp port 9999"],
                          env=ENV,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_line(proc, "listening on")
        from test_live import send_udp

        send_udp(pair, 20, rate=1000)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "20 packets captured" in err
    st = out.stat()
    import pwd

    assert st.st_uid == pwd.getpwnam("nobody").pw_uid
    import wirecraft

    assert sum(1 for _ in wirecraft.read(out)) == 20


# --------------------------------------------------------------------------- offline check


def _cut_like_libpcap(packets: list, snaplen: int) -> tuple[bytes, bytes, list[int]]:
    """(data, meta) as next_batch returns them for these whole frames at `snaplen`."""
    import struct

    data, meta, truth = bytearray(), bytearray(), []
    for p in packets:
        frame = p.data[:snaplen]
        meta += struct.pack("=IIII", p.time_ns // 10**9, p.time_ns // 1000 % 10**6, len(data),
                            len(frame))
        data += frame
        truth.append(p.wire_len)
    return bytes(data), bytes(meta), truth


@pytest.mark.parametrize("snaplen", [64, 96, 200])
def test_inference_over_the_sample_captures(snaplen: int) -> None:
    """Every whole frame of every sample capture, cut at the snaplen as libpcap would:
    the inferred wire length is the recorded one, and the re-decoded packet is flagged
    truncated exactly when it was cut."""
    import warnings

    import wirecraft
    from wirecraft.live import RawBatch

    from conftest import capture_files

    checked = cut = 0
    for path in capture_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            packets = [p for p in wirecraft.read(path) if p.caplen == p.wire_len]
        if not packets or len({p.linktype for p in packets}) != 1 \
                or max(p.time_ns for p in packets) >= 2**32 * 10**9:
            continue
        data, meta, truth = _cut_like_libpcap(packets, snaplen)
        raw = RawBatch(data, meta, packets[0].linktype, snaplen)
        assert raw.wire_lens().tolist() == truth, path.name
        # frames without IP that reach the snaplen: their length cannot be read (here
        # only 64-byte tagged ARP frames at snaplen 64, whose true length is the caplen)
        assert raw.wire_len_unknown == sum(1 for p in packets
                                           if p.ip is None and p.wire_len >= snaplen)
        batch = raw.decode()
        for whole, pkt, wire in zip(packets, batch, truth, strict=True):
            assert pkt.wire_len == wire and pkt.data == whole.data[:snaplen]
            if not whole.problems:
                assert pkt.truncated == (wire > pkt.caplen), (path.name, pkt.index)
                cut += wire > pkt.caplen
            checked += 1
    assert checked > 800 and cut > 150  # 841 whole frames; 720, 342, 171 of them cut
