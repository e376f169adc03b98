"""Sniffer: a live capture as an iterator of Packets, batches or Tables, with stop(),
stats() and the callback form; sniff() and the signal handlers of the CLI."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import WirecraftError
from .batch import RawBatch, _capture_module, _record_dtype
from .handle import BLOCK_TIMEOUT_MS, LiveStats, _Reader, _Waker, drop_privileges, open_handle
from .workers import _WorkerPool

# --------------------------------------------------------------------------- stopping


class _Stop:
    """The value a sniff callback returns to end the capture (as False does)."""

    _instance: _Stop | None = None

    def __new__(cls) -> _Stop:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "STOP"

    def __reduce__(self) -> str:
        return "STOP"


STOP: Any = _Stop()
"""Return this (or False) from a sniff callback to end the capture after that packet."""


def _ends(result: Any) -> bool:
    """Whether a callback's return value asks to stop (False or STOP; None goes on)."""
    return result is False or result is STOP


# --------------------------------------------------------------------------- sniffer


class Sniffer:
    """A live capture: iterate for Packets, `.batches()` for Tables, `.stop()` from anywhere.

    The handle is opened when the Sniffer is made (so a bad interface, filter or
    missing privilege raises at once); `close()` (or leaving the `with` block)
    releases it. `count` and `timeout` (seconds) bound the capture.

    `stop_filter(packet)` true ends the capture at that packet: iterating delivers it
    and nothing after it (`packet_batches()` and `batches()` end with a batch cut after
    it), and `stats().captured` counts the packets delivered, not the rest of the read
    that held it (with one worker; with several, the workers' own counts stand).
    `results()` (handlers of raw batches) does not look at packets and ignores it.

    `direction` ("in", "out" or "inout", tcpdump's -Q) keeps only what the interface
    receives or sends. `defrag=True` (or a dict of caps) puts IP fragments together as
    `wirecraft.read(..., defrag=True)` does, with the same engine (wirecraft.defrag), for
    iteration and `packet_batches()`/`batches()`; fragments still held when the capture
    ends come out last, marked.
    """

    def __init__(self, iface: str, filter: str | None = None, count: int | None = None,
                 timeout: float | None = None, snaplen: int = 262144, promisc: bool = True,
                 immediate: bool = False, buffer_size: int | None = None, batch: int = 128,
                 workers: int = 1, handler: Callable[[RawBatch], Any] | None = None,
                 user: str | None = None,
                 stop_filter: Callable[[Any], Any] | None = None,
                 direction: str = "inout", defrag: bool | dict[str, Any] = False) -> None:
        if stop_filter is not None and not callable(stop_filter):
            raise TypeError("stop_filter must be a callable taking a packet")
        self._defrag: Any = None
        if defrag:
            from ..defrag import Defragmenter
            self._defrag = Defragmenter(**(defrag if isinstance(defrag, dict) else {}))
        self.stop_filter = stop_filter
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
                                           buffer_size=buffer_size, direction=direction))
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

    def _account(self, raw: RawBatch, sign: int = 1) -> None:
        s = self._stats
        s.captured += sign * len(raw)
        rec = raw.records()
        s.bytes += sign * int(rec["caplen"].sum())
        cut = raw.may_be_cut()
        if cut.any():
            wire = raw.wire_lens()
            s.truncated += sign * int((wire > rec["caplen"]).sum())
            s.wire_len_unknown += sign * raw.wire_len_unknown

    def _end_at(self, raw: RawBatch, delivered: int) -> None:
        """The capture ends after the first `delivered` packets of `raw`: stop, and count
        only those (the rest of the read was never handed over)."""
        self.stop()
        if self.workers == 1 and delivered < len(raw):
            self._account(raw, -1)
            self._account(raw.head(delivered))

    def _decoded(self) -> Iterator[tuple[RawBatch, Any]]:
        """(raw batch, decoded Batch) for each read; the reads end when this is closed.
        With defrag, a read holding fragments gives the rebuilt batches (each paired
        with the read, whose packet count then no longer matches)."""
        raws: Any = self.raw_batches()  # a generator: closed below
        try:
            if self._defrag is None:
                for raw in raws:
                    yield raw, raw.decode()
                return
            last: Any = None
            for raw in raws:
                last = raw
                for b in self._defrag.batches_of(raw.decode()):
                    yield raw, b
            for b in self._defrag.flush():
                yield last, b
        finally:
            raws.close()

    def packet_batches(self) -> Iterator[Any]:
        """Decoded `Batch`es (index or iterate them for Packet views); with a stop_filter
        the last is cut after the packet that ended the capture."""
        stop = self.stop_filter
        if stop is None:
            for _raw, batch in self._decoded():
                yield batch
            return
        for raw, batch in self._decoded():
            for i, pkt in enumerate(batch):
                if stop(pkt):
                    self._end_at(raw, i + 1)
                    # (with defrag the rebuilt batch is not the read: it is given whole)
                    yield batch if (i + 1 == len(batch) or self._defrag is not None) \
                        else raw.head(i + 1).decode()
                    return
            yield batch

    def batches(self) -> Iterator[Any]:
        """One `Table` per read: the same columns as `wirecraft.open(path).table()`."""
        from ..table import Table

        for batch in self.packet_batches():
            yield Table.from_batches([batch])

    def __iter__(self) -> Iterator[Any]:
        if self.stop_filter is None and self._defrag is None:
            for batch in self.packet_batches():
                yield from batch
            return
        yield from self._packets(None)

    def _packets(self, callback: Callable[[Any], Any] | None) -> Iterator[Any]:
        """Each packet (after `callback(packet)` when given) until the capture ends, a
        callback returns False or STOP, or the stop_filter is true of a packet: that
        packet is the last one delivered."""
        stop = self.stop_filter
        for raw, batch in self._decoded():
            n = len(batch)
            for i in range(n):
                pkt = batch[i]
                ended = callback is not None and _ends(callback(pkt))
                if ended or (stop is not None and stop(pkt)):
                    self._end_at(raw, i + 1)
                    yield pkt
                    return
                yield pkt

    def run(self, callback: Callable[[Any], Any]) -> LiveStats:
        """Call `callback(packet)` for each packet until the capture ends (count, timeout,
        stop(), the stop_filter, or the callback returning False or STOP); return the
        stats."""
        for _pkt in self._packets(callback):
            pass
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


def sniff(iface: str, filter: str | None = None, count: int | None = None,
          timeout: float | None = None, snaplen: int = 262144, promisc: bool = True,
          immediate: bool = False, buffer_size: int | None = None, batch: int = 128,
          callback: Callable[[Any], Any] | None = None, workers: int = 1,
          handler: Callable[[RawBatch], Any] | None = None,
          stop_filter: Callable[[Any], Any] | None = None) -> Sniffer:
    """Capture on `iface` ("any" for all): a `Sniffer` to iterate, or run `callback` per packet.

    With `callback`, the capture runs to its end (count, timeout, `stop()`, the callback
    returning False or STOP, or `stop_filter(packet)` true) before returning the closed
    Sniffer, whose `stats()` still answers. The packet that ends it is the last one
    delivered (to the callback, or to the loop iterating the Sniffer).
    """
    s = Sniffer(iface, filter=filter, count=count, timeout=timeout, snaplen=snaplen,
                promisc=promisc, immediate=immediate, buffer_size=buffer_size, batch=batch,
                workers=workers, handler=handler, stop_filter=stop_filter)
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
