"""Open capture files and decode frames: `open`, `read`, `decode`.

Files are read by wirecraft's own Cython reader (pcap in both byte orders and
both time resolutions, pcapng with every interface's link type and time
resolution, gzip-compressed either way), in batches of frames that share one
buffer, so memory stays flat however large the file is.

Damaged files never cost the packets before the damage.  Every good packet is
delivered first (iteration, `batches()`, `table()`); then, with ``errors="warn"``
(the default) reading ends with a `CaptureDamagedWarning` and `Capture.error` holds
the CaptureFileError (path, offset, reason), while ``errors="raise"`` raises it.
A file in which not even the first record can be read raises either way.  A file cut
short (last record, or the gzip stream) warns with `CaptureTruncatedWarning`.
Offsets of gzip files count bytes of the uncompressed stream.
"""

from __future__ import annotations

import builtins
import io
import os
import warnings
from collections.abc import Iterable, Iterator

from . import _ext
from .errors import (
    CaptureDamagedWarning,
    CaptureFileError,
    CaptureLimitWarning,
    CaptureTruncatedWarning,
    CaptureWarning,
)

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
GZIP_IN_CHUNK = 1 << 16      # compressed bytes read at a time (bounds the error-path replay)
ERRORS = ("warn", "raise")


class _GzipStream(io.RawIOBase):
    """Decompresses a gzip file (RFC 1952) with zlib itself, so that every error is ours.

    Every byte the stream yields is delivered before a problem is reported: corrupt
    deflate data is replayed byte by byte from the last good state to recover the output
    up to the damage; then `readinto` raises CaptureFileError (offset = uncompressed bytes
    delivered).  A bad CRC-32/ISIZE trailer or a bad member header raises the same way
    after the member's data.  A stream cut short ends like a file (readinto returns 0)
    and sets `truncated`; concatenated members are read in turn; trailing zero bytes are
    padding; other trailing data ends the stream and sets `trailing`.
    """

    def __init__(self, raw: IO[bytes], path: str) -> None:
        import zlib

        super().__init__()
        self._zlib = zlib
        self._raw = raw
        self._path = path
        self._in = b""            # compressed bytes read, from file offset _in_pos
        self._in_pos = 0
        self._ip = 0              # parse position in _in
        self._raw_eof = False
        self._d: Any = None       # the current member's decompressor; None between members
        self._crc = 0
        self._size = 0
        self._pending = b""       # output to deliver before _error
        self._error: CaptureFileError | None = None
        self._done = False
        self.out_pos = 0          # uncompressed bytes delivered
        self.members = 0
        self.truncated: tuple[int, str] | None = None
        self.trailing: tuple[int, str] | None = None

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Position in the compressed file (what a progress bar over the file size needs)."""
        return self._in_pos + self._ip

    def close(self) -> None:
        self._d = None
        super().close()

    # -- input -----------------------------------------------------------------
    def _where(self) -> int:
        return self._in_pos + self._ip

    def _more(self, need: int) -> bool:
        """Make `need` unparsed compressed bytes available; False at end of file."""
        while len(self._in) - self._ip < need:
            if self._raw_eof:
                return False
            chunk = self._raw.read(GZIP_IN_CHUNK)
            if not chunk:
                self._raw_eof = True
                return False
            self._in_pos += self._ip
            self._in = self._in[self._ip:] + chunk
            self._ip = 0
        return True

    def _fail(self, reason: str, extra: bytes = b"") -> None:
        self._pending += extra
        self._error = CaptureFileError(self._path, self.out_pos + len(self._pending),
                                       f"{reason} (compressed byte {self._where()})")
        self._done = True

    def _cut(self, reason: str) -> None:
        self.truncated = (self.out_pos + len(self._pending),
                          f"{reason} (compressed byte {self._where()})")
        self._done = True

    def _start_member(self) -> None:
        """Parse a member header at the input position, or end the stream."""
        if not self._more(1):
            self._done = True
            return
        if not self._more(2) or self._in[self._ip:self._ip + 2] != b"\x1f\x8b":
            if self.members == 0:
                self._fail("not gzip data")
                return
            start = self._where()
            # zero bytes after the last member are padding (gzip(1) ignores them too)
            while True:
                rest = self._in[self._ip:]
                if rest.strip(b"\0"):
                    self.trailing = (start, "data after the last gzip member is not gzip: "
                                            "ignored")
                    self._done = True
                    return
                self._ip = len(self._in)
                if not self._more(1):
                    self._done = True
                    return
        if not self._more(10):
            self._cut("gzip member header is cut short")
            return
        h = self._in[self._ip:self._ip + 10]
        if h[2] != 8:
            self._fail(f"gzip member uses compression method {h[2]}, not deflate")
            return
        flags = h[3]
        if flags & 0xE0:
            self._fail(f"gzip member header has reserved flags 0x{flags:02x}")
            return
        i = 10
        if flags & 4:                                   # FEXTRA
            if not self._more(i + 2):
                self._cut("gzip member header is cut short")
                return
            xlen = self._in[self._ip + i] | self._in[self._ip + i + 1] << 8
            i += 2 + xlen
        for bit in (8, 16):                             # FNAME, FCOMMENT: zero-terminated
            if flags & bit:
                while True:
                    if not self._more(i + 1):
                        self._cut("gzip member header is cut short")
                        return
                    end = self._in.find(b"\0", self._ip + i)
                    if end >= 0:
                        i = end - self._ip + 1
                        break
                    i = len(self._in) - self._ip
        if flags & 2:                                   # FHCRC
            i += 2
        if not self._more(i):
            self._cut("gzip member header is cut short")
            return
        self._ip += i
        self._d = self._zlib.decompressobj(-self._zlib.MAX_WBITS)
        self._crc = 0
        self._size = 0

    def _replay(self, d: Any, data: memoryview) -> bytes:
        """The output of `data` up to the first byte zlib rejects, from decompressor state `d`."""
        zlib = self._zlib
        out = []
        step = 4096
        i = 0
        while i < len(data):
            saved = d.copy()
            try:
                out.append(d.decompress(data[i:i + step]))
                i += step
                continue
            except zlib.error:
                d = saved
            for j in range(i, min(i + step, len(data))):
                try:
                    out.append(d.decompress(data[j:j + 1]))
                except zlib.error:
                    return b"".join(out)
            break
        return b"".join(out)

    def _inflate(self, room: int) -> bytes:
        """Up to `room` bytes of the current member; b"" when the stream ended or failed."""
        zlib = self._zlib
        d = self._d
        while True:
            if self._ip >= len(self._in) and not self._more(1):
                self._cut("gzip stream is cut short inside compressed data")
                return b""
            data = memoryview(self._in)[self._ip:]
            saved = d.copy()
            try:
                out = d.decompress(data, room)
            except zlib.error as exc:
                out = self._replay(saved, data)
                self._fail(f"gzip data is corrupt ({exc})", out)
                return b""
            self._ip += len(data) - len(d.unconsumed_tail) - len(d.unused_data)
            data.release()
            self._crc = zlib.crc32(out, self._crc)
            self._size += len(out)
            if d.eof:
                self._d = None
                self.members += 1
                if not self._more(8):
                    self._pending += out
                    self._cut("gzip member trailer is cut short")
                    return b""
                crc = int.from_bytes(self._in[self._ip:self._ip + 4], "little")
                isize = int.from_bytes(self._in[self._ip + 4:self._ip + 8], "little")
                if crc != self._crc:
                    self._fail(f"gzip CRC-32 check failed (stored 0x{crc:08x}, data "
                               f"0x{self._crc:08x})", out)
                    return b""
                if isize != self._size & 0xFFFFFFFF:
                    self._fail(f"gzip length check failed (stored {isize}, data "
                               f"{self._size & 0xFFFFFFFF} mod 2**32)", out)
                    return b""
                self._ip += 8
                return out
            if out:
                return out

    def readinto(self, b: Any) -> int:  # type: ignore[override]
        view = memoryview(b).cast("B")
        room = len(view)
        while True:
            if self._pending:
                k = min(room, len(self._pending))
                view[:k] = self._pending[:k]
                self._pending = self._pending[k:]
                self.out_pos += k
                return k
            if self._error is not None:
                raise self._error
            if self._done or room == 0:
                return 0
            if self._d is None:
                self._start_member()
                continue
            out = self._inflate(room)
            if out:
                view[:len(out)] = out
                self.out_pos += len(out)
                return len(out)


def _open_file(source: str | os.PathLike[str] | IO[bytes]
               ) -> tuple[IO[bytes], str, bool, _GzipStream | None, IO[bytes]]:
    """(binary file object, display name, whether we own the raw file, our gzip wrapper
    or None, the raw file), gunzipping transparently."""
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
        gz = _GzipStream(raw, str(path))
        return gz, str(path), owned, gz, raw  # type: ignore[return-value]
    return raw, str(path), owned, None, raw


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

    `errors` says what damage after the first record does once every packet before it
    has been delivered: "warn" (default) ends the stream with a CaptureDamagedWarning and
    keeps the CaptureFileError in `error`; "raise" raises it.  Metadata caps
    (`_core.READER_LIMITS`) that dropped something are in `limits_hit` and warned about
    once with CaptureLimitWarning.

    `where` is a display filter (Wireshark's language, wirecraft.display): only the packets
    that pass are delivered by iteration, `batches()` and `table()`; frame numbers stay
    those of the file.

    `defrag=True` puts IPv4 and IPv6 fragments together (wirecraft.defrag): a datagram
    comes out as one packet at the place of its last fragment, `Packet.defrag` saying
    from which frames; fragments that never complete come out as themselves, marked.
    `defrag` may also be a dict of caps (wirecraft.defrag.DEFAULT_CAPS). The display
    filter sees the datagrams put together. `defrag_stats` has the counters.
    """

    def __init__(self, source: str | os.PathLike[str] | IO[bytes], filter: str | None = None,
                 batch_size: int = DEFAULT_BATCH, snaplen: int = 262144,
                 errors: str = "warn", checksums: bool = False, where: str | None = None,
                 defrag: bool | dict[str, Any] = False) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        if errors not in ERRORS:
            raise ValueError(f"errors must be one of {ERRORS}, not {errors!r}")
        # compiled before the file is opened: a bad expression is the error to report
        self.where = where
        self._display: Any = None
        if where is not None:
            from .display import compile as compile_display
            self._display = compile_display(where).stream()
        self._file, self.path, self._owned, self._gz, self._raw = _open_file(source)
        self.filter = filter
        self.batch_size = batch_size
        self.errors = errors
        self.checksums = checksums  # verify checksums: bad ones become `problems`
        self._warned = False
        self._defrag: Any = None
        if defrag:
            from .defrag import Defragmenter
            caps = defrag if isinstance(defrag, dict) else {}
            self._defrag = Defragmenter(checksums=checksums, **caps)
        try:
            bpf = _core.Filter(filter, snaplen) if filter else None
            self._reader = _core.Reader(self._file, self.path, CHUNK, bpf)
        except (OSError, EOFError) as exc:
            self.close()
            raise CaptureFileError(self.path, 0, f"cannot read: {exc}") from None
        except CaptureFileError:
            self.close()
            gz = self._gz
            if gz is not None and gz.truncated is not None:
                # the header itself was lost with the end of the gzip stream: say so
                raise CaptureFileError(self.path, gz.truncated[0], f"{gz.truncated[1]}, before "
                                       "the capture header was complete") from None
            raise
        except BaseException:
            self.close()
            raise
        self._reader.soft = errors == "warn"

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
        """Counters so far: packets read and matched, blocks skipped, truncation, the error
        that ended reading, packets with a bad timestamp, and what reader caps dropped."""
        r = self._reader
        return {
            "packets_read": r.packets_read,
            "packets_matched": r.packets_matched,
            "blocks_skipped": r.blocks_skipped,
            "truncated": self.truncated,
            "error": r.error,
            "bad_timestamps": r.bad_timestamps,
            "limits_hit": r.limits_hit,
        }

    @property
    def truncated(self) -> tuple[int, str] | None:
        """(byte offset, reason) if the file (last record or gzip stream) was cut short, else
        None.  Offsets of gzip files are in the uncompressed stream."""
        gz = self._gz
        if gz is not None and gz.truncated is not None:
            return gz.truncated
        return self._reader.truncated

    @property
    def error(self) -> CaptureFileError | None:
        """The CaptureFileError that ended reading early (damage after good packets), if any."""
        return self._reader.error

    @property
    def limits_hit(self) -> dict[str, int]:
        """What the reader's metadata caps dropped so far, by kind (empty when nothing); see
        `_core.READER_LIMITS` for the caps and `Reader.limits_hit` for the kinds."""
        return self._reader.limits_hit

    # -- reading -----------------------------------------------------------
    def raw_batches(self, size: int | None = None) -> Iterator[Batch]:
        """Decoded batches as the core makes them (record arrays plus frames), for bulk users.

        Every packet read is in them: a display filter (`where`) is not applied here.
        With defrag, fragments are put together (see the class docstring)."""
        if self._defrag is not None:
            yield from self._defrag.batches(self._read_batches(size))
            return
        yield from self._read_batches(size)

    @property
    def defrag_stats(self) -> dict[str, int] | None:
        """The defragmentation counters (None when defrag is off)."""
        return None if self._defrag is None else self._defrag.stats

    def _read_batches(self, size: int | None = None) -> Iterator[Batch]:
        n = size or self.batch_size
        reader = self._reader
        try:
            while True:
                b = reader.read_batch(n)
                if b is None:
                    break
                if self.checksums:
                    _core.check_checksums(b)
                yield b
        finally:
            self._report_truncation()

    def _report_truncation(self) -> None:
        """Warn once, at the end of reading, about truncation, damage read past (errors="warn"),
        trailing data after a gzip stream and metadata caps that dropped something."""
        if self._warned:
            return
        self._warned = True
        r = self._reader
        n = r.packets_read
        t = self.truncated
        if t is not None:
            warnings.warn(f"{self.path}: at byte {t[0]}: {t[1]}; {n} complete packets were "
                          "read before it", CaptureTruncatedWarning, stacklevel=3)
        gz = self._gz
        if gz is not None and gz.trailing is not None:
            warnings.warn(f"{self.path}: at compressed byte {gz.trailing[0]}: {gz.trailing[1]}",
                          CaptureWarning, stacklevel=3)
        err = r.error
        if err is not None and r.soft and n > 0:
            warnings.warn(CaptureDamagedWarning(
                f"{err}; reading stopped there, after {n} packets", err), stacklevel=3)
        hit = r.limits_hit
        if hit:
            what = ", ".join(f"{k}={v}" for k, v in hit.items())
            warnings.warn(f"{self.path}: reader limits dropped metadata ({what}); see "
                          "Capture.limits_hit", CaptureLimitWarning, stacklevel=3)

    def _passing(self) -> Iterator[Packet]:
        """The packets of each batch that pass the display filter."""
        import numpy as np

        display = self._display
        for b in self.raw_batches():
            for i in np.flatnonzero(display.mask(b)).tolist():
                yield b[i]

    def __iter__(self) -> Iterator[Packet]:
        if self._display is not None:
            return self._passing()
        if self.checksums or self._defrag is not None:
            return (pkt for b in self.raw_batches() for pkt in b)
        return _core.PacketIterator(self._reader, self.batch_size, self._report_truncation)

    def batches(self, size: int | None = None) -> Iterator[Table]:
        """Tables of up to `size` packets each, read as the file streams."""
        from .table import Table

        display = self._display
        for b in self.raw_batches(size):
            t = Table.from_batches([b])
            yield t if display is None else t.filter(display.mask(b))

    def table(self, fields: Iterable[str] = ()) -> Table:
        """Every (remaining) packet of the file as one Table.

        `fields` names catalogue fields read from the frames rather than the record (a
        payload protocol's, e.g. "ntp.stratum"): they are computed batch by batch while
        the frames are at hand and become columns of the Table.

        Records are decoded straight into a few large arrays (growing geometrically), and
        each batch's frames are released as soon as they are decoded, so the read buffer is
        reused and the only memory that grows is the records themselves.

        On a damaged file the rows before the damage are kept: with errors="warn" the
        Table is returned with the CaptureFileError in its `error` attribute (None on a
        clean file) and a CaptureDamagedWarning; with errors="raise" the CaptureFileError is
        raised with those rows in its `table` attribute.
        """
        import numpy as np

        from .table import RECORD_DTYPE, Table

        if self._defrag is not None:
            if fields:
                raise ValueError("table(fields=...) with defrag: read the fields from "
                                 "batches() instead")
            bs = list(self.raw_batches())
            whole = Table.from_batches(bs, keep_frames=False)
            if self._display is None:
                return whole
            return whole.filter(np.concatenate([self._display.mask(b) for b in bs])
                                if bs else np.zeros(0, dtype=bool))
        rsize = RECORD_DTYPE.itemsize
        reader = self._reader
        step = self.batch_size
        chunks: list[np.ndarray] = []
        cap = max(step, TABLE_FIRST_CHUNK)
        # np.zeros: fresh pages come zeroed from the kernel, so the decoder skips clearing
        area = np.zeros(cap * rsize, dtype=np.uint8)
        used = 0
        failed: CaptureFileError | None = None
        wanted = list(fields)
        extra: dict[str, list[np.ndarray]] = {n: [] for n in wanted}
        if wanted:
            from .proto import FIELDS, PROTOCOL_OF
            from .proto._payload import column
            for n in wanted:
                if n not in FIELDS:
                    raise KeyError(f"unknown field {n!r} (see `wirecraft fields`)")
                if not PROTOCOL_OF[n].extra.get("payload"):
                    raise ValueError(f"{n!r} is not read from the frames: the Table has it "
                                     "already (table[name]) or it has no column")
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
                except CaptureFileError as exc:
                    if not reader.packets_read:
                        raise       # not even one record: the file is not a readable capture
                    failed = exc
                    break
                if b is None:
                    break
                if self.checksums:
                    _core.check_checksums(b)
                if self._display is not None:
                    # keep the passing records, moved to the front of this batch's area
                    keep = self._display.mask(b)
                    recs = target[: len(b) * rsize].view(RECORD_DTYPE)
                    kept = int(keep.sum())
                    for n in wanted:
                        extra[n].append(column(b, n)[keep])
                    recs[:kept] = recs[keep]
                    used += kept
                    del b, target, recs
                    continue
                used += len(b)
                for n in wanted:
                    extra[n].append(column(b, n))
                # drop the batch at once: its frame buffer is then free for the next read
                del b, target
        finally:
            self._report_truncation()
        if used or not chunks:
            last = area[: used * rsize]
            if used * 2 < cap:
                last = last.copy()  # do not pin a mostly empty chunk
            chunks.append(last.view(RECORD_DTYPE))
        table = Table(chunks, extra={n: np.concatenate(v) if v else np.zeros(0)
                                     for n, v in extra.items()})
        table.error = reader.error  # type: ignore[attr-defined]
        if failed is not None:
            failed.table = table
            raise failed
        return table

    def close(self) -> None:
        """Close the file (a caller's file object stays open; our gzip wrapper is closed)."""
        if self._gz is not None:
            self._gz.close()
        if self._owned:
            self._raw.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Capture {self.path!r} {self.format} linktype={self.linktype}>"


def open(source: str | os.PathLike[str] | IO[bytes], filter: str | None = None,  # noqa: A001
         batch_size: int = DEFAULT_BATCH, errors: str = "warn",
         checksums: bool = False, where: str | None = None,
         defrag: bool | dict[str, Any] = False) -> Capture:
    """Open a pcap/pcapng file (optionally gzip-compressed) for streaming.

    `filter` is a BPF expression (tcpdump syntax) compiled by libpcap and run
    over every batch in C.  `errors` ("warn" or "raise") is what damage after good
    packets does once they are delivered (see Capture).  `checksums=True` verifies
    IPv4/TCP/UDP/ICMP/ICMPv6 checksums (in C, once per batch): a wrong one is named in
    `Packet.problems` ('tcp_bad_checksum', ...) and set in the `anomalies` column.
    `where` is a display filter (tshark's `-Y` language, wirecraft.display): only the
    packets that pass are delivered. `defrag=True` puts IP fragments together (see
    Capture).
    """
    return Capture(source, filter=filter, batch_size=batch_size, errors=errors,
                   checksums=checksums, where=where, defrag=defrag)


def read(source: str | os.PathLike[str] | IO[bytes], filter: str | None = None,
         errors: str = "warn", checksums: bool = False, where: str | None = None,
         defrag: bool | dict[str, Any] = False) -> Iterator[Packet]:
    """Iterate over the Packets of a capture file; the file closes when iteration ends.

    Damage after good packets ends the iteration after them with a CaptureDamagedWarning
    (errors="warn", the default, so protocol logs built from a path keep what was read) or
    raises the CaptureFileError (errors="raise").  `checksums=True`, `where`, `defrag`: as
    for `open`."""
    cap = Capture(source, filter=filter, errors=errors, checksums=checksums, where=where,
                  defrag=defrag)
    if where is not None:
        def passing() -> Iterator[Packet]:
            try:
                yield from cap
            finally:
                cap.close()
        return passing()
    if checksums or defrag:
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


def packets(source: Any, defrag: bool = True) -> Iterator[Packet]:
    """Packets from a path, a Capture, a Batch, or any iterable of Packets (for higher
    layers: a path or file is read with IP fragments put together unless `defrag` is
    False)."""
    if isinstance(source, (str, os.PathLike)):
        yield from read(source, defrag=defrag)
    elif isinstance(source, (io.IOBase,)):
        yield from read(source, defrag=defrag)
    else:
        yield from source


__all__ = [
    "Capture",
    "CaptureDamagedWarning",
    "CaptureLimitWarning",
    "CaptureTruncatedWarning",
    "CaptureWarning",
    "batch_from_buffer",
    "batch_from_pcapy",
    "decode",
    "decode_many",
    "open",
    "packets",
    "read",
]

