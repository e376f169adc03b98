# cython: language_level=3
"""TCP stream reassembly core: connection table, per-direction ordering, gaps and caps.

Policy (documented once, applied everywhere):

* Sequence numbers are compared modulo 2**32: every segment is placed relative to the
  next expected sequence number of its direction with a signed 32-bit difference, then
  kept as a 64-bit stream offset, so a stream that crosses the wrap is delivered once.
* Overlaps follow the "first" policy (as in most IDS "first" target policies): bytes
  that were received first win; a later copy only fills holes. When the bytes of a later
  copy differ from what was received first (compared against buffered data and against
  a short history of delivered data), the connection is flagged ``overlap_conflict``.
* A missing range becomes a gap of known size and delivery continues after it. Gaps are
  declared when the peer acknowledges bytes never seen, when the out-of-order buffer of
  a direction or of the whole reassembler exceeds its cap, when several segments in a row
  are beyond the receive window (resync), and when the connection is closed or flushed.
* Caps: out-of-order bytes per direction, buffered bytes in total (out-of-order data and
  delivered history), tracked connections (least recently active evicted first) and an
  idle timeout. Each hit is counted in ``stats`` and flagged on the connection. A held
  segment counts as its length plus 64 bytes, so many tiny segments cannot exceed a cap
  in real memory while staying under it in payload bytes.
* A segment further ahead than the window (``max_window`` bytes) is dropped without
  storing anything: a segment 2**31 bytes ahead allocates nothing.
* The first FIN of a direction ends its stream (one that ends before bytes already
  delivered is stale, flagged ``stale_fin`` and ignored; one beyond the window is out of
  window and ignored). Data at or after the FIN's offset is never held: it is discarded
  when it arrives, and data already buffered beyond a FIN that arrives later is dropped
  then; both are counted (``stats["data_after_fin"]``, bytes) and flagged
  ``data_after_fin``.
* Termination: every loop that skips or delivers removes at least one buffered segment
  or moves ``next_off`` forward, and stops otherwise, so no input can make it spin.
"""

from bisect import bisect_right

from libc.stdint cimport int32_t, int64_t, uint32_t

cdef int FIN = 1
cdef int SYN = 2
cdef int RST = 4
cdef int ACK = 16

# direction numbers: 0 = client to server, 1 = server to client
CLIENT_TO_SERVER = 0
SERVER_TO_CLIENT = 1

cdef int OOW_RESYNC = 4   # consecutive out-of-window segments that force a resync
cdef Py_ssize_t MAX_GAP_RECORDS = 1024   # gaps listed per connection; more are only counted
# every held segment is charged its length plus this much (object header, list slots), so
# that a flood of tiny segments is bounded by the same caps as a few large ones
cdef Py_ssize_t SEGMENT_OVERHEAD = 64


cdef class Half:
    """One direction of a connection: next expected offset, out-of-order buffer, FIN."""

    cdef public bint started
    cdef public bint syn_seen
    cdef public uint32_t isn
    cdef public uint32_t next_seq      # sequence number of next_off, modulo 2**32
    cdef public int64_t next_off       # next stream offset to deliver (0 = first data byte)
    cdef public int64_t fin_off        # offset of the FIN, -1 when none seen
    cdef public int64_t max_ack_off    # highest offset the peer acknowledged, -1 when none
    cdef public bint closed
    cdef public int64_t delivered      # bytes delivered
    cdef public int64_t gap_bytes
    cdef public int64_t ooo_bytes      # held in the out-of-order buffer (+ SEGMENT_OVERHEAD each)
    cdef public int64_t hist_bytes     # held in the delivered-history window (same charge)
    cdef public int oow_streak
    cdef list ooo_off                  # sorted start offsets of buffered segments
    cdef list ooo_data                 # their bytes; ranges never overlap
    cdef list hist_off                 # recently delivered segments (for conflict checks)
    cdef list hist_data

    def __cinit__(self):
        self.fin_off = -1
        self.max_ack_off = -1
        self.ooo_off = []
        self.ooo_data = []
        self.hist_off = []
        self.hist_data = []

    @property
    def buffered(self):
        """Bytes held for this direction (out-of-order plus history)."""
        return self.ooo_bytes + self.hist_bytes

    @property
    def segments_buffered(self):
        return len(self.ooo_off)


cdef class Connection:
    """A tracked TCP connection; ``index`` numbers connections in order of creation."""

    cdef public int index
    cdef public int version
    cdef public object client          # address string of the client
    cdef public object server
    cdef public int client_port
    cdef public int server_port
    cdef public bytes client_bytes     # packed address, for direction lookup
    cdef public int64_t first_ns
    cdef public int64_t last_ns
    cdef public Half c2s
    cdef public Half s2c
    cdef public list gaps              # (direction, offset, size), the first MAX_GAP_RECORDS
    cdef public int64_t gap_count
    cdef public set flags
    cdef public object handler         # free slot for subscribers (e.g. an SMTP session)
    cdef public bint finished
    cdef public int64_t packets

    def __cinit__(self):
        self.c2s = Half()
        self.s2c = Half()
        self.gaps = []
        self.flags = set()

    @property
    def bytes_to_server(self):
        return self.c2s.delivered

    @property
    def bytes_to_client(self):
        return self.s2c.delivered

    def __repr__(self):
        return (f"<Connection {self.index} {self.client}:{self.client_port} -> "
                f"{self.server}:{self.server_port} {sorted(self.flags)}>")


cdef inline Half _half(Connection c, int d):
    return c.c2s if d == 0 else c.s2c


cdef class Core:
    """Reassembles TCP segments into ordered per-direction data and reports to callbacks.

    Callbacks (any may be None): on_open(conn), on_data(conn, direction, data),
    on_gap(conn, direction, size), on_close(conn). The packet time of the segment that
    caused an event is ``conn.last_ns``.
    """

    cdef public object on_open
    cdef public object on_data
    cdef public object on_gap
    cdef public object on_close
    cdef public int64_t max_ooo_per_direction
    cdef public int64_t max_buffered
    cdef public int64_t max_connections
    cdef public int64_t idle_timeout_ns
    cdef public int64_t history
    cdef public int64_t max_window
    cdef public int64_t buffered             # bytes held across all connections
    cdef public int64_t peak_buffered
    cdef public dict table
    cdef public dict stats
    cdef int next_index
    cdef int64_t last_sweep_ns
    cdef int64_t now_ns

    def __init__(self, on_open=None, on_data=None, on_gap=None, on_close=None, *,
                 max_ooo_per_direction=1 << 20, max_buffered=64 << 20,
                 max_connections=100000, idle_timeout=300.0, history=16384,
                 max_window=None):
        if max_ooo_per_direction < 0 or max_buffered < 0 or max_connections < 1:
            raise ValueError("caps must be positive")
        self.on_open = on_open
        self.on_data = on_data
        self.on_gap = on_gap
        self.on_close = on_close
        self.max_ooo_per_direction = max_ooo_per_direction
        self.max_buffered = max_buffered
        self.max_connections = max_connections
        self.idle_timeout_ns = <int64_t>(idle_timeout * 1e9)
        self.history = history
        # never more than 2**30 ahead, so the signed 32-bit difference stays unambiguous
        if max_window is None:
            max_window = max(max_ooo_per_direction, 65535) * 4
        self.max_window = min(int(max_window), 1 << 30)
        self.table = {}
        self.stats = dict(packets=0, segments=0, payload_bytes=0, delivered_bytes=0,
                          gap_bytes=0, gaps=0, connections=0, closed=0, ignored=0,
                          retransmitted_bytes=0, overlap_conflicts=0, out_of_window=0,
                          resyncs=0, ooo_cap_hits=0, buffer_cap_hits=0,
                          connection_cap_evictions=0, idle_timeouts=0, ack_gaps=0,
                          data_after_fin=0)
        self.next_index = 0
        self.last_sweep_ns = 0

    # ------------------------------------------------------------------ input

    def packet(self, pkt):
        """Feed one Packet (anything with .ip, .tcp, .payload, .time_ns); non-TCP is ignored."""
        tcp = pkt.tcp
        if tcp is None or tcp.flags is None:
            return None     # no TCP header, or one cut before its flags (seq/ack absent)
        ip = pkt.ip
        if ip is None:
            return None
        return self.segment(ip.version, ip.src_bytes, ip.dst_bytes, tcp.src_port,
                            tcp.dst_port, tcp.seq, tcp.ack, tcp.flags, pkt.payload,
                            pkt.time_ns, ip.src, ip.dst)

    def segment(self, int version, bytes src, bytes dst, int sport, int dport,
                uint32_t seq, uint32_t ack, int flags, bytes payload, int64_t time_ns,
                src_text=None, dst_text=None):
        """Feed one TCP segment; returns the Connection it belongs to, or None if ignored."""
        cdef Connection c
        cdef int d
        self.stats["packets"] += 1
        self.now_ns = time_ns
        if self.idle_timeout_ns > 0 and time_ns - self.last_sweep_ns >= self.idle_timeout_ns // 4:
            self.last_sweep_ns = time_ns
            if self.table:
                self._sweep_idle(time_ns)
        if (src, sport) < (dst, dport):
            key = (version, src, sport, dst, dport)
        else:
            key = (version, dst, dport, src, sport)
        c = self.table.get(key)
        if c is not None and (flags & (SYN | ACK)) == SYN and not (flags & RST):
            # a new SYN on a known tuple: a retransmitted SYN, or the port reused
            if c.client_bytes == src and c.client_port == sport and c.c2s.syn_seen \
                    and c.c2s.isn == seq:
                pass
            elif c.c2s.delivered or c.s2c.delivered or c.c2s.ooo_bytes or c.s2c.ooo_bytes \
                    or not (c.client_bytes == src and c.client_port == sport):
                c.flags.add("reused")
                self._close(c, key)
                c = None
        if c is None:
            if flags & RST:
                self.stats["ignored"] += 1
                return None
            if flags & SYN:
                if flags & ACK:   # SYN-ACK without the SYN: roles known from it
                    c = self._new(key, version, dst, dport, src, sport, dst_text, src_text,
                                  time_ns)
                    c.flags.add("syn_missing")
                else:
                    c = self._new(key, version, src, sport, dst, dport, src_text, dst_text,
                                  time_ns)
            elif len(payload):
                if _is_server_port(dport, sport):
                    c = self._new(key, version, src, sport, dst, dport, src_text, dst_text,
                                  time_ns)
                else:
                    c = self._new(key, version, dst, dport, src, sport, dst_text, src_text,
                                  time_ns)
                c.flags.add("midstream")
            else:
                self.stats["ignored"] += 1
                return None
        c.last_ns = time_ns
        c.packets += 1
        d = 0 if (c.client_port == sport and c.client_bytes == src) else 1
        self._segment(c, key, d, seq, ack, flags, payload)
        return c

    # --------------------------------------------------------------- internals

    cdef Connection _new(self, key, int version, bytes cb, int cport, bytes sb, int sport,
                         ctext, stext, int64_t time_ns):
        cdef Connection c
        if len(self.table) >= self.max_connections:
            self._evict_oldest()
        c = Connection()
        c.index = self.next_index
        self.next_index += 1
        c.version = version
        c.client_bytes = cb
        c.client_port = cport
        c.server_port = sport
        c.client = ctext if ctext is not None else _addr_text(cb)
        c.server = stext if stext is not None else _addr_text(sb)
        c.first_ns = time_ns
        c.last_ns = time_ns
        self.table[key] = c
        self.stats["connections"] += 1
        if self.on_open is not None:
            self.on_open(c)
        return c

    cdef _segment(self, Connection c, key, int d, uint32_t seq, uint32_t ack, int flags,
                  bytes payload):
        cdef Half h = _half(c, d)
        cdef Half peer = _half(c, 1 - d)
        cdef Py_ssize_t n = len(payload)
        cdef int32_t rel
        cdef int64_t off
        self.stats["segments"] += 1
        self.stats["payload_bytes"] += n
        if flags & SYN:
            if not h.syn_seen:
                h.syn_seen = True
                h.isn = seq
                if not h.started or (h.delivered == 0 and h.ooo_bytes == 0):
                    h.started = True
                    h.next_seq = seq + 1
                    h.next_off = 0
            seq = seq + 1   # the SYN occupies one sequence number
        if not h.started:
            if n == 0 and not (flags & FIN):
                self._ack(c, d, peer, flags, ack)
                return
            # first segment seen for this direction without its SYN
            h.started = True
            h.next_seq = seq
            h.next_off = 0
            if "midstream" not in c.flags:
                c.flags.add("syn_missing")
        rel = <int32_t>(seq - h.next_seq)
        off = h.next_off + rel
        if n:
            if rel > 0 and rel + n > self.max_window:
                self._out_of_window(c, d, h, off, payload)
            elif rel < 0 and -<int64_t>rel > self.max_window:
                self.stats["out_of_window"] += 1     # far behind: dropped, stores nothing
                c.flags.add("out_of_window")
            else:
                if h.oow_streak:
                    h.oow_streak = 0
                self._insert(c, d, h, off, payload)
        if flags & FIN and h.fin_off < 0:
            if <int64_t>rel + n < 0:
                # ends before bytes already delivered: an old or forged FIN, which a
                # receiver ignores too (and an offset below 0 would read as "no FIN")
                c.flags.add("stale_fin")
            elif <int64_t>rel + n > self.max_window:
                # too far ahead (e.g. 2**31 - 1): it ends nothing, like its data
                if n == 0:
                    self.stats["out_of_window"] += 1
                    c.flags.add("out_of_window")
            else:
                h.fin_off = off + n
                self._trim_after_fin(c, h)
        if flags & RST:
            c.flags.add("rst")
            self._close(c, key)
            return
        self._ack(c, d, peer, flags, ack)
        self._deliver(c, d, h)
        if self.buffered > self.max_buffered:
            self._relieve(c, d, h)
        for h in (c.c2s, c.s2c):
            if h.fin_off >= 0 and h.next_off >= h.fin_off and not h.closed:
                h.closed = True
                c.flags.add("fin")
        if c.c2s.closed and c.s2c.closed:
            self._close(c, key)

    cdef _ack(self, Connection c, int d, Half peer, int flags, uint32_t ack):
        """Record the peer direction's acknowledged offset; acked holes become gaps."""
        cdef int32_t rel
        cdef int64_t a, target, before
        if not (flags & ACK) or not peer.started:
            return
        rel = <int32_t>(ack - peer.next_seq)
        if rel <= 0 or rel > self.max_window:
            return
        a = peer.next_off + rel
        if a > peer.max_ack_off:
            peer.max_ack_off = a
        # bytes the receiver acknowledged that the capture never showed, before buffered
        # data or a FIN: a gap now, so delivery goes on in step with the other direction
        while peer.max_ack_off > peer.next_off:
            if peer.ooo_off:
                target = peer.ooo_off[0]
            elif peer.fin_off > peer.next_off:
                target = peer.fin_off
            else:
                break
            target = min(target, peer.max_ack_off)
            if target <= peer.next_off:
                break
            before = peer.next_off
            self.stats["ack_gaps"] += 1
            self._gap(c, 1 - d, peer, target)
            self._deliver(c, 1 - d, peer)
            if peer.next_off <= before:
                break      # nothing to skip to (e.g. held at a FIN): never spin

    cdef _out_of_window(self, Connection c, int d, Half h, int64_t off, bytes payload):
        self.stats["out_of_window"] += 1
        c.flags.add("out_of_window")
        h.oow_streak += 1
        if h.oow_streak >= OOW_RESYNC:
            # the stream really jumped (e.g. the capture lost a burst): resync to it
            h.oow_streak = 0
            self.stats["resyncs"] += 1
            self._flush_half(c, d, h)
            self._gap(c, d, h, off)
            self._insert(c, d, h, off, payload)

    cdef _insert(self, Connection c, int d, Half h, int64_t off, bytes data):
        """Place data at off with the first-received-wins policy, then deliver what is ready."""
        cdef int64_t end = off + len(data)
        cdef int64_t a, b, s, e, limit
        cdef Py_ssize_t i, j
        if h.fin_off >= 0:
            # nothing at or after the FIN is part of the stream: never held, only counted
            limit = h.fin_off if h.fin_off > h.next_off else h.next_off
            if end > limit:
                a = off if off > limit else limit
                self._after_fin(c, end - a)
                if a == off:
                    return
                data = data[:a - off]
                end = a
        if end <= h.next_off:
            self.stats["retransmitted_bytes"] += end - off
            self._check_history(c, h, off, data)
            return
        if off < h.next_off:
            self.stats["retransmitted_bytes"] += h.next_off - off
            self._check_history(c, h, off, data[:h.next_off - off])
            data = data[h.next_off - off:]
            off = h.next_off
        if off == h.next_off and not h.ooo_off:
            self._emit(c, d, h, data)        # the common case: in order, nothing buffered
            return
        # split the new segment into the pieces not already buffered
        pieces = []
        a = off
        i = bisect_right(h.ooo_off, off) - 1
        if i < 0:
            i = 0
        j = i
        while j < len(h.ooo_off) and a < end:
            s = h.ooo_off[j]
            seg = <bytes>h.ooo_data[j]
            e = s + len(seg)
            if e <= a:
                j += 1
                continue
            if s >= end:
                break
            if s > a:
                pieces.append((a, data[a - off:s - off]))
            # overlap [max(a, s), min(end, e)) keeps the buffered bytes
            b = min(end, e)
            if max(a, s) < b:
                self.stats["retransmitted_bytes"] += b - max(a, s)
                if data[max(a, s) - off:b - off] != seg[max(a, s) - s:b - s]:
                    self._conflict(c)
            a = e
            j += 1
        if a < end:
            pieces.append((a, data[a - off:] if a > off else data))
        for s, piece in pieces:
            j = bisect_right(h.ooo_off, s)
            h.ooo_off.insert(j, s)
            h.ooo_data.insert(j, piece)
            h.ooo_bytes += len(piece) + SEGMENT_OVERHEAD
            self._account(len(piece) + SEGMENT_OVERHEAD)
        self._deliver(c, d, h)
        if h.ooo_bytes > self.max_ooo_per_direction:
            self.stats["ooo_cap_hits"] += 1
            c.flags.add("ooo_cap")
            while h.ooo_bytes > self.max_ooo_per_direction and h.ooo_off:
                self._skip_to_buffered(c, d, h)     # removes at least one segment
        if self.buffered > self.max_buffered:
            self._relieve(c, d, h)

    cdef _deliver(self, Connection c, int d, Half h):
        """Emit buffered segments that are now in order."""
        cdef int64_t s, e
        while h.ooo_off and <int64_t>h.ooo_off[0] <= h.next_off:
            s = h.ooo_off.pop(0)
            seg = h.ooo_data.pop(0)
            h.ooo_bytes -= len(seg) + SEGMENT_OVERHEAD
            self.buffered -= len(seg) + SEGMENT_OVERHEAD
            e = s + len(seg)
            if e <= h.next_off:
                continue
            if s < h.next_off:
                seg = seg[h.next_off - s:]
            self._emit(c, d, h, seg)

    cdef _emit(self, Connection c, int d, Half h, bytes data):
        cdef Py_ssize_t n = len(data)
        cdef int64_t keep
        if h.fin_off >= 0 and h.next_off + n > h.fin_off:
            # data after the FIN is not part of the stream (_insert already cut it off;
            # this is the last guard)
            keep = h.fin_off - h.next_off if h.fin_off > h.next_off else 0
            self._after_fin(c, n - keep)
            if keep == 0:
                return
            data = data[:keep]
            n = keep
        if self.history > 0:
            h.hist_off.append(h.next_off)
            h.hist_data.append(data)
            h.hist_bytes += n + SEGMENT_OVERHEAD
            self._account(n + SEGMENT_OVERHEAD)
            while h.hist_bytes > self.history:
                h.hist_off.pop(0)
                old = h.hist_data.pop(0)
                h.hist_bytes -= len(old) + SEGMENT_OVERHEAD
                self.buffered -= len(old) + SEGMENT_OVERHEAD
        h.next_off += n
        h.next_seq = <uint32_t>(h.next_seq + <uint32_t>n)
        h.delivered += n
        self.stats["delivered_bytes"] += n
        if self.on_data is not None:
            self.on_data(c, d, data)

    cdef _gap(self, Connection c, int d, Half h, int64_t target):
        """Skip from next_off to target, reporting the missing bytes as a gap."""
        cdef int64_t size = target - h.next_off
        if size <= 0:
            return
        if h.fin_off >= 0 and target > h.fin_off:
            size = h.fin_off - h.next_off
            target = h.fin_off
            if size <= 0:
                return
        c.gap_count += 1
        if len(c.gaps) < MAX_GAP_RECORDS:
            c.gaps.append((d, h.next_off, size))
        else:
            c.flags.add("gaps_truncated")
        c.flags.add("gap")
        h.gap_bytes += size
        self.stats["gaps"] += 1
        self.stats["gap_bytes"] += size
        h.next_off = target
        h.next_seq = <uint32_t>(h.next_seq + <uint32_t>size)
        # history no longer adjoins next_off
        self._drop_history(h)
        if self.on_gap is not None:
            self.on_gap(c, d, size)

    cdef _check_history(self, Connection c, Half h, int64_t off, bytes data):
        """Compare a retransmitted range with the delivered bytes we still remember."""
        cdef int64_t end = off + len(data)
        cdef int64_t s, e, a, b
        cdef Py_ssize_t i
        if not h.hist_off or end <= <int64_t>h.hist_off[0]:
            return
        i = bisect_right(h.hist_off, off) - 1
        if i < 0:
            i = 0
        while i < len(h.hist_off):
            s = h.hist_off[i]
            if s >= end:
                break
            seg = <bytes>h.hist_data[i]
            e = s + len(seg)
            a = max(s, off)
            b = min(e, end)
            if a < b and data[a - off:b - off] != seg[a - s:b - s]:
                self._conflict(c)
                return
            i += 1

    cdef _conflict(self, Connection c):
        self.stats["overlap_conflicts"] += 1
        c.flags.add("overlap_conflict")

    cdef _drop_history(self, Half h):
        self.buffered -= h.hist_bytes
        h.hist_bytes = 0
        h.hist_off = []
        h.hist_data = []

    cdef _account(self, Py_ssize_t n):
        self.buffered += n
        if self.buffered > self.peak_buffered:
            self.peak_buffered = self.buffered

    cdef _flush_half(self, Connection c, int d, Half h):
        """Deliver everything buffered for a direction, declaring the holes as gaps."""
        while h.ooo_off:
            self._skip_to_buffered(c, d, h)     # removes at least one segment

    cdef _skip_to_buffered(self, Connection c, int d, Half h):
        """Declare the hole before the first buffered segment a gap and deliver from there.

        Removes at least one buffered segment on every call (so loops over it end): if the
        hole cannot be skipped (the segment lies at or past the FIN) the buffer is dropped.
        """
        cdef int64_t target = h.ooo_off[0]
        self._gap(c, d, h, target)
        if h.next_off < target:
            self._drop_buffered(c, h, h.next_off)
        else:
            self._deliver(c, d, h)

    cdef _trim_after_fin(self, Connection c, Half h):
        """A FIN was just seen: drop buffered data at or after it (never delivered)."""
        cdef int64_t limit = h.fin_off if h.fin_off > h.next_off else h.next_off
        self._drop_buffered(c, h, limit)

    cdef _drop_buffered(self, Connection c, Half h, int64_t limit):
        """Discard the out-of-order bytes at or after limit, counted as data after the FIN."""
        cdef int64_t s, e, dropped = 0
        cdef Py_ssize_t k
        while h.ooo_off:
            k = len(h.ooo_off) - 1
            s = h.ooo_off[k]
            seg = <bytes>h.ooo_data[k]
            e = s + len(seg)
            if e <= limit:
                break
            if s >= limit:
                h.ooo_off.pop()
                h.ooo_data.pop()
                h.ooo_bytes -= len(seg) + SEGMENT_OVERHEAD
                self.buffered -= len(seg) + SEGMENT_OVERHEAD
                dropped += e - s
            else:
                h.ooo_data[k] = seg[:limit - s]
                h.ooo_bytes -= e - limit
                self.buffered -= e - limit
                dropped += e - limit
                break
        if dropped:
            self._after_fin(c, dropped)

    cdef _after_fin(self, Connection c, int64_t n):
        if n > 0:
            self.stats["data_after_fin"] += n
            c.flags.add("data_after_fin")

    cdef _relieve(self, Connection cur, int d, Half h):
        """Total buffer cap hit: drop histories, then flush the largest out-of-order buffers.

        The halves holding data are ranked once (largest first, ties in table order), so a
        relief costs one pass and a sort however many buffers it flushes.
        """
        cdef Connection c, big
        cdef Half bh
        cdef int bd
        cdef Py_ssize_t k = 0
        cdef int64_t floor = self.max_buffered - self.max_buffered // 8
        self.stats["buffer_cap_hits"] += 1
        ranked = []
        for c in self.table.values():
            self._drop_history(c.c2s)
            self._drop_history(c.s2c)
            if c.c2s.ooo_bytes:
                ranked.append((-c.c2s.ooo_bytes, k, 0, c))
            if c.s2c.ooo_bytes:
                ranked.append((-c.s2c.ooo_bytes, k + 1, 1, c))
            k += 2
        ranked.sort(key=_rank)
        # relieve down to 7/8 of the cap, so that the next segments do not hit it again
        for _, _, bd, big in ranked:
            if self.buffered <= floor:
                break
            bh = _half(big, bd)
            if not bh.ooo_bytes:
                continue
            big.flags.add("buffer_cap")
            self._flush_half(big, bd, bh)      # empties its out-of-order buffer
            self._drop_history(bh)

    cdef _finish_half(self, Connection c, int d, Half h):
        cdef int64_t acked
        self._flush_half(c, d, h)
        if h.fin_off > h.next_off:
            self._gap(c, d, h, h.fin_off)
        acked = h.max_ack_off
        # an ack one past next_off may just cover a FIN we did not see
        if h.fin_off < 0 and acked > h.next_off + 1:
            self.stats["ack_gaps"] += 1
            self._gap(c, d, h, acked - 1)
        self._drop_history(h)

    cdef _close(self, Connection c, key):
        if c.finished:
            return
        c.finished = True
        self._finish_half(c, 0, c.c2s)
        self._finish_half(c, 1, c.s2c)
        if self.table.get(key) is c:
            del self.table[key]
        self.stats["closed"] += 1
        if self.on_close is not None:
            self.on_close(c)

    cdef _sweep_idle(self, int64_t now):
        cdef Connection c
        expired = [(k, c) for k, c in self.table.items()
                   if now - c.last_ns > self.idle_timeout_ns]
        for k, c in expired:
            self.stats["idle_timeouts"] += 1
            c.flags.add("idle_timeout")
            self._close(c, k)

    cdef _evict_oldest(self):
        """Connection cap hit: close the least recently active eighth of the table."""
        cdef Connection c
        items = sorted(self.table.items(), key=_last_ns)
        count = max(1, len(items) // 8)
        for k, c in items[:count]:
            self.stats["connection_cap_evictions"] += 1
            c.flags.add("evicted")
            self._close(c, k)

    # ------------------------------------------------------------------ output

    def flush(self):
        """Close every tracked connection (end of input), delivering buffered data with gaps."""
        cdef Connection c
        for k, c in list(self.table.items()):
            if not (c.c2s.closed and c.s2c.closed):
                c.flags.add("open_at_end")
            self._close(c, k)

    def __len__(self):
        return len(self.table)


def _last_ns(item):
    return (<Connection>item[1]).last_ns


def _rank(item):
    return (item[0], item[1])


cdef bint _is_server_port(int dport, int sport):
    """Guess whether dport is the server side of a connection seen mid-stream."""
    if dport < 1024 <= sport:
        return True
    if sport < 1024 <= dport:
        return False
    return dport < sport


def _addr_text(bytes b):
    import ipaddress
    if len(b) == 4 or len(b) == 16:
        return str(ipaddress.ip_address(b))
    return b.hex()
