"""Every code snippet in README.md runs as written.

Python blocks run one by one, each in a fresh interpreter, from a directory that has the
repository's `captures/` (the paths the README uses). Shell blocks run line by line; the
live ones (sniff, send, replay on `eth0`/`veth0`) run inside a network namespace made
here, where `veth0` and `eth0` are the two ends of one veth pair, so nothing leaves the
machine. The only block not run is the first, `./dev demo` / `./dev test`: it is the
setup and the test run themselves (CI runs `./dev test`); its commands are checked to
exist in `./dev` instead. ```text blocks are synopses, not commands.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO, WIRECRAFT_PATH, require_root, require_tool

README = (REPO / "README.md").read_text()
BLOCKS = [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w+)\n(.*?)```", README, re.S)]
LIVE = re.compile(r"\b(eth0|veth0)\b")
# a DNS query to 10.0.0.2:53 (the README's own crafting example), fed to the live snippets
DNS_FRAME = ("02000000000202000000000108004500003d00070000401166a70a0000010a00000214e90035"
             "002979eb12340100000100000000000003777777076578616d706c6503636f6d0000010001")


def blocks(lang: str) -> list[str]:
    return [body for kind, body in BLOCKS if kind == lang]


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "captures").symlink_to(REPO / "captures")
    shim = tmp_path / "bin"
    shim.mkdir()
    cli = shim / "wirecraft"  # the console script, for the interpreter under test
    cli.write_text(f"#!/bin/sh\nexec {sys.executable} -m wirecraft \"$@\"\n")
    cli.chmod(0o755)
    return tmp_path


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=WIRECRAFT_PATH)
    env["PATH"] = f"{workdir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_readme_has_the_blocks_this_test_knows() -> None:
    kinds = [k for k, _ in BLOCKS]
    assert set(kinds) <= {"sh", "python", "text"}, kinds
    assert len(blocks("python")) >= 5 and len(blocks("sh")) >= 2


def test_the_two_commands_exist() -> None:
    first = blocks("sh")[0]
    commands = [ln.split("#")[0].split() for ln in first.splitlines() if ln.strip()]
    assert [c[:2] for c in commands] == [["./dev", "demo"], ["./dev", "test"]]
    dev = (REPO / "dev").read_text()
    for _, sub in commands:
        assert re.search(rf"^\s+{sub}\)$", dev, re.M), f"./dev has no `{sub})` case"


def _offline_python() -> list[tuple[int, str]]:
    return [(i, b) for i, b in enumerate(blocks("python")) if not LIVE.search(b)]


@pytest.mark.parametrize("index,code", _offline_python(), ids=lambda v: str(v)[:20])
def test_python_snippet_runs(index: int, code: str, workdir: Path) -> None:
    r = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=_env(workdir),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"README python block {index}:\n{code}\n{r.stderr}"
    assert "Traceback" not in r.stderr


def test_development_commands_are_documented() -> None:
    """The development block's ./dev commands are ones ./dev knows (the block itself runs
    builds, lint and wheels for minutes: test_packaging and test_bench_run cover those)."""
    dev = (REPO / "dev").read_text()
    dev_blocks = [b for b in blocks("sh") if "./dev build" in b]
    assert dev_blocks, "README has no development block"
    for line in dev_blocks[0].splitlines():
        words = line.split("#")[0].split()
        if words[:1] == ["./dev"]:
            assert re.search(rf"^\s+{words[1]}\)$", dev, re.M), line
            for flag in (w for w in words[2:] if w.startswith("--")):
                assert flag in dev, f"./dev {words[1]} has no {flag}"
        elif words:
            assert words[0].startswith(".venv/bin/"), line


class _Netns:
    """One namespace with a veth pair named veth0/eth0 (both ends inside), lo up."""

    def __init__(self) -> None:
        self.name = f"wcrd{uuid.uuid4().hex[:8]}"

    def __enter__(self) -> _Netns:
        require_root()
        require_tool("ip")
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=30)
        for cmd in (["link", "set", "lo", "up"],
                    ["link", "add", "veth0", "type", "veth", "peer", "name", "eth0"],
                    ["link", "set", "veth0", "up"], ["link", "set", "eth0", "up"]):
            subprocess.run(["ip", "-n", self.name, *cmd], check=True, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "del", self.name], timeout=30)

    def argv(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *cmd]


@pytest.fixture()
def netns() -> Iterator[_Netns]:
    with _Netns() as ns:
        yield ns


def _shell_lines(block: str) -> list[str]:
    joined = block.replace("\\\n", "")
    return [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.startswith("#")]


def _sender(netns: _Netns, workdir: Path, seconds: float) -> subprocess.Popen:
    """DNS frames on veth0 (they arrive on eth0) while a live snippet listens."""
    return subprocess.Popen(netns.argv(sys.executable, "-m", "wirecraft", "send", "-i",
                                       "veth0", "--pps", "500", "-c", str(int(500 * seconds)),
                                       "--hex", DNS_FRAME),
                            cwd=workdir, env=_env(workdir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def test_live_shell_snippet_runs_in_a_netns(netns: _Netns, workdir: Path) -> None:
    live = [b for b in blocks("sh") if LIVE.search(b)]
    assert live
    sender = _sender(netns, workdir, 20)
    try:
        for line in (ln for b in live for ln in _shell_lines(b)):
            # `ip netns exec` execs the command itself: the signal below reaches wirecraft
            proc = subprocess.Popen(netns.argv(*shlex.split(line)), cwd=workdir,
                                    env=_env(workdir), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            endless = line.startswith("wirecraft sniff") and " -c " not in line
            try:
                out, err = proc.communicate(timeout=4 if endless else 180)
            except subprocess.TimeoutExpired:
                # a capture without -c runs until Ctrl-C, as it does for a user
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, f"{line}\n{err}"
            assert "Traceback" not in err, err
            if line.startswith("wirecraft interfaces"):
                assert "eth0" in out and "veth0" in out
            if " -w out.pcap" in line:
                assert list(workdir.glob("out.pcap*")), "sniff -w wrote no file"
    finally:
        sender.kill()
        sender.wait(timeout=30)


def test_live_python_snippet_runs_in_a_netns(netns: _Netns, workdir: Path) -> None:
    live = [b for b in blocks("python") if LIVE.search(b)]
    assert live
    for code in live:
        sender = _sender(netns, workdir, 20)
        try:
            r = subprocess.run(netns.argv(sys.executable, "-c", code), cwd=workdir,
                               env=_env(workdir), capture_output=True, text=True, timeout=120)
        finally:
            sender.kill()
            sender.wait(timeout=30)
        assert r.returncode == 0, f"{code}\n{r.stderr}"
        assert r.stdout.count("www.example.com") >= 100 - 1, r.stdout[-500:]
