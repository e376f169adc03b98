"""Live capture from a network interface through libpcap (pcapy-ng).

    with wirecraft.sniff("eth0", filter="udp port 53", count=100) as s:
        for pkt in s:                        # Packet views, as when reading a file
            print(pkt.ip.src, pkt.udp.dst_port)
    print(s.stats())                         # captured, received, dropped ...

    for table in wirecraft.sniff("any", timeout=5).batches():   # Tables, one per read
        print(len(table), table["wire_len"].sum())

    wirecraft.sniff("eth0", count=10, callback=print)           # callback form

The engine opens the handle with `pcapy.create` + `activate`, puts it in
non-blocking mode and waits with `select` on its descriptor and on a wake-up
pipe, so `stop()` from another thread (or a signal handler) ends a capture at
once, however quiet the link. Each read is one `next_batch(batch)` call: Python
crosses into C once per batch, not per packet.

Wire length and truncation (pcapy-ng's batch metadata has no original length):
libpcap on Linux (TPACKET_V3, 256 KiB frames) cuts a packet only at the
snapshot length, so a record with ``caplen < snaplen`` is whole and its wire
length is its caplen. For a record that reaches the snaplen the wire length is
read from the packet itself: the link header length plus the IPv4 total length
(or 40 + the IPv6 payload length), as found by the batch decoder. A record cut
at the snaplen whose length cannot be inferred (not IP, or the IP header
itself cut) keeps ``wire_len == caplen`` and is counted in
``LiveStats.wire_len_unknown``: nothing is invented. The alternative, reading
libpcap's own header through `next()` / `dispatch()`, costs one Python call
per packet. Measured on this 2-core machine over 500,000 packets of 74 bytes
(pcapy-ng 2.1.0, bundled libpcap 1.9.1): `next_batch(128)` 15.5 Mpkt/s,
`next_batch(256)` 16.1 Mpkt/s, `next()` + `getlen()` 1.87 Mpkt/s, `dispatch`
with a callback 1.91 Mpkt/s -- an eight-fold cost on the read path for an
answer that the inference gives exactly for IP traffic. The inference costs
one extra decode of a batch only when one of its records reaches the snaplen:
decoding 128-record batches of those 74-byte frames runs at 7.3 Mpkt/s whole
and 2.4 Mpkt/s when every frame is cut at 64 bytes (still above `next()` alone).
tests/test_live_engine.py checks the inferred lengths against libpcap's headers,
read with `next()` from a second handle on the same live traffic (IPv4, IPv6,
802.1Q, TCP segments larger than the MTU, non-IP frames), and against the
recorded lengths of every sample capture cut at 64, 96 and 200 bytes.

With `workers > 1` (see `Sniffer.results`) the handles join one
PACKET_FANOUT_HASH group and each is read by its own forked process.
"""

from __future__ import annotations

import os
import pwd
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FilterError, PermissionDenied, WirecraftError
from .flags import Anomaly

__all__ = [
    "EXIT_NO_PERMISSION",
    "Interface",
    "InterfaceError",
    "LiveStats",
    "RawBatch",
    "Sniffer",
    "drop_privileges",
    "interfaces",
    "sniff",
]

#: exit status of `wirecraft sniff` without CAP_NET_RAW (sysexits.h EX_NOPERM)
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

META_DTYPE = np.dtype([("sec", "=u4"), ("usec", "=u4"), ("offset", "=u4"), ("caplen", "=u4")])

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


# --------------------------------------------------------------------------- batches


def _capture_module() -> Any:
    """wirecraft.capture (the shared batch decoder); imported on first decode."""
    from . import capture

    return capture


class RawBatch:
    """One `next_batch` read: the frames' bytes and libpcap's 16-byte records.

    Wire lengths are inferred (see the module docstring) the first time they are
    needed; `decode()` gives the decoded `Batch` of the shared core decoder.
    """

    __slots__ = ("data", "meta", "linktype", "snaplen", "first_index", "_wire", "_batch",
                 "_unknown")

    def __init__(self, data: bytes, meta: bytes, linktype: int, snaplen: int,
                 first_index: int = 0) -> None:
        self.first_index = first_index
        self.data = data
        self.meta = meta
        self.linktype = linktype
        self.snaplen = snaplen
        self._wire: np.ndarray | None = None
        self._batch: Any = None
        self._unknown = 0

    def __len__(self) -> int:
        return len(self.meta) // 16

    def __getstate__(self) -> tuple:
        # sent from a worker to the parent: frames and lengths, not the decoded batch
        return (self.data, self.meta, self.linktype, self.snaplen, self.first_index,
                self.wire_lens().tobytes(), self._unknown)

    def __setstate__(self, state: tuple) -> None:
        (self.data, self.meta, self.linktype, self.snaplen, self.first_index, wire,
         self._unknown) = state
        self._wire = np.frombuffer(wire, dtype=np.uint32)
        self._batch = None

    def head(self, n: int) -> RawBatch:
        """The first n records (the frames' bytes are shared)."""
        return RawBatch(self.data, self.meta[: 16 * n], self.linktype, self.snaplen,
                        self.first_index)

    def records(self) -> np.ndarray:
        """libpcap's records as a structured array (sec, usec, offset, caplen)."""
        return np.frombuffer(self.meta, dtype=META_DTYPE)

    def ts_ns(self) -> np.ndarray:
        rec = self.records()
        return rec["sec"].astype(np.int64) * 1_000_000_000 + rec["usec"].astype(np.int64) * 1000

    def may_be_cut(self) -> np.ndarray:
        """Boolean mask of records that reach the snaplen (the only ones libpcap cut)."""
        return self.records()["caplen"] >= self.snaplen

    def wire_lens(self) -> np.ndarray:
        """True wire length of each record (uint32); see the module docstring."""
        if self._wire is None:
            self._infer()
        assert self._wire is not None
        return self._wire

    @property
    def wire_len_unknown(self) -> int:
        """Records cut at the snaplen whose wire length could not be inferred."""
        if self._wire is None:
            self._infer()
        return self._unknown

    def _infer(self) -> None:
        caplen = self.records()["caplen"].astype(np.uint32)
        cut = caplen >= self.snaplen
        if not cut.any():
            self._wire = caplen
            return
        cap = _capture_module()
        first = cap.batch_from_pcapy(self.data, self.meta, self.linktype,
                                     first_index=self.first_index)
        inferred = _wire_from_records(first, len(caplen))
        wire = np.where(cut, np.maximum(inferred, caplen), caplen).astype(np.uint32)
        self._unknown = int((cut & (inferred == 0)).sum())
        self._wire = wire
        if (wire != caplen).any():
            self._batch = cap.batch_from_pcapy(self.data, self.meta, self.linktype,
                                               wire_lens=wire, first_index=self.first_index)
        else:
            self._batch = first

    def decode(self) -> Any:
        """The decoded `Batch` (Packet views by index, `.table()` for columns)."""
        if self._batch is None:
            if self._wire is None:
                self._infer()
        if self._batch is None:
            wire = self.wire_lens()
            known = wire if (wire != self.records()["caplen"]).any() else None
            self._batch = _capture_module().batch_from_pcapy(
                self.data, self.meta, self.linktype, wire_lens=known,
                first_index=self.first_index)
        return self._batch

    def frames(self) -> Iterator[tuple[memoryview, int, int]]:
        """(frame bytes, ts_ns, wire_len) for each record, for writers."""
        view = memoryview(self.data)
        rec = self.records()
        ts = self.ts_ns().tolist()
        wire = self.wire_lens().tolist()
        for i, (off, cap) in enumerate(zip(rec["offset"].tolist(), rec["caplen"].tolist(),
                                           strict=True)):
            yield view[off:off + cap], ts[i], wire[i]


_RECORD_DTYPE: np.dtype | None = None


def _record_dtype() -> np.dtype:
    """numpy view of the core decoder's rec_t (field names, offsets, size from _core)."""
    global _RECORD_DTYPE
    if _RECORD_DTYPE is None:
        from . import _ext

        core = _ext.load("_core")
        names, offsets, formats = zip(*core.record_fields(), strict=True)
        _RECORD_DTYPE = np.dtype({"names": list(names), "formats": list(formats),
                                  "offsets": list(offsets), "itemsize": core.record_size()})
    return _RECORD_DTYPE


def _wire_from_records(batch: Any, n: int) -> np.ndarray:
    """Wire lengths from the decoded IP headers: link header + IP datagram length; 0 if unknown.

    The decoder's `ip_total_length` is the IPv4 total length, or 40 + the IPv6
    payload length (a jumbogram's length lives in an option: unknown here);
    `l3_offset` is where the IP header starts (after any VLAN tags).
    """
    rec = np.frombuffer(batch.record_bytes(), dtype=_record_dtype(), count=n)
    version = rec["ip_version"]
    total = rec["ip_total_length"].astype(np.int64)
    ok = ((version == 4) & (total >= 20)) | (
        (version == 6) & (total >= 40) & ((rec["anomalies"] & int(Anomaly.IP6_JUMBO)) == 0))
    return np.where(ok, rec["l3_offset"].astype(np.int64) + total, 0)


# --------------------------------------------------------------------------- handles


def _python_path() -> str:
    import sys

    return os.path.realpath(sys.executable)


def open_handle(iface: str, *, filter: str | None, snaplen: int, promisc: bool,
                immediate: bool, buffer_size: int | None) -> Any:
    """An activated, filtered, non-blocking pcapy handle, or one clear WirecraftError."""
    import pcapy

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


# --------------------------------------------------------------------------- sniffer


class Sniffer:
    """A live capture: iterate for Packets, `.batches()` for Tables, `.stop()` from anywhere.

    The handle is opened when the Sniffer is made (so a bad interface, filter or
    missing privilege raises at once); `close()` (or leaving the `with` block)
    releases it. `count` and `timeout` (seconds) bound the capture.
    """

    def __init__(self, iface: str, filter: str | None = None, count: int | None = None,
                 timeout: float | None = None, snaplen: int = 262144, promisc: bool = True,
                 immediate: bool = False, buffer_size: int | None = None, batch: int = 128,
                 workers: int = 1, handler: Callable[[RawBatch], Any] | None = None,
                 user: str | None = None) -> None:
        self.iface = iface
        self.filter = filter
        self.count = count if count and count > 0 else None
        self.timeout = timeout
        self.snaplen = int(snaplen) if snaplen and snaplen > 0 else 262144
        self.batch = int(batch)
        self.workers = max(1, int(workers))
        self.handler = handler
        self._stopped = threading.Event()
        self._waker = _Waker()
        self._stats = LiveStats()
        self._done = threading.Event()
        block_timeout = (1 if immediate else BLOCK_TIMEOUT_MS) / 1000
        handles = []
        try:
            for _ in range(self.workers):
                handles.append(open_handle(iface, filter=filter, snaplen=self.snaplen,
                                           promisc=promisc, immediate=immediate,
                                           buffer_size=buffer_size))
            if self.workers > 1:
                import pcapy

                group = (os.getpid() ^ id(self)) & 0xFFFF
                for h in handles:
                    h.set_fanout(group, pcapy.PACKET_FANOUT_HASH)
        except BaseException:
            for h in handles:
                h.close()
            self._waker.close()
            raise
        self._readers = [_Reader(h, self.snaplen, self.batch, block_timeout) for h in handles]
        self.linktype: int = self._readers[0].linktype
        self._pool: _WorkerPool | None = None
        if self.workers > 1:
            self._pool = _WorkerPool(self._readers, self.count)
        if user is not None:
            _capture_module()  # the decoder and its numpy view, loaded while readable
            _record_dtype()
            try:
                drop_privileges(user)
            except BaseException:
                self.close()
                raise

    # -- control
    def stop(self) -> None:
        """End the capture soon (safe from another thread or a signal handler)."""
        self._stopped.set()
        self._waker.wake()
        if self._pool is not None:
            self._pool.stop()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stats(self) -> LiveStats:
        """Counters so far (kernel counters are read from libpcap now)."""
        if self._pool is not None:  # the workers own the handles' counters
            return self._pool.stats()
        s = LiveStats(**self._stats.as_dict())
        for r in self._readers:
            recv, drop, ifdrop = r.kernel_stats()
            s.received += recv
            s.dropped_kernel += drop
            s.dropped_interface += ifdrop
        return s

    def close(self) -> None:
        """Stop and release the handles (idempotent)."""
        self.stop()
        if self._pool is not None:
            self._pool.join()
        for r in self._readers:
            r.close()
        self._waker.close()

    def __enter__(self) -> Sniffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading
    def raw_batches(self) -> Iterator[RawBatch]:
        """Undecoded batches (one `next_batch` read each), bounded by count and timeout."""
        if self.workers > 1:
            # the workers read and count; their batches come here to be decoded
            index = 0
            for raw in self._pool_results(_identity):
                raw.first_index = index  # one numbering across the workers
                index += len(raw)
                yield raw
            return
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        reader = self._readers[0]
        try:
            for raw in reader.batches(self._stopped.is_set, self._waker.r, deadline):
                raw.first_index = self._stats.captured
                if self.count is not None:
                    left = self.count - self._stats.captured
                    if left <= 0:
                        self._stopped.set()
                        break
                    if len(raw) >= left:
                        raw = raw.head(left)
                        self._account(raw)
                        yield raw
                        self._stopped.set()
                        break
                self._account(raw)
                yield raw
        finally:
            self._done.set()
            reader.kernel_stats()

    def _account(self, raw: RawBatch) -> None:
        s = self._stats
        s.captured += len(raw)
        rec = raw.records()
        s.bytes += int(rec["caplen"].sum())
        cut = raw.may_be_cut()
        if cut.any():
            wire = raw.wire_lens()
            s.truncated += int((wire > rec["caplen"]).sum())
            s.wire_len_unknown += raw.wire_len_unknown

    def packet_batches(self) -> Iterator[Any]:
        """Decoded `Batch`es (index or iterate them for Packet views)."""
        for raw in self.raw_batches():
            yield raw.decode()

    def batches(self) -> Iterator[Any]:
        """One `Table` per read: the same columns as `wirecraft.open(path).table()`."""
        from .table import Table

        for batch in self.packet_batches():
            yield Table.from_batches([batch])

    def __iter__(self) -> Iterator[Any]:
        for batch in self.packet_batches():
            yield from batch

    def run(self, callback: Callable[[Any], Any]) -> LiveStats:
        """Call `callback(packet)` for each packet until the capture ends; return the stats."""
        for pkt in self:
            callback(pkt)
        return self.stats()

    # -- workers
    def results(self) -> Iterator[Any]:
        """Each `handler(raw_batch)` result, from this process or from the workers.

        With `workers > 1` every handle has its own process (forked after the
        handles are opened and joined in one PACKET_FANOUT_HASH group, so a flow
        stays with one worker); the handler runs there and its (picklable) results
        come back here in arrival order. A handler with a `finish()` method has it
        called once at the end, and its result is yielded too.
        """
        handler = self.handler
        if handler is None:
            raise WirecraftError("results() needs a handler")
        if self.workers == 1:
            for raw in self.raw_batches():
                out = handler(raw)
                if out is not None:
                    yield out
            finish = getattr(handler, "finish", None)
            if finish is not None:
                out = finish()
                if out is not None:
                    yield out
            return
        yield from self._pool_results(handler)

    def _pool_results(self, handler: Callable[[RawBatch], Any]) -> Iterator[Any]:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        self._pool.start(handler, deadline)
        if self._stopped.is_set():
            self._pool.stop()
        try:
            yield from self._pool.results()
        finally:
            self._pool.join()
            self._done.set()


def _identity(raw: RawBatch) -> RawBatch:
    return raw


_PR_SET_PDEATHSIG = 1
_libc: Any = None


def _load_libc() -> Any:
    """libc through ctypes, loaded while the library is still readable (before -Z)."""
    global _libc
    if _libc is None:
        try:
            import ctypes

            _libc = ctypes.CDLL(None, use_errno=True)
        except (ImportError, OSError):
            _libc = False
    return _libc


def _die_with_parent(parent: int) -> None:
    """In a freshly forked worker: be killed (SIGKILL) when `parent` exits.

    PR_SET_PDEATHSIG (Linux) has the kernel send the signal when the thread that
    forked us ends, which for a worker pool is the thread that runs the capture.
    A parent that died before the call is caught by comparing getppid().
    """
    libc = _load_libc()
    if libc:
        try:
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (AttributeError, OSError):
            pass
    if os.getppid() != parent:
        os._exit(1)


def _watch_parent(parent: int, life_fd: int) -> None:
    """Defence in depth behind PR_SET_PDEATHSIG: exit once the parent is gone.

    Runs in a daemon thread of each worker. `life_fd` is the read end of a pipe
    whose write end only the parent holds, so it turns readable (EOF) when the
    parent dies; getppid() is checked every half second as well, in case another
    process inherited the write end. Whatever the main thread is blocked on (a
    full queue, a handler), the worker ends: its results had nowhere to go.
    """
    while True:
        try:
            ready, _, _ = select.select([life_fd], [], [], 0.5)
        except (OSError, ValueError):
            ready = []
            time.sleep(0.5)
        if ready or os.getppid() != parent:
            os._exit(1)


# how long a worker waits to hand over its last result and counters to a parent
# that is alive but not reading (the parent's join() kills it after 5 s anyway)
_FINAL_PUT_WAIT = 10.0


class _WorkerPool:
    """One forked process per fanout handle; each runs the handler, the parent merges.

    The handles were opened and joined to the fanout group before the fork, so
    errors surface in the parent and privileges can be dropped once for all.
    Workers ignore SIGINT (the terminal sends it to the whole process group) and
    stop when the parent writes to a shared pipe; each then drains its ring,
    calls `handler.finish()` and sends its final counters. `count` is shared: a
    worker reserves packets from a common counter before handing them over.

    Workers never outlive the parent: each asks for SIGKILL on the parent's death
    (PR_SET_PDEATHSIG) right after the fork, and a thread of its own also watches
    a pipe that only the parent holds open and getppid(). No put on the result
    queue blocks for long: a result the parent does not take within a second is
    dropped and counted in `dropped_wirecraft`.
    """

    def __init__(self, readers: list[_Reader], count: int | None) -> None:
        # made with the Sniffer, before any privilege drop: these imports read the library
        import multiprocessing as mp
        import multiprocessing.popen_fork  # noqa: F401
        import queue  # noqa: F401

        self.ctx = mp.get_context("fork")
        self.readers = readers
        self.queue = self.ctx.Queue(maxsize=64 * len(readers))
        self.taken = self.ctx.Value("q", 0)
        self.count = count
        self.stop_r, self.stop_w = os.pipe()
        # only the parent keeps life_w: the workers see EOF on life_r when it dies
        self.life_r, self.life_w = os.pipe()
        self.parent = os.getpid()
        _load_libc()
        self.latest: dict[int, LiveStats] = {i: LiveStats() for i in range(len(readers))}
        self.done: set[int] = set()
        self.errors: list[str] = []
        self.procs: list[Any] = []
        self.started = False

    def start(self, handler: Callable[[RawBatch], Any], deadline: float | None) -> None:
        """Fork one worker per handle (once)."""
        if self.started:
            raise WirecraftError("this capture has already run")
        self.started = True
        for i, reader in enumerate(self.readers):
            proc = self.ctx.Process(target=self._work, args=(i, reader, handler, deadline),
                                    name=f"wirecraft-sniff-{i}", daemon=True)
            proc.start()
            self.procs.append(proc)
        os.close(self.stop_r)
        self.stop_r = -1
        os.close(self.life_r)
        self.life_r = -1

    # -- in the worker
    def _work(self, i: int, reader: _Reader, handler: Callable[[RawBatch], Any],
              deadline: float | None) -> None:
        import queue as queue_mod  # imported in __init__, before any privilege drop

        parent = self.parent
        _die_with_parent(parent)
        os.close(self.life_w)
        threading.Thread(target=_watch_parent, args=(parent, self.life_r),
                         name="wirecraft-parent-watch", daemon=True).start()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(self.stop_w)
        stats = LiveStats()
        stopping = False

        def stop() -> bool:
            return (stopping or os.getppid() != parent
                    or bool(select.select([self.stop_r], [], [], 0)[0]))

        def put(item: tuple, wait: float) -> bool:
            """Queue item within `wait` seconds; False when the parent is not draining."""
            end = time.monotonic() + wait
            while True:
                try:
                    self.queue.put(item, timeout=min(0.25, max(end - time.monotonic(), 0.0)))
                    return True
                except queue_mod.Full:
                    if os.getppid() != parent:
                        os._exit(1)  # nobody will ever read it
                    if time.monotonic() >= end:
                        return False

        def report(kind: str) -> None:
            recv, drop, ifdrop = reader.kernel_stats()
            snap = LiveStats(**stats.as_dict())
            snap.received, snap.dropped_kernel, snap.dropped_interface = recv, drop, ifdrop
            # progress reports can wait for the next one; the last one matters more
            put((kind, i, snap), 0.1 if kind == "stats" else _FINAL_PUT_WAIT)

        try:
            last = time.monotonic()
            for raw in reader.batches(stop, self.stop_r, deadline):
                if self.count is not None:
                    with self.taken.get_lock():
                        take = min(len(raw), self.count - self.taken.value)
                        self.taken.value += take
                    if take < len(raw):
                        stopping = True
                        if take <= 0:
                            continue
                        raw = raw.head(take)
                raw.first_index = stats.captured
                stats.captured += len(raw)
                rec = raw.records()
                stats.bytes += int(rec["caplen"].sum())
                if raw.may_be_cut().any():
                    stats.truncated += int((raw.wire_lens() > rec["caplen"]).sum())
                    stats.wire_len_unknown += raw.wire_len_unknown
                out = handler(raw)
                if out is not None and not put(("result", i, out), 1.0):
                    stats.dropped_wirecraft += len(raw)  # the parent is not keeping up
                now = time.monotonic()
                if now - last > 0.5:
                    last = now
                    report("stats")
            finish = getattr(handler, "finish", None)
            if finish is not None:
                out = finish()
                if out is not None:
                    # no packets in it to count; join() kills a worker still here after 5 s
                    put(("result", i, out), _FINAL_PUT_WAIT)
            report("done")
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
            put(("error", i, f"worker {i}: {type(exc).__name__}: {exc}"), _FINAL_PUT_WAIT)
        finally:
            self.queue.close()
            if os.getppid() != parent:
                self.queue.cancel_join_thread()  # the pipe has no reader any more
            else:
                self.queue.join_thread()  # bounded: the watcher ends us if the parent dies
            os._exit(0)

    # -- in the parent
    def stop(self) -> None:
        if self.stop_w < 0:
            return
        try:
            os.write(self.stop_w, b"x")
        except OSError:
            pass  # the pipe is full: already stopping

    def stats(self) -> LiveStats:
        total = LiveStats()
        for s in self.latest.values():
            total = total + s
        return total

    def results(self) -> Iterator[Any]:
        import queue as queue_mod

        while len(self.done) < len(self.procs):
            try:
                kind, i, payload = self.queue.get(timeout=0.2)
            except queue_mod.Empty:
                for i, proc in enumerate(self.procs):
                    if i not in self.done and not proc.is_alive() and self.queue.empty():
                        self.done.add(i)
                        self.errors.append(f"worker {i} exited with status {proc.exitcode}")
                continue
            if self.count is not None and self.taken.value >= self.count:
                self.stop()
            if kind == "result":
                yield payload
            elif kind == "stats":
                self.latest[i] = payload
            elif kind == "done":
                self.latest[i] = payload
                self.done.add(i)
            elif kind == "error":
                self.errors.append(payload)
                self.done.add(i)
        if self.errors:
            raise WirecraftError("; ".join(self.errors))

    def join(self) -> None:
        self.stop()
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        fds = (self.stop_r, self.stop_w, self.life_r, self.life_w)
        self.stop_r = self.stop_w = self.life_r = self.life_w = -1
        for fd in fds:
            if fd >= 0:
                os.close(fd)


def sniff(iface: str, filter: str | None = None, count: int | None = None,
          timeout: float | None = None, snaplen: int = 262144, promisc: bool = True,
          immediate: bool = False, buffer_size: int | None = None, batch: int = 128,
          callback: Callable[[Any], Any] | None = None, workers: int = 1,
          handler: Callable[[RawBatch], Any] | None = None) -> Sniffer:
    """Capture on `iface` ("any" for all): a `Sniffer` to iterate, or run `callback` per packet.

    With `callback`, the capture runs to its end (count, timeout or `stop()`)
    before returning the closed Sniffer, whose `stats()` still answers.
    """
    s = Sniffer(iface, filter=filter, count=count, timeout=timeout, snaplen=snaplen,
                promisc=promisc, immediate=immediate, buffer_size=buffer_size, batch=batch,
                workers=workers, handler=handler)
    if callback is not None:
        with s:
            s.run(callback)
    return s


def install_stop_signals(sniffer: Sniffer) -> Callable[[], None]:
    """SIGINT/SIGTERM stop the capture cleanly (no exception mid-write); returns an undo."""
    previous = {}

    def handler(signum: int, frame: object) -> None:
        sniffer.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)

    def undo() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return undo
