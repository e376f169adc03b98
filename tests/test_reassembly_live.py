"""Live `wirecraft sniff --smtp` on the data-past-the-FIN case: it ends, and obeys SIGTERM.

The seven frames are replayed with tcpreplay into a veth pair between two namespaces; the
reassembler used to spin in C on them, ignoring SIGTERM.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest
from reasm_support import fin_past_buffered_frames, write_pcap

from conftest import WIRECRAFT_PATH, require_tool
from netns import VethPair

pytestmark = pytest.mark.live


def _read_until(fd: int, needle: str, timeout: float) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096).decode(errors="replace")
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.parametrize("stop", ["sigterm", "count"])
def test_sniff_smtp_on_data_past_the_fin_ends(tmp_path, stop):
    tcpreplay = require_tool("tcpreplay")
    pcap = tmp_path / "fin.pcap"
    write_pcap(pcap, fin_past_buffered_frames())
    with VethPair() as pair:
        argv = [sys.executable, "-m", "wirecraft.cli", "sniff", "-i", pair.iface_b,
                "-f", "tcp port 25", "--smtp", "--immediate"]
        if stop == "count":
            argv += ["-c", "7"]
        proc = pair.popen("b", ["env", f"PYTHONPATH={WIRECRAFT_PATH}", *argv],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            err = _read_until(proc.stderr.fileno(), "listening on", 30)
            assert "listening on" in err, err
            pair.run("a", [tcpreplay, "-q", "-i", pair.iface_a, str(pcap)],
                     capture_output=True, check=True)
            if stop == "sigterm":
                time.sleep(1.0)            # the frames reach the reassembler
                proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=20)
            err += proc.stderr.read().decode(errors="replace")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
    assert rc == 0, err
    assert "7 packets captured" in err and "Traceback" not in err
