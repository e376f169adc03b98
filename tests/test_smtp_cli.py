"""`wirecraft smtp FILE`: text, JSON lines and --extract."""

from __future__ import annotations

import json
import subprocess
import sys

from wirecraft import smtp

from conftest import REPO, WIRECRAFT_PATH


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wirecraft.cli", "smtp", *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO,
                          env={"PYTHONPATH": WIRECRAFT_PATH, "PATH": "/usr/bin:/bin"})


def test_json_lines_equal_the_library_records():
    pcap = REPO / "captures" / "zeek__smtp.pcap"
    out = _cli(str(pcap), "--json")
    assert out.returncode == 0, out.stderr
    got = [json.loads(line) for line in out.stdout.splitlines()]
    want = json.loads("[" + ",".join(smtp.transactions(pcap).to_json().splitlines()) + "]")
    assert got == want and len(got) == 2


def test_text_output_and_extract(tmp_path):
    pcap = REPO / "captures" / "zeek__smtp.pcap"
    out = _cli(str(pcap), "--extract", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "mail from    gurpartap@patriots.in" in out.stdout
    assert "attachment   NEWS.txt text/plain 10807 bytes" in out.stdout
    assert "2 message(s) written" in out.stderr
    files = sorted(tmp_path.iterdir())
    lib = smtp.extract(pcap, tmp_path / "lib")
    assert [f.read_bytes() for f in files if f.is_file()] == [p.read_bytes() for p in lib]


def test_bad_file_is_one_clear_error():
    out = _cli(str(REPO / "captures" / "SOURCES.md"))
    assert out.returncode == 2 and out.stderr.startswith("wirecraft: ")
    assert "Traceback" not in out.stderr
