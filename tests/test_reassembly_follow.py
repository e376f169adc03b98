"""`wirecraft follow`: output streams as it is reassembled; errors are one line, exit 2."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from reasm_support import (
    ACK,
    CLIENT,
    FIN,
    PSH,
    SERVER,
    SYN,
    frame,
    long_stream_pcap,
    write_pcap,
)

from conftest import WIRECRAFT_PATH

ENV = {"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/bin:/bin"}

# Runs `follow` in-process with stdout on /dev/null and writes how far the peak resident
# set grew over the resident set before the run (kB, from /proc/self/status).
_MEASURE = textwrap.dedent("""
    import os, sys
    import wirecraft.capture, wirecraft.reassembly
    from wirecraft.cli.follow import command

    def status(key):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])

    out_fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(out_fd, 1)
    before = status("VmRSS")
    try:
        command.main(sys.argv[2:], standalone_mode=False)
    finally:
        sys.stdout.flush()
        with open(sys.argv[1], "w") as f:
            f.write(str(status("VmHWM") - before))
""")


def _peak_growth_kb(tmp_path, *args: str) -> int:
    result = tmp_path / "growth"
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(result), *args],
                          capture_output=True, text=True, timeout=300, env=ENV)
    assert proc.returncode == 0, proc.stderr
    return int(result.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["--ascii", "--hex"])
def test_follow_memory_stays_flat_on_a_long_stream(tmp_path, mode):
    size = 24 << 20
    path = tmp_path / "long.pcap"
    long_stream_pcap(path, size)
    growth = _peak_growth_kb(tmp_path, str(path), "0", mode)
    # keeping the conversation grows by more than its size (measured: 29 MB for 24 MB);
    # streaming needs the read batches and one piece at a time (measured: 3 MB)
    assert growth < (size >> 10) // 3, f"peak grew by {growth} kB"


def test_follow_prints_each_piece_as_it_is_reassembled(tmp_path):
    """The output equals the stream, piece by piece, in tshark's format (and ends early)."""
    path = tmp_path / "small.pcap"
    data = long_stream_pcap(path, 5000, segment=1000)
    out = subprocess.run([sys.executable, "-m", "wirecraft.cli", "follow", str(path), "0",
                          "--hex"], capture_output=True, text=True, timeout=60, env=ENV)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:5] == ["", "=" * 67, "Follow: tcp,raw", "Filter: tcp.stream eq 0",
                         "Node 0: 10.0.0.1:40001"]
    body = lines[6:-1]
    assert body == [data[i:i + 1000].hex() for i in range(0, 5000, 1000)]
    assert lines[-1] == "=" * 67 and out.stderr == ""


def test_follow_numbers_conversations_in_order_of_their_first_segment(tmp_path):
    frames = []
    for port, text in ((41000, b"first"), (41001, b"second")):
        frames += [frame(CLIENT, port, SERVER, 80, 99, SYN),
                   frame(SERVER, 80, CLIENT, port, 499, SYN | ACK, ack=100),
                   frame(CLIENT, port, SERVER, 80, 100, PSH | ACK, text, ack=500),
                   frame(CLIENT, port, SERVER, 80, 100 + len(text), FIN | ACK, ack=500),
                   frame(SERVER, 80, CLIENT, port, 500, FIN | ACK, ack=101 + len(text))]
    path = tmp_path / "two.pcap"
    write_pcap(path, frames)
    for number, text in ((0, "first"), (1, "second")):
        out = subprocess.run([sys.executable, "-m", "wirecraft.cli", "follow", str(path),
                              str(number)], capture_output=True, text=True, timeout=60, env=ENV)
        assert out.returncode == 0, out.stderr
        assert out.stdout.endswith(f"Node 0: 10.0.0.1:{41000 + number}\n"
                                   f"Node 1: 10.0.0.2:80\n{len(text)}\n{text}\n{'=' * 67}\n")


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "not_a_capture",
                                  "cut_header", "missing_number"])
def test_follow_bad_input_is_one_line_exit_2(tmp_path, case):
    target = {"missing": tmp_path / "nope.pcap", "directory": tmp_path}.get(case)
    if target is None:
        target = tmp_path / "bad.pcap"
        content = {"empty": b"", "not_a_capture": b"hello, this is text\n" * 10,
                   "cut_header": b"\xd4\xc3\xb2\xa1\x02\x00"}.get(case)
        if content is None:
            long_stream_pcap(target, 100)
        else:
            target.write_bytes(content)
    number = "7" if case == "missing_number" else "0"
    runs = [[number], [number, "--raw"], [number, "--hex"]]
    if case != "missing_number":
        runs.append([])      # the listing
    for extra in runs:
        args = [str(target), *extra]
        out = subprocess.run([sys.executable, "-m", "wirecraft.cli", "follow", *args],
                             capture_output=True, text=True, timeout=60, env=ENV)
        assert out.returncode == 2, (args, out.stderr)
        assert len(out.stderr.splitlines()) == 1 and out.stderr.startswith("wirecraft: "), \
            (args, out.stderr)
        assert "Traceback" not in out.stderr and out.stdout == ""


def test_follow_truncated_capture_warns_in_one_line(tmp_path):
    path = tmp_path / "cut.pcap"
    long_stream_pcap(path, 20000)
    path.write_bytes(path.read_bytes()[:-700])      # the last record is cut short
    for args in ([str(path)], [str(path), "0"]):
        out = subprocess.run([sys.executable, "-m", "wirecraft.cli", "follow", *args],
                             capture_output=True, text=True, timeout=60, env=ENV)
        assert out.returncode == 0, out.stderr
        warns = [ln for ln in out.stderr.splitlines() if "cut short" in ln]
        assert len(warns) == 1 and warns[0].startswith("wirecraft: warning: "), out.stderr
        assert "Traceback" not in out.stderr and "for pkt in" not in out.stderr


def test_follow_into_a_closed_pipe_is_quiet(tmp_path):
    path = tmp_path / "long.pcap"
    long_stream_pcap(path, 2 << 20)
    proc = subprocess.Popen([sys.executable, "-m", "wirecraft.cli", "follow", str(path), "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    proc.stdout.read(1000)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert err == "", err
    assert ACK   # the helper constants are the ones the frames were built with
