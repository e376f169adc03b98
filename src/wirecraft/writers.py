"""Capture-file writers: pcap (microsecond or nanosecond), pcapng, and rotation.

Formats: the pcap file format (draft-ietf-opsawg-pcap) and pcapng
(draft-ietf-opsawg-pcapng). Records are assembled whole in a buffer of our
own and reach the file only as whole records, so the file on disk always ends
on a record boundary. The flush policy says when the buffer goes out:
`flush="packet"` after every record (tcpdump -U), a number of seconds
(default 1.0, checked on each write), or `"buffer"` when the buffer fills.

Signals: while a writer is open, SIGTERM (and SIGINT when it is not handled
by Python) flushes every open writer before the process dies as it would
have; Python's default SIGINT raises KeyboardInterrupt, the `with` block or
interpreter exit flushes. Buffers are written with SIGINT/SIGTERM blocked,
so no record is written twice or cut.
"""

from __future__ import annotations

import atexit
import os
import signal
import struct
import threading
import time
import weakref
from pathlib import Path
from typing import IO, Any, BinaryIO

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D

_OPEN: weakref.WeakSet[_Writer] = weakref.WeakSet()
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_installed: set[int] = set()


def _flush_all() -> None:
    for w in list(_OPEN):
        try:
            w.flush()
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
        self.closed = False
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
        """Write every queued record to the file (whole records only) and flush it."""
        if not self._buf or self.closed:
            return
        main = threading.current_thread() is threading.main_thread()
        if main:
            old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            view = memoryview(self._buf)
            done = 0
            while done < len(view):
                n = self._file.write(view[done:])
                done += len(view) - done if n is None else n
            view.release()
            self._buf.clear()
            if hasattr(self._file, "flush"):
                self._file.flush()
        finally:
            if main:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush and close (a file object passed in is flushed, not closed)."""
        if self.closed:
            return
        self.flush()
        self.closed = True
        _OPEN.discard(self)
        if self._owns:
            self._file.close()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def write_packet(self, packet: Any) -> None:
        """Write a decoded wirecraft Packet (its data, time_ns and wire_len)."""
        self.write(packet.data, packet.time_ns, packet.wire_len)


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
        self.flush()

    def write(self, data: bytes, ts_ns: int, wire_len: int | None = None, iface: int = 0,
              comment: str | None = None) -> None:
        """Append one packet; data beyond snaplen is cut (wire_len keeps the real size).

        `iface` and `comment` exist for API parity with pcapng; pcap cannot store them.
        """
        if self.closed:
            raise ValueError("write to a closed PcapWriter")
        wire = len(data) if wire_len is None else wire_len
        cap = data[: self.snaplen]
        sec, frac = divmod(int(ts_ns), 1_000_000_000)
        if not self.nanosecond:
            frac //= 1000
        self._emit(struct.pack("<IIII", sec & 0xFFFFFFFF, frac, len(cap), wire) + bytes(cap))
        self.packets_written += 1


    def write_frames(self, frames: Any, frame_length: int, start_ns: int,
                     interval_ns: int = 0, count: int | None = None) -> int:
        """Append equal-length frames laid back to back in one buffer (a Template batch).

        Frame i gets timestamp start_ns + i * interval_ns; the records are assembled in
        one pass and queued as one block. Returns the number of frames written.
        """
        if self.closed:
            raise ValueError("write to a closed PcapWriter")
        if frame_length <= 0:
            raise ValueError("frame_length must be > 0")
        if count is None:
            count = len(frames) // frame_length
        from ._ext import load

        block = load("_craft").pcap_records(frames, frame_length, count, int(start_ns),
                                            int(interval_ns), self.nanosecond, self.snaplen)
        if not self._buf:
            # hand the block over instead of copying it into the (empty) buffer
            self._buf = block
            self.bytes_written += len(block)
            self._apply_policy()
        else:
            self._emit(block)
        self.packets_written += count
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
        self.flush()

    def add_interface(self, linktype: int, snaplen: int = 262144, name: str | None = None) -> int:
        """Declare another interface; returns its id for write(iface=...)."""
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
        if self.closed:
            raise ValueError("write to a closed PcapngWriter")
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
        self._emit(_block(6, body))
        self.packets_written += 1


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
            self._writer.close()
        name = self._name(ts_ns)
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        if self.format == "pcap":
            self._writer = PcapWriter(name, self.linktype, self.snaplen, self.nanosecond,
                                      flush=self.flush_policy)
        else:
            self._writer = PcapngWriter(name, [(self.linktype, self.snaplen, None)],
                                        flush=self.flush_policy)
        if name not in self.files:
            self.files.append(name)
        self._opened += 1

    def _record_size(self, data: bytes, wire_len: int | None) -> int:
        cap = min(len(data), self.snaplen)
        if self.format == "pcap":
            return 16 + cap
        return 32 + cap + (-cap % 4)

    def write(self, data: bytes, ts_ns: int, wire_len: int | None = None, iface: int = 0,
              comment: str | None = None) -> bool:
        """Write one packet, rotating first if a rule says so; False once -W -G is spent."""
        if self.done:
            return False
        w = self._writer
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
        assert self._writer is not None
        self._writer.write(data, ts_ns, wire_len, 0, comment)
        self.packets_written += 1
        return True

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> RotatingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_pcap(path: str | os.PathLike, frames: Any, linktype: int = 1,
               nanosecond: bool = True) -> int:
    """Write (ts_ns, bytes) pairs to a pcap file; returns the number written."""
    with PcapWriter(path, linktype, nanosecond=nanosecond, flush="buffer") as w:
        for ts_ns, data in frames:
            w.write(data, ts_ns)
        return w.packets_written


__all__ = ["PcapWriter", "PcapngWriter", "RotatingWriter", "write_pcap"]
