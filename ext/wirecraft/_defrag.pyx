# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""IP defragmentation core: fragments held per datagram, put together when complete.

wirecraft.defrag drives it over decoded batches. The policy, applied to IPv4 and IPv6:

* A datagram is keyed by (version, source, destination, identification, protocol) for
  IPv4 and (version, source, destination, identification) for IPv6.
* Every fragment's original frame is held with it, so a datagram that cannot be put
  together is never lost: its frames are handed back as they were, each marked with the
  reason (timeout, incomplete at the end of the input, a cap, an overlap IPv6 refuses,
  an inconsistent or oversized fragment, a fragment cut by the snaplen).
* Data past the end that the last fragment gives is cut there and the datagram marked
  `too_long`; two last fragments that disagree make it `inconsistent` (given up).
* Overlaps: an exact duplicate (same offset, length and bytes) is counted and ignored.
  IPv4 otherwise keeps the bytes that came first (as the TCP reassembler does), marks
  the datagram `overlap`, and `overlap_conflict` when the later bytes differ (the
  teardrop family); IPv6 drops the whole datagram (RFC 5722) and every fragment of it
  that comes later, until the timeout.
* RFC 1858: a first fragment too short to hold its transport header is marked
  `tiny_first_fragment`; a TCP fragment at offset 8 (which rewrites the flags)
  `tiny_offset`.
* Timeouts run on capture time from a datagram's first fragment (60 s by default).
  Caps: bytes per datagram (65,535 of payload), fragments per datagram, bytes held per
  source address and in all, and datagrams held; the oldest datagram is given up first.
  Every hit is counted in `stats`.
* The datagram put together is one frame: the first fragment's link header and IP
  header (IPv4: total length, flags and offset set, checksum computed again; IPv6: the
  headers before the Fragment header kept byte for byte, the Fragment header kept as an
  atomic fragment, RFC 6946, with offset 0 and M clear, payload length set) followed by
  the payload. Its time and frame number are those of the fragment that completed it.

Where a field is read from or written to a header, the position comes from the field
catalogue (passed in by wirecraft.defrag); the record gives the layer offsets.
Termination: each fragment is looked at once on arrival; a datagram holds at most
`max_fragments` fragments, so a completion check is bounded.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport int64_t, uint8_t, uint32_t

from collections import OrderedDict

from wirecraft._codes cimport *
from wirecraft._record cimport rec_t

IPV4_MAX_PAYLOAD = 65535 - 20


cdef inline const uint8_t* _buffer(object data) except NULL:
    if isinstance(data, bytes):
        return <const uint8_t*>PyBytes_AS_STRING(data)
    if isinstance(data, bytearray):
        return <const uint8_t*>PyByteArray_AS_STRING(data)
    raise TypeError("batch data must be bytes or bytearray")


cdef inline bint _is_fragment(const rec_t* r) noexcept nogil:
    """A piece of a fragmented datagram (not an atomic IPv6 fragment)."""
    return (r.layers & L_FRAG) != 0 and (r.ip_frag_offset != 0 or (r.ip_flags & 1) != 0)


def _checksum(const uint8_t[:] h):
    cdef uint32_t s = 0
    cdef Py_ssize_t i, n = h.shape[0]
    for i in range(0, n - 1, 2):
        s += (<uint32_t>h[i] << 8) | h[i + 1]
    if n & 1:
        s += <uint32_t>h[n - 1] << 8
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


cdef class Piece:
    """One fragment: its original frame and where its data lies in it."""
    cdef public bytes frame
    cdef public int64_t ts_ns
    cdef public uint32_t wire_len
    cdef public int linktype
    cdef public int iface
    cdef public object index           # frame index in the source (0-based)
    cdef public int l3                 # network header offset in the frame
    cdef public int data_start         # -1: an IPv6 first fragment, known once U is
    cdef public int data_end
    cdef public int offset             # fragment offset in bytes
    cdef public bint more


cdef class Datagram:
    cdef public tuple key
    cdef public int version
    cdef public int protocol
    cdef public bytes source
    cdef public list pieces            # in arrival order
    cdef public int64_t first_ts
    cdef public int64_t total          # payload length once the last fragment came, else -1
    cdef public int unfrag             # IPv6: bytes from the IPv6 header to the Fragment header
    cdef public int64_t held
    cdef public set flags


cdef class Core:
    """The datagram table. `feed(batch)` says, per record, what to emit (see
    wirecraft.defrag); `flush()` gives up what is left."""

    cdef public object table          # key -> Datagram, oldest first (an OrderedDict:
    #                                   taking the oldest stays O(1) after many removals)
    cdef public dict dead             # IPv6 keys dropped for an overlap -> when
    cdef public dict per_source       # source address bytes -> bytes held
    cdef public dict stats
    cdef public int64_t held
    cdef public int64_t timeout_ns
    cdef public int64_t max_held, max_per_source, max_datagram
    cdef public int max_datagrams, max_fragments
    cdef int len_at, flags_at, cksum_at, plen_at

    def __init__(self, *, double timeout=60.0, int64_t max_held=64 << 20,
                 int64_t max_per_source=16 << 20, int64_t max_datagram=65535,
                 int max_datagrams=65536, int max_fragments=1024, int ip_len_at=2,
                 int ip_flags_at=6, int ip_checksum_at=10, int ipv6_plen_at=4):
        self.table = OrderedDict()
        self.dead = {}
        self.per_source = {}
        self.stats = {k: 0 for k in (
            "fragments", "reassembled", "duplicates", "overlaps", "overlap_conflicts",
            "ipv6_overlap_dropped", "tiny_first_fragment", "tiny_offset", "inconsistent",
            "oversize", "too_long", "cut", "timeouts", "evicted_total", "evicted_per_source",
            "evicted_datagrams", "too_many_fragments", "incomplete", "released_frames")}
        self.held = 0
        self.timeout_ns = <int64_t>(timeout * 1e9)
        self.max_held = max_held
        self.max_per_source = max_per_source
        self.max_datagram = max_datagram
        self.max_datagrams = max_datagrams
        self.max_fragments = max_fragments
        self.len_at = ip_len_at
        self.flags_at = ip_flags_at
        self.cksum_at = ip_checksum_at
        self.plen_at = ipv6_plen_at

    def __len__(self):
        return len(self.table)

    def fragment_positions(self, batch):
        """Positions of the records of `batch` that are fragments (a list, often empty)."""
        cdef Py_ssize_t n = batch.n, j
        if n == 0:
            return []
        cdef const uint8_t[::1] recbuf = memoryview(batch.records).cast("B")
        cdef const rec_t* recs = <const rec_t*>&recbuf[0]
        out = []
        for j in range(n):
            if _is_fragment(&recs[j]):
                out.append(j)
        return out

    def feed(self, batch, list positions):
        """Take the fragments at `positions` of `batch`. Returns, in input order,
        (position, outputs) pairs: what to emit at that fragment's place, each output
        ("new", frame, ts_ns, linktype, iface, index, flags, frames) for a datagram put
        together, or ("old", piece, reason, flags) for a frame handed back."""
        cdef const uint8_t[::1] recbuf = memoryview(batch.records).cast("B")
        cdef const rec_t* recs = <const rec_t*>&recbuf[0]
        cdef const uint8_t* base = _buffer(batch.data)
        cdef const rec_t* r
        cdef Py_ssize_t j
        result = []
        for j in positions:
            r = &recs[j]
            frame = PyBytes_FromStringAndSize(<const char*>(base + r.frame_offset), r.caplen)
            out = []
            self._expire(r.ts_ns, out)
            self._take(r, frame, out)
            result.append((j, out))
        return result

    cdef _expire(self, int64_t now, list out):
        cdef Datagram d
        if self.dead:
            for key in [k for k, t in self.dead.items() if now - <int64_t>t > self.timeout_ns]:
                del self.dead[key]
        while self.table:
            d = next(iter(self.table.values()))
            if now - d.first_ts <= self.timeout_ns:
                break
            self.stats["timeouts"] += 1
            self._give_up(d, "timeout", out)

    cdef _give_up(self, Datagram d, str reason, list out):
        """Drop datagram d and hand its frames back marked with `reason`."""
        cdef Piece p
        self.table.pop(d.key, None)
        self._release_bytes(d)
        flags = tuple(sorted(d.flags))
        for p in d.pieces:
            out.append(("old", p, reason, flags))
            self.stats["released_frames"] += 1

    cdef _release_bytes(self, Datagram d):
        self.held -= d.held
        left = self.per_source.get(d.source, 0) - d.held
        if left > 0:
            self.per_source[d.source] = left
        else:
            self.per_source.pop(d.source, None)
        d.held = 0

    cdef _take(self, const rec_t* r, bytes frame, list out):
        cdef Piece p = Piece()
        cdef Datagram d
        cdef int alen = 16 if r.ip_version == 6 else 4
        cdef int64_t end
        self.stats["fragments"] += 1
        p.frame = frame
        p.ts_ns = r.ts_ns
        p.wire_len = r.wire_len
        p.linktype = r.linktype
        p.iface = r.iface
        p.index = r.index
        p.l3 = r.l3_offset
        p.offset = r.ip_frag_offset
        p.more = (r.ip_flags & 1) != 0
        src = bytes(r.ip_src[:alen])
        if r.ip_version == 4:
            key = (4, src, bytes(r.ip_dst[:alen]), r.ip_id, r.ip_protocol)
            p.data_start = r.l3_offset + r.ip_header_length
        else:
            key = (6, src, bytes(r.ip_dst[:alen]), r.ip_id)
            # a later fragment's data starts right after its Fragment header; a first
            # fragment's once the headers before the Fragment header are known
            p.data_start = r.payload_offset if r.ip_frag_offset != 0 else -1
        end = <int64_t>r.l3_offset + r.ip_total_length
        if key in self.dead:
            self.stats["ipv6_overlap_dropped"] += 1
            out.append(("old", p, "ipv6_overlap", ()))
            self.stats["released_frames"] += 1
            return
        d = self.table.get(key)
        if d is None:
            d = Datagram()
            d.key = key
            d.version = r.ip_version
            d.protocol = r.ip_protocol
            d.source = src
            d.pieces = []
            d.first_ts = r.ts_ns
            d.total = -1
            d.unfrag = -1
            d.held = 0
            d.flags = set()
            if len(self.table) >= self.max_datagrams:
                self.stats["evicted_datagrams"] += 1
                self._give_up(next(iter(self.table.values())), "evicted", out)
            self.table[key] = d
        if end > r.caplen:
            # the fragment's bytes were not all captured: the datagram cannot be whole
            self.stats["cut"] += 1
            d.pieces.append(p)
            self._give_up(d, "fragment_cut", out)
            return
        p.data_end = <int>end
        if r.ip_version == 6 and p.data_start >= 0:
            u = p.data_start - 8 - p.l3
            if d.unfrag < 0:
                d.unfrag = u
            elif d.unfrag != u:
                d.flags.add("inconsistent")
        # RFC 1858
        if p.offset == 0 and p.data_start >= 0:
            need = 20 if d.protocol == 6 else (8 if d.protocol in (17, 1, 58) else 0)
            if p.data_end - p.data_start < need:
                d.flags.add("tiny_first_fragment")
                self.stats["tiny_first_fragment"] += 1
        if p.offset == 8 and d.protocol == 6:
            d.flags.add("tiny_offset")
            self.stats["tiny_offset"] += 1
        d.pieces.append(p)
        size = len(frame) + 96
        d.held += size
        self.held += size
        self.per_source[src] = self.per_source.get(src, 0) + size
        if len(d.pieces) > self.max_fragments:
            self.stats["too_many_fragments"] += 1
            self._give_up(d, "too_many_fragments", out)
            return
        status = self._check(d)
        if status == "complete":
            self._complete(d, out)
        elif status is not None:
            self._give_up(d, status, out)
        self._enforce_caps(src, out)

    cdef _enforce_caps(self, bytes src, list out):
        cdef Datagram d
        while self.per_source.get(src, 0) > self.max_per_source:
            for x in self.table.values():
                d = <Datagram>x
                if d.source == src:
                    break
            else:
                break
            self.stats["evicted_per_source"] += 1
            self._give_up(d, "evicted", out)
        while self.held > self.max_held and self.table:
            self.stats["evicted_total"] += 1
            self._give_up(next(iter(self.table.values())), "evicted", out)

    cdef object _span(self, Datagram d, Piece p):
        """(start in payload, data start in frame, data end in frame), or None while an
        IPv6 first fragment waits for the length of the headers before its data."""
        cdef int start = p.data_start
        if start < 0:
            if d.unfrag < 0:
                return None
            start = p.l3 + d.unfrag + 8
        if start > p.data_end:
            return (p.offset, p.data_end, p.data_end)
        return (p.offset, start, p.data_end)

    cdef object _check(self, Datagram d):
        """None (wait), "complete", or the reason to give the datagram up."""
        cdef Piece p
        cdef int64_t total = -1, lo, hi, covered
        limit = self.max_datagram if d.version == 6 else min(self.max_datagram,
                                                              IPV4_MAX_PAYLOAD)
        spans = []
        for p in d.pieces:
            s = self._span(d, p)
            if s is None:
                spans.append(None)
                continue
            lo = s[0]
            hi = lo + s[2] - s[1]
            if hi > limit:
                self.stats["oversize"] += 1
                d.flags.add("oversize")
                return "oversize"
            if not p.more:
                if total >= 0 and total != hi:
                    self.stats["inconsistent"] += 1
                    return "inconsistent"
                total = hi
            elif (hi - lo) % 8 and hi > lo:
                d.flags.add("inconsistent")         # only the last may end off a unit
            spans.append((lo, hi))
        if total >= 0:
            for k, s in enumerate(spans):
                if s is not None and s[1] > total:
                    # data past the end the last fragment gave: cut there, and flagged
                    # (tshark's "fragment too long" does the same)
                    if "too_long" not in d.flags:
                        self.stats["too_long"] += 1
                    d.flags.add("too_long")
                    spans[k] = (s[0], total) if s[0] < total else (total, total)
        d.total = total
        # overlaps, in arrival order
        seen = []
        for k, s in enumerate(spans):
            if s is None:
                continue
            for t_k, t in seen:
                if s[0] < t[1] and t[0] < s[1]:
                    if s == t and self._same(d, k, t_k):
                        continue                       # an exact duplicate
                    if d.version == 6:
                        self.stats["ipv6_overlap_dropped"] += 1
                        self.dead[d.key] = d.first_ts
                        return "ipv6_overlap"
                    if "overlap" not in d.flags:
                        self.stats["overlaps"] += 1
                    d.flags.add("overlap")
            seen.append((k, s))
        if total < 0 or None in spans:
            return None
        covered = 0
        for lo, hi in sorted(spans):
            if lo > covered:
                return None
            covered = max(covered, hi)
        return "complete" if covered >= total else None

    cdef bint _same(self, Datagram d, int a, int b):
        pa, pb = <Piece>d.pieces[a], <Piece>d.pieces[b]
        sa, sb = self._span(d, pa), self._span(d, pb)
        return pa.frame[sa[1]:sa[2]] == pb.frame[sb[1]:sb[2]]

    cdef _complete(self, Datagram d, list out):
        cdef Piece p, first = None
        cdef int64_t total = d.total
        payload = bytearray(total)
        have = []                              # covered ranges, disjoint
        duplicates = 0
        for p in d.pieces:
            lo, start, stop = self._span(d, p)
            hi = min(lo + stop - start, total)
            if hi <= lo:
                continue
            data = p.frame[start:start + hi - lo]
            if p.offset == 0 and first is None:
                first = p
            cur = lo
            is_dup = False
            for a, b in sorted(have):
                if b <= cur or a >= hi:
                    continue
                if a > cur:
                    payload[cur:a] = data[cur - lo:a - lo]
                o_lo, o_hi = max(a, cur), min(b, hi)
                if payload[o_lo:o_hi] != data[o_lo - lo:o_hi - lo]:
                    if "overlap_conflict" not in d.flags:
                        self.stats["overlap_conflicts"] += 1
                    d.flags.add("overlap_conflict")
                elif o_lo == lo and o_hi == hi:
                    is_dup = True
                cur = max(cur, b)
            if cur < hi:
                payload[cur:hi] = data[cur - lo:]
            if is_dup:
                duplicates += 1
            have.append((lo, hi))
        self.stats["duplicates"] += duplicates
        last = <Piece>d.pieces[len(d.pieces) - 1]
        if d.version == 4:
            start = first.data_start
            head = bytearray(first.frame[:start])
            hl = start - first.l3
            tl = hl + total
            a = first.l3 + self.len_at
            head[a] = (tl >> 8) & 0xFF
            head[a + 1] = tl & 0xFF
            a = first.l3 + self.flags_at
            head[a] = head[a] & 0xC0                 # keep reserved and DF; MF and offset 0
            head[a + 1] = 0
            a = first.l3 + self.cksum_at
            head[a] = head[a + 1] = 0
            c = _checksum(bytes(head[first.l3:start]))
            head[a] = c >> 8
            head[a + 1] = c & 0xFF
        else:
            fh = first.l3 + d.unfrag               # the Fragment header
            head = bytearray(first.frame[:fh + 8])
            head[fh + 2] = 0                       # offset 0, M clear: an atomic fragment
            head[fh + 3] = 0
            plen = d.unfrag + 8 - 40 + total
            a = first.l3 + self.plen_at
            if plen > 0xFFFF:
                self.stats["oversize"] += 1
                self._give_up(d, "oversize", out)
                return
            head[a] = (plen >> 8) & 0xFF
            head[a + 1] = plen & 0xFF
        frame = bytes(head) + bytes(payload)
        self.table.pop(d.key, None)
        self._release_bytes(d)
        self.stats["reassembled"] += 1
        frames = tuple(sorted({p.index for p in d.pieces}))
        out.append(("new", frame, last.ts_ns, first.linktype, first.iface, last.index,
                    tuple(sorted(d.flags)), frames))

    def flush(self):
        """Give up every datagram still held (the end of the input): ("old", ...) outputs."""
        out = []
        for d in list(self.table.values()):
            self.stats["incomplete"] += 1
            self._give_up(d, "incomplete", out)
        self.dead.clear()
        return out
