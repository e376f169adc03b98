# Included by _core.pyx (one module, wirecraft._core): Reader (pcap, pcapng, in
# chunks) and PacketIterator.

cdef class Reader:
    """Streams batches from a pcap or pcapng file object.

    Raises CaptureFileError (path, byte offset, reason) for anything that is
    not a capture; a record cut short at the end of the file ends the stream
    and is reported through `truncated` (the caller warns).

    Damage later in the file never costs the packets before it: the batch in
    which the damage falls is returned up to the last good record, the error is
    kept in `error`, and the next `read_batch` raises it — or, when `soft` is set
    and at least one record was read, returns None (end of stream) and leaves the
    caller to report `error`.  Errors of the underlying file object (OSError,
    EOFError, zlib.error) become CaptureFileError the same way, with the offset in
    the (uncompressed) stream where reading failed.
    """
    cdef object f
    cdef readonly str path
    cdef object buf                 # bytearray, never resized once filled
    cdef const uint8_t* base        # its bytes
    cdef Py_ssize_t buf_len         # how much of it holds file data
    cdef object readinto
    cdef Py_ssize_t pos             # parse position in buf
    cdef int64_t buf_start          # file offset of buf[0]
    cdef bint eof
    cdef readonly int format
    cdef readonly int version_major, version_minor
    # pcap
    cdef bint swap
    cdef int64_t ts_mult
    cdef uint32_t frac_limit        # sub-second field must be below this (10^6 or 10^9)
    cdef int rec_hdr
    cdef readonly int linktype
    cdef readonly uint32_t snaplen
    # pcapng
    cdef iface_t* ifaces
    cdef Py_ssize_t n_ifaces, cap_ifaces
    cdef Py_ssize_t section_dropped     # interfaces of this section beyond MAX_SECTION_IFACES
    cdef iface_t dropped_iface          # stands in for them: unknown link type, microseconds
    cdef readonly list interfaces       # python-side info for every interface kept
    cdef readonly list section_comments
    cdef Py_ssize_t kept_bytes          # bytes of comments/names/descriptions kept so far
    # counters
    cdef readonly uint64_t packets_read
    cdef readonly uint64_t packets_matched
    cdef readonly object truncated      # None or (offset, reason)
    cdef readonly object error          # the CaptureFileError that ended reading, or None
    cdef public bint soft               # end the stream instead of raising (see class doc)
    cdef readonly uint64_t blocks_skipped
    cdef uint64_t ifaces_dropped, iface_info_dropped, comments_dropped, bytes_dropped
    cdef uint64_t packet_comments_dropped, packets_iface_dropped, n_bad_ts
    cdef Py_ssize_t chunk
    cdef Filter bpf
    cdef list bufpool                   # frame buffers of `chunk` bytes, reused once free
    cdef list recpool                   # record areas, reused once no batch holds them
    cdef object target                  # a caller's record area for the next batch, or None
    cdef bint target_zeroed             # ... and whether it is all zero bytes

    def __cinit__(self, fileobj, str path, Py_ssize_t chunk=1 << 20, Filter bpf=None):
        self.f = fileobj
        self.path = path
        self.buf = bytearray()
        self.base = <const uint8_t*>PyByteArray_AS_STRING(self.buf)
        self.buf_len = 0
        self.readinto = getattr(fileobj, "readinto", None)
        self.pos = 0
        self.buf_start = 0
        self.eof = False
        self.chunk = chunk
        self.bpf = bpf
        self.bufpool = []
        self.recpool = []
        self.target = None
        self.ifaces = NULL
        self.n_ifaces = 0
        self.cap_ifaces = 0
        self.section_dropped = 0
        self.dropped_iface.linktype = 0xFFFF
        self.dropped_iface.index = IFACE_NONE
        self.dropped_iface.snaplen = 0
        self.dropped_iface.kind = 0
        self.dropped_iface.k = 1000
        self.dropped_iface.offset_s = 0
        self.interfaces = []
        self.section_comments = []
        self.truncated = None
        self.error = None
        self.soft = False
        self._read_header()

    def __dealloc__(self):
        free(self.ifaces)

    cdef error_at(self, int64_t offset, str reason):
        from .errors import CaptureFileError
        return CaptureFileError(self.path, offset, reason)

    @property
    def limits_hit(self):
        """What the metadata caps (READER_LIMITS) dropped so far, by kind; empty when nothing.

        interfaces: interface descriptions dropped whole (their packets are delivered with
        link type 0xFFFF, microsecond time and the `interface_dropped` problem);
        interface_info: descriptions used for decoding but left out of `interfaces` (their
        packets have iface IFACE_NONE and the same problem); comments / kept_bytes:
        section comments, names and descriptions not kept (count, and their bytes);
        packet_comments: comment options of packets beyond MAX_PACKET_COMMENTS each."""
        out = {}
        for key, v in (("interfaces", self.ifaces_dropped),
                       ("interface_info", self.iface_info_dropped),
                       ("comments", self.comments_dropped),
                       ("kept_bytes", self.bytes_dropped),
                       ("packet_comments", self.packet_comments_dropped),
                       ("packets_with_dropped_interface", self.packets_iface_dropped)):
            if v:
                out[key] = v
        return out

    @property
    def bad_timestamps(self):
        """Packets flagged bad_timestamp or timestamp_out_of_range so far."""
        return self.n_bad_ts

    cdef bint fill(self, Py_ssize_t need) except -1:
        """Make buf[pos:] hold at least `need` bytes; False at end of file."""
        cdef Py_ssize_t have = self.buf_len - self.pos
        cdef Py_ssize_t size, filled, k
        cdef uint8_t* nb
        if have >= need:
            return True
        if self.eof:
            return False
        # one size for every ordinary refill, so that free buffers can be reused
        size = self.chunk if need <= self.chunk else need
        newbuf = self._from_pool(self.bufpool, size, size == self.chunk)
        nb = <uint8_t*>PyByteArray_AS_STRING(newbuf)
        if have > 0:
            # in place when the current buffer is the free one
            memmove(nb, self.base + self.pos, have)
        filled = have
        view = memoryview(newbuf)
        while filled < need:
            if self.readinto is not None:
                k = self.readinto(view[filled:]) or 0
            else:
                more = self.f.read(size - filled)
                k = len(more)
                if k > size - filled:
                    raise self.error_at(self.buf_start + self.pos,
                                        "file object returned too much data")
                memcpy(nb + filled, PyBytes_AS_STRING(more), k)
            if k <= 0:
                self.eof = True
                break
            filled += k
        view.release()
        self.buf_start += self.pos
        self.buf = newbuf
        self.base = nb
        self.buf_len = filled
        self.pos = 0
        return filled >= need

    cdef bytearray _from_pool(self, list pool, Py_ssize_t size, bint keep):
        """A bytearray of `size` bytes that nothing else holds: a free one from `pool`,
        else a fresh one, added to the pool (a free entry evicted when full) if `keep`.
        Pools spare a streaming read fresh pages for every chunk and every batch."""
        cdef bytearray b
        cdef Py_ssize_t i, held
        for i in range(len(pool)):
            b = pool[i]
            # references: the pool's, this local's, and self.buf's for the current buffer;
            # any more is a batch, a Packet view or an array still using it
            held = 3 if b is self.buf else 2
            if unshared(b, held) and PyByteArray_GET_SIZE(b) == size:
                return b
        b = PyByteArray_FromStringAndSize(NULL, size)
        if keep and fast_on():      # with the tricks off nothing is reused: no pool
            if len(pool) >= POOL_SIZE:
                self._evict(pool)
            if len(pool) < POOL_SIZE:
                pool.append(b)
        return b

    cdef void _evict(self, list pool):
        """Drop one pooled entry that nobody else holds (its memory goes back)."""
        cdef Py_ssize_t i
        for i in range(len(pool)):
            x = pool[i]
            if unshared(x, 2) and x is not self.buf:
                del pool[i]
                return

    cdef Batch _new_batch(self, Py_ssize_t max_packets):
        """A batch over the current frame buffer, its records in the caller's area
        (table()), in a free pooled area, or in a fresh one added to the pool."""
        cdef Py_ssize_t size = max(max_packets, 1) * sizeof(rec_t)
        cdef Batch b
        if self.target is not None:
            b = Batch(self.buf, max_packets, self.target, False, self.target_zeroed)
        else:
            b = Batch(self.buf, max_packets, self._from_pool(self.recpool, size, True),
                      fast_on())
        b.interfaces = self.interfaces
        return b

    cdef void _read_header(self) except *:
        cdef const uint8_t* p
        cdef uint32_t magic
        if not self.fill(4):
            raise self.error_at(0, "file is shorter than any capture header (empty or truncated)")
        p = self.base
        magic = le32(p)
        if magic == 0x0A0D0D0A:
            self.format = FMT_PCAPNG
            if not self.fill(28):
                raise self.error_at(0, "pcapng section header block is truncated")
            return
        self.format = FMT_PCAP
        self.rec_hdr = 16
        if magic == 0xA1B2C3D4 or magic == 0xA1B2CD34:
            self.swap = False; self.ts_mult = 1000
        elif magic == 0xD4C3B2A1 or magic == 0x34CDB2A1:
            self.swap = True; self.ts_mult = 1000
        elif magic == 0xA1B23C4D:
            self.swap = False; self.ts_mult = 1
        elif magic == 0x4D3CB2A1:
            self.swap = True; self.ts_mult = 1
        else:
            if p[0] == 0x1F and self.buf_len > 1 and p[1] == 0x8B:
                raise self.error_at(0, "gzip data inside gzip data is not a capture")
            raise self.error_at(0, f"not a pcap or pcapng file (magic 0x{magic:08x})")
        self.frac_limit = 1000000 if self.ts_mult == 1000 else 1000000000
        if magic == 0xA1B2CD34 or magic == 0x34CDB2A1:
            self.rec_hdr = 24       # Kuznetzov's modified pcap: 8 more bytes per record
        if not self.fill(24):
            raise self.error_at(0, "pcap file header is truncated (24 bytes needed)")
        p = self.base
        self.version_major = rd16(p + 4, self.swap)
        self.version_minor = rd16(p + 6, self.swap)
        self.snaplen = rd32(p + 16, self.swap)
        self.linktype = rd32(p + 20, self.swap) & 0x0FFFFFFF
        if self.version_major != 2:
            raise self.error_at(4, f"unsupported pcap version {self.version_major}.{self.version_minor}")
        self.pos = 24
        self.interfaces.append({"linktype": self.linktype, "snaplen": self.snaplen,
                                "name": None, "description": None,
                                "ts_resolution": "ns" if self.ts_mult == 1 else "us"})

    cpdef Batch read_batch(self, Py_ssize_t max_packets=4096, records=None, bint zeroed=False):
        """Up to max_packets packets (fewer at a chunk boundary); None at the end.

        `records`, a writable buffer of at least max_packets records, receives
        the records instead of a pooled area (Capture.table() decodes straight
        into its chunks this way); `zeroed` says it holds only zero bytes, so
        records need not be cleared before they are filled.

        After damage: the batch holding the last good records comes first; the
        call after it raises `error` (or returns None when `soft`, see the class)."""
        import zlib
        from .errors import CaptureFileError
        if self.error is not None:
            if self.soft and self.packets_read > 0:
                return None
            self.error.packets_read = self.packets_read
            raise self.error
        self.target = records
        self.target_zeroed = zeroed
        try:
            if self.format == FMT_PCAP:
                return self._batch_pcap(max_packets)
            return self._batch_pcapng(max_packets)
        except CaptureFileError as exc:
            self.error = exc
        except (OSError, EOFError, zlib.error) as exc:
            self.error = self.error_at(self.buf_start + self.buf_len,
                                       f"cannot read: {str(exc) or type(exc).__name__}")
        finally:
            self.target = None
        if self.soft and self.packets_read > 0:
            return None
        self.error.packets_read = self.packets_read
        raise self.error

    cdef Batch _batch_pcap(self, Py_ssize_t max_packets):
        cdef const uint8_t* p
        cdef uint32_t caplen, wirelen, sec, frac
        cdef Batch b = None
        cdef rec_t* r
        cdef int hdr = self.rec_hdr
        cdef uint64_t total = self.packets_read
        from .errors import CaptureFileError
        try:
            while True:
                if b is not None and (b.n >= max_packets or self.buf_len - self.pos < hdr):
                    # fill() would move to a new buffer, but b's frames live in this one
                    break
                if not self.fill(hdr):
                    if self.buf_len - self.pos > 0 and self.truncated is None:
                        self.truncated = (self.buf_start + self.pos,
                                          "last record header is cut short")
                    break
                p = self.base + self.pos
                # fill(hdr) guarantees hdr bytes at p
                caplen = rd32(p + 8, self.swap)
                wirelen = rd32(p + 12, self.swap)
                if caplen > MAX_RECORD:
                    raise self.error_at(self.buf_start + self.pos,
                                        f"record length {caplen} is absurd (limit {MAX_RECORD})")
                if b is not None and (b.n >= max_packets or
                                      self.buf_len - self.pos < hdr + caplen):
                    break           # the batch ends at the current chunk boundary
                if not self.fill(hdr + caplen):
                    self.truncated = (self.buf_start + self.pos,
                                      f"last record is cut short ({self.buf_len - self.pos - hdr}"
                                      f" of {caplen} bytes)")
                    break
                if b is None:
                    b = self._new_batch(max_packets)
                p = self.base + self.pos
                sec = rd32(p, self.swap)
                frac = rd32(p + 4, self.swap)
                total += 1
                if self.bpf is None or self.bpf.accept(p + hdr, caplen, wirelen, self.linktype):
                    r = b.push()
                    if frac < self.frac_limit:
                        r.ts_ns = <int64_t>sec * 1000000000 + <int64_t>frac * self.ts_mult
                    else:
                        # like tcpdump's "[bad usec]": the fraction is invalid, not carried
                        r.ts_ns = <int64_t>sec * 1000000000
                        r.anomalies = A_BAD_TIMESTAMP
                        self.n_bad_ts += 1
                    r.caplen = caplen
                    r.wire_len = wirelen
                    r.frame_offset = <uint32_t>(self.pos + hdr)
                    r.linktype = <uint16_t>self.linktype
                    r.index = total - 1
                self.pos += hdr + caplen
        except CaptureFileError as exc:
            self.packets_read = total
            if b is None or b.n == 0:
                raise
            self.error = exc        # raised by the next read_batch, after this batch
        self.packets_read = total
        if b is None:
            return None
        self.packets_matched += b.n
        b.shrink()
        b.decode_all()
        return b

    cdef bint _keep(self, Py_ssize_t nbytes):
        """Whether `nbytes` more of metadata text fit MAX_KEPT_BYTES (then counted)."""
        if self.kept_bytes + nbytes > MAX_KEPT_BYTES:
            self.bytes_dropped += nbytes
            return False
        self.kept_bytes += nbytes
        return True

    cdef void _add_iface(self, uint16_t linktype, uint32_t snaplen, int tsresol,
                         int64_t tsoffset, bint listed) except *:
        cdef iface_t* it
        cdef int e
        cdef Py_ssize_t newcap
        if self.n_ifaces >= self.cap_ifaces:
            newcap = min(max(8, self.cap_ifaces * 2), MAX_SECTION_IFACES)
            it = <iface_t*>malloc(newcap * sizeof(iface_t))
            if it == NULL:
                raise MemoryError()
            if self.ifaces != NULL:
                memcpy(it, self.ifaces, self.n_ifaces * sizeof(iface_t))
                free(self.ifaces)
            self.ifaces = it
            self.cap_ifaces = newcap
        it = &self.ifaces[self.n_ifaces]
        it.linktype = linktype
        it.snaplen = snaplen
        it.offset_s = tsoffset
        it.index = <uint16_t>(len(self.interfaces) - 1) if listed else IFACE_NONE
        if tsresol & 0x80:
            it.kind = 2
            it.k = tsresol & 0x7F
        else:
            e = tsresol
            it.k = 1
            if e <= 9:
                it.kind = 0
                for _ in range(9 - e):
                    it.k *= 10
            elif e <= 28:
                it.kind = 1
                for _ in range(e - 9):
                    it.k *= 10
            else:
                it.kind = 3
        self.n_ifaces += 1

    cdef Py_ssize_t _option(self, const uint8_t* p, Py_ssize_t n, Py_ssize_t i, int64_t where,
                            uint16_t* code, uint16_t* length) except -2:
        """The pcapng option at p[i:n]: sets code/length and returns where its value starts,
        or -1 at opt_endofopt or the end of the area; raises if it overruns the area."""
        if i + 4 > n:
            return -1
        # i + 4 <= n checked above
        code[0] = rd16(p + i, self.swap)
        length[0] = rd16(p + i + 2, self.swap)
        if code[0] == 0:
            return -1
        if i + 4 + length[0] > n:
            raise self.error_at(where, f"pcapng option {code[0]} runs past its block")
        return i + 4

    cdef object _packet_comment(self, const uint8_t* p, Py_ssize_t n, int64_t where):
        """The comment options of a packet block's options p[0:n], joined, or None."""
        cdef Py_ssize_t i = 0, v
        cdef uint16_t code, length
        parts = None
        while True:
            v = self._option(p, n, i, where, &code, &length)
            if v < 0:
                break
            if code == 1:
                if parts is None:
                    parts = []
                if len(parts) < MAX_PACKET_COMMENTS:
                    parts.append(PyBytes_FromStringAndSize(<const char*>p + v, length)
                                 .decode("utf-8", "replace"))
                else:
                    self.packet_comments_dropped += 1
            i = v + ((length + 3) & ~3)
        return None if parts is None else "\n".join(parts)

    cdef void _section(self, const uint8_t* p, uint32_t body, int64_t where) except *:
        """A section header block (whole, at p): version check, comments, interfaces reset."""
        cdef Py_ssize_t i = 0, v
        cdef uint16_t code, length
        if body < 16:
            raise self.error_at(where, "pcapng section header block is too short")
        major = rd16(p + 12, self.swap)
        minor = rd16(p + 14, self.swap)
        if major != 1:
            raise self.error_at(where + 12, f"unsupported pcapng version {major}.{minor}")
        self.version_major = major
        self.version_minor = minor
        while True:
            v = self._option(p + 24, body - 16, i, where, &code, &length)
            if v < 0:
                break
            if code == 1:
                if len(self.section_comments) < MAX_COMMENTS and self._keep(length):
                    self.section_comments.append(
                        PyBytes_FromStringAndSize(<const char*>p + 24 + v, length)
                        .decode("utf-8", "replace"))
                else:
                    self.comments_dropped += 1
            i = v + ((length + 3) & ~3)
        self.n_ifaces = 0
        self.section_dropped = 0

    cdef void _interface(self, const uint8_t* p, uint32_t body, int64_t where) except *:
        """An interface description block (whole, at p), kept within the caps."""
        cdef Py_ssize_t i = 0, v
        cdef uint16_t code, length
        cdef int tsresol = 6
        cdef int64_t tsoffset = 0
        cdef const uint8_t* q
        if body < 8:
            raise self.error_at(where, "interface description block is too short")
        linktype = rd16(p + 8, self.swap)
        snaplen = rd32(p + 12, self.swap)
        name = None
        description = None
        dropped = self.n_ifaces >= MAX_SECTION_IFACES
        listed = not dropped and len(self.interfaces) < MAX_TOTAL_IFACES
        while True:
            v = self._option(p + 16, body - 8, i, where, &code, &length)
            if v < 0:
                break
            q = p + 16 + v
            if code == 9 and length >= 1:
                tsresol = q[0]
            elif code == 14 and length >= 8:
                if self.swap:
                    tsoffset = <int64_t>((<uint64_t>rd32(q, True) << 32) | rd32(q + 4, True))
                else:
                    tsoffset = <int64_t>((<uint64_t>rd32(q + 4, False) << 32) | rd32(q, False))
            elif (listed and (code == 2 or code == 3)
                  and (name if code == 2 else description) is None):
                if self._keep(length):
                    text = PyBytes_FromStringAndSize(<const char*>q, length).decode("utf-8",
                                                                                   "replace")
                    if code == 2:
                        name = text
                    else:
                        description = text
            i = v + ((length + 3) & ~3)
        if dropped:
            # dropped whole: its packets are still delivered, flagged interface_dropped
            self.section_dropped += 1
            self.ifaces_dropped += 1
            return
        if listed:
            self.interfaces.append({"linktype": linktype, "snaplen": snaplen, "name": name,
                                    "description": description, "ts_resolution": tsresol,
                                    "ts_offset": tsoffset})
        else:
            self.iface_info_dropped += 1
        self._add_iface(linktype, snaplen, tsresol, tsoffset, listed)
        if self.n_ifaces == 1 and len(self.interfaces) == 1 and listed:
            self.linktype = linktype

    cdef Batch _batch_pcapng(self, Py_ssize_t max_packets):
        cdef const uint8_t* p
        cdef uint32_t btype, blen, trailer, iface, caplen, wirelen, body
        cdef uint64_t t
        cdef Batch b = None
        cdef rec_t* r
        cdef iface_t* it
        cdef int64_t where, ts
        cdef uint64_t total = self.packets_read
        cdef Py_ssize_t dataoff, optoff
        from .errors import CaptureFileError
        try:
            while True:
                if b is not None and (b.n >= max_packets or self.buf_len - self.pos < 12):
                    # fill() would move to a new buffer, but b's frames live in this one
                    break
                if not self.fill(8):
                    if self.buf_len - self.pos > 0 and self.truncated is None:
                        self.truncated = (self.buf_start + self.pos,
                                          "last block header is cut short")
                    break
                where = self.buf_start + self.pos
                p = self.base + self.pos
                # fill(8) guarantees 8 bytes at p
                btype = rd32(p, self.swap)
                if le32(p) == 0x0A0D0D0A:
                    btype = 0x0A0D0D0A
                    if not self.fill(12):
                        self.truncated = (where, "section header block is cut short")
                        break
                    p = self.base + self.pos
                    # fill(12): byte-order magic at p+8
                    if le32(p + 8) == 0x1A2B3C4D:
                        swap = False
                    elif be32(p + 8) == 0x1A2B3C4D:
                        swap = True
                    else:
                        raise self.error_at(where + 8, "pcapng byte-order magic is wrong")
                    self.swap = swap    # records pushed so far are complete already
                blen = rd32(p + 4, self.swap)
                if blen < 12 or blen % 4 != 0:
                    raise self.error_at(where, f"pcapng block length {blen} is not a multiple of 4 of at least 12")
                if blen > MAX_RECORD + 4096:
                    raise self.error_at(where, f"pcapng block length {blen} is absurd (limit {MAX_RECORD + 4096})")
                if b is not None and (b.n >= max_packets or
                                      self.buf_len - self.pos < blen):
                    break
                if not self.fill(blen):
                    self.truncated = (where, f"last block is cut short ({self.buf_len - self.pos} of {blen} bytes)")
                    break
                p = self.base + self.pos
                # the whole block (blen bytes) is in buf from here on
                trailer = rd32(p + blen - 4, self.swap)
                if trailer != blen:
                    raise self.error_at(where, f"pcapng block length {blen} disagrees with its trailer {trailer}")
                body = blen - 12
                if btype == 0x0A0D0D0A:
                    self._section(p, body, where)
                elif btype == 1:
                    self._interface(p, body, where)
                elif btype == 6 or btype == 2 or btype == 3:
                    if btype == 3:
                        if body < 4:
                            raise self.error_at(where, "simple packet block is too short")
                        iface = 0
                        wirelen = rd32(p + 8, self.swap)
                        caplen = min(wirelen, body - 4)
                        if self.n_ifaces > 0 and self.ifaces[0].snaplen and caplen > self.ifaces[0].snaplen:
                            caplen = self.ifaces[0].snaplen
                        t = 0
                        dataoff = 12
                        optoff = -1
                    else:
                        if body < 20:
                            raise self.error_at(where, "packet block is too short")
                        if btype == 6:
                            iface = rd32(p + 8, self.swap)
                        else:
                            iface = rd16(p + 8, self.swap)
                        t = (<uint64_t>rd32(p + 12, self.swap) << 32) | rd32(p + 16, self.swap)
                        caplen = rd32(p + 20, self.swap)
                        wirelen = rd32(p + 24, self.swap)
                        dataoff = 28
                        if caplen > body - 20:
                            raise self.error_at(where, f"packet length {caplen} runs past its block ({body - 20} bytes)")
                        optoff = dataoff + ((caplen + 3) & ~3)
                    if iface < self.n_ifaces:
                        it = &self.ifaces[iface]
                    elif <Py_ssize_t>iface - self.n_ifaces < self.section_dropped:
                        it = &self.dropped_iface
                    else:
                        raise self.error_at(where, f"packet refers to interface {iface}, but the section defines {self.n_ifaces + self.section_dropped}")
                    comment = None
                    if optoff >= 0 and optoff < blen - 4:
                        # before the record is pushed: a bad option leaves no half-made record
                        comment = self._packet_comment(p + optoff, blen - 4 - optoff, where)
                    total += 1
                    if self.bpf is None or self.bpf.accept(p + dataoff, caplen, wirelen,
                                                           it.linktype):
                        if b is None:
                            b = self._new_batch(max_packets)
                        r = b.push()
                        if btype != 3:
                            if wc_units_to_ns(t, it.kind, it.k, it.offset_s, &ts):
                                r.anomalies = A_TIMESTAMP_RANGE
                                self.n_bad_ts += 1
                            r.ts_ns = ts
                        r.caplen = caplen
                        r.wire_len = wirelen
                        r.frame_offset = <uint32_t>(self.pos + dataoff)
                        r.linktype = it.linktype
                        r.iface = it.index
                        if it.index == IFACE_NONE:
                            r.anomalies |= A_IFACE_DROPPED
                            self.packets_iface_dropped += 1
                        r.index = total - 1
                        if comment is not None:
                            if b.comments is None:
                                b.comments = {}
                            b.comments[b.n - 1] = comment
                else:
                    self.blocks_skipped += 1
                self.pos += blen
        except CaptureFileError as exc:
            self.packets_read = total
            if b is None or b.n == 0:
                raise
            self.error = exc        # raised by the next read_batch, after this batch
        self.packets_read = total
        if b is None:
            return None
        self.packets_matched += b.n
        b.shrink()
        b.decode_all()
        return b


cdef class PacketIterator:
    """Packets of a Reader one by one, crossing into Python once per packet only.

    `on_end` is called once when the reader is exhausted (or the iterator is
    closed), so the caller can report truncation and close the file.
    """
    cdef Reader reader
    cdef Batch batch
    cdef Py_ssize_t i
    cdef Py_ssize_t size
    cdef object on_end
    cdef bint done

    def __cinit__(self, Reader reader, Py_ssize_t size, on_end=None):
        self.reader = reader
        self.size = size
        self.on_end = on_end
        self.batch = None
        self.i = 0
        self.done = False

    def __iter__(self):
        return self

    def __next__(self):
        cdef Packet pkt
        while self.batch is None or self.i >= self.batch.n:
            if self.done:
                raise StopIteration
            try:
                self.batch = self.reader.read_batch(self.size)
            except BaseException:
                self.close()
                raise
            self.i = 0
            if self.batch is None:
                self.close()
                raise StopIteration
        pkt = make_packet(self.batch, self.i)
        self.i += 1
        return pkt

    def close(self):
        """Stop iterating; runs on_end once."""
        if not self.done:
            self.done = True
            self.batch = None
            if self.on_end is not None:
                cb, self.on_end = self.on_end, None
                cb()
