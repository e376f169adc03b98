"""IP defragmentation over decoded batches: fragments in, whole datagrams out.

    for pkt in wirecraft.read("trace.pcap", defrag=True):
        if pkt.defrag is not None and pkt.defrag.reassembled:
            print(pkt.index, "put together from frames", pkt.defrag.frames)

`Defragmenter.batches(batches)` passes batches without fragments through untouched.
A batch holding fragments is rebuilt: every other packet stays as it was (frame number,
time, interface), the fragments are held back, and a datagram they complete comes out
as one packet at the place of the fragment that completed it, decoded by the same
decoder as every frame. `pkt.defrag` says what was done: a `Reassembly` whose
`reassembled` is True for a datagram put together (with the source `frames`, 0-based
indices, and `flags` such as "overlap"), or False for an original fragment handed back
because its datagram could not be completed (`reason`: "timeout", "incomplete",
"evicted", "ipv6_overlap", "inconsistent", "oversize", "fragment_cut",
"too_many_fragments"). Nothing is dropped: every frame read comes out either inside a
datagram or as itself. The policy (overlaps, RFC 5722, RFC 1858, timeouts, caps) is in
wirecraft._defrag. Counters are in `Defragmenter.stats`.

Used by default (defrag=True) by wirecraft.dns, smtp, follow and streams over a path;
off for `read`/`open`/`table()`, where each frame stays a frame, and for the frame
statistics of wirecraft.stats (conversations, endpoints, I/O count frames, as tshark's
-z do). A live `Sniffer(defrag=True)` uses the same engine. A BPF `filter`
runs before defragmentation (on frames, as libpcap's does): a port filter keeps only
the first fragment of a datagram.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ._ext import load

__all__ = ["DEFAULT_CAPS", "Defragmenter", "Reassembly", "defragment"]

DEFAULT_CAPS: dict[str, Any] = {
    "timeout": 60.0,              # seconds of capture time from a datagram's first fragment
    "max_held": 64 << 20,         # bytes held in all (frames kept for handing back)
    "max_per_source": 16 << 20,   # bytes held for one source address
    "max_datagram": 65535,        # payload bytes of one datagram
    "max_datagrams": 65536,       # datagrams held at once
    "max_fragments": 1024,        # fragments of one datagram
}


class Reassembly:
    """What defragmentation did with a packet (`Packet.defrag`)."""

    __slots__ = ("reassembled", "frames", "flags", "reason")

    def __init__(self, reassembled: bool, frames: tuple[int, ...], flags: tuple[str, ...],
                 reason: str | None = None) -> None:
        self.reassembled = reassembled
        self.frames = frames
        self.flags = flags
        self.reason = reason

    def __repr__(self) -> str:
        what = "reassembled from" if self.reassembled else f"not reassembled ({self.reason}):"
        flags = f" [{', '.join(self.flags)}]" if self.flags else ""
        return f"<Reassembly {what} {list(self.frames)}{flags}>"


def _positions() -> dict[str, int]:
    """The header positions the core writes, from the field catalogue."""
    from .proto import protocol

    def at(proto: str, name: str) -> int:
        where = protocol(proto).field(name).at
        assert where is not None, name
        return where[0]

    return {"ip_len_at": at("ip", "ip.len"), "ip_flags_at": at("ip", "ip.flags"),
            "ip_checksum_at": at("ip", "ip.checksum"), "ipv6_plen_at": at("ipv6", "ipv6.plen")}


class Defragmenter:
    """Put IPv4 and IPv6 fragments together across the batches of one source.

    Caps are keywords (see DEFAULT_CAPS); `checksums=True` verifies the checksums of
    rebuilt batches as the reader does for the others."""

    def __init__(self, *, checksums: bool = False, **caps: Any) -> None:
        unknown = set(caps) - set(DEFAULT_CAPS)
        if unknown:
            raise TypeError(f"unknown defragmentation caps: {', '.join(sorted(unknown))}")
        self._core = load("_defrag").Core(**{**DEFAULT_CAPS, **caps}, **_positions())
        self.checksums = checksums
        self._last: Any = None       # the last batch seen (its interfaces, for the flush)

    @property
    def stats(self) -> dict[str, int]:
        """Counters: fragments, reassembled, duplicates, overlaps, timeouts, every cap
        hit, frames handed back, and `held` (datagrams still waiting)."""
        return {**self._core.stats, "held": len(self._core), "held_bytes": self._core.held}

    def batches(self, batches: Iterable[Any]) -> Iterator[Any]:
        """The batches with fragments replaced by whole datagrams (and, at the end, a
        batch of the fragments that never completed)."""
        core = self._core
        for b in batches:
            self._last = b
            positions = core.fragment_positions(b)
            if not positions:
                yield b
                continue
            yield from self._rebuild(b, core.feed(b, positions))
        yield from self.flush()

    def batches_of(self, batch: Any) -> list[Any]:
        """One batch in, the batches it becomes (itself when it holds no fragment); for
        a stream that has no end to wait for (a live capture: call `flush()` at its end)."""
        self._last = batch
        positions = self._core.fragment_positions(batch)
        if not positions:
            return [batch]
        return list(self._rebuild(batch, self._core.feed(batch, positions)))

    def flush(self) -> list[Any]:
        """Batches of the fragments still held, handed back as they are (the end of the
        input; one batch, or one per link type)."""
        out = self._core.flush()
        return self._build([_item(o) for o in out], self._last) if out else []

    def _rebuild(self, batch: Any, fed: list[tuple[int, list[tuple[Any, ...]]]]) -> Iterator[Any]:
        items: list[tuple[bytes, int, int, int, int, int, Reassembly | None, str | None]] = []
        at = dict(fed)
        comments = batch.comments or {}
        for j in range(len(batch)):
            if j in at:
                items.extend(_item(o) for o in at[j])
                continue
            p = batch[j]
            items.append((p.data, p.time_ns, p.wire_len, p.linktype, p.iface, p.index, None,
                          comments.get(j)))
        if items:
            yield from self._build(items, batch)

    def _build(self, items: list[tuple[Any, ...]], like: Any) -> list[Any]:
        """Batches of (frame, ts, wire_len, linktype, iface, index, info, comment), in
        order: one per run of frames of one link type (a batch decodes one)."""
        runs: list[list[tuple[Any, ...]]] = []
        for it in items:
            if runs and runs[-1][0][3] == it[3]:
                runs[-1].append(it)
            else:
                runs.append([it])
        return [self._build_run(run, like) for run in runs]

    def _build_run(self, run: list[tuple[Any, ...]], like: Any) -> Any:
        import numpy as np

        from .capture import batch_from_buffer
        from .table import RECORD_DTYPE

        core = load("_core")
        data = b"".join(it[0] for it in run)
        lens = np.array([len(it[0]) for it in run], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64)
        b = batch_from_buffer(data, offsets, lens, np.array([it[2] for it in run], np.int64),
                              np.array([it[1] for it in run], np.int64), run[0][3])
        rec = np.frombuffer(b.records, dtype=RECORD_DTYPE, count=len(b))
        rec["index"] = [it[5] for it in run]
        rec["iface"] = [it[4] for it in run]
        fixed = [k for k, it in enumerate(run) if it[6] is not None and it[6].reassembled]
        if fixed:
            # the rebuilt IPv6 datagram keeps an atomic Fragment header: not a fragment
            frag_bit = core.LAYER_BITS["fragment"]
            frag_anomaly = next(b for b, text in core.ANOMALIES.items() if text == "IP fragment")
            rec["layers"][fixed] &= np.uint16(0xFFFF ^ frag_bit)
            rec["anomalies"][fixed] &= np.uint32(0xFFFFFFFF ^ frag_anomaly)
        if self.checksums:
            core.check_checksums(b)
        b.interfaces = getattr(like, "interfaces", None)
        info = {k: it[6] for k, it in enumerate(run) if it[6] is not None}
        b.defrag = info or None
        notes = {k: it[7] for k, it in enumerate(run) if it[7] is not None}
        b.comments = notes or None
        return b


def _item(o: tuple[Any, ...]) -> tuple[Any, ...]:
    """A core output as a (frame, ts, wire_len, linktype, iface, index, info, comment)."""
    if o[0] == "new":
        _, frame, ts, linktype, iface, index, flags, frames = o
        return (frame, ts, len(frame), linktype, iface, index,
                Reassembly(True, frames, flags), None)
    _, piece, reason, flags = o
    return (piece.frame, piece.ts_ns, piece.wire_len, piece.linktype, piece.iface,
            piece.index, Reassembly(False, (piece.index,), flags, reason), None)


def defragment(batches: Iterable[Any], **caps: Any) -> Iterator[Any]:
    """`Defragmenter(**caps).batches(batches)`."""
    return Defragmenter(**caps).batches(batches)
