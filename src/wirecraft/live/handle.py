"""Interfaces and libpcap handles: listing, opening (with the one-line errors the CLI
prints), dropping privileges, and the select-based reader a Sniffer pulls batches from."""

from __future__ import annotations

import os
import pwd
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import FilterError, PermissionDenied, WirecraftError
from .batch import RawBatch

EXIT_NO_PERMISSION = 77

PERMISSION_HINT = (
    "capturing needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode and buffer sizes): "
    "run with sudo, or grant them to the interpreter with "
    "`sudo setcap cap_net_raw,cap_net_admin=eip {python}`"
)

# libpcap status codes returned by pcap_activate (pcap/pcap.h)
_PCAP_ERRORS = {
    -1: "generic libpcap error",
    -4: "the handle is already activated",
    -5: "no such device",
    -6: "the device does not support monitor mode",
    -7: "the device is not in monitor mode",
    -8: "permission denied",
    -9: "the interface is not up",
    -10: "timestamp type not supported",
    -11: "timestamp precision not supported",
}
_PCAP_NO_SUCH_DEVICE = -5
_PCAP_PERM_DENIED = -8

#: default libpcap buffer timeout (ms): how long a partly filled kernel block
#: waits before it is handed over; `immediate=True` uses 1 ms.
BLOCK_TIMEOUT_MS = 100


class InterfaceError(WirecraftError):
    """The interface does not exist, is down, or libpcap could not open it."""


@dataclass
class LiveStats:
    """Counters of a live capture; tcpdump's three plus what wirecraft itself did.

    `received` and `dropped_kernel` come from libpcap (`ps_recv`, `ps_drop`):
    packets that passed the kernel filter, and those the kernel had to drop
    because the ring was full. `captured` packets were handed to the consumer;
    `dropped_wirecraft` were read from the ring and then discarded by wirecraft
    (a worker's result queue was full). `truncated` were cut by the snaplen;
    `wire_len_unknown` of those had no IP header to give their wire length.
    """

    captured: int = 0
    received: int = 0
    dropped_kernel: int = 0
    dropped_interface: int = 0
    dropped_wirecraft: int = 0
    bytes: int = 0
    truncated: int = 0
    wire_len_unknown: int = 0

    def __add__(self, other: LiveStats) -> LiveStats:
        return LiveStats(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Interface:
    """A capture device as libpcap lists it, with what Linux says about it."""

    name: str
    index: int | None
    up: bool
    mtu: int | None
    mac: str | None
    addresses: tuple[str, ...]


def interfaces() -> list[Interface]:
    """Devices libpcap can capture on, in libpcap's order, with state, MTU, MAC and addresses."""
    import pcapy

    names = pcapy.findalldevs()
    index = {name: i for i, name in socket.if_nameindex()}
    addrs = _addresses()
    out = []
    for name in names:
        sys_dir = Path("/sys/class/net") / name
        up = False
        mtu = mac = None
        if sys_dir.is_dir():
            try:
                up = bool(int((sys_dir / "flags").read_text(), 16) & 1)  # IFF_UP
                mtu = int((sys_dir / "mtu").read_text())
                mac = (sys_dir / "address").read_text().strip() or None
            except (OSError, ValueError):
                pass
        elif name == "any":
            up = True
        out.append(Interface(name, index.get(name), up, mtu, mac, tuple(addrs.get(name, ()))))
    return out


def _addresses() -> dict[str, list[str]]:
    """Interface addresses from `ip -j addr` when iproute2 is there (else none)."""
    import json
    import subprocess

    try:
        res = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, timeout=5)
        data = json.loads(res.stdout or "[]")
    except (OSError, ValueError, subprocess.SubprocessError):
        return {}
    return {
        d.get("ifname", ""): [f"{a['local']}/{a['prefixlen']}" for a in d.get("addr_info", [])
                              if "local" in a]
        for d in data
    }


# --------------------------------------------------------------------------- handles


def _python_path() -> str:
    import sys

    return os.path.realpath(sys.executable)


DIRECTIONS = ("inout", "in", "out")


def open_handle(iface: str, *, filter: str | None, snaplen: int, promisc: bool,
                immediate: bool, buffer_size: int | None, direction: str = "inout") -> Any:
    """An activated, filtered, non-blocking pcapy handle, or one clear WirecraftError.

    `direction` is tcpdump's -Q: "in" captures only what the interface receives (the
    kernel then does not copy outgoing packets to the capture at all), "out" only what
    it sends, "inout" both."""
    import pcapy

    if direction not in DIRECTIONS:
        raise WirecraftError(f"capture direction {direction!r}: use in, out or inout")

    try:
        handle = pcapy.create(iface)
        handle.set_snaplen(int(snaplen))
        handle.set_promisc(bool(promisc))
        # pcapy-ng 2.1 has no pcap_set_immediate_mode: a 1 ms buffer timeout
        # hands each kernel block over within a millisecond instead.
        handle.set_timeout(1 if immediate else BLOCK_TIMEOUT_MS)
        if buffer_size:
            handle.set_buffer_size(int(buffer_size))
        status = handle.activate()
    except pcapy.PcapError as exc:
        raise _classify(iface, str(exc)) from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise WirecraftError(f"{iface}: bad capture setting: {exc}") from None
    if status is not None and status < 0:
        handle.close()
    if status == _PCAP_PERM_DENIED:
        raise PermissionDenied(f"{iface}: permission denied; "
                               + PERMISSION_HINT.format(python=_python_path()))
    if status == _PCAP_NO_SUCH_DEVICE:
        raise InterfaceError(f"{iface}: no such interface (see `wirecraft interfaces`)")
    if status is not None and status < 0:
        raise InterfaceError(f"{iface}: cannot capture: {_PCAP_ERRORS.get(status, status)}")
    if direction != "inout":
        try:
            handle.setdirection(pcapy.PCAP_D_IN if direction == "in" else pcapy.PCAP_D_OUT)
        except pcapy.PcapError as exc:
            handle.close()
            raise InterfaceError(f"{iface}: cannot capture only {direction}: {exc}") from None
    if filter:
        try:
            handle.setfilter(filter)
        except pcapy.PcapError as exc:
            handle.close()
            raise FilterError(f"bad filter {filter!r}: {exc}") from None
    handle.setnonblock(1)
    return handle


def _classify(iface: str, message: str) -> WirecraftError:
    low = message.lower()
    if "permission" in low or "not permitted" in low:
        return PermissionDenied(f"{iface}: {message}; "
                                + PERMISSION_HINT.format(python=_python_path()))
    if "no such device" in low or "doesn't exist" in low:
        return InterfaceError(f"{iface}: no such interface (see `wirecraft interfaces`)")
    return InterfaceError(f"{iface}: {message}")


def drop_privileges(user: str) -> None:
    """Become `user` (its uid, primary gid and groups): the -Z of tcpdump."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        try:
            entry = pwd.getpwuid(int(user))
        except (ValueError, KeyError):
            raise WirecraftError(f"-Z {user}: no such user") from None
    if os.geteuid() != 0:
        if os.geteuid() == entry.pw_uid:
            return
        raise PermissionDenied(f"-Z {user}: only root can change user")
    os.initgroups(entry.pw_name, entry.pw_gid)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)


class _Waker:
    """A pipe that a thread or signal handler writes to so a select() returns at once."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe()
        os.set_blocking(self.r, False)
        os.set_blocking(self.w, False)

    def wake(self) -> None:
        if self.w < 0:
            return
        try:
            os.write(self.w, b"x")
        except OSError:
            pass  # already signalled (pipe full)

    def close(self) -> None:
        fds, self.r, self.w = (self.r, self.w), -1, -1
        for fd in fds:
            if fd >= 0:
                os.close(fd)


class _Reader:
    """One handle's read loop: select on (capture fd, waker), next_batch, drain on stop."""

    def __init__(self, handle: Any, snaplen: int, batch: int, block_timeout: float) -> None:
        self.handle = handle
        self.snaplen = snaplen
        self.batch = max(1, int(batch))
        self.linktype = handle.datalink()
        self.fd = handle.getfd()
        self.block_timeout = block_timeout
        self.lock = threading.Lock()
        self.closed = False
        self._kernel = (0, 0, 0)

    def read(self) -> RawBatch | None:
        with self.lock:
            if self.closed:
                return None
            data, meta = self.handle.next_batch(self.batch)
        if not meta:
            return None
        return RawBatch(data, meta, self.linktype, self.snaplen)

    def kernel_stats(self) -> tuple[int, int, int]:
        with self.lock:
            if not self.closed:
                try:
                    self._kernel = tuple(self.handle.stats())  # type: ignore[assignment]
                except Exception:  # noqa: BLE001 - a closed or failing handle keeps its last counts
                    pass
            return self._kernel

    def batches(self, stop: Callable[[], bool], waker_fd: int,
                deadline: float | None) -> Iterator[RawBatch]:
        """Raw batches until stop() or the deadline; then what the ring still holds."""
        full = False
        while not stop():
            if not full:
                wait = 1.0
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        break
                try:
                    ready, _, _ = select.select([self.fd, waker_fd], [], [], wait)
                except (OSError, ValueError):  # closed under us by close() in another thread
                    return
                if waker_fd in ready and stop():
                    break
            elif deadline is not None and time.monotonic() >= deadline:
                break
            raw = self.read()
            full = raw is not None and len(raw) == self.batch
            if raw is not None:
                yield raw
        # drain: packets already in the ring, including the block the kernel
        # hands over after at most one buffer timeout
        end = time.monotonic() + self.block_timeout + 0.05
        while True:
            raw = self.read()
            if raw is not None:
                yield raw
                continue
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                select.select([self.fd], [], [], left)
            except (OSError, ValueError):
                break

    def close(self) -> None:
        self.kernel_stats()
        with self.lock:
            if not self.closed:
                self.closed = True
                self.handle.close()


