"""Open capture files and decode frames: `open`, `read`, `decode`.

Files are read by wirecraft's own Cython reader (pcap in both byte orders and
both time resolutions, pcapng with every interface's link type and time
resolution, gzip-compressed either way), in batches of frames that share one
buffer, so memory stays flat however large the file is.
"""

from __future__ import annotations

import builtins
import io
import os
import warnings
from collections.abc import Iterable, Iterator

from . import _ext
from .errors import CaptureFileError

# typing is imported by type checkers only: at run time it costs ~10 ms of start-up
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from ._core import Batch, Packet
    from .table import Table

_core = _ext.load("_core")

DEFAULT_BATCH = 4096
CHUNK = 1 << 20
TABLE_FIRST_CHUNK = 1 << 15   # records in table()'s first array (6.5 MB: huge pages); later ones double
TABLE_MAX_CHUNK = 1 << 17     # ... up to this many (26 MB); arrays are calloc'd, untouched pages cost nothing


class CaptureTruncatedWarning(UserWarning):
    """The last record of a capture file was cut short; the packets before it were read."""


def _open_file(source: str | os.PathLike[str] | IO[bytes]) -> tuple[IO[bytes], str, bool, bool]:
    """(binary file object, display name, whether we own it, whether it is our gzip
    wrapper), gunzipping transparently."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            raw: IO[bytes] = builtins.open(path, "rb")  # noqa: SIM115 - closed by Capture.close
        except OSError as exc:
            raise CaptureFileError(path, 0, exc.strerror or str(exc)) from None
        owned = True
    else:
        raw = source
        path = getattr(source, "name", "<stream>")
        owned = False
    head = _peek(raw, 2)
    if head == b"\x1f\x8b":
        import gzip  # only for compressed captures

        raw = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        return raw, str(path), owned, True
    return raw, str(path), owned, False


def _peek(f: IO[bytes], n: int) -> bytes:
    peek = getattr(f, "peek", None)
    if peek is not None:
        return peek(n)[:n]
    if f.seekable():
        pos = f.tell()
        data = f.read(n)
        f.seek(pos)
        return data
    raise CaptureFileError(getattr(f, "name", "<stream>"), 0,
                           "stream is neither peekable nor seekable")


class Capture:
    """A capture file being read: iterate for Packets, `.batches()` for Tables.

    Works as a context manager; the file is closed at the end of iteration
    or on `close()`.  `stats` says how many packets were read and matched
    and whether the last record was cut short.
    """

    def __init__(self, source: str | os.PathLike[str] | IO[bytes], filter: str | None = None,
                 batch_size: int = DEFAULT_BATCH, snaplen: int = 262144,
                 checksums: bool = False) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._file, self.path, self._owned, self._gzip = _open_file(source)
        self.filter = filter
        self.batch_size = batch_size
        self.checksums = checksums  # verify checksums: bad ones become `problems`
        bpf = _core.Filter(filter, snaplen) if filter else None
        try:
            self._reader = _core.Reader(self._file, self.path, CHUNK, bpf)
        except (OSError, EOFError) as exc:
            self.close()
            raise CaptureFileError(self.path, 0, f"cannot read: {exc}") from None
        except BaseException:
            self.close()
            raise
        self._started = False
        self._warned = False

    # -- information -------------------------------------------------------
    @property
    def format(self) -> str:
        """'pcap' or 'pcapng'."""
        return "pcap" if self._reader.format == 1 else "pcapng"

    @property
    def linktype(self) -> int:
        """The link type of the file (pcap) or of its first interface (pcapng)."""
        return self._reader.linktype

    @property
    def interfaces(self) -> list[dict[str, Any]]:
        """One dict per interface seen so far (linktype, snaplen, name, ts_resolution...)."""
        return self._reader.interfaces

    @property
    def comments(self) -> list[str]:
        """Section-header comments of a pcapng file."""
        return self._reader.section_comments

    @property
    def stats(self) -> dict[str, Any]:
        r = self._reader
        return {
            "packets_read": r.packets_read,
            "packets_matched": r.packets_matched,
            "blocks_skipped": r.blocks_skipped,
            "truncated": r.truncated,
        }

    @property
    def truncated(self) -> tuple[int, str] | None:
        """(byte offset, reason) if the last record was cut short, else None."""
        return self._reader.truncated

    # -- reading -----------------------------------------------------------
    def raw_batches(self, size: int | None = None) -> Iterator[Batch]:
        """Decoded batches as the core makes them (record arrays plus frames), for bulk users."""
        n = size or self.batch_size
        reader = self._reader
        try:
            while True:
                try:
                    b = reader.read_batch(n)
                except (OSError, EOFError) as exc:
                    raise CaptureFileError(self.path, -1, f"cannot read: {exc}") from None
                if b is None:
                    break
                if self.checksums:
                    _core.check_checksums(b)
                yield b
        finally:
            self._report_truncation()

    def _report_truncation(self) -> None:
        t = self._reader.truncated
        if t is not None and not self._warned:
            self._warned = True
            warnings.warn(
                f"{self.path}: at byte {t[0]}: {t[1]}; {self._reader.packets_read} complete "
                "packets were read before it",
                CaptureTruncatedWarning,
                stacklevel=3,
            )

    def __iter__(self) -> Iterator[Packet]:
        if self.checksums:
            return (pkt for b in self.raw_batches() for pkt in b)
        return _core.PacketIterator(self._reader, self.batch_size, self._report_truncation)

    def batches(self, size: int | None = None) -> Iterator[Table]:
        """Tables of up to `size` packets each, read as the file streams."""
        from .table import Table

        for b in self.raw_batches(size):
            yield Table.from_batches([b])

    def table(self) -> Table:
        """Every (remaining) packet of the file as one Table.

        Records are decoded straight into a few large arrays (growing geometrically), and
        each batch's frames are released as soon as they are decoded, so the read buffer is
        reused and the only memory that grows is the records themselves.
        """
        import numpy as np

        from .table import RECORD_DTYPE, Table

        rsize = RECORD_DTYPE.itemsize
        reader = self._reader
        step = self.batch_size
        chunks: list[np.ndarray] = []
        cap = max(step, TABLE_FIRST_CHUNK)
        # np.zeros: fresh pages come zeroed from the kernel, so the decoder skips clearing
        area = np.zeros(cap * rsize, dtype=np.uint8)
        used = 0
        try:
            while True:
                if cap - used < step:
                    chunks.append(area[: used * rsize].view(RECORD_DTYPE))
                    cap = max(min(cap * 2, TABLE_MAX_CHUNK), step)
                    area = np.zeros(cap * rsize, dtype=np.uint8)
                    used = 0
                target = area[used * rsize:(used + step) * rsize]
                try:
                    b = reader.read_batch(step, target, True)
                except (OSError, EOFError) as exc:
                    raise CaptureFileError(self.path, -1, f"cannot read: {exc}") from None
                if b is None:
                    break
                if self.checksums:
                    _core.check_checksums(b)
                used += len(b)
                # drop the batch at once: its frame buffer is then free for the next read
                del b, target
        finally:
            self._report_truncation()
        if used or not chunks:
            last = area[: used * rsize]
            if used * 2 < cap:
                last = last.copy()  # do not pin a mostly empty chunk
            chunks.append(last.view(RECORD_DTYPE))
        return Table(chunks)

    def close(self) -> None:
        if self._owned:
            self._file.close()
        elif self._gzip:  # our wrapper around a caller's file (which stays open)
            self._file.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Capture {self.path!r} {self.format} linktype={self.linktype}>"


def open(source: str | os.PathLike[str] | IO[bytes], filter: str | None = None,  # noqa: A001
         batch_size: int = DEFAULT_BATCH, checksums: bool = False) -> Capture:
    """Open a pcap/pcapng file (optionally gzip-compressed) for streaming.

    `filter` is a BPF expression (tcpdump syntax) compiled by libpcap and run
    over every batch in C. `checksums=True` verifies IPv4/TCP/UDP/ICMP/ICMPv6
    checksums (in C, once per batch): a wrong one is named in `Packet.problems`
    ('tcp_bad_checksum', ...) and set in the `anomalies` column.
    """
    return Capture(source, filter=filter, batch_size=batch_size, checksums=checksums)


def read(source: str | os.PathLike[str] | IO[bytes], filter: str | None = None,
         checksums: bool = False) -> Iterator[Packet]:
    """Iterate over the Packets of a capture file; the file closes when iteration ends.

    `checksums=True`: as for `open`."""
    cap = Capture(source, filter=filter, checksums=checksums)
    if checksums:
        def verified() -> Iterator[Packet]:
            try:
                for b in cap.raw_batches():
                    yield from b
            finally:
                cap.close()
        return verified()

    def finish() -> None:
        cap._report_truncation()
        cap.close()
    return _core.PacketIterator(cap._reader, cap.batch_size, finish)


def decode(frame: bytes, linktype: int = 1, time_ns: int = 0, wire_len: int | None = None,
           checksums: bool = False) -> Packet:
    """Decode one frame through the batch decoder (a batch of one).

    `checksums=True`: as for `open`."""
    frame = bytes(frame)
    batch = _core.batch_from_buffer(frame, [0], [len(frame)],
                                    [len(frame) if wire_len is None else wire_len],
                                    [time_ns], linktype)
    if checksums:
        _core.check_checksums(batch)
    return batch[0]


def decode_many(frames: Iterable[bytes], linktype: int = 1) -> Batch:
    """Decode several frames as one batch (they are copied into one buffer)."""
    frames = [bytes(f) for f in frames]
    offsets, pos = [], 0
    for f in frames:
        offsets.append(pos)
        pos += len(f)
    lens = [len(f) for f in frames]
    return _core.batch_from_buffer(b"".join(frames), offsets, lens, lens, [0] * len(frames),
                                   linktype)


def batch_from_buffer(data: bytes, offsets: Any, caplens: Any, wire_lens: Any, ts_ns: Any,
                      linktype: int, first_index: int = 0) -> Batch:
    """Decode frames that sit in `data` at `offsets` (used by live capture)."""
    return _core.batch_from_buffer(data, offsets, caplens, wire_lens, ts_ns, linktype, first_index)


def batch_from_pcapy(data: bytes, meta: bytes, linktype: int, wire_lens: Any = None,
                     first_index: int = 0) -> Batch:
    """Decode the (buffer, meta) pair that pcapy-ng's `next_batch` returns."""
    return _core.batch_from_pcapy(data, meta, linktype, wire_lens, first_index)


def packets(source: Any) -> Iterator[Packet]:
    """Packets from a path, a Capture, a Batch, or any iterable of Packets (for higher layers)."""
    if isinstance(source, (str, os.PathLike)):
        yield from read(source)
    elif isinstance(source, (io.IOBase,)):
        yield from read(source)
    else:
        yield from source


__all__ = [
    "Capture",
    "CaptureTruncatedWarning",
    "batch_from_buffer",
    "batch_from_pcapy",
    "decode",
    "decode_many",
    "open",
    "packets",
    "read",
]

