"""Worker processes of `sniff --workers N` die with their parent.

A parent killed with SIGKILL under traffic used to leave its workers alive for
minutes, blocked on a full result queue, holding their packet sockets and the
output file. Here the parent runs in a namespace on a veth with a bounded UDP
flow, is killed, and every worker must be gone within a few seconds. The
namespaces (and anything left in them) go away on exit, also when a test fails.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import WIRECRAFT_PATH
from netns import VethPair

pytestmark = pytest.mark.live

PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": WIRECRAFT_PATH + os.pathsep + os.environ.get("PYTHONPATH", "")}

# bounded sender: n datagrams of `size` bytes at `rate`/s over `flows` source ports
SENDER = r"""
import socket, sys, time
dst, n, size, rate, flows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
start = time.monotonic()
for i in range(n):
    socks[i % flows].sendto(i.to_bytes(4, "big") + bytes(max(size - 4, 0)), (dst, 9999))
    delay = start + (i + 1) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""

# the Python API, a parent that takes one result and then stops draining the queue
# (the workers' queue fills up behind it) before it is killed
STALLED_PARENT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {src!r})
    import wirecraft.live
    from wirecraft.live import Sniffer
    if {no_pdeathsig!r}:
        wirecraft.live.workers._libc = False  # no prctl: the watcher thread alone must do it

    def handler(raw):
        return [bytes(f) for f, _, _ in raw.frames()]

    with Sniffer({iface!r}, filter="udp port 9999", workers=2, handler=handler) as s:
        for result in s.results():
            print("draining stopped", flush=True)
            time.sleep(3600)
""")


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for whoever adopted it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _wait_workers(parent: int, n: int, timeout: float = 15) -> list[int]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        kids = [k for k in _children(parent) if _alive(k)]
        if len(kids) >= n:
            return kids
        time.sleep(0.05)
    raise AssertionError(f"{parent} never had {n} workers: {_children(parent)}")


def _wait_line(stream, needle: str, timeout: float = 15) -> None:  # noqa: ANN001
    end = time.monotonic() + timeout
    seen = []
    while time.monotonic() < end:
        ready, _, _ = select.select([stream], [], [], 0.2)
        if ready:
            line = stream.readline()
            if not line:
                break
            seen.append(line)
            if needle in line:
                return
    raise AssertionError(f"{needle!r} never printed: {''.join(seen)}")


def _reap(proc: subprocess.Popen) -> None:
    """Kill proc if it still runs, wait for it and close its pipes (a test's cleanup)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _kill_and_expect_workers_gone(pair: VethPair, proc: subprocess.Popen,
                                  workers: list[int]) -> None:
    proc.kill()  # SIGKILL: no handler, no cleanup in the parent
    proc.wait(timeout=10)
    end = time.monotonic() + 5.0
    while time.monotonic() < end and any(_alive(w) for w in workers):
        time.sleep(0.05)
    left = [w for w in workers if _alive(w)]
    assert not left, f"workers {left} outlived their parent by 5 s"
    # nothing in the capture namespace still holds a packet socket
    pids = subprocess.run(["ip", "netns", "pids", pair.ns["b"]], capture_output=True,
                          text=True, timeout=30).stdout.split()
    assert [p for p in pids if _alive(int(p))] == []


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["write", "json"])
def test_sigkilled_sniff_takes_its_workers_along(tmp_path: Path, mode: str) -> None:
    out = tmp_path / "w.pcap"
    extra = {"write": ["-w", str(out)], "json": ["--json"]}[mode]
    with VethPair() as pair:
        proc = pair.popen("b", [PY, "-m", "wirecraft.cli", "sniff", "-i", pair.iface_b,
                                "--workers", "2", "-f", "udp port 9999", *extra],
                          env=ENV, stdout=subprocess.DEVNULL if mode != "json" else
                          subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _wait_line(proc.stderr, "listening on")
            workers = _wait_workers(proc.pid, 2)
            sender = pair.popen("a", [PY, "-c", SENDER, pair.addr_b, "40000", "300", "8000",
                                      "32"])
            time.sleep(1.5)  # traffic flowing, results queued
            if mode == "json":
                # the parent stops reading: stdout fills, the result queue behind it too
                time.sleep(1.0)
            _kill_and_expect_workers_gone(pair, proc, workers)
            sender.kill()
            sender.wait(timeout=10)
        finally:
            _reap(proc)


@pytest.mark.slow
@pytest.mark.parametrize("no_pdeathsig", [False, True])
def test_workers_of_a_stalled_then_killed_parent_exit(no_pdeathsig: bool) -> None:
    with VethPair() as pair:
        code = STALLED_PARENT.format(src=WIRECRAFT_PATH, iface=pair.iface_b,
                                     no_pdeathsig=no_pdeathsig)
        proc = pair.popen("b", [PY, "-c", code], env=ENV, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
        try:
            sender = pair.popen("a", [PY, "-c", SENDER, pair.addr_b, "40000", "300", "8000",
                                      "32"])
            workers = _wait_workers(proc.pid, 2)
            _wait_line(proc.stdout, "draining stopped")
            time.sleep(2.0)  # the parent sleeps: the workers' queue fills up
            assert all(_alive(w) for w in workers)  # a stalled parent is not a dead one
            _kill_and_expect_workers_gone(pair, proc, workers)
            sender.kill()
            sender.wait(timeout=10)
        finally:
            _reap(proc)


def test_worker_exits_when_the_parent_is_gone_before_it_starts() -> None:
    """The race where the parent dies between fork and prctl: the worker sees it at once."""
    code = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {WIRECRAFT_PATH!r})
        from wirecraft.live import _die_with_parent
        r, w = os.pipe()
        parent = os.fork()
        if parent == 0:
            me = os.getpid()
            if os.fork() == 0:    # the worker
                time.sleep(0.5)   # its parent is gone before it arms itself
                _die_with_parent(me)
                os.write(w, b"survived")
                os._exit(0)
            os._exit(0)           # the parent dies at once
        os.waitpid(parent, 0)
        os.close(w)
        print(repr(os.read(r, 100)))  # returns when the worker writes or exits
    """)
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "b''"


STALL_THEN_DRAIN = textwrap.dedent("""
    import json, sys, threading, time
    sys.path.insert(0, {src!r})
    from wirecraft.live import Sniffer

    def handler(raw):
        return len(raw)

    got = 0
    with Sniffer({iface!r}, filter="udp port 9999", workers=2, handler=handler,
                 batch=8, immediate=True, timeout=30) as s:
        print("open", flush=True)
        stalled = False
        for n in s.results():
            got += n
            if not stalled:
                stalled = True
                time.sleep(4)   # not draining: the workers must drop and count, not block
                threading.Timer(1.0, s.stop).start()  # then drain for a second and stop
    st = s.stats()
    print(json.dumps({{"got": got, **st.as_dict()}}), flush=True)
""")


@pytest.mark.slow
def test_a_parent_that_does_not_drain_gets_counted_drops_not_stuck_workers() -> None:
    with VethPair() as pair:
        code = STALL_THEN_DRAIN.format(src=WIRECRAFT_PATH, iface=pair.iface_b)
        proc = pair.popen("b", [PY, "-c", code], env=ENV, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
        try:
            _wait_line(proc.stdout, "open")
            sender = pair.popen("a", [PY, "-c", SENDER, pair.addr_b, "60000", "100", "10000",
                                      "32"])
            out, err = proc.communicate(timeout=60)
            sender.kill()
            sender.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
        assert proc.returncode == 0, err
        import json

        st = json.loads(out.strip().splitlines()[-1])
        assert st["dropped_wirecraft"] > 0  # the queue was full while the parent slept
        # every packet read from the ring was either handed over or counted as dropped
        assert st["got"] == st["captured"] - st["dropped_wirecraft"]
