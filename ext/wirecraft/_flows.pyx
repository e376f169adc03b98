# cython: language_level=3
"""Connection table over decoded batches: Zeek conn.log's connections, in C.

wirecraft.conn drives it (`wirecraft.flows`). The model, for TCP, UDP, ICMP and ICMPv6:

* A connection is keyed by transport, the two (address, port) ends in a canonical
  order, so both directions meet. ICMP has no ports: as Zeek does, the originator's
  "port" is the ICMP type and the responder's the type that answers it (echo request 8
  and reply 0, ICMPv6 128 and 129, ...), or the code for a type with no answer; a reply
  then lands on its request's connection, reversed.
* The originator is the sender of the first packet, with two corrections (each marks
  the history with `^`): a TCP connection whose first packet is a SYN+ACK belongs to
  the other side, and a connection whose first packet comes from a likely server port
  towards a port that is not one is turned round.
* TCP endpoints move through Zeek's states (inactive, SYN sent, SYN+ACK sent, partial,
  established, closed, reset), from which conn_state is derived as Zeek derives it.
  History letters are Zeek's: S H A D F R T W C Q I for the originator, lower case for
  the responder, each once per direction but T, W and C, repeated when their count
  reaches 10, 100, 1000, ... A packet with a bad checksum (when checksums are checked)
  is counted and marked C, and otherwise ignored, as Zeek does.
* Payload bytes of TCP come from sequence numbers (the highest end seen, or
  acknowledged by the peer, less the start; SYN and FIN octets not counted), so
  retransmissions count once; `missed_bytes` is what that span holds that no segment
  carried. UDP counts payload bytes, ICMP the bytes after its 8-byte header.
  orig_ip_bytes / resp_ip_bytes sum the IP total lengths.
* A connection ends at its idle timeout (capture time; TCP, UDP and ICMP each their
  own), when a new SYN arrives on a closed or reset one (port reuse), when the table is
  over its cap (the least recently active first; counted in `stats["evicted"]`) or at
  the end of the input. Ended connections are handed out as rows.

Packets that are no TCP, UDP, ICMP or ICMPv6 over IP, and fragments that were not put
together, are counted in `stats` and belong to no connection.
"""

cimport cython
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy, memset

import gc
from collections import OrderedDict

from wirecraft._codes cimport *
from wirecraft._core cimport ip4_text, ip6_text
from wirecraft._record cimport rec_t

# the decoder's anomaly bits for a bad TCP or UDP checksum (set when checksums are checked)
cdef uint32_t BAD_TRANSPORT_CHECKSUM = (1u << 17) | (1u << 18)

cdef int FIN = 1
cdef int SYN = 2
cdef int RST = 4
cdef int PSH = 8
cdef int ACK = 16

# Zeek's TCP endpoint states
cdef enum:
    INACTIVE = 0
    SYN_SENT = 1
    SYN_ACK_SENT = 2
    PARTIAL = 3
    ESTABLISHED = 4
    CLOSED = 5
    RESET = 6

STATE_NAMES = ("INACTIVE", "SYN_SENT", "SYN_ACK_SENT", "PARTIAL", "ESTABLISHED", "CLOSED",
               "RESET")

# history letter positions (a bit per letter per direction)
cdef enum:
    H_SYN = 0
    H_SYNACK = 1
    H_ACK = 2
    H_DATA = 3
    H_FIN = 4
    H_RST = 5
    H_MULTI = 6
    H_INCONSISTENT = 7

cdef bytes LETTERS = b"SHADFRQI"
cdef bytes LETTERS_RESP = b"shadfrqi"

# ICMP types answered by another, both ways (RFC 792, RFC 4443, RFC 4861)
cdef dict ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17,
                         10: 9, 9: 10}
cdef dict ICMP6_PAIRS = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135,
                         130: 131, 131: 130, 139: 140, 140: 139}
# the types that ask (the originator of a pair is its asker)
cdef set ICMP_REQUESTS4 = {8, 13, 15, 17, 10}
cdef set ICMP_REQUESTS6 = {128, 133, 135, 130, 139}


cdef class Side:
    """One endpoint of a connection: counters, TCP state and sequence space."""

    cdef public int64_t pkts, ip_bytes, size, seen_bytes
    cdef public int state
    cdef public uint32_t hist          # letters seen once (bits H_*)
    cdef public int64_t retrans, zero_win, bad_checksums
    # TCP sequence space: `base` is the sequence number before the first byte (the ISN,
    # or one less than the first sequence seen when the SYN was missed); offsets are
    # 64-bit from there, unwrapped against the highest seen
    cdef public bint seq_known, fin_seen, did_close
    cdef public uint32_t base
    cdef public int64_t top            # highest offset reached by data, SYN or FIN
    cdef public int64_t data_top       # highest offset reached by payload
    cdef public int64_t acked          # highest offset the peer acknowledged

    def __init__(self):
        self.state = INACTIVE


cdef inline int64_t _unwrap(uint32_t base, int64_t near, uint32_t seq):
    """Offset of `seq` from `base`, the one of its 2**32 aliases nearest `near`."""
    cdef int64_t off = <int64_t><uint32_t>(seq - base)
    cdef int64_t cycle = near - (near & 0xFFFFFFFF)
    off += cycle
    if off - near > 0x80000000:
        off -= 0x100000000
    elif near - off > 0x80000000:
        off += 0x100000000
    return off


@cython.no_gc
cdef class Conn:
    """One connection (a row of the conn table once it ends). Not tracked by the cyclic
    garbage collector: its references (bytes, str, Side) cannot form a cycle, and a
    table of a million tracked objects makes every collection walk them all."""

    cdef public bytes key
    cdef public int proto              # 6, 17, 1 or 58
    cdef public int version
    cdef public bytes orig_h, resp_h   # 16 bytes each (IPv4: the first 4)
    cdef public int orig_p, resp_p
    cdef public int64_t first_ts, last_ts, moved_ts
    cdef public uint64_t first_index, last_index
    cdef public Side orig, resp
    cdef public bint flipped
    cdef public bytearray history
    cdef public int vlan               # outer VLAN id, -1 without
    cdef public uint32_t anomalies
    cdef public str ended              # why it ended: timeout, reuse, evicted, end
    cdef public uint32_t apps          # bits 1 << APP_* of applications confirmed

    @property
    def uid(self):
        """The connection's uid: "C" and 16 base-62 digits of a 96-bit FNV-1a hash of its
        key, first packet time and first packet number (stable from run to run; 17
        characters, as wide as the uids of wirecraft.dns rows without a connection)."""
        return _uid(self.key, self.first_ts, self.first_index)

    cdef void letter(self, bint is_orig, int bit):
        cdef Side s = self.orig if is_orig else self.resp
        if not (s.hist >> bit) & 1:
            s.hist |= 1u << bit
            self.history.append(LETTERS[bit] if is_orig else LETTERS_RESP[bit])

    cdef void counted(self, bint is_orig, int64_t count, char upper):
        # T and W: at the 1st, 10th, 100th, ... time
        cdef int64_t n = 1
        while n < count:
            n *= 10
        if n == count:
            self.history.append(upper if is_orig else upper + 32)


cdef class Table:
    """The live connections. `feed(batch)` returns the connections it ended (a list of
    Conn); `flush()` ends the rest."""

    cdef public object conns           # key -> Conn, least recently active first (to
    #                                    within a second: see _packet)
    cdef public int64_t tcp_timeout, udp_timeout, icmp_timeout
    cdef public Py_ssize_t max_connections
    cdef public frozenset server_ports
    cdef int64_t now, last_sweep
    cdef int64_t n_packets, n_in, n_not_ip, n_other, n_frag, n_trunc, n_conns, n_evicted
    cdef int64_t n_timeouts, n_reused

    def __init__(self, *, double tcp_timeout=300.0, double udp_timeout=60.0,
                 double icmp_timeout=60.0, Py_ssize_t max_connections=1 << 20,
                 server_ports=()):
        self.conns = OrderedDict()
        self.tcp_timeout = <int64_t>(tcp_timeout * 1e9)
        self.udp_timeout = <int64_t>(udp_timeout * 1e9)
        self.icmp_timeout = <int64_t>(icmp_timeout * 1e9)
        self.max_connections = max_connections
        self.server_ports = frozenset(server_ports)
        self.now = 0
        self.last_sweep = 0

    @property
    def stats(self):
        """Packets taken and in connections; those in none (not IP, other transports,
        fragments not put together, transport headers cut); connections ended, and how
        many of them by the cap, by timeout, by port reuse."""
        return {"packets": self.n_packets, "in_connections": self.n_in,
                "not_ip": self.n_not_ip, "other_transport": self.n_other,
                "fragments": self.n_frag, "truncated": self.n_trunc,
                "connections": self.n_conns, "evicted": self.n_evicted,
                "timeouts": self.n_timeouts, "reused": self.n_reused}

    def __len__(self):
        return len(self.conns)

    def feed(self, batch, mask=None):
        """Take the packets of `batch` (those `mask` selects: a boolean array, one per
        packet) in order; returns the connections that ended meanwhile."""
        cdef Py_ssize_t n = batch.n, j, taken = 0
        cdef list out = []
        if n == 0:
            return out
        cdef const uint8_t[::1] recbuf = memoryview(batch.records).cast("B")
        cdef const rec_t* recs = <const rec_t*>&recbuf[0]
        cdef const uint8_t[::1] data = memoryview(batch.data).cast("B")
        cdef const uint8_t* base = &data[0] if data.shape[0] else NULL
        cdef const uint8_t[::1] sel
        if mask is None:
            for j in range(n):
                self._packet(&recs[j], base, out)
            taken = n
        else:
            sel = memoryview(mask).cast("B")
            if sel.shape[0] != n:
                raise ValueError(f"mask has {sel.shape[0]} entries for {n} packets")
            for j in range(n):
                if sel[j]:
                    self._packet(&recs[j], base, out)
                    taken += 1
        self.n_packets += taken
        return out

    def flush(self):
        cdef list out = []
        cdef Conn c
        for c in self.conns.values():
            # one the sweep had not reached yet may be past its timeout already
            if self.now - c.last_ts > self._timeout(c.proto):
                c.ended = "timeout"
                self.n_timeouts += 1
            else:
                c.ended = "end"
            out.append(c)
        self.conns.clear()
        self.n_conns += len(out)
        return out

    cdef int64_t _timeout(self, int proto):
        if proto == 6:
            return self.tcp_timeout
        if proto == 17:
            return self.udp_timeout
        return self.icmp_timeout

    cdef void _expire(self, int64_t now, list out):
        # the least recently active first: stop at the first one still live
        cdef Conn c
        while self.conns:
            c = next(iter(self.conns.values()))
            if now - c.last_ts <= self._timeout(c.proto):
                break
            self.conns.popitem(last=False)
            c.ended = "timeout"
            self.n_timeouts += 1
            self.n_conns += 1
            out.append(c)

    cdef void _packet(self, const rec_t* r, const uint8_t* data, list out):
        cdef int proto = r.ip_protocol
        cdef int alen, sport, dport, itype = 0, icode = 0
        cdef bint icmp = False
        if r.ip_version != 4 and r.ip_version != 6:
            self.n_not_ip += 1
            return
        if r.layers & L_FRAG and (r.ip_frag_offset != 0 or r.ip_flags & 1):
            self.n_frag += 1
            return
        if proto == 6 and r.layers & L_TCP:
            sport, dport = r.l4_src_port, r.l4_dst_port
        elif proto == 17 and r.layers & L_UDP:
            sport, dport = r.l4_src_port, r.l4_dst_port
        elif (proto == 1 and r.layers & L_ICMP) or (proto == 58 and r.layers & L_ICMPV6):
            icmp = True
            itype, icode = r.icmp_type, r.icmp_code
            pairs = ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS
            sport = itype
            dport = pairs.get(itype, icode)
        elif proto in (6, 17, 1, 58):
            self.n_trunc += 1
            return
        else:
            self.n_other += 1
            return
        if r.ts_ns > self.now:
            self.now = r.ts_ns
            # the sweep of idle connections runs once a second of capture time (a
            # connection's own timeout is checked exactly when its next packet comes)
            if self.now - self.last_sweep >= 1000000000:
                self.last_sweep = self.now
                self._expire(self.now, out)
        alen = 4 if r.ip_version == 4 else 16
        cdef uint8_t k[38]
        key = _key(k, proto, r.ip_version, r.ip_src, sport, r.ip_dst, dport)
        cdef Conn c = self.conns.get(key)
        cdef int flags = r.tcp_flags & 0xFF
        if c is not None and r.ts_ns - c.last_ts > self._timeout(proto):
            del self.conns[key]
            c.ended = "timeout"
            self.n_timeouts += 1
            self.n_conns += 1
            out.append(c)
            c = None
        if c is not None and proto == 6 and (flags & (SYN | ACK)) == SYN:
            if self._reused(c, r):
                del self.conns[key]
                c.ended = "reuse"
                self.n_reused += 1
                self.n_conns += 1
                out.append(c)
                c = None
        if c is None:
            c = self._new(key, r, proto, sport, dport, itype, icmp)
            if len(self.conns) >= self.max_connections:
                old = self.conns.popitem(last=False)[1]
                (<Conn>old).ended = "evicted"
                self.n_evicted += 1
                self.n_conns += 1
                out.append(old)
            self.conns[key] = c
            c.moved_ts = r.ts_ns
        elif r.ts_ns - c.moved_ts >= 1000000000:
            # kept in order of last activity to within a second: moving a connection
            # to the end on every packet would cost more than the rest of the packet
            self.conns.move_to_end(key)
            c.moved_ts = r.ts_ns
        cdef bint is_orig = (memcmp(r.ip_src, <const uint8_t*><char*>c.orig_h, alen) == 0
                             and sport == c.orig_p)
        self.n_in += 1
        # as Zeek: once both sides of a TCP connection have closed (FIN or RST), later
        # packets are counted but no longer extend its duration
        if not (proto == 6 and c.orig.did_close and c.resp.did_close):
            c.last_ts = r.ts_ns if r.ts_ns > c.last_ts else c.last_ts
        c.last_index = r.index
        c.anomalies |= r.anomalies
        cdef Side s = c.orig if is_orig else c.resp
        if r.anomalies & BAD_TRANSPORT_CHECKSUM:
            # as Zeek does: counted, marked C, otherwise ignored
            s.pkts += 1
            s.ip_bytes += r.ip_total_length
            s.bad_checksums += 1
            c.counted(is_orig, s.bad_checksums, ord("C"))
            return
        if r.app and r.payload_length and not c.apps & (1u << r.app):
            if self._confirms(r, data, is_orig):
                c.apps |= 1u << r.app
        s.pkts += 1
        s.ip_bytes += r.ip_total_length
        if proto == 6:
            self._tcp(c, is_orig, r)
        elif proto == 17:
            if r.payload_length:
                s.size += r.payload_length
                c.letter(is_orig, H_DATA)
        else:
            if r.ip_total_length >= <uint32_t>(r.l4_offset - r.l3_offset) + 8:
                s.size += r.ip_total_length - (r.l4_offset - r.l3_offset) - 8

    cdef bint _confirms(self, const rec_t* r, const uint8_t* data, bint is_orig):
        # the payload looks like the protocol its port says: a DNS header (a TCP one with
        # its length prefix), an SMTP reply from the responder
        cdef const uint8_t* p
        if r.app == APP_SMTP:
            if is_orig or r.payload_length < 4 or data == NULL:
                return False
            p = data + r.frame_offset + r.payload_offset
            return (48 <= p[0] <= 57 and 48 <= p[1] <= 57 and 48 <= p[2] <= 57
                    and (p[3] == 32 or p[3] == 45))
        return r.payload_length >= (14 if r.ip_protocol == 6 else 12)

    cdef bint _reused(self, Conn c, const rec_t* r):
        # a SYN on a connection whose both sides closed or reset, or whose SYN sender
        # already closed, starts a new one (unless it repeats the first SYN)
        cdef Side o = c.orig, p = c.resp
        if o.seq_known and r.tcp_seq == o.base and o.state == SYN_SENT:
            return False
        return ((o.state in (CLOSED, RESET) and p.state in (CLOSED, RESET, INACTIVE))
                or (o.state == RESET or p.state == RESET))

    cdef Conn _new(self, bytes key, const rec_t* r, int proto, int sport, int dport,
                   int itype, bint icmp):
        cdef Conn c = Conn()
        cdef bint flip = False
        cdef int flags = r.tcp_flags & 0xFF
        c.key = key
        c.proto = proto
        c.version = r.ip_version
        c.first_ts = c.last_ts = r.ts_ns
        c.first_index = c.last_index = r.index
        c.orig = Side()
        c.resp = Side()
        c.history = bytearray()
        c.vlan = (r.vlan1_tci & 0xFFF) if r.vlan_count else -1
        c.anomalies = 0
        if proto == 6:
            if (flags & (SYN | ACK)) == (SYN | ACK):
                flip = True
            elif not flags & SYN:
                flip = sport in self.server_ports and dport not in self.server_ports
        elif proto == 17:
            flip = sport in self.server_ports and dport not in self.server_ports
        else:
            # an ICMP answer seen first belongs to the one who asked
            flip = (itype in (ICMP4_PAIRS if proto == 1 else ICMP6_PAIRS)
                    and itype not in (ICMP_REQUESTS4 if proto == 1 else ICMP_REQUESTS6))
        src = PyBytes_FromStringAndSize(<char*>r.ip_src, 16)
        dst = PyBytes_FromStringAndSize(<char*>r.ip_dst, 16)
        if flip:
            c.orig_h, c.orig_p, c.resp_h, c.resp_p = dst, dport, src, sport
            c.flipped = True
            c.history.append(ord("^"))
        else:
            c.orig_h, c.orig_p, c.resp_h, c.resp_p = src, sport, dst, dport
            c.flipped = False
        return c

    cdef void _tcp(self, Conn c, bint is_orig, const rec_t* r):
        cdef Side s = c.orig if is_orig else c.resp
        cdef Side peer = c.resp if is_orig else c.orig
        cdef int flags = r.tcp_flags & 0xFF
        cdef int64_t length = r.payload_length
        cdef int64_t off, end, ack_off
        cdef bint syn = flags & SYN, fin = flags & FIN, rst = flags & RST
        cdef bint ack = flags & ACK
        # history
        if syn and (fin or rst):
            c.letter(is_orig, H_MULTI)
        if fin and rst:
            c.letter(is_orig, H_INCONSISTENT)
        if syn:
            c.letter(is_orig, H_SYNACK if ack else H_SYN)
        if fin:
            c.letter(is_orig, H_FIN)
        if rst:
            c.letter(is_orig, H_RST)
        if length > 0:
            c.letter(is_orig, H_DATA)
        elif ack and not (syn or fin or rst):
            c.letter(is_orig, H_ACK)
        if r.tcp_window == 0 and not rst and not syn:
            s.zero_win += 1
            c.counted(is_orig, s.zero_win, ord("W"))
        # sequence space
        if not s.seq_known:
            s.seq_known = True
            s.base = r.tcp_seq if syn else r.tcp_seq - 1
            s.top = 0
            s.data_top = 0
            s.acked = 0
        off = _unwrap(s.base, s.top, r.tcp_seq)
        if syn:
            if off + 1 > s.top:
                s.top = off + 1
            off += 1
        if length > 0:
            end = off + length
            if off < s.data_top:
                s.retrans += 1
                c.counted(is_orig, s.retrans, ord("T"))
            if end > s.data_top:
                s.seen_bytes += end - (off if off > s.data_top else s.data_top)
                s.data_top = end
            if end > s.top:
                s.top = end
        if fin:
            s.fin_seen = True
            if off + length + 1 > s.top:
                s.top = off + length + 1
        if ack and peer.seq_known:
            ack_off = _unwrap(peer.base, peer.top, r.tcp_ack)
            if ack_off > peer.acked and ack_off - peer.top < 0x40000000:
                peer.acked = ack_off
        if fin or rst:
            s.did_close = True
        # Zeek's endpoint states; a RST from a side that already sent its FIN leaves it
        # closed (Zeek logs SF for FIN, FIN, RST)
        if rst:
            if s.state != CLOSED:
                s.state = RESET
        elif fin:
            if s.state != RESET:
                if s.state in (SYN_SENT, SYN_ACK_SENT) and ack and peer.state in (
                        SYN_SENT, SYN_ACK_SENT):
                    peer.state = ESTABLISHED
                s.state = CLOSED
        elif syn:
            if s.state in (INACTIVE, SYN_SENT, PARTIAL):
                s.state = SYN_ACK_SENT if ack else SYN_SENT
        elif s.state in (SYN_SENT, SYN_ACK_SENT):
            if ack:
                s.state = ESTABLISHED
                if peer.state in (SYN_SENT, SYN_ACK_SENT):
                    peer.state = ESTABLISHED
        elif s.state == INACTIVE:
            s.state = PARTIAL
        elif s.state == PARTIAL and peer.state in (SYN_SENT, SYN_ACK_SENT) and ack:
            s.state = ESTABLISHED
            peer.state = ESTABLISHED


def uid_of(bytes key, int64_t first_ts, uint64_t first_index):
    """A connection uid from its key and start (see Conn.uid)."""
    return _uid(key, first_ts, first_index)


cdef str _uid(bytes key, int64_t first_ts, uint64_t first_index):
    # "C", then 8 base-62 digits of each of two 64-bit FNV-1a hashes (about 95 bits)
    cdef uint64_t h1 = 0xCBF29CE484222325ULL, h2 = 0x84222325CBF29CE4ULL
    cdef const uint8_t* p = <const uint8_t*><char*>key
    cdef Py_ssize_t i, n = len(key)
    cdef uint8_t tail[16]
    cdef char out[17]
    cdef uint64_t t = <uint64_t>first_ts
    cdef const char* digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    for i in range(8):
        tail[i] = (t >> (56 - 8 * i)) & 0xFF
        tail[8 + i] = (first_index >> (56 - 8 * i)) & 0xFF
    for i in range(n):
        h1 = (h1 ^ p[i]) * 0x100000001B3ULL
        h2 = (h2 ^ p[i]) * 0x100000001B3ULL + 0x9E37ULL
    for i in range(16):
        h1 = (h1 ^ tail[i]) * 0x100000001B3ULL
        h2 = (h2 ^ tail[i]) * 0x100000001B3ULL + 0x9E37ULL
    out[0] = 67                     # "C"
    for i in range(8):
        out[1 + i] = digits[h1 % 62]
        h1 //= 62
        out[9 + i] = digits[h2 % 62]
        h2 //= 62
    return PyUnicode_DecodeASCII(out, 17, NULL)


def key_for(int proto, int version, bytes src, int sport, bytes dst, int dport):
    """The table's key of a connection between (src, sport) and (dst, dport) (addresses
    as 4 or 16 bytes; ICMP "ports" as the table sets them), either way round."""
    cdef uint8_t k[38]
    cdef uint8_t a[16]
    cdef uint8_t b[16]
    cdef int alen = 4 if version == 4 else 16
    if len(src) < alen or len(dst) < alen:
        raise ValueError("address too short")
    memset(a, 0, 16)
    memset(b, 0, 16)
    memcpy(a, <const uint8_t*><char*>src, alen)
    memcpy(b, <const uint8_t*><char*>dst, alen)
    return _key(k, proto, version, a, sport, b, dport)


cdef bytes _key(uint8_t* k, int proto, int version, const uint8_t* src, int sport,
                const uint8_t* dst, int dport):
    # canonical key: transport, version, then the lower (address, port) end first
    cdef int alen = 4 if version == 4 else 16
    cdef int cmp = memcmp(src, dst, alen)
    cdef bint src_low = cmp < 0 or (cmp == 0 and sport <= dport)
    k[0] = <uint8_t>proto
    k[1] = <uint8_t>version
    if src_low:
        memcpy(&k[2], src, 16)
        memcpy(&k[20], dst, 16)
        k[18] = sport >> 8; k[19] = sport & 0xFF
        k[36] = dport >> 8; k[37] = dport & 0xFF
    else:
        memcpy(&k[2], dst, 16)
        memcpy(&k[20], src, 16)
        k[18] = dport >> 8; k[19] = dport & 0xFF
        k[36] = sport >> 8; k[37] = sport & 0xFF
    if alen == 4:
        memcpy(&k[6], &k[18], 2)        # IPv4: keep the key short and exact
        memcpy(&k[8], &k[20], 4)
        memcpy(&k[12], &k[36], 2)
        return PyBytes_FromStringAndSize(<char*>k, 14)
    return PyBytes_FromStringAndSize(<char*>k, 38)




# ---------------------------------------------------------------- conn.log columns

cdef tuple _sizes(Side s):
    # payload bytes of one TCP endpoint from its sequence space (SYN and FIN octets not
    # counted), and the bytes of that span no segment carried
    if not s.seq_known:
        return 0, 0
    cdef int64_t top = s.top if s.top > s.acked else s.acked
    cdef int64_t size = top - 1            # the SYN octet (real or supposed)
    if s.fin_seen and size > 0:
        size -= 1
    if size < 0:
        size = 0
    cdef int64_t missed = size - s.seen_bytes
    return size, (missed if missed > 0 else 0)


def tcp_size(Side s):
    """(payload bytes, bytes missed) of one TCP endpoint (see _sizes)."""
    return _sizes(s)


cdef bint _rsto_s0(bytes history):
    # Zeek's /^?S[^HAFGIQ]*R.*/: a SYN, then a RST before any handshake, ACK, FIN, ...
    cdef Py_ssize_t i = 0, n = len(history)
    cdef const char* h = history
    if i < n and h[i] == 94:        # "^"
        i += 1
    if i >= n or h[i] != 83:        # "S"
        return False
    i += 1
    while i < n:
        if h[i] == 82:              # "R"
            return True
        if h[i] in b"HAFGIQ":
            return False
        i += 1
    return False


cdef str _conn_state(Conn c, int64_t orig_size, int64_t resp_size):
    cdef int os_ = c.orig.state, rs = c.resp.state
    cdef bint o_inactive, r_inactive
    if c.proto == 17:
        if c.orig.pkts:
            return "SF" if c.resp.pkts else "S0"
        return "SHR" if c.resp.pkts else "OTH"
    if c.proto != 6:
        return "OTH"
    o_inactive = os_ == INACTIVE or os_ == PARTIAL
    r_inactive = rs == INACTIVE or rs == PARTIAL
    if rs == RESET:
        if os_ == SYN_SENT or os_ == SYN_ACK_SENT or (
                os_ == RESET and orig_size == 0 and resp_size == 0):
            return "REJ"
        return "RSTRH" if o_inactive else "RSTR"
    if os_ == RESET:
        if r_inactive:
            return "RSTOS0" if _rsto_s0(bytes(c.history)) else "OTH"
        return "RSTO"
    if rs == CLOSED and os_ == CLOSED:
        return "SF"
    if os_ == CLOSED:
        return "SH" if r_inactive else "S2"
    if rs == CLOSED:
        return "SHR" if o_inactive else "S3"
    if os_ == SYN_SENT and rs == INACTIVE:
        return "S0"
    if os_ == ESTABLISHED and rs == ESTABLISHED:
        return "S1"
    return "OTH"


cdef object _local(const uint8_t* addr, int version, list nets):
    # nets: (version, 16 network bytes, prefix length) triples, or None: unknown
    cdef int bits, full, rest
    cdef const uint8_t* net
    if nets is None:
        return None
    for v, network, prefix in nets:
        if v != version:
            continue
        net = <const uint8_t*><char*>network
        bits = prefix
        full = bits >> 3
        rest = bits & 7
        if memcmp(addr, net, full) != 0:
            continue
        if rest and ((addr[full] ^ net[full]) & (0xFF << (8 - rest)) & 0xFF):
            continue
        return True
    return False


cdef tuple PROTO_NAMES = ("tcp", "udp", "icmp")


def start_keys(list conns):
    """(first_ts as int64 bytes, first_index as uint64 bytes) of the connections, for
    sorting them by start."""
    cdef Py_ssize_t n = len(conns), i
    ts = bytearray(8 * n)
    idx = bytearray(8 * n)
    cdef int64_t* t = <int64_t*><char*>ts
    cdef uint64_t* x = <uint64_t*><char*>idx
    cdef Conn c
    for i in range(n):
        c = <Conn>conns[i]
        t[i] = c.first_ts
        x[i] = c.first_index
    return bytes(ts), bytes(idx)


def columns(list conns, list local_nets=None, tuple anomalies=()):
    """conn.log's columns (see wirecraft.conn.COLUMNS) of ended connections, as lists in
    the order given. `local_nets`: (version, network bytes, prefix) triples (None: the
    local_* columns unset); `anomalies`: (bit, text) pairs naming the problem bits.
    The cyclic garbage collector is paused meanwhile (the lists made here hold no
    cycles; collections triggered by the allocations would walk them over and over)."""
    was = gc.isenabled()
    gc.disable()
    try:
        return _columns(conns, local_nets, anomalies)
    finally:
        if was:
            gc.enable()


cdef dict _columns(list conns, list local_nets, tuple anomalies):
    cdef Py_ssize_t n = len(conns), i
    cdef Conn c
    cdef int64_t osz, rsz, omiss, rmiss, dur
    cdef bint timed
    cols = {name: [None] * n for name in (
        "uid", "ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
        "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
        "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts",
        "resp_ip_bytes", "ip_proto", "vlan", "first_index", "last_index", "problems",
        "ended")}
    cdef list uid = cols["uid"], ts = cols["ts"], oh = cols["id.orig_h"]
    cdef list op = cols["id.orig_p"], rh = cols["id.resp_h"], rp = cols["id.resp_p"]
    cdef list proto = cols["proto"], service = cols["service"], duration = cols["duration"]
    cdef list ob = cols["orig_bytes"], rb = cols["resp_bytes"], state = cols["conn_state"]
    cdef list lo = cols["local_orig"], lr = cols["local_resp"], missed = cols["missed_bytes"]
    cdef list hist = cols["history"], opk = cols["orig_pkts"], oib = cols["orig_ip_bytes"]
    cdef list rpk = cols["resp_pkts"], rib = cols["resp_ip_bytes"], ipp = cols["ip_proto"]
    cdef list vlan = cols["vlan"], fi = cols["first_index"], li = cols["last_index"]
    cdef list probs = cols["problems"], ended = cols["ended"]
    cdef const uint8_t* a
    cdef const uint8_t* b
    for i in range(n):
        c = <Conn>conns[i]
        if c.proto == 6:
            osz, omiss = _sizes(c.orig)
            rsz, rmiss = _sizes(c.resp)
        else:
            osz, rsz, omiss, rmiss = c.orig.size, c.resp.size, 0, 0
        dur = c.last_ts - c.first_ts
        timed = dur > 0
        a = <const uint8_t*><char*>c.orig_h
        b = <const uint8_t*><char*>c.resp_h
        uid[i] = _uid(c.key, c.first_ts, c.first_index)
        ts[i] = <double>c.first_ts / 1e9
        oh[i] = ip4_text(a) if c.version == 4 else ip6_text(a)
        rh[i] = ip4_text(b) if c.version == 4 else ip6_text(b)
        op[i] = c.orig_p
        rp[i] = c.resp_p
        proto[i] = PROTO_NAMES[0 if c.proto == 6 else 1 if c.proto == 17 else 2]
        if c.apps:
            if c.apps & ((1u << APP_DNS) | (1u << APP_MDNS) | (1u << APP_LLMNR)):
                service[i] = "dns,smtp" if c.apps & (1u << APP_SMTP) else "dns"
            elif c.apps & (1u << APP_SMTP):
                service[i] = "smtp"
        if timed:
            duration[i] = <double>dur / 1e9
            ob[i] = osz
            rb[i] = rsz
        state[i] = _conn_state(c, osz, rsz)
        if local_nets is not None:
            lo[i] = _local(a, c.version, local_nets)
            lr[i] = _local(b, c.version, local_nets)
        missed[i] = omiss + rmiss
        if len(c.history):
            hist[i] = c.history.decode("ascii")
        opk[i] = c.orig.pkts
        oib[i] = c.orig.ip_bytes
        rpk[i] = c.resp.pkts
        rib[i] = c.resp.ip_bytes
        ipp[i] = c.proto
        if c.vlan >= 0:
            vlan[i] = c.vlan
        fi[i] = c.first_index
        li[i] = c.last_index
        probs[i] = [text for bit, text in anomalies if c.anomalies & bit] if c.anomalies else []
        ended[i] = c.ended
    return cols
