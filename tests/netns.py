"""Network namespaces joined by a veth pair, for live tests that touch no real network.

    with VethPair() as pair:          # two namespaces, unique names, removed on exit
        pair.run("a", ["ping", "-c1", pair.addr_b])
        proc = pair.popen("b", ["python", "-m", "aiosmtpd", ...])

Addresses come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking) and
fd00:5757::/64, and exist only inside the two namespaces.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import uuid
from collections.abc import Sequence

from conftest import require_root, require_tool

_counter = itertools.count(1)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class VethPair:
    """Namespaces `a` and `b` with veth ends `iface_a`/`iface_b`, IPv4 and IPv6 up."""

    def __init__(self, mtu: int = 1500) -> None:
        require_root()
        require_tool("ip")
        tag = f"{os.getpid() % 10000}{next(_counter)}{uuid.uuid4().hex[:4]}"
        self.ns = {"a": f"wca{tag}", "b": f"wcb{tag}"}
        self.iface_a = "wcva"
        self.iface_b = "wcvb"
        self.addr_a = "198.18.0.1"
        self.addr_b = "198.18.0.2"
        self.addr6_a = "fd00:5757::1"
        self.addr6_b = "fd00:5757::2"
        self.mtu = mtu
        self._created: list[str] = []

    def __enter__(self) -> VethPair:
        try:
            for side in ("a", "b"):
                _ip("netns", "add", self.ns[side])
                self._created.append(self.ns[side])
                _ip("-n", self.ns[side], "link", "set", "lo", "up")
            _ip("-n", self.ns["a"], "link", "add", self.iface_a, "mtu", str(self.mtu), "type",
                "veth", "peer", "name", self.iface_b, "netns", self.ns["b"])
            _ip("-n", self.ns["b"], "link", "set", self.iface_b, "mtu", str(self.mtu))
            for side, iface, a4, a6 in (("a", self.iface_a, self.addr_a, self.addr6_a),
                                        ("b", self.iface_b, self.addr_b, self.addr6_b)):
                ns = self.ns[side]
                _ip("-n", ns, "addr", "add", f"{a4}/24", "dev", iface)
                _ip("-n", ns, "-6", "addr", "add", f"{a6}/64", "dev", iface, "nodad")
                _ip("-n", ns, "link", "set", iface, "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the namespaces (their veth ends and processes' sockets go with them)."""
        for ns in self._created:
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True,
                                  text=True, timeout=30).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
        self._created.clear()

    def cmd(self, side: str, argv: Sequence[str]) -> list[str]:
        """argv prefixed so that it runs inside namespace `side`."""
        return ["ip", "netns", "exec", self.ns[side], *argv]

    def run(self, side: str, argv: Sequence[str], timeout: float = 60,
            **kw: object) -> subprocess.CompletedProcess:
        return subprocess.run(self.cmd(side, argv), timeout=timeout, **kw)  # type: ignore[arg-type]

    def popen(self, side: str, argv: Sequence[str], **kw: object) -> subprocess.Popen:
        return subprocess.Popen(self.cmd(side, argv), **kw)  # type: ignore[arg-type]
