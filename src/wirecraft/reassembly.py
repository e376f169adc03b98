"""TCP stream reassembly (RFC 9293) over captured packets.

Segments are put back in order per direction by the Cython core
(`wirecraft._reassembly`), which documents the overlap policy ("first received
bytes win", conflicting copies flagged), sequence wrap-around, gaps and caps.

Two ways in:

    for s in wirecraft.streams("capture.pcap", keep_data=True):   # finished streams
        print(s.client, s.server, s.bytes_to_server, s.gaps, s.flags)

    r = Reassembler(on_data=lambda conn, direction, data: ...)      # events while reading
    r.feed_all("capture.pcap")

A source is a path, an open binary file (or io.BytesIO), a Capture, or Packets.

Direction 0 is client to server (the client sent the SYN, or was guessed from
the ports when the connection was picked up mid-stream and flagged "midstream"),
direction 1 is server to client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._ext import load

CLIENT_TO_SERVER = 0
SERVER_TO_CLIENT = 1

DataCallback = Callable[[Any, int, bytes], None]
GapCallback = Callable[[Any, int, int], None]
ConnCallback = Callable[[Any], None]
HandlerFactory = Callable[[Any], Any]

# default caps; every one can be passed to Reassembler / streams as a keyword
DEFAULT_CAPS: dict[str, Any] = {
    "max_ooo_per_direction": 1 << 20,   # out-of-order bytes held per direction
    "max_buffered": 64 << 20,           # bytes held across all connections
    "max_connections": 100_000,         # tracked at once; least recently active evicted
    "idle_timeout": 300.0,              # seconds of capture time without a packet
    "history": 16384,                   # delivered bytes remembered to check retransmissions
}


def packets(source: Any) -> Iterable[Any]:
    """Packets of a source: a path, an open binary file, a Capture, or Packets.

    The one definition is `wirecraft.capture.packets`; this name stays for the callers
    (smtp, the CLI) that import it from here. A file object is read as a capture, never
    iterated line by line.
    """
    from .capture import packets as capture_packets

    if isinstance(source, bytes | bytearray | memoryview):
        # iterating bytes gives ints: say what to pass instead of failing on the first one
        raise TypeError("a capture source is a path, a binary file, a Capture or Packets, "
                        "not bytes: wrap capture bytes in io.BytesIO")
    return capture_packets(source)


class Reassembler:
    """Reassemble TCP connections and report ordered data to subscribers while reading.

    Either plain callbacks (``on_data(conn, direction, data)``, ``on_gap(conn, direction,
    size)``, ``on_open(conn)``, ``on_close(conn)``), or ``handler``: a factory called with
    each new connection that returns None (not interested) or an object whose optional
    methods ``on_data(direction, data)``, ``on_gap(direction, size)`` and ``on_close()``
    receive that connection's events. Caps are keywords (see ``DEFAULT_CAPS``).
    """

    def __init__(self, on_data: DataCallback | None = None, on_gap: GapCallback | None = None,
                 on_close: ConnCallback | None = None, on_open: ConnCallback | None = None,
                 *, handler: HandlerFactory | None = None, **caps: Any) -> None:
        unknown = set(caps) - set(DEFAULT_CAPS) - {"max_window"}
        if unknown:
            raise TypeError(f"unknown reassembly caps: {', '.join(sorted(unknown))}")
        opts = {**DEFAULT_CAPS, **caps}
        core = load("_reassembly")
        if handler is not None:
            if on_data or on_gap or on_close or on_open:
                raise TypeError("pass either callbacks or handler, not both")
            on_open, on_data, on_gap, on_close = _handler_callbacks(handler)
        self._core = core.Core(on_open, on_data, on_gap, on_close, **opts)

    def feed(self, pkt: Any) -> Any:
        """Feed one Packet; returns its Connection, or None (not TCP, or nothing to track)."""
        return self._core.packet(pkt)

    def feed_all(self, source: Any) -> None:
        """Feed every packet of a source, then close what is still open."""
        feed = self._core.packet
        for pkt in packets(source):
            feed(pkt)
        self._core.flush()

    def flush(self) -> None:
        """Close every open connection (end of input): buffered data delivered, holes as gaps."""
        self._core.flush()

    @property
    def stats(self) -> dict[str, int]:
        """Counters: segments, bytes, gaps, retransmissions, conflicts, every cap hit, and
        ``data_after_fin`` (bytes sent at or after a FIN, discarded)."""
        return {**self._core.stats, "buffered": self._core.buffered,
                "peak_buffered": self._core.peak_buffered, "open": len(self._core)}

    @property
    def buffered(self) -> int:
        """Bytes currently held (out-of-order data and retransmission history)."""
        return self._core.buffered

    @property
    def connections(self) -> list[Any]:
        """Connections currently tracked."""
        return list(self._core.table.values())


def _handler_callbacks(factory: HandlerFactory) -> tuple[Any, Any, Any, Any]:
    def on_open(conn: Any) -> None:
        conn.handler = factory(conn)

    def on_data(conn: Any, direction: int, data: bytes) -> None:
        h = conn.handler
        if h is not None:
            fn = getattr(h, "on_data", None)
            if fn is not None:
                fn(direction, data)

    def on_gap(conn: Any, direction: int, size: int) -> None:
        h = conn.handler
        if h is not None:
            fn = getattr(h, "on_gap", None)
            if fn is not None:
                fn(direction, size)

    def on_close(conn: Any) -> None:
        h = conn.handler
        if h is not None:
            fn = getattr(h, "on_close", None)
            if fn is not None:
                fn()

    return on_open, on_data, on_gap, on_close


@dataclass
class Stream:
    """A finished TCP connection: endpoints, times, bytes each way, gaps, flags, maybe data."""

    index: int
    version: int
    client: str
    client_port: int
    server: str
    server_port: int
    first_ns: int
    last_ns: int
    packets: int
    bytes_to_server: int
    bytes_to_client: int
    gaps: list[tuple[int, int, int]] = field(default_factory=list)   # (direction, offset, size)
    gap_count: int = 0          # all gaps, also those past the listed first 1024
    gap_bytes: int = 0
    flags: frozenset[str] = frozenset()
    data_to_server: bytes | None = None
    data_to_client: bytes | None = None
    data_truncated: bool = False

    @property
    def first_time(self) -> float:
        return self.first_ns / 1e9

    @property
    def last_time(self) -> float:
        return self.last_ns / 1e9



class _Collector:
    """Handler that keeps up to `cap` bytes per direction (gaps kept as NUL bytes)."""

    __slots__ = ("parts", "sizes", "cap", "truncated")

    def __init__(self, cap: int) -> None:
        self.parts: tuple[list[bytes], list[bytes]] = ([], [])
        self.sizes = [0, 0]
        self.cap = cap
        self.truncated = False

    def add(self, direction: int, data: bytes) -> None:
        room = self.cap - self.sizes[direction]
        if room <= 0:
            self.truncated = True
            return
        if len(data) > room:
            data = data[:room]
            self.truncated = True
        self.parts[direction].append(data)
        self.sizes[direction] += len(data)


def _stream_of(conn: Any, coll: _Collector | None) -> Stream:
    return Stream(
        index=conn.index, version=conn.version, client=conn.client,
        client_port=conn.client_port, server=conn.server, server_port=conn.server_port,
        first_ns=conn.first_ns, last_ns=conn.last_ns, packets=conn.packets,
        bytes_to_server=conn.bytes_to_server, bytes_to_client=conn.bytes_to_client,
        gaps=list(conn.gaps), gap_count=conn.gap_count,
        gap_bytes=conn.c2s.gap_bytes + conn.s2c.gap_bytes, flags=frozenset(conn.flags),
        data_to_server=b"".join(coll.parts[0]) if coll else None,
        data_to_client=b"".join(coll.parts[1]) if coll else None,
        data_truncated=coll.truncated if coll else False,
    )


def streams(source: Any, *, keep_data: bool = False, data_cap: int = 16 << 20,
            **caps: Any) -> Iterator[Stream]:
    """Yield each TCP stream of a source when it finishes (FIN/RST, cap, timeout, end).

    With keep_data=True each Stream carries up to data_cap bytes per direction, gaps
    filled with NUL bytes so that offsets stay right.
    """
    done: list[Stream] = []
    collectors: dict[int, _Collector] = {}

    def on_data(conn: Any, direction: int, data: bytes) -> None:
        collectors[conn.index].add(direction, data)

    def on_gap(conn: Any, direction: int, size: int) -> None:
        coll = collectors[conn.index]
        room = max(0, coll.cap - coll.sizes[direction])
        coll.add(direction, bytes(min(size, room)))
        if size > room:
            coll.truncated = True

    def on_open(conn: Any) -> None:
        collectors[conn.index] = _Collector(data_cap)

    def on_close(conn: Any) -> None:
        done.append(_stream_of(conn, collectors.pop(conn.index, None)))

    if keep_data:
        r = Reassembler(on_data, on_gap, on_close, on_open, **caps)
    else:
        r = Reassembler(on_close=on_close, **caps)
    feed = r._core.packet
    for pkt in packets(source):
        feed(pkt)
        if done:
            yield from done
            done.clear()
    r.flush()
    yield from done
