"""Capture-file tools (editcap/mergecap-style) over wirecraft's one reader and writers.

`convert` rewrites a capture as pcap or pcapng; `slice` keeps a range of packets (by
number, time or display filter); `shift` moves every timestamp; `dedup` drops frames
whose bytes repeat one of the previous few (editcap -d/-D); `merge` puts several
captures together in timestamp order (mergecap); `split` cuts one into parts by
frame count or time (editcap -c/-i). Each streams (flat memory): convert, slice
without a display filter, shift, merge and split copy decoded batches whose records are
laid out with numpy; dedup and slice with a display filter go one frame at a time.
Each keeps original lengths, timestamps (nanosecond when the output
can hold them), interface link types, snaplens, names and packet comments where the
output format can store them. The output format is the input's unless given.
"""

from __future__ import annotations

import os
from builtins import open as builtins_open
from collections import deque
from collections.abc import Callable
from typing import Any

from .capture import open as _open_capture
from .writers import PcapngWriter, PcapWriter


def convert(src: str | os.PathLike[str], out: str | os.PathLike[str], *,
            pcapng: bool = True, nanosecond: bool = False) -> dict[str, Any]:
    """Rewrite `src` as pcapng (`pcapng=True`) or pcap (`nanosecond` picks 0xA1B23C4D).

    Returns counts: frames read and written, and the truncation (offset, reason) of the
    input if its last record was cut short. pcap holds one link type: a pcapng input
    with several raises ValueError naming them.
    """
    return _copy(src, out, pcapng=pcapng, nanosecond=nanosecond)


def _same_format(src: str | os.PathLike[str]) -> tuple[bool, bool]:
    """(pcapng, nanosecond) of `src`, for an output in the input's format."""
    cap = _open_capture(src)
    try:
        fmt = cap.format
        nano = fmt == "pcap" and bool(cap.interfaces) and all(
            d.get("ts_resolution") == "ns" for d in cap.interfaces)
    finally:
        cap.close()
    return fmt == "pcapng", nano


_BUFFER = 1 << 20   # the file tools' write buffer: whole batches go out in few writes


class _Layout:
    """The records of some frames of one batch as pieces to join: frame i's record is
    the i-th `head_size` bytes of `heads`, its captured bytes in `frames` and, with
    `tails`, the last 4 + pads[i] bytes of the i-th 8 bytes of `tails` (zero padding,
    then a trailing length)."""

    __slots__ = ("n", "heads", "head_size", "frames", "starts", "ends", "tails", "pads")

    def __init__(self, n: int, heads: bytes, head_size: int, data: Any, offsets: Any,
                 lengths: Any, tails: bytes | None = None, pads: Any = None) -> None:
        self.n = n
        self.heads = memoryview(heads)
        self.head_size = head_size
        self.frames = memoryview(data)
        self.starts: list[int] = offsets.tolist()
        self.ends: list[int] = (offsets + lengths).tolist()
        self.tails = None if tails is None else memoryview(tails)
        self.pads: list[int] | None = None if pads is None else pads.tolist()

    def pieces(self) -> list[Any]:
        """The pieces of every record, in order (`step` pieces a frame)."""
        size, heads, frames = self.head_size, self.heads, self.frames
        cols = [[heads[i:i + size] for i in range(0, self.n * size, size)],
                [frames[a:b] for a, b in zip(self.starts, self.ends, strict=True)]]
        if self.tails is not None and self.pads is not None:
            tails = self.tails
            cols.append([tails[j + 4 - p:j + 8]
                         for j, p in zip(range(0, 8 * self.n, 8), self.pads, strict=True)])
        step = len(cols)
        parts: list[Any] = [None] * (step * self.n)
        for k, col in enumerate(cols):
            parts[k::step] = col
        return parts

    @property
    def step(self) -> int:
        """Pieces per record."""
        return 2 if self.tails is None else 3

    def join(self) -> bytes:
        """The records of every frame, in order, as one block."""
        if self.tails is None or self.pads is None:
            return b"".join(self.pieces())
        # pcapng: one piece of glue between frames holds the previous block's padding
        # and trailing length and this block's header (row i of `glue`: 4 zero bytes,
        # block i-1's length, block i's header), so a frame takes two pieces, not three
        import numpy as np

        n, size = self.n, self.head_size
        words = size // 4
        glue = np.zeros((n + 1, 2 + words), dtype="<u4")
        glue[:n, 2:] = np.frombuffer(self.heads, dtype="<u4").reshape(n, words)
        glue[1:, 1] = np.frombuffer(self.tails, dtype="<u4").reshape(n, 2)[:, 1]
        row = 4 * (2 + words)
        view = memoryview(glue.tobytes())
        pads = self.pads
        cuts = [8] + [4 - p for p in pads]
        glues = [view[i * row + c:i * row + row] for i, c in enumerate(cuts[:n])]
        glues.append(view[n * row + cuts[n]:n * row + 8])
        frames = self.frames
        parts: list[Any] = [None] * (2 * n + 1)
        parts[0:2 * n:2] = glues[:n]
        parts[1::2] = [frames[a:b] for a, b in zip(self.starts, self.ends, strict=True)]
        parts[2 * n] = glues[n]
        return b"".join(parts)


class _Output:
    """One capture file being written from frames of one or more inputs.

    The writer is made at the first frame (pcap takes that frame's link type and its
    interface's snaplen) or, for a file with no frame, at `close`. pcapng gets one
    interface per (input key, input interface), declared in the input's order as frames
    reach it, with its link type, snaplen and name; pcap refuses a second link type."""

    def __init__(self, path: str | os.PathLike[str], *, pcapng: bool,
                 nanosecond: bool) -> None:
        self.path = path
        self.pcapng = pcapng
        self.nanosecond = nanosecond
        self.writer: Any = None
        self._ids: dict[tuple[int, int], int] = {}   # (input key, its iface) -> output iface
        self._declared: dict[int, int] = {}          # input key -> interfaces declared

    @property
    def packets_written(self) -> int:
        """Frames written so far."""
        return 0 if self.writer is None else self.writer.packets_written

    def write(self, pkt: Any, ifaces: list[dict[str, Any]], *, key: int = 0,
              shift_ns: int = 0, source: str | os.PathLike[str] | None = None) -> None:
        """Append `pkt` (read from input `key`, whose interfaces so far are `ifaces`)."""
        writer = self.writer
        if self.pcapng:
            if writer is None:
                writer = self.writer = PcapngWriter(self.path, interfaces=[], flush="buffer",
                                                    buffer_size=_BUFFER)
            iface = self._ids.get((key, pkt.iface))
            if iface is None:
                self.declare(ifaces, key=key, upto=pkt.iface + 1, linktype=pkt.linktype)
                iface = self._ids[(key, pkt.iface)]
            writer.write(pkt.data, pkt.time_ns + shift_ns, pkt.wire_len, iface=iface,
                         comment=pkt.comment)
            return
        if writer is None:
            first = ifaces[pkt.iface] if pkt.iface < len(ifaces) else {}
            writer = self.writer = PcapWriter(self.path, linktype=pkt.linktype,
                                              snaplen=first.get("snaplen") or 262144,
                                              nanosecond=self.nanosecond, flush="buffer",
                                              buffer_size=_BUFFER)
        elif pkt.linktype != writer.linktype:
            where = "" if source is None else f"{os.fspath(source)}: "
            raise ValueError(f"pcap holds one link type: {where}link type {pkt.linktype} "
                             f"after {writer.linktype}; write pcapng")
        writer.write(pkt.data, pkt.time_ns + shift_ns, pkt.wire_len)

    def write_batch(self, batch: Any, rows: Any, ifaces: list[dict[str, Any]], *,
                    key: int = 0, shift_ns: int = 0,
                    source: str | os.PathLike[str] | None = None) -> None:
        """Append the frames at positions `rows` (a numpy index array) of a decoded batch,
        their records assembled with numpy and joined in one pass. A batch the fast
        layout does not cover (packet comments, a frame longer than its interface's
        snaplen, a second link type or a time pcap cannot hold) goes frame by frame
        through `write`, which keeps or refuses each as it does for single frames."""
        if not len(rows):
            return
        layout = self.layout(batch, rows, ifaces, key=key, shift_ns=shift_ns)
        if layout is None:
            for i in rows.tolist():
                self.write(batch[i], ifaces, key=key, shift_ns=shift_ns, source=source)
            return
        self.writer.write_records(layout.join(), len(rows))

    def layout(self, batch: Any, rows: Any, ifaces: list[dict[str, Any]], *, key: int = 0,
               shift_ns: int = 0) -> _Layout | None:
        """The records of the frames at `rows` of `batch` (opening the writer and
        declaring interfaces as needed), or None when they must go frame by frame."""
        import numpy as np

        from .table import RECORD_DTYPE

        rec = np.frombuffer(batch.record_bytes(), dtype=RECORD_DTYPE)
        if len(rows) != len(rec):
            rec = rec[rows]
        ts = rec["ts_ns"].astype(np.int64) + shift_ns
        caplen = rec["caplen"].astype(np.int64)
        return (self._pcapng_block(batch, rec, ts, caplen, ifaces, key) if self.pcapng
                else self._pcap_block(rec, ts, caplen, ifaces, batch))

    def _pcap_block(self, rec: Any, ts: Any, caplen: Any, ifaces: list[dict[str, Any]],
                    batch: Any) -> _Layout | None:
        import numpy as np

        if self.writer is None:
            first = int(rec["iface"][0])
            snaplen = (ifaces[first].get("snaplen") if first < len(ifaces) else None) or 262144
            self.writer = PcapWriter(self.path, linktype=int(rec["linktype"][0]),
                                     snaplen=snaplen, nanosecond=self.nanosecond,
                                     flush="buffer", buffer_size=_BUFFER)
        writer = self.writer
        sec, frac = np.divmod(ts, 1_000_000_000)
        if (np.any(rec["linktype"] != writer.linktype) or np.any(caplen > writer.snaplen)
                or sec.min() < 0 or sec.max() > 0xFFFFFFFF):
            return None
        n = len(rec)
        head = np.empty((n, 4), dtype="<u4")
        head[:, 0] = sec
        head[:, 1] = frac if self.nanosecond else frac // 1000
        head[:, 2] = caplen
        head[:, 3] = rec["wire_len"]
        return _Layout(n, head.tobytes(), 16, batch.data, rec["frame_offset"].astype(np.int64),
                       caplen)

    def _pcapng_block(self, batch: Any, rec: Any, ts: Any, caplen: Any,
                      ifaces: list[dict[str, Any]], key: int) -> _Layout | None:
        import numpy as np

        if batch.comments:
            return None
        if self.writer is None:
            self.writer = PcapngWriter(self.path, interfaces=[], flush="buffer",
                                       buffer_size=_BUFFER)
        writer = self.writer
        upto = int(rec["iface"].max()) + 1
        self.declare(ifaces, key=key, upto=upto, linktype=int(rec["linktype"][0]))
        ids = np.array([self._ids[(key, k)] for k in range(upto)], dtype=np.int64)
        out_iface = ids[rec["iface"]]
        snaplens = np.array([d[1] for d in writer.interfaces], dtype=np.int64)[out_iface]
        if np.any((snaplens > 0) & (caplen > snaplens)):
            return None
        n = len(rec)
        pad = (-caplen) % 4
        total = 32 + caplen + pad
        wide = ts.view(np.uint64)
        head = np.empty((n, 7), dtype="<u4")
        head[:, 0] = 6                          # Enhanced Packet Block
        head[:, 1] = total
        head[:, 2] = out_iface
        head[:, 3] = wide >> np.uint64(32)
        head[:, 4] = wide & np.uint64(0xFFFFFFFF)
        head[:, 5] = caplen
        head[:, 6] = rec["wire_len"]
        tail = np.zeros((n, 2), dtype="<u4")   # padding, then the block's total length
        tail[:, 1] = total
        return _Layout(n, head.tobytes(), 28, batch.data, rec["frame_offset"].astype(np.int64),
                       caplen, tail.tobytes(), pad)

    def declare(self, ifaces: list[dict[str, Any]], *, key: int = 0, upto: int | None = None,
                linktype: int = 1) -> None:
        """pcapng: declare input `key`'s interfaces (the first `upto`, default all of
        `ifaces`) not declared yet, in the input's order."""
        if not self.pcapng:
            return
        if self.writer is None:
            self.writer = PcapngWriter(self.path, interfaces=[], flush="buffer",
                                       buffer_size=_BUFFER)
        upto = len(ifaces) if upto is None else upto
        for k in range(self._declared.get(key, 0), upto):
            d = ifaces[k] if k < len(ifaces) else {"linktype": linktype}
            self._ids[(key, k)] = self.writer.add_interface(
                d["linktype"], d.get("snaplen") or 0, d.get("name"))
        self._declared[key] = max(self._declared.get(key, 0), upto)

    def close(self, linktype: int = 1) -> None:
        """Finish the file; a file with no frame still gets a header (of `linktype`)."""
        if self.writer is None:
            if self.pcapng:
                self.writer = PcapngWriter(self.path, interfaces=[(linktype, 262144, None)])
            else:
                self.writer = PcapWriter(self.path, linktype=linktype,
                                         nanosecond=self.nanosecond)
        self.writer.close()


def _copy(src: str | os.PathLike[str], out: str | os.PathLike[str], *,
          pcapng: bool | None = None, nanosecond: bool | None = None, where: str | None = None,
          bpf: str | None = None, keep: Callable[[int, Any], bool | None] | None = None,
          shift_ns: int = 0, select: Callable[[Any], tuple[Any, bool]] | None = None
          ) -> dict[str, Any]:
    """The frames of `src` that pass `where`/`bpf` and `keep(number, packet)` (number
    counts from 1 over every frame read; None from keep ends the copy), written to
    `out` with their times moved by `shift_ns`.

    Without `keep` and `where` the copy goes batch by batch: `select(records)` (the
    records of a batch) returns which rows to keep (None: all) and whether to stop
    after this batch."""
    if pcapng is None or nanosecond is None:
        same_ng, same_nano = _same_format(src)
        pcapng = same_ng if pcapng is None else pcapng
        nanosecond = same_nano if nanosecond is None else nanosecond
    cap = _open_capture(src, filter=bpf, where=where)
    output = _Output(out, pcapng=pcapng, nanosecond=nanosecond)
    if keep is None and where is None:
        try:
            read = _copy_batches(cap, output, shift_ns, select)
            written = output.packets_written
        finally:
            output.close(cap.linktype)
            truncated = cap.truncated
            cap.close()
        return {"frames_read": read, "frames_written": written, "truncated": truncated}
    read = 0
    try:
        for pkt in cap:
            read += 1
            if keep is not None:
                verdict = keep(read, pkt)
                if verdict is None:
                    break
                if not verdict:
                    continue
            output.write(pkt, cap.interfaces, shift_ns=shift_ns, source=src)
        written = output.packets_written
    finally:
        output.close(cap.linktype)
        truncated = cap.truncated
        cap.close()
    return {"frames_read": read, "frames_written": written, "truncated": truncated}


def _nanosecond_input(cap: Any) -> bool:
    """Whether an open capture holds nanosecond timestamps (pcap 0xA1B23C4D, or a pcapng
    interface with if_tsresol 10^-9)."""
    return any(d.get("ts_resolution") in ("ns", 9) for d in cap.interfaces)


def merge(sources: list[str | os.PathLike[str]], out: str | os.PathLike[str], *,
          concatenate: bool = False, pcapng: bool = True, nanosecond: bool | None = None,
          batch_size: int = 1024) -> dict[str, Any]:
    """Merge captures into `out`, as mergecap does.

    By default frames come out in timestamp order: the next frame of every input is
    compared and the earliest written, so memory stays flat (one pending batch of
    `batch_size` frames per input) and frames with equal timestamps keep the order of
    the inputs (the earlier input first), each input's own order kept. `concatenate` writes the inputs one after another
    instead (mergecap -a).

    pcapng output has one interface per (input, interface) with its link type, snaplen
    and name; pcap output (`pcapng=False`) needs one link type across the inputs
    (ValueError otherwise) and is nanosecond when an input is (or as `nanosecond` says).
    Returns the frames written and, per input, its path, frames read and truncation."""
    if not sources:
        raise ValueError("nothing to merge: give at least one input")
    caps: list[Any] = []
    try:
        for src in sources:
            caps.append(_open_capture(src, batch_size=batch_size))
        if not pcapng:
            kinds = {c.linktype for c in caps} | {
                d["linktype"] for c in caps for d in c.interfaces}
            if len(kinds) > 1:
                raise ValueError("pcap holds one link type: the inputs have "
                                 f"{', '.join(map(str, sorted(kinds)))}; write pcapng")
        if nanosecond is None:
            nanosecond = any(_nanosecond_input(c) for c in caps)
        output = _Output(out, pcapng=pcapng, nanosecond=nanosecond)
        read = [0] * len(caps)
        try:
            if concatenate:
                for key, cap in enumerate(caps):
                    for batch in cap.raw_batches():
                        read[key] += batch.n
                        output.write_batch(batch, _all_rows(batch.n), cap.interfaces, key=key,
                                           source=sources[key])
            else:
                _merge_by_time(caps, sources, output, read)
            written = output.packets_written
        finally:
            output.close(caps[0].linktype)
        return {"frames_written": written,
                "inputs": [{"path": os.fspath(src), "frames_read": n, "truncated": c.truncated}
                           for src, n, c in zip(sources, read, caps, strict=True)]}
    finally:
        for c in caps:
            c.close()


class _Pending:
    """One merge input: its current batch, the batch's times and the next frame in it."""

    __slots__ = ("key", "batches", "batch", "ts", "pos", "ordered")

    def __init__(self, key: int, cap: Any) -> None:
        self.key = key
        self.batches = cap.raw_batches()
        self.batch: Any = None
        self.ts: Any = None
        self.pos = 0
        self.ordered = True

    def advance(self, read: list[int]) -> bool:
        """Load batches until one has a frame left; False at the end of the input."""
        import numpy as np

        from .table import RECORD_DTYPE

        while self.batch is None or self.pos >= self.batch.n:
            self.batch = next(self.batches, None)
            if self.batch is None:
                return False
            read[self.key] += self.batch.n
            self.ts = np.frombuffer(self.batch.record_bytes(), dtype=RECORD_DTYPE)["ts_ns"]
            self.pos = 0
            self.ordered = bool(np.all(self.ts[1:] >= self.ts[:-1]))
        return True


def _merge_by_time(caps: list[Any], sources: list[Any], output: _Output,
                   read: list[int]) -> None:
    """Write the frames of every input in (time, input) order of the inputs' next frames.

    While every pending batch is in time order the frames earlier than the earliest
    batch end go out at once, sorted by (time, input, place): each input's next frame
    stays in its current batch until then, so that is the order frame-by-frame
    comparison gives. Otherwise (or when nothing is that early) one frame goes."""
    import numpy as np

    pending = [p for p in (_Pending(k, c) for k, c in enumerate(caps)) if p.advance(read)]
    for key, cap in enumerate(caps):   # interfaces in the inputs' order
        output.declare(cap.interfaces, key=key)
    while pending:
        if len(pending) == 1 or all(p.ordered for p in pending):
            horizon = None if len(pending) == 1 else min(int(p.ts[-1]) for p in pending)
            runs = []
            for p in pending:
                end = p.batch.n if horizon is None else p.pos + int(
                    np.searchsorted(p.ts[p.pos:], horizon, side="left"))
                if end > p.pos:
                    runs.append((p, np.arange(p.pos, end)))
            layouts = [output.layout(p.batch, rows, caps[p.key].interfaces, key=p.key)
                       for p, rows in runs]
            if runs and all(lay is not None for lay in layouts):
                _write_runs(output, runs, layouts)
                for p, rows in runs:
                    p.pos = int(rows[-1]) + 1
                pending = [p for p in pending if p.advance(read)]
                continue
        # one frame: the earliest next frame, the earlier input on a tie
        first = min(pending, key=lambda p: (int(p.ts[p.pos]), p.key))
        output.write(first.batch[first.pos], caps[first.key].interfaces, key=first.key,
                     source=sources[first.key])
        first.pos += 1
        if not first.advance(read):
            pending.remove(first)


def _write_runs(output: _Output, runs: list[tuple[Any, Any]], layouts: list[Any]) -> None:
    """Write the frames of several inputs' runs sorted by (time, input, place)."""
    import numpy as np

    if len(runs) == 1:
        output.writer.write_records(layouts[0].join(), layouts[0].n)
        return
    import operator

    ts = np.concatenate([p.ts[rows] for p, rows in runs])
    keys = np.concatenate([np.full(len(rows), p.key) for p, rows in runs])
    place = np.concatenate([np.arange(len(rows)) for _, rows in runs])
    order = np.lexsort((place, keys, ts))
    # every run's pieces in one list; a frame's pieces start at its run's base plus
    # step * its place in the run
    step = layouts[0].step
    pieces: list[Any] = []
    bases = []
    for lay in layouts:
        bases.append(len(pieces))
        pieces.extend(lay.pieces())
    base = np.concatenate([np.full(len(rows), b) for b, (_, rows) in zip(bases, runs,
                                                                          strict=True)])
    first = (base + step * place)[order]
    index = (first[:, None] + np.arange(step)).ravel().tolist()
    parts = operator.itemgetter(*index)(pieces) if len(index) > 1 else [pieces[index[0]]]
    output.writer.write_records(b"".join(parts), len(order))


def split_names(prefix: str | os.PathLike[str], pcapng: bool) -> tuple[str, str]:
    """(stem, extension) of the files `split` writes for `prefix`, as editcap splits its
    output name: at the last dot of the file name ("out.pcap" -> "out", ".pcap"); a name
    without one gets the format's extension."""
    text = os.fspath(prefix)
    head, base = os.path.split(text)
    stem, dot, ext = base.rpartition(".")
    if dot and stem:
        return os.path.join(head, stem), "." + ext
    return text, ".pcapng" if pcapng else ".pcap"


def split_name(stem: str, ext: str, number: int, time_ns: int) -> str:
    """editcap's name for a part: STEM_NNNNN_YYYYmmddHHMMSS.EXT, the number (modulo
    100000) and the local time of the part's first frame."""
    import time

    try:
        when = time.strftime("%Y%m%d%H%M%S", time.localtime(time_ns // 1_000_000_000))
    except (OverflowError, OSError, ValueError):
        when = "00000000000000"
    return f"{stem}_{number % 100000:05d}_{when}{ext}"


def split(src: str | os.PathLike[str], prefix: str | os.PathLike[str] | None = None, *,
          count: int | None = None, seconds: float | str | None = None,
          pcapng: bool | None = None, nanosecond: bool | None = None) -> dict[str, Any]:
    """Cut `src` into parts of `count` frames (editcap -c) or of `seconds` each (editcap
    -i), named as editcap names them (see `split_name`; `prefix` defaults to the input's
    name without its extension, in the current directory).

    Intervals start at the first frame's time; a frame later than the current interval's
    end (strictly, as editcap) starts the part of its interval, numbered by that
    interval, so parts carry editcap's numbers; editcap also writes an empty file for
    each interval with no frame, wirecraft writes none. Frames earlier than the current
    interval (times going backwards) stay in the current part. The format is the
    input's unless given. Returns the parts (path, frames) and the counts read."""
    if (count is None) == (seconds is None):
        raise ValueError("split by a frame count or by seconds (one of them)")
    if count is not None and count < 1:
        raise ValueError("the frame count per file is at least 1")
    step = None
    if seconds is not None:
        step = seconds_to_ns(seconds)
        if step <= 0:
            raise ValueError(f"the interval must be positive, not {seconds!r}")
    if pcapng is None or nanosecond is None:
        same_ng, same_nano = _same_format(src)
        pcapng = same_ng if pcapng is None else pcapng
        nanosecond = same_nano if nanosecond is None else nanosecond
    if prefix is None:
        prefix = os.path.basename(os.fspath(src)).rpartition(".")[0] or "split"
    stem, ext = split_names(prefix, pcapng)
    cap = _open_capture(src)
    parts: list[dict[str, Any]] = []
    output: _Output | None = None
    number = -1
    start = None
    read = 0
    import numpy as np

    from .table import RECORD_DTYPE

    try:
        for b in cap.raw_batches(1024):
            ts = np.frombuffer(b.record_bytes(), dtype=RECORD_DTYPE)["ts_ns"].astype(np.int64)
            if step is not None:
                if start is None:
                    start = int(ts[0])
                # the interval k is (start + k*step, start + (k+1)*step]; the first also
                # holds `start` itself; a frame earlier than the open part stays in it
                k = np.maximum(-(-(ts - start) // step) - 1, max(number, 0))
                k = np.maximum.accumulate(k)
            else:
                k = (read + np.arange(b.n)) // count  # type: ignore[operator]
            read += b.n
            # a new part where the number grows (and at the very first frame)
            cuts = np.flatnonzero(np.diff(k) > 0) + 1
            if output is None or int(k[0]) > number:
                cuts = np.concatenate([[0], cuts])
            bounds = [0, *cuts.tolist(), b.n]
            for lo, hi in zip(bounds, bounds[1:], strict=False):
                if hi <= lo:
                    continue
                if lo in cuts:
                    if output is not None:
                        output.close(cap.linktype)
                    number = int(k[lo])
                    path = split_name(stem, ext, number, int(ts[lo]))
                    output = _Output(path, pcapng=pcapng, nanosecond=nanosecond)
                    output.declare(cap.interfaces)
                    parts.append({"path": path, "frames": 0})
                assert output is not None
                output.write_batch(b, np.arange(lo, hi), cap.interfaces, source=src)
                parts[-1]["frames"] += hi - lo
    finally:
        if output is not None:
            output.close(cap.linktype)
        truncated = cap.truncated
        cap.close()
    return {"frames_read": read, "files": parts, "truncated": truncated}


def _all_rows(n: int) -> Any:
    import numpy as np
    return np.arange(n)


def _copy_batches(cap: Any, output: _Output, shift_ns: int,
                  select: Callable[[Any], tuple[Any, bool]] | None) -> int:
    """Copy the batches of an open capture to `output`; returns the frames read."""
    import numpy as np

    from .table import RECORD_DTYPE

    read = 0
    for b in cap.raw_batches(1024):
        read += b.n
        rows, stop = _all_rows(b.n), False
        if select is not None:
            mask, stop = select(np.frombuffer(b.record_bytes(), dtype=RECORD_DTYPE))
            if mask is not None:
                rows = np.flatnonzero(mask)
        output.write_batch(b, rows, cap.interfaces, shift_ns=shift_ns)
        if stop:
            break
    return read


def slice(src: str | os.PathLike[str], out: str | os.PathLike[str], *,  # noqa: A001
          first: int | None = None, last: int | None = None, start_ns: int | None = None,
          stop_ns: int | None = None, where: str | None = None,
          bpf: str | None = None) -> dict[str, Any]:
    """The packets numbered `first`..`last` (1-based, inclusive, as editcap -r), with a
    time in [`start_ns`, `stop_ns`) (editcap -A/-B), and matching the display filter
    `where` and the BPF `bpf`, written to `out` in the input's format."""
    def keep(n: int, pkt: Any) -> bool | None:
        if last is not None and n > last:
            return None                      # past the range: stop reading
        if first is not None and n < first:
            return False
        t = pkt.time_ns
        return (start_ns is None or t >= start_ns) and (stop_ns is None or t < stop_ns)

    def select(rec: Any) -> tuple[Any, bool]:
        import numpy as np

        number = rec["index"].astype(np.int64) + 1
        ts = rec["ts_ns"]
        mask = np.ones(len(rec), dtype=bool)
        if first is not None:
            mask &= number >= first
        if last is not None:
            mask &= number <= last
        if start_ns is not None:
            mask &= ts >= start_ns
        if stop_ns is not None:
            mask &= ts < stop_ns
        return mask, last is not None and len(number) > 0 and int(number[-1]) >= last

    # packet numbers count every frame of the file (pkt.index), not only those a filter
    # lets through
    if where is None:
        return _copy(src, out, bpf=bpf, select=select)
    return _copy(src, out, where=where, bpf=bpf, keep=lambda n, pkt: keep(pkt.index + 1, pkt))


def shift(src: str | os.PathLike[str], out: str | os.PathLike[str],
          seconds: float | str) -> dict[str, Any]:
    """Every timestamp moved by `seconds` (negative allowed; a string such as "-1.5" or
    "0.000000001" is read exactly, to the nanosecond), as editcap -t."""
    return _copy(src, out, shift_ns=seconds_to_ns(seconds))


def seconds_to_ns(seconds: float | str) -> int:
    """Seconds (a number, or decimal text read exactly) as integer nanoseconds."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(str(seconds))
    except InvalidOperation:
        raise ValueError(f"not a number of seconds: {seconds!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a number of seconds: {seconds!r}")
    return int((value * 1_000_000_000).to_integral_value())


def dedup(src: str | os.PathLike[str], out: str | os.PathLike[str], *,
          window: int = 5) -> dict[str, Any]:
    """Frames whose captured bytes equal one of the previous `window` - 1 frames' are
    dropped (editcap -D window; -d is window 5); `duplicates` in the result counts them.
    Every frame read enters the window, duplicates included, as in editcap."""
    if window < 1:
        raise ValueError("the window is at least 1 frame")
    recent: deque[bytes] = deque(maxlen=max(1, window - 1))
    dropped = 0

    def keep(n: int, pkt: Any) -> bool:
        nonlocal dropped
        import hashlib

        digest = hashlib.md5(pkt.data, usedforsecurity=False).digest() + len(
            pkt.data).to_bytes(4, "big")
        seen = window > 1 and digest in recent
        recent.append(digest)
        if seen:
            dropped += 1
        return not seen

    counts = _copy(src, out, keep=keep)
    counts["duplicates"] = dropped
    return counts


def parse_time(text: str) -> int:
    """A time given on the command line as nanoseconds since the epoch: epoch seconds
    ("1700000000.5") or ISO 8601 ("2026-12-01T10:00:00", "2026-12-01 10:00:00+01:00");
    without a zone, local time, as editcap reads -A/-B."""
    from datetime import datetime

    try:
        return seconds_to_ns(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a time: {text!r} (epoch seconds or ISO 8601)") from None
    whole = int(when.timestamp())
    return whole * 1_000_000_000 + when.microsecond * 1000


def info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """capinfos-style facts about one capture, read in one streaming pass: format,
    link types, interfaces, packet count, file and data size, first/last time (ns),
    duration, rates, captured-length range, cut frames, SHA-256 and truncation."""
    import hashlib

    sha = hashlib.sha256()
    with builtins_open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    import warnings

    from .errors import CaptureWarning

    cap = _open_capture(path)
    count = data = cut = 0
    first = last = None
    cap_min = cap_max = None
    linktypes: list[int] = []
    try:
        with warnings.catch_warnings():  # a cut last record is reported as `truncated`
            warnings.simplefilter("ignore", CaptureWarning)
            for pkt in cap:
                count += 1
                n = len(pkt.data)
                data += n
                cut += n < pkt.wire_len
                cap_min = n if cap_min is None else min(cap_min, n)
                cap_max = n if cap_max is None else max(cap_max, n)
                t = pkt.time_ns
                first = t if first is None else min(first, t)
                last = t if last is None else max(last, t)
                if pkt.linktype not in linktypes:
                    linktypes.append(pkt.linktype)
        fmt = cap.format
        ifaces = [dict(d) for d in cap.interfaces]
        truncated = cap.truncated
    finally:
        cap.close()
    nano = fmt == "pcap" and bool(ifaces) and all(d.get("ts_resolution") == "ns" for d in ifaces)
    duration = (last - first) / 1e9 if first is not None and last is not None else 0.0
    return {
        "path": os.fspath(path), "format": fmt, "nanosecond": nano,
        "linktypes": linktypes or [cap.linktype], "interfaces": ifaces,
        "packets": count, "file_size": os.path.getsize(path), "data_size": data,
        "first_ns": first, "last_ns": last, "duration": duration,
        "data_byte_rate": data / duration if duration else None,
        "data_bit_rate": 8 * data / duration if duration else None,
        "average_packet_size": data / count if count else None,
        "average_packet_rate": count / duration if duration else None,
        "snaplen": [d.get("snaplen") for d in ifaces], "caplen_min": cap_min,
        "caplen_max": cap_max, "frames_cut": cut, "sha256": sha.hexdigest(),
        "truncated": truncated,
    }



