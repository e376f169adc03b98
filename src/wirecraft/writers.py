"""Capture-file writers: pcap (microsecond or nanosecond), pcapng, and rotation.

Formats: the pcap file format (draft-ietf-opsawg-pcap) and pcapng
(draft-ietf-opsawg-pcapng). Records are assembled whole in a buffer of our
own and reach the file only as whole records, so the file on disk always ends
on a record boundary. The flush policy says when the buffer goes out:
`flush="packet"` after every record (tcpdump -U), a number of seconds
(default 1.0, checked on each write), or `"buffer"` when the buffer fills.

Write errors: any OSError while writing (ENOSPC, EDQUOT, EIO, EFBIG...) raises
one `WriteError` naming the path and the errno. Before raising, the writer cuts
the file back to the end of its last complete record (os.ftruncate after a
partial write), so the file stays readable and holds every packet that reached
the disk before the error; the packets that did not are counted
(`packets_lost`). A failed writer writes nothing more: later write() calls raise
the same error again, and close() only closes (it never retries the buffer,
which would put a second copy of records after a cut one).

Signals: while a writer is open, SIGTERM (and SIGINT when it is not handled
by Python) flushes every open writer before the process dies as it would
have; Python's default SIGINT raises KeyboardInterrupt, the `with` block or
interpreter exit flushes. Buffers are written with SIGINT/SIGTERM blocked,
so no record is written twice or cut.
"""

from __future__ import annotations

import atexit
import errno as errno_mod
import io
import itertools
import os
import signal
import struct
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import IO, Any, BinaryIO

from .errors import WirecraftError

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D

_OPEN: weakref.WeakSet[_Writer] = weakref.WeakSet()
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_installed: set[int] = set()


def _flush_all() -> None:
    """Flush every open writer (at exit or on a signal); a new write error is said once."""
    for w in list(_OPEN):
        failed_before = w.error is not None
        try:
            w.flush()
        except WriteError as exc:
            if not failed_before:  # nobody else will hear of it now: say it on stderr
                try:
                    sys.stderr.write(f"wirecraft: {exc}\n")
                except (OSError, ValueError, AttributeError):
                    pass
        except (OSError, ValueError):
            pass


def _on_signal(signum: int, frame: Any) -> None:
    """Flush every open writer, then die of the signal as the default action would."""
    _flush_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _SIGNALS:
        if sig in _installed:
            continue
        try:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, _on_signal)
                _installed.add(sig)
        except (ValueError, OSError):
            pass


atexit.register(_flush_all)


class WriteError(WirecraftError, OSError):
    """Writing a capture file failed (disk full, quota, I/O error...).

    `path` and `errno` say where and why; `packets_kept` counts the packets in
    the file, `packets_lost` those the writer had accepted that are not in it;
    `truncated` says whether the file was cut back to its last complete record
    (False for pipes and devices, which cannot be cut, and for file-like objects
    without a descriptor); `removed` that not even the file header fit and the
    (empty) file the writer had created was deleted.
    It is an OSError too, so code that catches OSError around writes still works.
    """

    def __init__(self, path: str | None, err: OSError, packets_kept: int, packets_lost: int,
                 truncated: bool, removed: bool = False) -> None:
        code = err.errno if err.errno is not None else errno_mod.EIO
        super().__init__(code, err.strerror or str(err))
        self.path = path
        self.filename = path
        self.packets_kept = packets_kept
        self.packets_lost = packets_lost
        self.truncated = truncated
        self.removed = removed

    def __str__(self) -> str:
        name = errno_mod.errorcode.get(self.errno or 0, str(self.errno))
        where = self.path if self.path is not None else "<stream>"
        if self.removed:
            kept = "not even the file header fit, so the file was removed"
        elif self.truncated:
            kept = f"file cut back to its last complete record, {self.packets_kept} packets kept"
        else:
            kept = f"{self.packets_kept} packets written"
        return (f"{where}: write failed: {self.strerror} ({name}); {kept}, "
                f"{self.packets_lost} lost")


# io types whose descriptor we may write to directly once their own buffer is flushed
_FD_TYPES = (io.FileIO, io.BufferedWriter, io.BufferedRandom)


class _Writer:
    """Buffering and flush policy shared by the pcap and pcapng writers."""

    def __init__(self, path_or_file: str | os.PathLike | BinaryIO, flush: str | float = 1.0,
                 buffer_size: int = 1 << 16) -> None:
        if isinstance(path_or_file, (str, os.PathLike)):
            self.path: str | None = os.fspath(path_or_file)
            self._file: IO[bytes] = open(self.path, "wb", buffering=0)  # noqa: SIM115
            self._owns = True
        else:
            self.path = getattr(path_or_file, "name", None)
            self._file = path_or_file
            self._owns = False
        if flush not in ("packet", "buffer") and not isinstance(flush, (int, float)):
            raise ValueError('flush must be "packet", "buffer" or a number of seconds')
        self.flush_policy = flush
        self.buffer_size = buffer_size
        self._buf = bytearray()
        self._last_flush = time.monotonic()
        self.packets_written = 0
        self.bytes_written = 0
        self.packets_lost = 0
        self.error: WriteError | None = None
        self.closed = False
        # Where records go: a descriptor we write to ourselves (exact byte counts,
        # so a partial write can be cut back) or, for other file-likes (gzip,
        # BytesIO...), the object's own write().
        self._fd: int | None = None
        self._disk = 0  # bytes of complete records on disk, from self._start
        self._start: int | None = 0 if self._owns else None  # file offset of our first byte
        self._header_pending = True  # the file header is still in the buffer
        if self._owns:
            self._fd = self._file.fileno()
        elif isinstance(self._file, _FD_TYPES):
            try:
                self._file.flush()
                self._fd = self._file.fileno()
                if self._file.seekable():
                    self._start = os.lseek(self._fd, 0, os.SEEK_CUR)
            except (OSError, ValueError):
                self._fd = None
        _OPEN.add(self)
        _install_handlers()

    def _emit(self, record: bytes) -> None:
        """Queue one whole record and flush according to the policy."""
        self._buf += record
        self.bytes_written += len(record)
        self._apply_policy()

    def _apply_policy(self) -> None:
        policy = self.flush_policy
        if policy == "packet" or len(self._buf) >= self.buffer_size:
            self.flush()
        elif policy != "buffer" and time.monotonic() - self._last_flush >= policy:
            self.flush()

    def flush(self) -> None:
        """Write every queued record to the file (whole records only) and flush it.

        Raises WriteError when the write fails; the file then ends on its last
        complete record and this writer accepts nothing more.
        """
        if self.closed:
            return
        if self.error is not None:
            raise self.error
        if not self._buf:
            return
        main = threading.current_thread() is threading.main_thread()
        if main:
            old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            view = memoryview(self._buf)
            done = 0
            try:
                if self._fd is not None:
                    if not self._owns:
                        self._file.flush()  # anything its owner wrote through it goes first
                    while done < len(view):
                        n = os.write(self._fd, view[done:])
                        if n <= 0:  # a device that takes nothing: fail, never spin
                            raise OSError(errno_mod.EIO, "the file accepted no bytes")
                        done += n
                else:
                    while done < len(view):
                        n = self._file.write(view[done:])
                        if n is not None and n <= 0:
                            raise OSError(errno_mod.EIO, "the file accepted no bytes")
                        done += len(view) - done if n is None else n
                    if hasattr(self._file, "flush"):
                        self._file.flush()
            except BrokenPipeError as exc:
                # the reader of a pipe went away: raised as it is (callers stop
                # quietly on it), but the writer is done all the same
                view.release()
                self._fail(exc, done)
                raise
            except OSError as exc:
                view.release()
                self._fail(exc, done)
                raise self.error from exc  # type: ignore[misc]
            view.release()
            self._disk += done
            self._header_pending = False
            self._buf = bytearray()
        finally:
            if main:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
        self._last_flush = time.monotonic()

    def _record_end(self, buf: memoryview, pos: int) -> int:
        """End offset in `buf` of the record (or file header) starting at `pos`."""
        raise NotImplementedError

    def _fail(self, exc: OSError, done: int) -> None:
        """After `done` bytes of the buffer reached the file: cut back to a record boundary.

        Counts the packets that did not make it, drops the buffer (it is never
        written again) and keeps the WriteError in self.error.
        """
        buf = memoryview(self._buf)
        keep = 0  # end of the last record that is wholly in the file
        lost = 0
        pos = 0
        header = self._header_pending
        while pos < len(buf):
            end = self._record_end(buf, pos)
            if end > len(buf):  # cannot happen: records are queued whole
                end = len(buf)
            is_packet = self._is_packet(buf, pos, header)
            header = False
            if end <= done:
                keep = end
            elif is_packet:
                lost += 1
            pos = end
        buf.release()
        truncated = False
        if self._fd is not None and self._start is not None:
            end = self._start + self._disk + keep
            try:
                os.ftruncate(self._fd, end)  # EINVAL on a pipe or a device: nothing to cut
                os.lseek(self._fd, end, os.SEEK_SET)
                truncated = True
            except OSError:
                truncated = False
        self._disk += keep
        self._buf = bytearray()
        self.packets_written -= lost
        self.packets_lost += lost
        removed = False
        if truncated and self._owns and self._disk == 0 and self.path is not None:
            # not even the file header fit: an empty file is no capture, so none is left
            try:
                if os.path.isfile(self.path) and os.path.getsize(self.path) == 0:
                    os.unlink(self.path)
                    removed = True
            except OSError:
                pass
        self.error = WriteError(self.path, exc, self.packets_written, self.packets_lost,
                                truncated, removed)

    def _is_packet(self, buf: memoryview, pos: int, header: bool) -> bool:
        """Whether the record at `pos` carries a packet (not a file header or IDB)."""
        raise NotImplementedError

    def _check_open(self) -> None:
        if self.error is not None:
            raise self.error
        if self.closed:
            raise ValueError(f"write to a closed {type(self).__name__}")

    def _flush_header(self) -> None:
        """Write the file header now; on failure close the file and raise."""
        try:
            self.flush()
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        """Flush and close (a file object passed in is flushed, not closed).

        After a write error close() only releases the file: it does not raise
        again and does not retry what could not be written.
        """
        if self.closed:
            return
        try:
            if self.error is None:
                self.flush()
        finally:
            self.closed = True
            _OPEN.discard(self)
            self._buf = bytearray()
            if self._owns:
                self._file.close()  # unbuffered: closing writes nothing

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except WriteError as exc:  # a writer dropped without close(): say what was lost
            try:
                sys.stderr.write(f"wirecraft: {exc}\n")
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def write_packet(self, packet: Any) -> None:
        """Write a decoded wirecraft Packet (its data, time_ns and wire_len)."""
        self.write(packet.data, packet.time_ns, packet.wire_len)


def _pcap_time(ts_ns: int) -> int:
    """ts_ns as an int, or ValueError when pcap cannot hold it: its records keep 32
    unsigned bits of seconds (1970 to 2106), and cutting them would move the packet."""
    ts = int(ts_ns)
    if not 0 <= ts // 1_000_000_000 <= 0xFFFFFFFF:
        raise ValueError(f"timestamp {ts_ns} ns is outside what pcap can hold (1970 to "
                         "2106): write pcapng")
    return ts


class PcapWriter(_Writer):
    """Classic pcap file; `nanosecond=True` writes the 0xA1B23C4D variant."""

    def __init__(self, path_or_file: str | os.PathLike | BinaryIO, linktype: int = 1,
                 snaplen: int = 262144, nanosecond: bool = False, flush: str | float = 1.0,
                 buffer_size: int = 1 << 16) -> None:
        super().__init__(path_or_file, flush, buffer_size)
        self.linktype = linktype
        self.snaplen = snaplen
        self.nanosecond = nanosecond
        magic = PCAP_MAGIC_NS if nanosecond else PCAP_MAGIC_US
        self._emit(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        self._flush_header()

    def _record_end(self, buf: memoryview, pos: int) -> int:
        if pos == 0 and self._header_pending:
            return 24
        (caplen,) = struct.unpack_from("<I", buf, pos + 8)
        return pos + 16 + caplen

    def _is_packet(self, buf: memoryview, pos: int, header: bool) -> bool:
        return not header

    def write(self, data: bytes, ts_ns: int, wire_len: int | None = None, iface: int = 0,
              comment: str | None = None) -> None:
        """Append one packet; data beyond snaplen is cut (wire_len keeps the real size).

        `iface` and `comment` exist for API parity with pcapng; pcap cannot store them.
        """
        if self.error is not None or self.closed:
            self._check_open()
        wire = len(data) if wire_len is None else wire_len
        cap = data[: self.snaplen]
        sec, frac = divmod(_pcap_time(ts_ns), 1_000_000_000)
        if not self.nanosecond:
            frac //= 1000
        self.packets_written += 1  # before _emit: a failed flush takes back what it lost
        self._emit(struct.pack("<IIII", sec & 0xFFFFFFFF, frac, len(cap), wire) + bytes(cap))

    def write_records(self, block: bytes | bytearray | memoryview, count: int) -> None:
        """Append `count` pcap records exactly as given: each a 16-byte little-endian record
        header in this writer's precision (seconds, fraction, captured and original length)
        and its captured bytes, as a little-endian pcap file holds them.

        This is the path for copying records out of a capture without re-encoding them
        (`wirecraft read -w`). The caller vouches for the layout; record lengths are checked
        only to the extent that the block must hold whole records.
        """
        if self.error is not None or self.closed:
            self._check_open()
        view = memoryview(block).cast("B")
        pos = seen = 0
        while pos < len(view):
            if pos + 16 > len(view):
                raise ValueError("pcap record block ends inside a record header")
            (caplen,) = struct.unpack_from("<I", view, pos + 8)
            pos += 16 + caplen
            seen += 1
        if pos != len(view) or seen != count:
            raise ValueError(f"pcap record block holds {seen} records, not {count}")
        self.packets_written += count
        self._emit(bytes(view))


    def write_frames(self, frames: Any, frame_length: int, start_ns: int,
                     interval_ns: int = 0, count: int | None = None) -> int:
        """Append equal-length frames laid back to back in one buffer (a Template batch).

        Frame i gets timestamp start_ns + i * interval_ns; the records are assembled in
        one pass and queued as one block. Returns the number of frames written.
        """
        if self.error is not None or self.closed:
            self._check_open()
        if frame_length <= 0:
            raise ValueError("frame_length must be > 0")
        if count is None:
            count = len(frames) // frame_length
        _pcap_time(start_ns)                             # the first frame's time and
        _pcap_time(start_ns + max(count - 1, 0) * interval_ns)  # the last's
        from ._ext import load

        block = load("_craft").pcap_records(frames, frame_length, count, int(start_ns),
                                            int(interval_ns), self.nanosecond, self.snaplen)
        self.packets_written += count
        if not self._buf:
            # hand the block over instead of copying it into the (empty) buffer
            self._buf = block
            self.bytes_written += len(block)
            self._apply_policy()
        else:
            self._emit(block)
        return count


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def _block(btype: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


class PcapngWriter(_Writer):
    """pcapng file with one interface per (linktype, snaplen, name), nanosecond timestamps."""

    def __init__(self, path_or_file: str | os.PathLike | BinaryIO,
                 interfaces: list[tuple[int, int, str | None]] | None = None,
                 comment: str | None = None, flush: str | float = 1.0,
                 buffer_size: int = 1 << 16, application: str = "wirecraft") -> None:
        super().__init__(path_or_file, flush, buffer_size)
        opts = b""
        if comment:
            opts += _option(1, comment.encode())
        opts += _option(4, application.encode())
        opts += _option(0, b"")
        self._emit(_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opts))
        self.interfaces: list[tuple[int, int, str | None]] = []
        for linktype, snaplen, name in interfaces or [(1, 262144, None)]:
            self.add_interface(linktype, snaplen, name)
        self._flush_header()

    def _record_end(self, buf: memoryview, pos: int) -> int:
        (total,) = struct.unpack_from("<I", buf, pos + 4)
        return pos + total

    def _is_packet(self, buf: memoryview, pos: int, header: bool) -> bool:
        (btype,) = struct.unpack_from("<I", buf, pos)
        return btype in (2, 3, 6)  # obsolete packet, simple packet, enhanced packet

    def add_interface(self, linktype: int, snaplen: int = 262144, name: str | None = None) -> int:
        """Declare another interface; returns its id for write(iface=...)."""
        if self.error is not None or self.closed:
            self._check_open()
        opts = b""
        if name:
            opts += _option(2, name.encode())
        opts += _option(9, b"\x09")  # if_tsresol: 10^-9 s
        opts += _option(0, b"")
        self._emit(_block(1, struct.pack("<HHI", linktype, 0, snaplen) + opts))
        self.interfaces.append((linktype, snaplen, name))
        return len(self.interfaces) - 1

    def write(self, data: bytes, ts_ns: int, wire_len: int | None = None, iface: int = 0,
              comment: str | None = None) -> None:
        """Append one Enhanced Packet Block on interface `iface`, with an optional comment."""
        if self.error is not None or self.closed:
            self._check_open()
        if not 0 <= iface < len(self.interfaces):
            raise ValueError(f"interface {iface} was not declared ({len(self.interfaces)} exist)")
        snaplen = self.interfaces[iface][1]
        cap = bytes(data[:snaplen]) if snaplen else bytes(data)
        wire = len(data) if wire_len is None else wire_len
        ts = int(ts_ns) & 0xFFFFFFFFFFFFFFFF
        body = struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(cap), wire)
        body += cap + b"\0" * (-len(cap) % 4)
        if comment:
            body += _option(1, comment.encode()) + _option(0, b"")
        self.packets_written += 1
        self._emit(_block(6, body))


class RotatingWriter:
    """A sequence of capture files with tcpdump's -C / -W / -G rules.

    max_bytes (-C): start a new file rather than grow one past max_bytes (a
    file holds at least one packet). Names: `path`, `path1`, `path2`...
    max_files (-W) with max_bytes: a ring `path0`..`path{W-1}` (zero-padded),
    the oldest overwritten. seconds (-G): `path` is a strftime pattern
    expanded with the local time of the first packet of each file, and a new
    file starts when a packet is `seconds` or more after that file's start
    (packet timestamps, not the wall clock, so replays rotate the same way);
    with max_files, writing stops after that many files (`done` turns True,
    write() returns False). seconds with max_bytes: the count is appended.

    A write error (a full disk, also when a rotation cannot even write the new
    file's header) raises WriteError and ends the sequence: every file in
    `files` ends on a whole record, `packets_lost` counts what never reached one,
    and close() afterwards only releases the file.
    """

    def __init__(self, path: str | os.PathLike, linktype: int = 1, max_bytes: int | None = None,
                 max_files: int | None = None, seconds: float | None = None,
                 format: str = "pcap", snaplen: int = 262144, nanosecond: bool = False,
                 flush: str | float = 1.0) -> None:
        if format not in ("pcap", "pcapng"):
            raise ValueError('format must be "pcap" or "pcapng"')
        self.pattern = os.fspath(path)
        self.linktype = linktype
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.seconds = seconds
        self.format = format
        self.snaplen = snaplen
        self.nanosecond = nanosecond
        self.flush_policy = flush
        self.files: list[str] = []
        self.packets_written = 0
        self.done = False
        self._writer: PcapWriter | PcapngWriter | None = None
        self.error: WriteError | None = None
        self.packets_lost = 0
        self._count = 0  # files opened in the current time slot (size rotation)
        self._opened = 0  # files opened in total
        self._slot_start: int | None = None

    def _name(self, ts_ns: int) -> str:
        base = self.pattern
        if self.seconds:
            base = time.strftime(base, time.localtime(ts_ns / 1e9))
            if self.max_bytes:
                return f"{base}{self._count}" if self._count else base
            return base
        if self.max_bytes and self.max_files:
            width = len(str(self.max_files - 1))
            return f"{base}{self._count % self.max_files:0{width}d}"
        if self.max_bytes:
            return f"{base}{self._count}" if self._count else base
        return base

    def _open(self, ts_ns: int) -> None:
        if self._writer is not None:
            w, self._writer = self._writer, None
            try:
                w.close()
            except WriteError as exc:
                self._failed(exc)
                raise
        name = self._name(ts_ns)
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.format == "pcap":
                self._writer = PcapWriter(name, self.linktype, self.snaplen, self.nanosecond,
                                          flush=self.flush_policy)
            else:
                self._writer = PcapngWriter(name, [(self.linktype, self.snaplen, None)],
                                            flush=self.flush_policy)
        except WriteError as exc:
            if exc.removed and name in self.files:
                self.files.remove(name)  # a ring slot that held an older file
            self._failed(exc)
            raise
        if name not in self.files:
            self.files.append(name)
        self._opened += 1

    def _failed(self, exc: WriteError) -> None:
        """Remember a write error: the files so far stay readable, nothing more is written.

        `exc` describes the one file that failed; self.packets_lost counts over all.
        """
        self.error = exc
        self.packets_lost += exc.packets_lost
        self.packets_written -= exc.packets_lost
        self.done = True

    def _record_size(self, data: bytes, wire_len: int | None) -> int:
        cap = min(len(data), self.snaplen)
        if self.format == "pcap":
            return 16 + cap
        return 32 + cap + (-cap % 4)

    def write(self, data: bytes, ts_ns: int, wire_len: int | None = None, iface: int = 0,
              comment: str | None = None) -> bool:
        """Write one packet, rotating first if a rule says so; False once -W -G is spent.

        Raises WriteError when the disk refuses the data (and again on every
        later call): the files written so far end on whole records.
        """
        if self.error is not None:
            raise self.error
        if self.done:
            return False
        w = self._writer
        try:
            if w is None:
                self._slot_start = ts_ns
                self._open(ts_ns)
            elif self.seconds and ts_ns - (self._slot_start or 0) >= self.seconds * 1e9:
                if self.max_files and self._opened >= self.max_files and not self.max_bytes:
                    self.done = True
                    self.close()
                    return False
                self._slot_start = ts_ns
                self._count = 0
                self._open(ts_ns)
            elif (self.max_bytes and w.packets_written
                  and w.bytes_written + self._record_size(data, wire_len) > self.max_bytes):
                self._count += 1
                self._open(ts_ns)
        except WriteError:
            self.packets_lost += 1  # this packet never reached a file either
            raise
        assert self._writer is not None
        self.packets_written += 1
        try:
            self._writer.write(data, ts_ns, wire_len, 0, comment)
        except WriteError as exc:
            self._failed(exc)
            raise
        return True

    def flush(self) -> None:
        """Write out the current file's buffer (raises WriteError as write() does)."""
        if self.error is not None:
            raise self.error
        if self._writer is not None:
            try:
                self._writer.flush()
            except WriteError as exc:
                self._failed(exc)
                raise

    def close(self) -> None:
        """Close the current file; after a write error this only releases it."""
        w, self._writer = self._writer, None
        if w is not None:
            try:
                w.close()
            except WriteError as exc:
                self._failed(exc)
                raise

    def __enter__(self) -> RotatingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_pcap(path: str | os.PathLike, frames: Any, linktype: int = 1,
               nanosecond: bool = True) -> int:
    """Write (ts_ns, bytes) pairs to a pcap file of `linktype`; returns the number written.

    The pairs' data may be crafted layers too; decoded Packets, bare layers and bytes,
    mixed, go through write() instead."""
    with PcapWriter(path, linktype, nanosecond=nanosecond, flush="buffer") as w:
        for ts_ns, data in frames:
            w.write(data if isinstance(data, (bytes, bytearray)) else bytes(data), ts_ns)
        return w.packets_written


# one packet to write: (data, ts_ns, wire_len, pcapng interface (linktype, snaplen, name),
# comment)
_Record = tuple[bytes, int, int, tuple[int, int, "str | None"], "str | None"]


def _records(packets: Any, linktype: int | None, snaplen: int) -> Any:
    """Each packet of `packets` as a _Record (see write)."""
    from .craft.base import Layer
    from .packet import Packet
    from .present import linktype_of

    if isinstance(packets, (Packet, Layer, bytes, bytearray, memoryview)):
        packets = (packets,)
    elif isinstance(packets, tuple) and len(packets) == 2 and isinstance(packets[0], int):
        packets = (packets,)
    for i, item in enumerate(packets):
        ts: int | None = None
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int):
            ts, item = item
        if isinstance(item, Packet):
            info = item.interface
            iface = ((info["linktype"], info.get("snaplen") or snaplen, info.get("name"))
                     if info else (item.linktype, snaplen, None))
            yield (item.data, item.time_ns if ts is None else ts, item.wire_len, iface,
                   item.comment)
            continue
        if isinstance(item, Layer):
            # a stack with no link or IP header first (a bare TCP()) is a frame of `linktype`
            data, lt = bytes(item), linktype_of(item)
            if lt is None:
                lt = 1 if linktype is None else linktype
        elif isinstance(item, (bytes, bytearray, memoryview)):
            data, lt = bytes(item), 1 if linktype is None else linktype
        else:
            raise TypeError(f"write(): packet {i} is a {type(item).__name__}; give decoded "
                            "Packets, crafted layers, bytes or (ts_ns, data) pairs")
        yield (data, time.time_ns() if ts is None else ts, len(data), (lt, snaplen, None),
               None)


def write(path: str | os.PathLike | BinaryIO, packets: Any, *, linktype: int | None = None,
          format: str | None = None, nanosecond: bool = True,
          snaplen: int = 262144) -> int:
    """Write packets of any kind, mixed, to a capture file; returns how many were written.

    `packets` (one, or any iterable, read once):
    * decoded Packets keep their captured bytes, timestamp, wire length and link type
      (and in pcapng their interface's name and snaplen, and their comment), so a file
      read and written back holds the same frames at the same times;
    * crafted layer stacks are built now, stamped with the time of writing, of the link
      type their first layer says (Ethernet 1, IPv4/IPv6 raw IP 101, SLL 113/276, ...);
    * bytes are frames of `linktype` (Ethernet when not given), stamped like layers (so
      are stacks with no link or IP header at their start);
    * (ts_ns, layers or bytes) pairs give the timestamp themselves.

    `path` may be a binary file object too. The format is pcapng when the path (or the
    file's name) ends in ".pcapng" or format="pcapng", else pcap
    (nanosecond timestamps unless nanosecond=False). A pcap file holds one link type,
    the first packet's: a packet of another raises ValueError, the file keeping the
    packets before it; pcapng gives each link type (and each source interface) its own
    interface block.
    """
    if format is None:
        name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else getattr(
            path, "name", "")
        format = "pcapng" if str(name).lower().endswith(".pcapng") else "pcap"
    if format not in ("pcap", "pcapng"):
        raise ValueError('format must be "pcap" or "pcapng"')
    records = _records(packets, linktype, snaplen)
    first: _Record | None = next(records, None)
    default_iface = (1 if linktype is None else linktype, snaplen, None)
    start = first[3] if first is not None else default_iface
    writer: PcapWriter | PcapngWriter
    if format == "pcap":
        writer = PcapWriter(path, start[0], snaplen, nanosecond, flush="buffer")
    else:
        writer = PcapngWriter(path, [start], flush="buffer")
    with writer:
        if first is None:
            return 0
        ids = {start: 0}
        for n, (data, ts, wire, iface, comment) in enumerate(
                itertools.chain((first,), records)):
            if isinstance(writer, PcapWriter):
                if iface[0] != start[0]:
                    raise ValueError(
                        f"write(): packet {n} has link type {iface[0]}, the pcap file "
                        f"{start[0]}: write a .pcapng file to mix link types")
                try:
                    writer.write(data, ts, wire)
                except ValueError as exc:
                    raise ValueError(f"write(): packet {n}: {exc}") from None
                continue
            number = ids.get(iface)
            if number is None:
                number = ids[iface] = writer.add_interface(*iface)
            writer.write(data, ts, wire, number, comment)
        return writer.packets_written


__all__ = ["PcapWriter", "PcapngWriter", "RotatingWriter", "WriteError", "write", "write_pcap"]
