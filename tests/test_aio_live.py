"""wirecraft's asyncio API for real: in one event loop, a capture of an SMTP dialogue
(aiosmtpd in namespace b, smtplib in namespace a), a timer, a signal handler and an
`asr` ping, with no thread per capture; SIGTERM stops a capture cleanly."""

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

SERVER = """
    import sys
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink
    c = Controller(Sink(), hostname=sys.argv[1], port=2525)
    c.start()
    print("ready", flush=True)
    sys.stdin.read()
    c.stop()
"""

LOOP = """
    import asyncio, json, os, signal, smtplib, sys, threading
    import wirecraft
    from wirecraft.craft import ICMP, IPv4
    iface, b = sys.argv[1], sys.argv[2]

    def mail():
        with smtplib.SMTP(b, 2525, local_hostname="client.test", timeout=20) as s:
            s.sendmail("alice@a.test", ["bob@b.test"], b"Subject: hi\\r\\n\\r\\nhello\\r\\n")

    async def main():
        out = {"ticks": 0, "threads_before": threading.active_count()}
        stream = bytearray()
        fins = 0

        async def timer():
            while True:
                await asyncio.sleep(0.02)
                out["ticks"] += 1

        loop = asyncio.get_running_loop()
        t = asyncio.ensure_future(timer())
        async with wirecraft.asniff(iface, filter="tcp port 2525", timeout=20) as s:
            out["threads_during"] = threading.active_count()
            sender = loop.run_in_executor(None, mail)
            async for pkt in s:
                if pkt.tcp.dst_port == 2525:
                    stream += pkt.payload
                if pkt.tcp.flags & 1:
                    fins += 1
                    if fins == 2:
                        break
            await sender
        ans, unans = await wirecraft.asr([IPv4(dst=b) / ICMP(id=7, seq=i) for i in range(3)],
                                         timeout=2)
        out["echo"] = sorted(a.icmp.seq for _, a in ans)
        # SIGTERM, by its handler in the loop, ends a capture that would run for a minute
        stopper = wirecraft.asniff(iface, filter="udp port 9", timeout=60)
        loop.add_signal_handler(signal.SIGTERM, stopper.stop)
        loop.call_later(0.3, os.kill, os.getpid(), signal.SIGTERM)
        t0 = loop.time()
        async with stopper:
            got = [p async for p in stopper]
        out["stopped_after"] = loop.time() - t0
        out["stopped_got"] = len(got)
        t.cancel()
        out["client"] = bytes(stream).decode(errors="replace")
        print(json.dumps(out))

    asyncio.run(main())
"""


def test_capture_timer_signal_and_asr_share_one_loop() -> None:
    with VethPair() as pair:
        server = pair.popen("b", [sys.executable, "-c", textwrap.dedent(SERVER), pair.addr_b],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None and server.stdout.readline() == "ready\n"
            r = pair.run("a", [sys.executable, "-c", textwrap.dedent(LOOP), pair.iface_a,
                               pair.addr_b], capture_output=True, text=True, env=ENV,
                         timeout=90)
        finally:
            server.kill()
            server.wait(timeout=10)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    # the whole client side of the dialogue came through the loop's capture
    # (smtplib's own spelling of the commands)
    assert out["client"] == ("ehlo client.test\r\nmail FROM:<alice@a.test> size=22\r\n"
                             "rcpt TO:<bob@b.test>\r\ndata\r\nSubject: hi\r\n\r\n"
                             "hello\r\n.\r\nQUIT\r\n")
    assert out["ticks"] >= 3                        # the timer ran meanwhile
    assert out["threads_during"] == out["threads_before"]   # no thread for the capture
    assert out["echo"] == [0, 1, 2]
    assert 0.2 < out["stopped_after"] < 5 and out["stopped_got"] == 0
