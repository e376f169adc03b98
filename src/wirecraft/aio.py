"""asyncio: live capture, sending and send-and-receive inside an event loop.

    async with wirecraft.asniff("eth0", filter="tcp port 25") as s:
        async for pkt in s:
            ...
    answered, unanswered = await wirecraft.asr(IPv4(dst=host) / ICMP(), timeout=1)
    await wirecraft.asend(IPv4(dst=host) / UDP(dst_port=9) / b"x")

A capture is read through the event loop itself: the capture handle's descriptor is
registered with `loop.add_reader`, and each time it is readable the ring is read in
batches (non-blocking) and the packets handed over. No thread is started per capture
and nothing polls, so any number of captures, timers and signal handlers share one
loop. Sending runs in the loop's default executor (a send is one `sendmmsg` loop that
may pace itself with sleeps), so the loop is never blocked by it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["AsyncSniffer", "asend", "asendp", "asniff", "asr", "asr1"]


class AsyncSniffer:
    """A live capture read by the event loop; `async for` gives Packets, `batches()`
    Tables. `count`, `timeout` (seconds) and `stop_filter(packet)` end it as they end
    a `Sniffer`'s; `stop()` (from a callback, a task or a signal handler) ends it at the
    next read. Leaving `async with` closes the handle."""

    def __init__(self, iface: str, filter: str | None = None, count: int | None = None,
                 timeout: float | None = None, stop_filter: Any = None,
                 immediate: bool = True, buffer_size: int | None = None,
                 snaplen: int = 262144, promisc: bool = True, batch: int = 128) -> None:
        from .live import Sniffer

        self._sniffer = Sniffer(iface, filter=filter, snaplen=snaplen, promisc=promisc,
                                immediate=immediate, buffer_size=buffer_size, batch=batch)
        self.count = count if count and count > 0 else None
        self.timeout = timeout
        self.stop_filter = stop_filter
        self._reader = self._sniffer._readers[0]
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self.delivered = 0

    @property
    def linktype(self) -> int:
        return self._sniffer.linktype

    def stop(self) -> None:
        """End the capture at the next read (safe from callbacks and signal handlers run
        by the loop)."""
        self._stopped = True
        if self._wake is not None:
            self._wake.set()

    def stats(self) -> Any:
        """The capture's counters (`LiveStats`)."""
        return self._sniffer.stats()

    def close(self) -> None:
        """Stop and release the handle (idempotent)."""
        self.stop()
        self._unregister()
        self._sniffer.close()

    def _unregister(self) -> None:
        # at once, not when an abandoned `async for` is finalized: by then the descriptor
        # may belong to another capture, whose reader the late removal would take away
        if self._loop is not None:
            self._loop.remove_reader(self._reader.fd)
            self._loop = None

    async def __aenter__(self) -> AsyncSniffer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    async def raw_batches(self) -> AsyncIterator[Any]:
        """Undecoded batches, each one read of the ring, until the capture ends."""
        loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        if self._loop is not None or self._sniffer.stopped:
            raise RuntimeError("this capture is already being read (or was closed)")
        loop.add_reader(self._reader.fd, wake.set)
        self._loop = loop
        deadline = None if self.timeout is None else loop.time() + self.timeout
        try:
            while not self._stopped:
                raw = self._reader.read()
                if raw is None:
                    wait = None if deadline is None else deadline - loop.time()
                    if wait is not None and wait <= 0:
                        break
                    wake.clear()
                    try:
                        await asyncio.wait_for(wake.wait(), timeout=wait)
                    except TimeoutError:
                        break
                    continue
                if self.count is not None and self.delivered + len(raw) >= self.count:
                    raw = raw.head(self.count - self.delivered)
                    self._stopped = True
                self._sniffer._account(raw)
                raw.first_index = self.delivered
                self.delivered += len(raw)
                yield raw
                await asyncio.sleep(0)          # let the loop's other work run
        finally:
            self._unregister()
            self._wake = None

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for raw in self.raw_batches():
            batch = raw.decode()
            for i in range(len(batch)):
                pkt = batch[i]
                if self.stop_filter is not None and self.stop_filter(pkt):
                    self._stopped = True
                    yield pkt
                    return
                yield pkt

    async def batches(self) -> AsyncIterator[Any]:
        """One Table per read (the columns of `wirecraft.open(path).table()`)."""
        from .table import Table

        async for raw in self.raw_batches():
            yield Table.from_batches([raw.decode()])


def asniff(iface: str, filter: str | None = None, **kw: Any) -> AsyncSniffer:
    """A capture on `iface` for `async with` / `async for` (see AsyncSniffer)."""
    return AsyncSniffer(iface, filter=filter, **kw)


async def asend(packets: Any, iface: str | None = None, **kw: Any) -> Any:
    """`wirecraft.send` without blocking the loop: run in its default executor."""
    from .sending import send

    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: send(packets, iface, **kw))


async def asendp(packets: Any, iface: str | None = None, **kw: Any) -> Any:
    """`wirecraft.sendp` without blocking the loop."""
    from .sending import sendp

    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: sendp(packets, iface, **kw))


async def asr(packets: Any, *, iface: str | None = None, timeout: float = 2.0,
              retry: int = 0, filter: str | None = None,
              multi: bool = False) -> tuple[Any, list[Any]]:
    """`wirecraft.sr` inside the loop: the answers are read by an AsyncSniffer, matched
    as `sr` matches them, while other tasks run."""
    from .exchange import Answers, _Matcher, prepare_l3, results, sniff_buffer
    from .inject import send_l3

    prepared = prepare_l3(packets, iface, "asr")
    if prepared is None:
        return Answers(), []
    probes, frames, decoded, out = prepared
    matcher = _Matcher(probes, decoded, multi)
    loop = asyncio.get_running_loop()
    sniffer = AsyncSniffer(out, filter=filter, buffer_size=sniff_buffer(len(probes)))

    done = asyncio.Event()

    async def capture() -> None:
        async for pkt in sniffer:
            matcher.offer(pkt)
            if matcher.all_answered.is_set():
                done.set()

    task = asyncio.ensure_future(capture())
    try:
        todo = list(range(len(probes)))
        for _ in range(max(0, retry) + 1):
            matcher.mark_sent(todo)
            batch = [frames[i] for i in todo]
            await loop.run_in_executor(None, functools.partial(send_l3, batch, iface=iface))
            try:
                await asyncio.wait_for(done.wait(), timeout=timeout)
            except TimeoutError:
                pass
            todo = matcher.unanswered()
            if not todo or multi:
                break
    finally:
        sniffer.stop()
        await task
        sniffer.close()
    return results(matcher)


async def asr1(packets: Any, **kw: Any) -> Any:
    """The first answer to the first probe of `asr(...)`, or None."""
    answered, _ = await asr(packets, **kw)
    return answered[0][1] if answered else None
