# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The probe table of send-and-receive: probes and the answers that name them, matched
in C over decoded batches (wirecraft.exchange drives it).

Every probe is decoded by the batch decoder (the one every capture uses) and filed
under the identity an answer would carry, read from its record:

* TCP and UDP: (source, destination, source port, destination port);
* ICMP/ICMPv6 echo request: (source, destination, identifier, sequence number);
* ARP request: the address asked about; ICMPv6 neighbour solicitation: its target;
* anything else over IP: (source, destination, protocol, IP id).

A captured record is looked up twice. First as a probe (its own identity): one of
ours seen leaving gives the probe its departure time. Then as an answer, with source
and destination (and ports) swapped: echo reply by identifier and sequence; TCP only
when it acknowledges the probe's last sequence number (a RST without ACK by the ports
alone); UDP by ports, and a DNS probe also by message id with the response bit; an ARP
reply by the sender address; a neighbour advertisement by its target. ICMP/ICMPv6
errors quote the datagram that caused them: those records are handed back to the
caller, which decodes the quotes as one batch with the same decoder and passes that
batch to `match_quoted`, where each quote is looked up by its own identity.

Where the bytes of a field are read from a frame (the DNS id and flags, the neighbour
discovery target), the position comes from the field catalogue (the `at=` of the
fields in wirecraft.proto.dns / icmpv6, passed in by the caller), at the offset the
decoder found for the layer, and only when the capture holds those bytes.

The table is open addressing over a power-of-two array (load at most one half);
probes with equal identities are chained, so retries and duplicates all find their
answers. No Python object exists per packet.
"""

from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcmp, memcpy, memset

import numpy as np

from wirecraft._codes cimport *
from wirecraft._record cimport rec_t

cdef enum:
    K_TCP = 1
    K_UDP = 2
    K_ECHO = 3
    K_IP = 4
    K_ARP = 5
    K_ND = 6

# what a record is to the table (the `event` array of match())
EV_NONE = 0
EV_SENT = 1       # one of the probes, seen leaving
EV_ANSWER = 2     # an answer to probe `probe[j]`
EV_QUOTE = 3      # an ICMP/ICMPv6 error: decode its quote and call match_quoted

cdef enum:
    TCP_FIN = 0x01
    TCP_SYN = 0x02
    TCP_RST = 0x04
    TCP_ACK = 0x10


cdef struct key_t:
    uint8_t kind
    uint8_t pad[3]
    uint32_t a
    uint32_t b
    uint8_t src[16]
    uint8_t dst[16]


cdef struct probe_t:
    key_t key
    int32_t next_same        # next probe with the same identity, -1 at the end
    int32_t dns_id           # -1: not a DNS message
    uint32_t seq             # TCP: the probe's sequence number
    uint32_t expect_ack      # TCP: what an answer acknowledges
    uint8_t is_tcp
    uint8_t sent
    uint8_t seen
    uint32_t answers
    int64_t sent_ns          # when the capture saw it leave (valid when seen)


cdef inline uint64_t _hash(const key_t* k) nogil:
    # FNV-1a over the key's bytes, then a final mix so the low bits spread
    cdef const uint8_t* p = <const uint8_t*>k
    cdef uint64_t h = 14695981039346656037ULL
    cdef Py_ssize_t i
    for i in range(sizeof(key_t)):
        h ^= p[i]
        h *= 1099511628211ULL
    h ^= h >> 29
    return h


cdef inline const uint8_t* _buffer(object data):
    if isinstance(data, bytes):
        return <const uint8_t*>PyBytes_AS_STRING(data)
    if isinstance(data, bytearray):
        return <const uint8_t*>PyByteArray_AS_STRING(data)
    raise TypeError("batch data must be bytes or bytearray")


cdef inline bint _is_ip(const rec_t* r) nogil:
    return (r.layers & (L_IPV4 | L_IPV6)) != 0


cdef inline Py_ssize_t _addr_len(const rec_t* r) nogil:
    return 16 if r.ip_version == 6 else 4


cdef inline bint _icmp_error(const rec_t* r) nogil:
    if r.layers & L_ICMP:
        return r.icmp_type == 3 or r.icmp_type == 4 or r.icmp_type == 5 or \
            r.icmp_type == 11 or r.icmp_type == 12
    if r.layers & L_ICMPV6:
        return 1 <= r.icmp_type <= 4
    return False


cdef inline bint _field(const rec_t* r, const uint8_t* frame, uint32_t base, int at,
                        int width, uint8_t* out) nogil:
    """Copy `width` bytes at base + at of the frame, when captured."""
    cdef uint64_t start = <uint64_t>base + <uint64_t>at
    if at < 0 or start + <uint64_t>width > r.caplen:
        return False
    memcpy(out, frame + start, width)
    return True


cdef class ProbeTable:
    """Probe identities to probes, and what each probe has been sent and answered."""

    cdef probe_t* probes
    cdef int32_t* slots
    cdef Py_ssize_t n
    cdef uint64_t mask
    cdef readonly bint multi
    cdef readonly Py_ssize_t answered      # probes with at least one answer
    cdef int dns_id_at, dns_flags_at, nd_target_at

    def __cinit__(self):
        self.probes = NULL
        self.slots = NULL

    def __dealloc__(self):
        free(self.probes)
        free(self.slots)

    def __init__(self, batch, bint multi=False, int dns_id_at=0, int dns_flags_at=2,
                 int nd_target_at=8):
        """File every record of `batch` (the decoded probes) under its identity.

        `dns_id_at`/`dns_flags_at` (in the DNS header) and `nd_target_at` (in the ICMPv6
        header) are the catalogue's positions of those fields. Raises ValueError naming
        the first probe with nothing an answer could be matched by."""
        cdef Py_ssize_t n = batch.n, size = 16, i
        cdef const uint8_t[::1] recbuf = memoryview(batch.records).cast("B")
        cdef const rec_t* recs = <const rec_t*>&recbuf[0] if n else NULL
        cdef const uint8_t* base = _buffer(batch.data)
        cdef probe_t* p
        cdef uint64_t h
        cdef int32_t s, last
        self.multi = multi
        self.dns_id_at = dns_id_at
        self.dns_flags_at = dns_flags_at
        self.nd_target_at = nd_target_at
        while size < 2 * n:
            size <<= 1
        self.n = n
        self.mask = size - 1
        self.probes = <probe_t*>calloc(n if n else 1, sizeof(probe_t))
        self.slots = <int32_t*>malloc(size * sizeof(int32_t))
        if self.probes == NULL or self.slots == NULL:
            raise MemoryError()
        for i in range(size):
            self.slots[i] = -1
        for i in range(n):
            p = &self.probes[i]
            p.next_same = -1
            p.dns_id = -1
            if not self._identity(&recs[i], base + recs[i].frame_offset, &p.key, p):
                raise ValueError(i)
            h = _hash(&p.key) & self.mask
            while True:
                s = self.slots[h]
                if s < 0:
                    self.slots[h] = <int32_t>i
                    break
                if memcmp(&self.probes[s].key, &p.key, sizeof(key_t)) == 0:
                    last = s
                    while self.probes[last].next_same >= 0:
                        last = self.probes[last].next_same
                    self.probes[last].next_same = <int32_t>i
                    break
                h = (h + 1) & self.mask

    def __len__(self):
        return self.n

    cdef bint _identity(self, const rec_t* r, const uint8_t* frame, key_t* k,
                        probe_t* p) noexcept nogil:
        """The record's identity as a probe (k filled; p, when given, gets the TCP and
        DNS details). False: nothing an answer could name."""
        cdef uint32_t n
        cdef uint8_t idb[2]
        memset(k, 0, sizeof(key_t))
        if not _is_ip(r):
            if r.layers & L_ARP and r.arp_opcode == 1:
                k.kind = K_ARP
                k.a = r.arp_target_ip
                return True
            return False
        if r.layers & L_ICMPV6 and r.icmp_type == 135:
            k.kind = K_ND
            return _field(r, frame, r.l4_offset, self.nd_target_at, 16, k.src)
        memcpy(k.src, r.ip_src, _addr_len(r))
        memcpy(k.dst, r.ip_dst, _addr_len(r))
        if r.layers & L_TCP:
            k.kind = K_TCP
            k.a = r.l4_src_port
            k.b = r.l4_dst_port
            if p != NULL:
                p.is_tcp = 1
                p.seq = r.tcp_seq
                n = r.payload_length
                if r.tcp_flags & TCP_SYN:
                    n += 1
                if r.tcp_flags & TCP_FIN:
                    n += 1
                p.expect_ack = r.tcp_seq + n
        elif r.layers & L_UDP:
            k.kind = K_UDP
            k.a = r.l4_src_port
            k.b = r.l4_dst_port
            if p != NULL and (r.app == APP_DNS or r.app == APP_MDNS or r.app == APP_LLMNR) \
                    and _field(r, frame, r.payload_offset, self.dns_id_at, 2, idb):
                p.dns_id = (idb[0] << 8) | idb[1]
        elif (r.layers & L_ICMP and r.icmp_type == 8) or \
                (r.layers & L_ICMPV6 and r.icmp_type == 128):
            k.kind = K_ECHO
            k.a = r.icmp_id
            k.b = r.icmp_seq
        else:
            k.kind = K_IP
            k.a = r.ip_protocol
            k.b = r.ip_id
        return True

    cdef bint _answer_key(self, const rec_t* r, const uint8_t* frame, key_t* k) noexcept nogil:
        """The identity of the probe this record would answer (False: none)."""
        memset(k, 0, sizeof(key_t))
        if not _is_ip(r):
            if r.layers & L_ARP and r.arp_opcode == 2:
                k.kind = K_ARP
                k.a = r.arp_sender_ip
                return True
            return False
        if r.layers & L_ICMPV6 and r.icmp_type == 136:
            k.kind = K_ND
            return _field(r, frame, r.l4_offset, self.nd_target_at, 16, k.src)
        memcpy(k.src, r.ip_dst, _addr_len(r))
        memcpy(k.dst, r.ip_src, _addr_len(r))
        if r.layers & L_TCP:
            k.kind = K_TCP
        elif r.layers & L_UDP:
            k.kind = K_UDP
        elif (r.layers & L_ICMP and r.icmp_type == 0) or \
                (r.layers & L_ICMPV6 and r.icmp_type == 129):
            k.kind = K_ECHO
            k.a = r.icmp_id
            k.b = r.icmp_seq
            return True
        else:
            return False
        k.a = r.l4_dst_port
        k.b = r.l4_src_port
        return True

    cdef int32_t _lookup(self, const key_t* k) noexcept nogil:
        cdef uint64_t h = _hash(k) & self.mask
        cdef int32_t s
        while True:
            s = self.slots[h]
            if s < 0 or memcmp(&self.probes[s].key, k, sizeof(key_t)) == 0:
                return s
            h = (h + 1) & self.mask

    cdef bint _accepts(self, const probe_t* p, const rec_t* r,
                       const uint8_t* frame) noexcept nogil:
        cdef uint8_t b[2]
        if p.is_tcp:
            if r.tcp_flags & TCP_ACK:
                return r.tcp_ack == p.expect_ack
            return (r.tcp_flags & TCP_RST) != 0
        if p.dns_id >= 0:
            if not _field(r, frame, r.payload_offset, self.dns_id_at, 2, b):
                return False
            if ((b[0] << 8) | b[1]) != p.dns_id:
                return False
            if not _field(r, frame, r.payload_offset, self.dns_flags_at, 1, b):
                return False
            return (b[0] & 0x80) != 0         # QR: a response
        return True

    cdef int32_t _take(self, int32_t s) noexcept nogil:
        """Give the answer to the first sent probe of chain s that can still take one."""
        cdef probe_t* p
        while s >= 0:
            p = &self.probes[s]
            if p.sent and (self.multi or p.answers == 0):
                if p.answers == 0:
                    self.answered += 1
                p.answers += 1
                return s
            s = p.next_same
        return -1

    def mark_sent(self, indices):
        """Probes `indices` are (being) sent: they may be answered now, and their
        departure is timed again (a retry's round trip starts at the retry)."""
        cdef Py_ssize_t i
        for i in indices:
            if not 0 <= i < self.n:
                raise IndexError(i)
            self.probes[i].sent = 1
            self.probes[i].seen = 0

    def match(self, batch):
        """(probe, event): for each record of `batch`, the probe it concerns (-1) and
        what it is (EV_NONE, EV_SENT, EV_ANSWER, EV_QUOTE), as int32/int8 arrays."""
        cdef Py_ssize_t n = batch.n, j
        out_p = np.full(n, -1, dtype=np.int32)
        out_e = np.zeros(n, dtype=np.int8)
        if n == 0:
            return out_p, out_e
        cdef int32_t[::1] probe = out_p
        cdef int8_t[::1] event = out_e
        cdef const uint8_t[::1] recbuf = memoryview(batch.records).cast("B")
        cdef const rec_t* recs = <const rec_t*>&recbuf[0]
        cdef const rec_t* r
        cdef const uint8_t* base = _buffer(batch.data)
        cdef const uint8_t* frame
        cdef key_t k
        cdef int32_t s
        cdef probe_t* p
        for j in range(n):
            r = &recs[j]
            frame = base + r.frame_offset
            # one of ours going out: the first sight of a sent probe times its departure
            if self._identity(r, frame, &k, NULL):
                s = self._lookup(&k)
                while s >= 0:
                    p = &self.probes[s]
                    if p.sent and not p.seen and (not p.is_tcp or (
                            r.layers & L_TCP and r.tcp_seq == p.seq)):
                        p.seen = 1
                        p.sent_ns = r.ts_ns
                        probe[j] = s
                        event[j] = EV_SENT
                        break
                    s = p.next_same
                if event[j] == EV_SENT:
                    continue
            if _icmp_error(r):
                event[j] = EV_QUOTE
                continue
            if not self._answer_key(r, frame, &k):
                continue
            s = self._lookup(&k)
            while s >= 0:
                p = &self.probes[s]
                if p.sent and (self.multi or p.answers == 0) and self._accepts(p, r, frame):
                    break
                s = p.next_same
            s = self._take(s)
            if s >= 0:
                probe[j] = s
                event[j] = EV_ANSWER
        return out_p, out_e

    def match_quoted(self, quotes):
        """For each record of `quotes` (the datagrams quoted by ICMP errors, decoded as
        raw IP, in the order of the errors), the probe that error answers, or -1."""
        cdef Py_ssize_t n = quotes.n, j
        out_p = np.full(n, -1, dtype=np.int32)
        if n == 0:
            return out_p
        cdef int32_t[::1] probe = out_p
        cdef const uint8_t[::1] recbuf = memoryview(quotes.records).cast("B")
        cdef const rec_t* recs = <const rec_t*>&recbuf[0]
        cdef const uint8_t* base = _buffer(quotes.data)
        cdef key_t k
        for j in range(n):
            if self._identity(&recs[j], base + recs[j].frame_offset, &k, NULL):
                probe[j] = self._take(self._lookup(&k))
        return out_p

    def sent_ns(self):
        """When each probe was seen leaving (int64 ns; -1: not seen since last sent)."""
        out = np.full(self.n, -1, dtype=np.int64)
        cdef int64_t[::1] a = out
        cdef Py_ssize_t i
        for i in range(self.n):
            if self.probes[i].seen:
                a[i] = self.probes[i].sent_ns
        return out

    def answers(self):
        """Answers received per probe (uint32 array)."""
        out = np.zeros(self.n, dtype=np.uint32)
        cdef uint32_t[::1] a = out
        cdef Py_ssize_t i
        for i in range(self.n):
            a[i] = self.probes[i].answers
        return out
