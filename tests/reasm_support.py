"""Helpers for reassembly tests: a hang guard and generated TCP captures.

`run_guarded` runs a function in a forked child and fails if it does not finish in time.
A reassembler loop that spins in Cython never returns to the interpreter, so neither a
thread with a timeout (the GIL is never released) nor ``signal.alarm`` (the handler never
runs) can stop it; a child process can always be killed.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
import traceback
from collections.abc import Callable
from typing import Any

from wirecraft.craft import TCP, Ethernet, IPv4, Raw

import pcapbuild

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def run_guarded(fn: Callable[[], Any], timeout: float | None = None) -> Any:
    """Return fn() computed in a forked child; AssertionError if it raises or hangs.

    The default timeout (20 s, generous for a loaded machine) can be lowered with
    WIRECRAFT_TEST_HANG_TIMEOUT, e.g. to check quickly that old code fails.
    """
    if timeout is None:
        timeout = float(os.environ.get("WIRECRAFT_TEST_HANG_TIMEOUT", "20"))
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:    # child: never returns into the test runner
        try:
            os.close(rd)
            try:
                payload = pickle.dumps(("ok", fn()))
            except BaseException:   # noqa: BLE001 - everything is reported to the parent
                payload = pickle.dumps(("error", traceback.format_exc()))
            view = memoryview(payload)
            while view:
                view = view[os.write(wr, view):]
        finally:
            os._exit(0)
    os.close(wr)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"did not finish within {timeout:.0f} s: a reassembly "
                                     "loop makes no progress")
            ready, _, _ = select.select([rd], [], [], left)
            if ready:
                chunk = os.read(rd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(rd)
        os.waitpid(pid, 0)
    if not chunks:
        raise AssertionError("the child died without a result")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise AssertionError("in the guarded child:\n" + value)
    return value


CLIENT, SERVER = "10.0.0.1", "10.0.0.2"


def frame(src: str, sport: int, dst: str, dport: int, seq: int, flags: int,
          payload: bytes = b"", ack: int = 0) -> bytes:
    """One Ethernet/IPv4/TCP frame built by wirecraft's crafting (checksums computed)."""
    layers = (Ethernet() / IPv4(src=src, dst=dst)
              / TCP(src_port=sport, dst_port=dport, seq=seq % (1 << 32), ack=ack % (1 << 32),
                    flags=flags, window=65535))
    if payload:
        layers = layers / Raw(payload)
    return bytes(layers)


def fin_past_buffered_frames(port: int = 25, ack_the_fin: bool = True,
                             data: bytes = b"X" * 100) -> list[bytes]:
    """The livelock case: data buffered 1,000 bytes ahead, then a FIN at the next byte.

    Handshake; client data 1,000 bytes past the next expected byte; a server reply; the
    client's FIN at the next expected byte; the server's ACK of the FIN (or nothing).
    """
    c, s = 1000, 5000
    frames = [
        frame(CLIENT, 40000, SERVER, port, c - 1, SYN),
        frame(SERVER, port, CLIENT, 40000, s - 1, SYN | ACK, ack=c),
        frame(CLIENT, 40000, SERVER, port, c, ACK, ack=s),
        frame(CLIENT, 40000, SERVER, port, c + 1000, PSH | ACK, data, ack=s),
        frame(SERVER, port, CLIENT, 40000, s, PSH | ACK, b"220 ready\r\n", ack=c),
        frame(CLIENT, 40000, SERVER, port, c, FIN | ACK, ack=s + 11),
    ]
    if ack_the_fin:
        frames.append(frame(SERVER, port, CLIENT, 40000, s + 11, ACK, ack=c + 1))
    return frames


def write_pcap(path: os.PathLike[str] | str, frames: list[bytes], step_ns: int = 1000) -> None:
    """Write frames as a pcap file, one every step_ns nanoseconds."""
    with open(path, "wb") as f:
        f.write(pcapbuild.pcap([(10**9 + i * step_ns, fr) for i, fr in enumerate(frames)]))


def long_stream_pcap(path: os.PathLike[str] | str, size: int, segment: int = 1400,
                     port: int = 8080) -> bytes:
    """Write a capture of one connection whose client sends `size` bytes; returns them.

    The frames are written as they are made (one template frame, sequence numbers patched),
    so a multi-megabyte stream costs the test little time and memory.
    """
    import random
    import struct

    rng = random.Random(size)
    data = bytes(rng.getrandbits(8) for _ in range(min(size, 4096)))
    data = (data * (size // len(data) + 1))[:size]
    c, s = 7000, 9000
    head = [frame(CLIENT, 40001, SERVER, port, c - 1, SYN),
            frame(SERVER, port, CLIENT, 40001, s - 1, SYN | ACK, ack=c),
            frame(CLIENT, 40001, SERVER, port, c, ACK, ack=s)]
    with open(path, "wb") as f:
        f.write(pcapbuild.pcap([]))
        ts = 10**9

        def put(fr: bytes) -> None:
            nonlocal ts
            ts += 1000
            f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9 // 1000, len(fr), len(fr)) + fr)

        for fr in head:
            put(fr)
        template = frame(CLIENT, 40001, SERVER, port, 0, PSH | ACK, bytes(segment), ack=s)
        hdr = template[:-segment]
        for off in range(0, size, segment):
            piece = data[off:off + segment]
            h = bytearray(hdr)
            struct.pack_into("!H", h, 16, len(h) - 14 + len(piece))   # IPv4 total length
            struct.pack_into("!H", h, 24, 0)
            struct.pack_into("!H", h, 24, _ip_checksum(h[14:34]))      # IPv4 header checksum
            struct.pack_into("!I", h, 38, (c + off) % (1 << 32))        # TCP sequence number
            struct.pack_into("!H", h, 50, 0)          # TCP checksum left unset (not checked)
            put(bytes(h) + piece)
        put(frame(CLIENT, 40001, SERVER, port, c + size, FIN | ACK, ack=s))
        put(frame(SERVER, port, CLIENT, 40001, s, FIN | ACK, ack=c + size + 1))
        put(frame(CLIENT, 40001, SERVER, port, c + size + 1, ACK, ack=s + 1))
    return data


def _ip_checksum(header: bytes | bytearray) -> int:
    total = sum(int.from_bytes(header[i:i + 2], "big") for i in range(0, len(header), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
