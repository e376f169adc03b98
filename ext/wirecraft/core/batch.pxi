# Included by _core.pyx (one module, wirecraft._core): the batch loop and Batch.

# --------------------------------------------------------------------------
# The batch loop: one pass of the inline C decoders (proto/*.pxd) over the records
# --------------------------------------------------------------------------

cdef void decode_records(const uint8_t* base, rec_t* recs, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        decode_link(base + recs[i].frame_offset, &recs[i])


# --------------------------------------------------------------------------
# Batches: a buffer of frames plus their records
# --------------------------------------------------------------------------

cdef class Batch:
    """Frames sharing one buffer, with one decoded record each.

    `data` holds the frames; `records` (a bytearray, or a caller's writable
    buffer) holds the rec_t array that numpy views as columns and `Packet`
    views read one at a time.
    """
    cdef readonly object data
    cdef const uint8_t* base
    cdef readonly object records
    cdef rec_t* recs
    cdef readonly Py_ssize_t n
    cdef Py_ssize_t cap
    cdef bint pooled
    cdef bint zeroed                # the record area is known to be all zero bytes
    cdef public dict comments
    cdef public object interfaces
    cdef public dict defrag          # position -> wirecraft.defrag.Reassembly (or None)

    def __cinit__(self, data, Py_ssize_t capacity, records=None, bint pooled=False,
                  bint zeroed=False):
        # data is bytes or a bytearray that is never resized while the batch lives
        cdef uint8_t[::1] mem
        self.data = data
        if isinstance(data, bytes):
            self.base = <const uint8_t*>PyBytes_AS_STRING(data)
        elif isinstance(data, bytearray):
            self.base = <const uint8_t*>PyByteArray_AS_STRING(data)
        else:
            raise TypeError("batch data must be bytes or bytearray")
        self.cap = max(capacity, 1)
        self.pooled = pooled
        self.zeroed = zeroed and records is not None
        if records is None:
            # uninitialised: push() clears each record as it is taken
            self.records = PyByteArray_FromStringAndSize(NULL, self.cap * sizeof(rec_t))
            self.recs = <rec_t*>PyByteArray_AS_STRING(self.records)
        else:
            # a caller-owned record area (a reader's pool, a Table's chunk)
            mem = records
            if mem.shape[0] < self.cap * <Py_ssize_t>sizeof(rec_t):
                raise ValueError(f"record area of {mem.shape[0]} bytes is smaller than "
                                 f"{self.cap} records")
            self.records = records
            self.recs = <rec_t*>&mem[0]
        self.n = 0
        self.comments = None
        self.interfaces = None
        self.defrag = None

    def __len__(self):
        return self.n

    def __getitem__(self, Py_ssize_t i):
        if i < 0:
            i += self.n
        if i < 0 or i >= self.n:
            raise IndexError("packet index out of range")
        return make_packet(self, i)

    def __iter__(self):
        cdef Py_ssize_t i
        for i in range(self.n):
            yield make_packet(self, i)

    cdef rec_t* push(self) except NULL:
        cdef rec_t* r
        if self.n >= self.cap:
            raise OverflowError("batch is full")
        r = &self.recs[self.n]
        if not self.zeroed:
            memset(r, 0, sizeof(rec_t))
        self.n += 1
        return r

    cdef int shrink(self) except -1:
        """Give back unused record space; only before any Packet view exists.

        A record area from the reader's pool goes back to the pool: a mostly
        empty batch (a selective filter) moves its few records to a right-sized
        bytearray, so batches a caller keeps never pin a whole pooled area."""
        cdef Py_ssize_t keep = max(self.n, 1)
        cdef bytearray small
        if self.pooled:
            # batches usually end at a read-buffer boundary, well short of max_packets:
            # copy only when most of the area would be wasted by a caller keeping it
            if self.cap > 64 and keep < self.cap // 4:
                small = PyByteArray_FromStringAndSize(<const char*>self.recs,
                                                      keep * sizeof(rec_t))
                self.records = small
                self.pooled = False
                self.recs = <rec_t*>PyByteArray_AS_STRING(self.records)
                self.cap = keep
        elif self.cap > 64 and keep < self.cap // 2 and isinstance(self.records, bytearray):
            PyByteArray_Resize(self.records, keep * sizeof(rec_t))
            self.recs = <rec_t*>PyByteArray_AS_STRING(self.records)
            self.cap = keep
        return 0

    cdef void decode_all(self):
        with nogil:
            decode_records(self.base, self.recs, self.n)

    def record_bytes(self):
        """The used part of the record array (shares memory with the batch)."""
        return memoryview(self.records).cast("B")[: self.n * sizeof(rec_t)]


def batch_from_buffer(bytes data, offsets, caplens, wire_lens, ts_ns, int linktype,
                      Py_ssize_t first_index=0, Filter bpf=None):
    """Decode frames that already sit in `data` (live capture, tests, crafted frames).

    offsets/caplens/wire_lens/ts_ns are equal-length sequences of ints; every
    frame must lie inside `data` (checked).
    """
    cdef Py_ssize_t n = len(offsets), i
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Batch b = Batch(data, n)
    cdef rec_t* r
    cdef uint32_t off, cl
    cdef const uint8_t* base = <const uint8_t*>PyBytes_AS_STRING(data)
    if not (len(caplens) == n and len(wire_lens) == n and len(ts_ns) == n):
        raise ValueError("offsets, caplens, wire_lens and ts_ns differ in length")
    for i in range(n):
        off = offsets[i]
        cl = caplens[i]
        if <Py_ssize_t>off + <Py_ssize_t>cl > size:
            raise ValueError(f"frame {i} lies outside the buffer")
        if bpf is not None and not bpf.accept(base + off, cl, wire_lens[i], linktype):
            continue
        r = b.push()
        r.frame_offset = off
        r.caplen = cl
        r.wire_len = wire_lens[i]
        r.ts_ns = ts_ns[i]
        r.linktype = <uint16_t>linktype
        r.index = first_index + i
    b.decode_all()
    return b


def batch_from_pcapy(bytes data, meta, int linktype, wire_lens=None,
                     Py_ssize_t first_index=0):
    """Decode pcapy-ng `next_batch` output: meta is 16-byte native (sec, usec, offset, caplen)."""
    cdef const uint8_t[:] m = memoryview(meta).cast("B")
    cdef Py_ssize_t n = m.shape[0] // 16, i
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Batch b = Batch(data, n)
    cdef rec_t* r
    cdef uint32_t sec, usec, off, cl
    if wire_lens is not None and len(wire_lens) != n:
        raise ValueError("wire_lens must have one entry per packet")
    for i in range(n):
        # m has at least (i + 1) * 16 bytes (n computed above)
        memcpy(&sec, &m[i * 16], 4)
        memcpy(&usec, &m[i * 16 + 4], 4)
        memcpy(&off, &m[i * 16 + 8], 4)
        memcpy(&cl, &m[i * 16 + 12], 4)
        if <Py_ssize_t>off + <Py_ssize_t>cl > size:
            raise ValueError(f"frame {i} lies outside the buffer")
        r = b.push()
        r.frame_offset = off
        r.caplen = cl
        r.wire_len = cl if wire_lens is None else wire_lens[i]
        r.ts_ns = <int64_t>sec * 1000000000 + <int64_t>usec * 1000
        r.linktype = <uint16_t>linktype
        r.index = first_index + i
    b.decode_all()
    return b
