"""Fuzz target: IPv4 and IPv6 fragment sets into IP defragmentation (`wirecraft.defrag`).

Input: a caps byte (small caps or the defaults, a short timeout or not), then
fragments: family, datagram key (four per family, two sharing a source so the
per-source cap is shared), whether more fragments follow, offset (in 8-byte units,
any of 8192), length (and whether the frame was captured short of its end),
transport protocol, a time step, whether the bytes conflict with
the datagram's own, whether a new batch starts, and now and then a frame that is no
fragment at all.

Every datagram's bytes are a function of its key and offset (a fixed pseudo-random
pattern), so a rebuilt datagram can be checked byte by byte: IPv4 keeps the first copy
of every byte (so a datagram is checked against the same first-wins fill of the
fragments it says it was built from, in the order they arrived), IPv6 drops a
datagram with any overlap (RFC 5722), so its payload is the pattern itself.

Checked: every frame fed comes out exactly once, inside a rebuilt datagram (only
fragments of that datagram, in both key and family) or as itself, with its own bytes;
a rebuilt IPv4 header has total length, checksum, flags and offset of a whole
datagram; a rebuilt IPv6 header's payload length matches; no datagram is longer than
the cap; held bytes and datagrams stay within the caps after every batch, and nothing
is held after the end; every view and summary of every packet out works; an input
finishes within a wall-clock budget (a loop that never returns to Python is caught by
the fuzzer's own per-input timeout).
"""

from __future__ import annotations

import random
import struct
import time

from fuzzkit import SLACK, Input, Output

from wirecraft.capture import batch_from_buffer
from wirecraft.defrag import DEFAULT_CAPS, Defragmenter

MAX_FRAGMENTS = 300
BUDGET_S = 3.0 * SLACK
PATTERN_LEN = 65536 + 1600
PATTERNS = [random.Random(1000 + k).randbytes(PATTERN_LEN) for k in range(8)]
OTHER = random.Random(99).randbytes(PATTERN_LEN)          # a conflicting copy's bytes
SMALL_CAPS = {"max_held": 12_000, "max_per_source": 6_000, "max_datagram": 4_000,
              "max_datagrams": 3, "max_fragments": 6}
PROTOCOLS = (17, 6, 1, 58, 0, 253)
REASONS = {"timeout", "incomplete", "evicted", "ipv6_overlap", "inconsistent", "oversize",
           "fragment_cut", "too_many_fragments"}
ETH_V4 = bytes(6) + b"\x02\0\0\0\0\x01" + b"\x08\x00"
ETH_V6 = bytes(6) + b"\x02\0\0\0\0\x01" + b"\x86\xdd"
# (source, destination, id) per key; keys 0 and 1 share a source
V4_KEYS = [(bytes([10, 0, 0, 1]), bytes([10, 0, 0, 9]), 7),
           (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 8]), 7),
           (bytes([10, 0, 0, 2]), bytes([10, 0, 0, 9]), 0xFFFF),
           (bytes([10, 0, 0, 3]), bytes([10, 0, 0, 9]), 0)]
V6_KEYS = [(bytes(15) + bytes([1]), bytes(15) + bytes([9]), 7),
           (bytes(15) + bytes([1]), bytes(15) + bytes([8]), 7),
           (bytes(15) + bytes([2]), bytes(15) + bytes([9]), 0xFFFFFFFF),
           (bytes(15) + bytes([3]), bytes(15) + bytes([9]), 0)]


def _checksum(header: bytes) -> int:
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def v4_frame(key: int, proto: int, off8: int, more: bool, data: bytes) -> bytes:
    src, dst, ident = V4_KEYS[key]
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident,
                              (0x2000 if more else 0) | off8, 64, proto, 0, src, dst))
    h[10:12] = _checksum(bytes(h)).to_bytes(2, "big")
    return ETH_V4 + bytes(h) + data


def v6_frame(key: int, proto: int, off8: int, more: bool, data: bytes,
             whole: bool = False) -> bytes:
    src, dst, ident = V6_KEYS[key]
    if whole:
        return ETH_V6 + struct.pack("!IHBB16s16s", 0x60000000, len(data), proto, 64,
                                    src, dst) + data
    frag = struct.pack("!BBHI", proto, 0, (off8 << 3) | int(more), ident)
    return ETH_V6 + struct.pack("!IHBB16s16s", 0x60000000, 8 + len(data), 44, 64,
                                src, dst) + frag + data


class Fed:
    """What one frame fed was: for the checks on what comes out."""

    __slots__ = ("family", "key", "off", "data", "fragment", "frame", "caplen")

    def __init__(self, family: int, key: int, off: int, data: bytes, fragment: bool,
                 frame: bytes, caplen: int) -> None:
        self.family, self.key, self.off, self.data = family, key, off, data
        self.fragment, self.frame, self.caplen = fragment, frame, caplen


def read_input(inp: Input) -> tuple[dict, list[list[Fed]], list[list[int]]]:
    """The caps and the batches of frames (with their times) an input describes."""
    caps_byte = inp.u8()
    caps: dict = dict(SMALL_CAPS) if caps_byte & 1 else {}
    if caps_byte & 2:
        caps["timeout"] = 2.0
    if caps_byte & 4:
        caps["max_datagram"] = 65535 + 1600     # past what one IPv4 datagram can say
    batches: list[list[Fed]] = [[]]
    times: list[list[int]] = [[]]
    t = 1_700_000_000 * 10**9
    n = 0
    while inp.left() and n < MAX_FRAGMENTS:
        what = inp.u8()
        off8 = inp.u16() % 8192
        raw_length = inp.u16()
        length = raw_length % 1601
        # a quarter of the frames (the length word's top bits) captured short of their end
        cut = 1 + (raw_length & 7) if raw_length >> 14 == 3 else 0
        proto = PROTOCOLS[inp.pick(len(PROTOCOLS))]
        step = inp.u8()
        family = 6 if what & 1 else 4
        key = (what >> 1) & 3
        more = bool(what & 8)
        conflict = bool(what & 16)
        if what & 32 and batches[-1]:
            batches.append([])
            times.append([])
        whole = (what & 0xC0) == 0xC0          # a frame that is no fragment
        t += step * 50_000_000                 # up to 12.75 s between frames
        start = 0 if whole else off8 * 8
        pattern = OTHER if conflict else PATTERNS[key + (4 if family == 6 else 0)]
        data = pattern[start:start + length]
        if family == 4:
            frame = v4_frame(key, proto, 0 if whole else off8, more and not whole, data)
        else:
            frame = v6_frame(key, proto, off8, more, data, whole)
        # an atomic fragment (offset 0, no more) is no fragment (RFC 6946), nor is a frame
        # whose capture ends inside its IP or Fragment header (nothing says it is one)
        caplen = max(14, len(frame) - cut)
        fragment = not whole and (more or off8 > 0) and caplen >= (34 if family == 4 else 62)
        batches[-1].append(Fed(family, key, start, data, fragment, frame, caplen))
        times[-1].append(t)
        n += 1
    return caps, batches, times


def make_batch(fed: list[Fed], times: list[int], first_index: int) -> object:
    offsets, pos = [], 0
    for f in fed:
        offsets.append(pos)
        pos += f.caplen
    caplens = [f.caplen for f in fed]
    wire = [len(f.frame) for f in fed]
    return batch_from_buffer(b"".join(f.frame[:f.caplen] for f in fed), offsets, caplens, wire,
                             times, 1, first_index)


def first_wins(parts: list[Fed], size: int) -> bytes:
    """The bytes of a datagram filled from its fragments in arrival order, the first copy
    of every byte kept (the documented IPv4 policy)."""
    out = bytearray(size)
    have = bytearray(size)
    for f in parts:
        for i, b in enumerate(f.data[:max(0, size - f.off)]):
            if not have[f.off + i]:
                out[f.off + i] = b
                have[f.off + i] = 1
    assert all(have), "a rebuilt datagram with a hole"
    return bytes(out)


def check_rebuilt(pkt: object, parts: list[Fed], caps: dict) -> None:
    data = bytes(pkt.data)                                       # type: ignore[attr-defined]
    families = {f.family for f in parts}
    keys = {f.key for f in parts}
    assert len(families) == 1 and len(keys) == 1, "frames of several datagrams put together"
    assert all(f.fragment for f in parts), "a frame that is no fragment put in a datagram"
    assert all(f.caplen == len(f.frame) for f in parts), "a frame captured short put in one"
    limit = caps.get("max_datagram", DEFAULT_CAPS["max_datagram"])
    if families == {4}:
        ip = data[14:]
        assert ip[0] == 0x45
        total = int.from_bytes(ip[2:4], "big")
        payload = ip[20:]
        assert total == len(ip) or total == 0, (total, len(ip))
        assert int.from_bytes(ip[6:8], "big") & 0x3FFF == 0, "a rebuilt datagram says it is a fragment"
        assert _checksum(ip[:20]) == 0, "a rebuilt IPv4 header with a wrong checksum"
        assert len(payload) <= limit
        assert payload == first_wins(parts, len(payload)), "rebuilt bytes not first-wins"
    else:
        ip = data[14:]
        plen = int.from_bytes(ip[4:6], "big")
        assert plen == len(ip) - 40 or plen == 0, (plen, len(ip))
        payload = ip[48:]                         # the fragment header is kept, as tshark does
        assert len(payload) <= limit
        # any overlap drops an IPv6 datagram (RFC 5722): no byte came from two fragments,
        # but for exact duplicates, which are set aside (RFC 5722's errata 3089)
        spans = sorted({(f.off, f.off + len(f.data), f.data) for f in parts if f.data})
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), "IPv6 overlap kept"
        assert payload == first_wins(parts, len(payload))


def views(pkt: object) -> None:
    p = pkt
    _ = (p.summary(), repr(p), p.problems, p.ip, p.ipv6, p.udp, p.tcp,  # type: ignore[attr-defined]
         p.icmp, repr(p.defrag), p.payload)                          # type: ignore[attr-defined]


def TestOneInput(data: bytes) -> None:
    deadline = time.monotonic() + BUDGET_S
    caps, fed_batches, times = read_input(Input(data))
    if not fed_batches[-1]:
        return
    d = Defragmenter(**caps)
    held_cap = caps.get("max_held", DEFAULT_CAPS["max_held"])
    count_cap = caps.get("max_datagrams", DEFAULT_CAPS["max_datagrams"])
    fed: list[Fed] = [f for b in fed_batches for f in b]
    seen = [0] * len(fed)

    def batches() -> object:
        first = 0
        for b, ts in zip(fed_batches, times, strict=True):
            yield make_batch(b, ts, first)
            first += len(b)

    for out in d.batches(batches()):
        for pkt in out:
            if time.monotonic() > deadline:
                raise AssertionError("defragmentation ran past its time budget (livelock?)")
            views(pkt)
            r = pkt.defrag
            if r is not None and r.reassembled:
                frames = list(r.frames)
                assert frames and len(set(frames)) == len(frames), frames
                for j in frames:
                    seen[j] += 1
                check_rebuilt(pkt, [fed[j] for j in frames], caps)
            else:
                j = pkt.index
                seen[j] += 1
                assert bytes(pkt.data) == fed[j].frame[:fed[j].caplen], "a frame handed back changed"
                if r is None:
                    assert not fed[j].fragment, "a fragment passed through unmarked"
                else:
                    assert r.reason in REASONS, r.reason
                    assert fed[j].fragment, "a frame that is no fragment marked as one"
        st = d.stats
        assert st["held_bytes"] <= held_cap, (st["held_bytes"], held_cap)
        assert st["held"] <= count_cap, (st["held"], count_cap)
    st = d.stats
    assert st["held"] == 0 and st["held_bytes"] == 0, "held after the end"
    missing = [j for j, k in enumerate(seen) if k != 1]
    assert not missing, f"frames not out exactly once: {missing[:8]} ({[seen[j] for j in missing[:8]]})"


def _seed(parts: list[tuple[int, int, int, int, int, int]], caps: int = 0) -> bytes:
    """(what, off8, length, protocol index, step) tuples as an input."""
    o = Output().u8(caps)
    for what, off8, length, proto, step, _ in parts:
        o.u8(what).u16(off8).u16(length).u8(proto).u8(step)
    return o.bytes()


def seeds() -> list[bytes]:
    """Datagrams cut in order, reversed, shuffled, with duplicates, overlaps, conflicts,
    holes, both families, batch edges, time steps past the timeout and small caps."""
    out = []
    rng = random.Random(5)
    for family in (0, 1):
        for key in (0, 2):
            base = family | key << 1
            # 3000 bytes in pieces of 1000 (125 units of 8)
            cut = [(base | 8, 0, 1000), (base | 8, 125, 1000), (base, 250, 1000)]
            for order in (cut, cut[::-1], [cut[1], cut[0], cut[2], cut[0]]):
                out.append(_seed([(w, o, n, 0, 1, 0) for w, o, n in order]))
            overlap = [(base | 8, 0, 1200), (base | 8 | 16, 100, 600), (base, 125, 1875)]
            out.append(_seed([(w, o, n, 0, 1, 0) for w, o, n in overlap]))
            out.append(_seed([(w, o, n, 1, 1, 0) for w, o, n in cut[:2]]))       # a hole
            out.append(_seed([(w | 32, o, n, 0, 200, 0) for w, o, n in cut], caps=2))
            out.append(_seed([(w, o, n, 0, 1, 0) for w, o, n in cut], caps=1))
            tiny = [(base | 8, 0, 8), (base, 1, 200)]
            out.append(_seed([(w, o, n, 1, 1, 0) for w, o, n in tiny]))
            big = [(base | 8, 8000, 1600), (base, 8190, 1600)]
            out.append(_seed([(w, o, n, 0, 1, 0) for w, o, n in big], caps=4))
    mixed = []
    for _ in range(60):
        mixed.append((rng.randrange(256), rng.randrange(40) * 25, rng.choice((200, 400, 8)),
                      rng.randrange(6), rng.randrange(4), 0))
    out.append(_seed(mixed))
    out.append(_seed(mixed, caps=3))
    out.append(_seed([(0xC0, 0, 100, 0, 1, 0), (0xC1, 0, 60, 0, 1, 0)]))
    return out
