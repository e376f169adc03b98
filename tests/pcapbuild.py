"""Build pcap and pcapng files byte by byte, for reader tests (independent of wirecraft)."""

from __future__ import annotations

import struct


def pcap(frames: list[tuple[int, bytes]] | list[tuple[int, bytes, int]], linktype: int = 1,
         big_endian: bool = False, nano: bool = False, snaplen: int = 65535) -> bytes:
    """frames: (ts_ns, data[, wire_len])."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for f in frames:
        ts, data = f[0], f[1]
        wire = f[2] if len(f) > 2 else len(data)
        sec, frac = divmod(ts, 10**9)
        if not nano:
            frac //= 1000
        out.append(struct.pack(e + "IIII", sec, frac, len(data), wire) + data)
    return b"".join(out)


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def option(code: int, value: bytes, e: str = "<") -> bytes:
    return struct.pack(e + "HH", code, len(value)) + _pad(value)


def end_options(e: str = "<") -> bytes:
    return struct.pack(e + "HH", 0, 0)


def block(btype: int, body: bytes, e: str = "<") -> bytes:
    body = _pad(body)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def shb(e: str = "<", comment: str | None = None) -> bytes:
    opts = b""
    if comment:
        opts = option(1, comment.encode(), e) + end_options(e)
    body = struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + opts
    return block(0x0A0D0D0A, body, e)


def idb(linktype: int, snaplen: int = 0, tsresol: int | None = None, tsoffset: int | None = None,
        name: str | None = None, e: str = "<") -> bytes:
    opts = b""
    if name:
        opts += option(2, name.encode(), e)
    if tsresol is not None:
        opts += option(9, bytes([tsresol]), e)
    if tsoffset is not None:
        opts += option(14, struct.pack(e + "q", tsoffset), e)
    if opts:
        opts += end_options(e)
    return block(1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts, e)


def epb(iface: int, ts_units: int, data: bytes, wire_len: int | None = None,
        comment: str | None = None, e: str = "<") -> bytes:
    opts = b""
    if comment:
        opts = option(1, comment.encode(), e) + end_options(e)
    body = struct.pack(e + "IIIII", iface, ts_units >> 32, ts_units & 0xFFFFFFFF, len(data),
                       len(data) if wire_len is None else wire_len) + _pad(data) + opts
    return block(6, body, e)


def spb(data: bytes, e: str = "<") -> bytes:
    return block(3, struct.pack(e + "I", len(data)) + data, e)


def opb(iface: int, ts_units: int, data: bytes, e: str = "<") -> bytes:
    body = struct.pack(e + "HHIIII", iface, 0, ts_units >> 32, ts_units & 0xFFFFFFFF, len(data),
                       len(data)) + _pad(data)
    return block(2, body, e)


def udp_frame(payload: bytes = b"hello", sport: int = 1234, dport: int = 53) -> bytes:
    """A valid Ethernet/IPv4/UDP frame (checksums zero, which UDP allows)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
    return bytes.fromhex("020000000002020000000001") + b"\x08\x00" + ip


def raw_ipv4_udp(payload: bytes = b"x") -> bytes:
    return udp_frame(payload)[14:]
