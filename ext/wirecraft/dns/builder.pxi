# Included by _dns.pyx (in order): shares its cimports and module scope.
# TransactionBuilder: pairs queries with responses as packets or batches are fed
# (the batch driver reads core records directly).

# --- the builder ------------------------------------------------------------------------------
@cython.final
cdef class TransactionBuilder:
    """Pairs DNS queries with responses as they are fed; the table comes out at the end.

    Rows live in a TransactionStore (C arrays) and three hash tables chain them by
    (transport, client, server, id), by (transport, multicast group, id) and by
    (transport, client, id) for queries sent to a group; the first question (name
    compared case-insensitively, type, class) is compared last. Memory: one row per
    transaction plus its strings' bytes.

    With streaming=True (TransactionTracker), take() hands out the rows completed since
    the last call and the pending ones older than the timeout, and rows that can no
    longer match anything (older than the timeout) are dropped, so memory stays bounded
    by the traffic of one timeout window. The pairing itself is the same in both modes.
    """
    cdef TransactionStore st
    cdef htab_t t_ep
    cdef htab_t t_grp
    cdef htab_t t_cli
    cdef _Summary sink          # the message being paired (reused)
    cdef int64_t timeout_ns
    cdef bytearray port_mask
    cdef object tcp_handler
    cdef bint streaming
    cdef list done             # streaming: rows completed since the last take()
    cdef Py_ssize_t expire_from  # streaming: rows before this one are handed out and dead

    def __cinit__(self):
        self.t_ep.slots = NULL
        self.t_grp.slots = NULL
        self.t_cli.slots = NULL

    def __init__(self, ports, double timeout, tcp_handler=None, bint streaming=False):
        if not timeout >= 0:
            raise ValueError("timeout must be >= 0 seconds")
        self.streaming = streaming
        self.done = []
        self.expire_from = 0
        self.st = TransactionStore.__new__(TransactionStore)
        self.sink = _Summary.__new__(_Summary)
        htab_free(&self.t_ep)
        htab_free(&self.t_grp)
        htab_free(&self.t_cli)
        htab_init(&self.t_ep, 2048)
        htab_init(&self.t_grp, 64)
        htab_init(&self.t_cli, 64)
        self.timeout_ns = <int64_t>(timeout * 1e9)
        self.port_mask = bytearray(65536)
        for p in ports:
            self.port_mask[p] = 1
        self.tcp_handler = tcp_handler

    def __dealloc__(self):
        htab_free(&self.t_ep)
        htab_free(&self.t_grp)
        htab_free(&self.t_cli)

    def columns(self):
        """The table built so far (a TransactionStore, which rows and Arrow read)."""
        return self.st

    cdef int32_t add_row(self, int64_t ts, int proto, int alen, const uint8_t* ca, int cport,
                         const uint8_t* sa, int sport, _Summary msg, int status) except -1:
        cdef TransactionStore st = self.st
        cdef Py_ssize_t i = st.new_row()
        cdef trow_t* r = &st.rows[i]
        r.ts = ts
        r.rtt = -1
        r.next_ep = -1
        r.next_grp = -1
        r.next_cli = -1
        r.qflags = msg.flags if status != ST_NO_QUERY else -1
        r.rflags = -1
        r.rcode = -1
        r.cport = cport
        r.sport = sport
        r.tid = msg.id
        r.proto = proto
        r.status = status
        r.alen = alen
        memcpy(r.caddr, ca, alen)
        memcpy(r.saddr, sa, alen)
        r.qtype = msg.qtype
        r.qcls = msg.qcls
        r.a_first = -1
        r.q_off = st.qtext.len
        r.p_first = st.pcodes.len // 2
        if msg.has_q:
            r.has_q = 1
            r.q_len = <uint16_t>msg.qname.len   # < NAME_BUF
            gbuf_put(&st.qtext, msg.qname.data, msg.qname.len)
        if msg.problems:
            st.add_problems(i, msg.problems)
        return <int32_t>i

    cdef int fill_response(self, int32_t row, int64_t ts, _Summary msg,
                           bint answered) except -1:
        cdef TransactionStore st = self.st
        cdef trow_t* r = &st.rows[row]
        r.rflags = msg.flags
        r.rcode = msg.rcode
        if answered:
            r.status = ST_ANSWERED
            r.rtt = ts - r.ts
        st.set_answers(row, msg)
        if msg.problems:
            st.add_problems(row, msg.problems)
        return 0

    cdef bint key_fits(self, trow_t* r, _Summary msg, int qmode, bint exact) noexcept:
        # exact: the same question (or both none); else the response's key fits the query
        cdef Py_ssize_t pos = 0
        cdef uint16_t ln
        cdef const char* q
        if qmode == Q_NONE:
            return not r.has_q if exact else True
        if not r.has_q:
            return False
        q = self.st.qtext.data + r.q_off
        if qmode == Q_NAME:
            return r.q_len == msg.qname.len and name_eq(q, msg.qname.data, r.q_len)
        if exact:
            return False
        while pos < msg.owners.len:   # each owner: 2-byte length, then its text
            memcpy(&ln, msg.owners.data + pos, 2)
            if ln == r.q_len and name_eq(q, msg.owners.data + pos + 2, ln):
                return True
            pos += 2 + ln
        return False

    cdef int32_t find(self, int kind, uint64_t h, int proto, int alen, const uint8_t* a,
                      int aport, const uint8_t* b, int bport, int tid, _Summary msg,
                      int qmode, int64_t ts, int status, bint oldest,
                      bint exact=False) noexcept:
        """The oldest (or newest) row of the chain for h whose key, status, question
        (exactly equal with exact, else the response's fitting the query's) and time
        window fit."""
        cdef int32_t i, found = -1
        cdef trow_t* r
        cdef int64_t age
        cdef bint hit
        if kind == K_EP:
            i = htab_head(&self.t_ep, h)
        elif kind == K_GRP:
            i = htab_head(&self.t_grp, h)
        else:
            i = htab_head(&self.t_cli, h)
        while i != -1:
            r = &self.st.rows[i]
            if (r.status == status and r.proto == proto and r.alen == alen
                    and r.tid == tid):
                if kind == K_EP:
                    hit = (r.cport == aport and r.sport == bport
                           and memcmp(r.caddr, a, alen) == 0
                           and memcmp(r.saddr, b, alen) == 0)
                elif kind == K_GRP:
                    hit = r.sport == aport and memcmp(r.saddr, a, alen) == 0
                else:
                    hit = r.cport == aport and memcmp(r.caddr, a, alen) == 0
                age = ts - r.ts
                if hit and 0 <= age <= self.timeout_ns and self.key_fits(
                        r, msg, qmode, exact) and (
                        qmode != Q_NAME or (r.qtype == msg.qtype and r.qcls == msg.qcls)):
                    found = i
                    if not oldest:
                        return found
            if kind == K_EP:
                i = r.next_ep
            elif kind == K_GRP:
                i = r.next_grp
            else:
                i = r.next_cli
        return found

    cpdef feed_message(self, int64_t ts, str proto, object src, int sport, object dst,
                       int dport, Message msg, bint dst_multicast):
        """Pair one decoded message; src/dst are address text or raw 4/16 bytes."""
        cdef uint8_t sa[16]
        cdef uint8_t da[16]
        cdef int alen = _address(src, sa)
        cdef int dlen = _address(dst, da)
        if dlen != alen:
            raise ValueError("source and destination address families differ")
        cdef _Summary s = _summary_of(msg, self.sink)
        cdef int pr = 1 if proto == "tcp" else 0
        self.pair(ts, pr, alen, sa, sport, da, dport, s, dst_multicast,
                  ep_hash(pr, alen, sa, sport, da, dport, s.id, s.flags & 0x8000))

    cdef int pair(self, int64_t ts, int pr, int alen, const uint8_t* sa, int sport,
                  const uint8_t* da, int dport, _Summary msg, bint dst_multicast,
                  uint64_t h_ep) except -1:
        # h_ep: ep_hash() of the message (computed early by feed_batch, to prefetch)
        cdef int tid = msg.id
        cdef uint64_t h = h_ep
        cdef int32_t row
        cdef int qmode = Q_NAME if msg.has_q else Q_NONE
        cdef trow_t* r
        if not (msg.flags & 0x8000):
            row = self.find(K_EP, h, pr, alen, sa, sport, da, dport, tid, msg, qmode, ts,
                            ST_UNANSWERED, True, True)
            if row >= 0:  # the same question again while waiting: a retransmission
                self.st.rows[row].dupq += 1
                return 0
            row = self.add_row(ts, pr, alen, sa, sport, da, dport, msg, ST_UNANSWERED)
            r = &self.st.rows[row]
            r.next_ep = htab_push(&self.t_ep, h, row)
            if dst_multicast:
                r.group = 1
                r.next_grp = htab_push(&self.t_grp, key_hash(K_GRP, pr, alen, da, dport, NULL,
                                                              0, tid), row)
                r.next_cli = htab_push(&self.t_cli, key_hash(K_CLI, pr, alen, sa, sport, NULL,
                                                              0, tid), row)
            return 0
        if qmode == Q_NONE and msg.n_owners:
            # no question (mDNS answers): the query is the one asking for an answer's name
            qmode = Q_OWNERS
        if dst_multicast:
            h = key_hash(K_GRP, pr, alen, da, dport, NULL, 0, tid)
            row = self.find(K_GRP, h, pr, alen, da, dport, NULL, 0, tid, msg, qmode, ts,
                            ST_UNANSWERED, True)
            if row < 0:
                row = self.find(K_GRP, h, pr, alen, da, dport, NULL, 0, tid, msg, qmode, ts,
                                ST_ANSWERED, False)
                if row >= 0:
                    self.st.rows[row].dupr += 1
                    return 0
        else:
            row = self.find(K_EP, h, pr, alen, da, dport, sa, sport, tid, msg, qmode, ts,
                            ST_UNANSWERED, True)
            if row < 0:
                # a unicast reply to a query sent to a multicast group (mDNS QU, LLMNR)
                h = key_hash(K_CLI, pr, alen, da, dport, NULL, 0, tid)
                row = self.find(K_CLI, h, pr, alen, da, dport, NULL, 0, tid, msg, qmode, ts,
                                ST_UNANSWERED, True)
                if row < 0:
                    row = self.find(K_CLI, h, pr, alen, da, dport, NULL, 0, tid, msg, qmode,
                                    ts, ST_ANSWERED, False)
                    if row < 0:
                        h = h_ep
                        row = self.find(K_EP, h, pr, alen, da, dport, sa, sport, tid, msg,
                                        qmode, ts, ST_ANSWERED, False)
                    if row >= 0:
                        self.st.rows[row].dupr += 1
                        return 0
        if row >= 0:
            self.fill_response(row, ts, msg, True)
            if self.streaming:
                self.done.append(row)
            return 0
        row = self.add_row(ts, pr, alen, da, dport, sa, sport, msg, ST_NO_QUERY)
        self.fill_response(row, ts, msg, False)
        if self.streaming:
            self.done.append(row)
        return 0

    def __len__(self):
        """Rows held (in streaming mode: those of the last timeout window)."""
        return self.st.n

    def take(self, int64_t now, bint everything=False):
        """Streaming: a TransactionStore of the rows completed since the last call, after
        the pending ones that `now` (packet time, ns) put past the timeout, which come out
        unanswered; everything=True hands out every row left. Returns None when there is
        nothing to hand out."""
        cdef Py_ssize_t i = self.expire_from
        cdef trow_t* r
        cdef list out = []
        if not self.streaming:
            raise RuntimeError("take() needs a streaming builder")
        while i < self.st.n:
            r = &self.st.rows[i]
            if not everything and now - r.ts <= self.timeout_ns:
                break
            if not r.emitted:
                r.emitted = 1
                out.append(i)
            i += 1
        self.expire_from = i
        for j in self.done:
            r = &self.st.rows[<Py_ssize_t>j]
            if not r.emitted:
                r.emitted = 1
                out.append(j)
        self.done = []
        taken = self.st.subset(out, 0) if out else None
        if self.expire_from >= 256 and self.expire_from * 2 >= self.st.n:
            self._compact()
        return taken

    cdef int _compact(self) except -1:
        # rows before expire_from are handed out and older than the timeout, so no
        # find() can return them: drop them and rebuild the chains of the rest in order
        cdef Py_ssize_t i
        cdef trow_t* r
        self.st = self.st.subset(None, self.expire_from)
        self.expire_from = 0
        htab_free(&self.t_ep)
        htab_free(&self.t_grp)
        htab_free(&self.t_cli)
        htab_init(&self.t_ep, 2048)
        htab_init(&self.t_grp, 64)
        htab_init(&self.t_cli, 64)
        for i in range(self.st.n):
            r = &self.st.rows[i]
            r.next_ep = -1
            r.next_grp = -1
            r.next_cli = -1
            if r.qflags < 0:  # a response without a query is in no chain
                continue
            # the keys pair() chained the query under
            r.next_ep = htab_push(&self.t_ep, key_hash(K_EP, r.proto, r.alen, r.caddr, r.cport,
                                                       r.saddr, r.sport, r.tid), <int32_t>i)
            if r.group:
                r.next_grp = htab_push(&self.t_grp, key_hash(K_GRP, r.proto, r.alen, r.saddr,
                                                             r.sport, NULL, 0, r.tid), <int32_t>i)
                r.next_cli = htab_push(&self.t_cli, key_hash(K_CLI, r.proto, r.alen, r.caddr,
                                                             r.cport, NULL, 0, r.tid), <int32_t>i)
        return 0

    cpdef feed(self, int64_t ts, str proto, object src, int sport, object dst, int dport,
               object payload, object mdns, bint fragment, str problem=None):
        """Decode one DNS payload and pair it; src/dst are address text or raw bytes.
        problem (e.g. "tcp_message_truncated") is added to the message's problems."""
        cdef bytes raw = payload if type(payload) is bytes else bytes(payload)
        cdef int mode = 2 if mdns is None else (1 if mdns else 0)
        cdef _Summary msg = self.sink
        cdef uint8_t sa[16]
        cdef uint8_t da[16]
        cdef int pr
        cdef int alen = _address(src, sa)
        if _address(dst, da) != alen:
            raise ValueError("source and destination address families differ")
        _decode_with(_Parser(raw, mode), mode, True, msg)
        if fragment:
            msg.problems = (msg.problems or []) + ["ip_fragment"]
        if problem is not None:
            msg.problems = (msg.problems or []) + [problem]
        pr = 1 if proto == "tcp" else 0
        self.pair(ts, pr, alen, sa, sport, da, dport, msg, _multicast(da, alen),
                  ep_hash(pr, alen, sa, sport, da, dport, msg.id, msg.flags & 0x8000))

    def feed_batch(self, batch):
        """Every UDP DNS message of a core Batch, read straight from its records
        (batch.record_bytes()); TCP packets on the ports go to tcp_handler(packet)."""
        cdef object data = batch.data
        cdef Py_ssize_t n = len(batch), i
        cdef const unsigned char* base
        cdef Py_ssize_t data_len
        cdef Py_buffer view
        cdef const rec_t* recs
        cdef const rec_t* r
        cdef unsigned int layers, sport, dport, poff, plen, fo
        cdef int alen
        cdef const unsigned char* p
        cdef uint64_t h
        cdef const unsigned char* mask = <const unsigned char*>PyByteArray_AS_STRING(
            self.port_mask)
        cdef _Parser ps = _Parser(b"", 2)
        cdef _Summary msg = self.sink
        cdef int mode
        if isinstance(data, bytes):
            base = <const unsigned char*>PyBytes_AS_STRING(data)
            data_len = PyBytes_GET_SIZE(data)
        else:
            base = <const unsigned char*>PyByteArray_AS_STRING(data)
            data_len = PyByteArray_GET_SIZE(data)
        PyObject_GetBuffer(batch.record_bytes(), &view, PyBUF_SIMPLE)
        try:
            if view.len < n * <Py_ssize_t>sizeof(rec_t):
                raise ValueError("batch records shorter than its length")
            recs = <const rec_t*>view.buf   # the core's record array, rec_t-aligned
            for i in range(n):
                # i < n and the record buffer holds n records (checked above)
                r = &recs[i]
                layers = r.layers
                if not (layers & (L_UDP | L_TCP)):
                    continue
                sport = r.l4_src_port
                dport = r.l4_dst_port
                if not (mask[sport] or mask[dport]):  # ports < 65536, mask has 65536 bytes
                    continue
                if layers & L_TCP:
                    if self.tcp_handler is not None:
                        self.tcp_handler(batch[i])
                    continue
                fo = r.frame_offset
                poff = r.payload_offset
                plen = r.payload_length
                if plen < 12 or <Py_ssize_t>fo + poff + plen > data_len:
                    continue
                alen = 16 if r.ip_version == 6 else 4
                mode = 1 if (sport == 5353 or dport == 5353) else 2
                # the pairing key from the header (plen >= 12 checked above): its hash
                # slot is fetched into the cache while the message is parsed
                p = base + fo + poff
                h = ep_hash(0, alen, r.ip_src, sport, r.ip_dst, dport, rd16(p, 0),
                            p[2] & 0x80)
                wc_prefetch(&self.t_ep.slots[<uint32_t>h & <uint32_t>(self.t_ep.cap - 1)])
                # fo + poff + plen <= data_len checked above; `data` (held by this frame)
                # keeps the buffer alive while the parser reads it in place
                ps.over(base + fo + poff, plen, mode)
                _decode_with(ps, mode, True, msg)
                if r.ip_flags & 1:
                    msg.problems = (msg.problems or []) + ["ip_fragment"]
                # the address fields are 16 bytes inside the record (alen <= 16)
                self.pair(r.ts_ns, 0, alen, r.ip_src, sport, r.ip_dst, dport,
                          msg, _multicast(r.ip_dst, alen), h)
        finally:
            PyBuffer_Release(&view)
