# Included by _dns.pyx (in order): shares its cimports and module scope.
# The transaction table: rows and their strings in C buffers (TransactionStore), row
# views and the column accessors.

# --- the table: rows and their strings in C buffers ------------------------------------------
TRANSACTION_COLUMNS = (
    "ts", "ts_ns", "uid", "id_orig_h", "id_orig_p", "id_resp_h", "id_resp_p", "proto",
    "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode",
    "rcode_name", "opcode", "AA", "TC", "RD", "RA", "Z", "AD", "CD", "answers", "TTLs",
    "rejected", "status", "duplicate_queries", "duplicate_responses", "problems",
)
cdef tuple _COLUMNS = TRANSACTION_COLUMNS
cdef dict _COLUMN_CODE = {name: i for i, name in enumerate(TRANSACTION_COLUMNS)}
cdef tuple _STATUS = STATUS_NAMES
cdef tuple _PROTO = ("udp", "tcp")

cdef enum:
    C_TS = 0
    C_TS_NS
    C_UID
    C_ORIG_H
    C_ORIG_P
    C_RESP_H
    C_RESP_P
    C_PROTO
    C_TRANS_ID
    C_RTT
    C_QUERY
    C_QCLASS
    C_QCLASS_NAME
    C_QTYPE
    C_QTYPE_NAME
    C_RCODE
    C_RCODE_NAME
    C_OPCODE
    C_AA
    C_TC
    C_RD
    C_RA
    C_Z
    C_AD
    C_CD
    C_ANSWERS
    C_TTLS
    C_REJECTED
    C_STATUS
    C_DUPQ
    C_DUPR
    C_PROBLEMS
    C_COUNT


@cython.no_gc   # holds only str lists of module level: no cycle possible
@cython.final
cdef class TransactionStore:
    """The transaction table's columns in C: one fixed-size row per transaction; query
    names, answers (text, or raw addresses formatted when read) and problem codes in
    growable buffers the rows point into. Python objects are made only for the values
    read, and freeing the table is a handful of free() calls.

    Invariant the reads rely on: a row's query text [q_off, q_off + q_len), answer items
    [a_first, a_first + a_count) and problem codes [p_first, p_first + p_count) lie inside
    their buffers (add_row, set_answers, add_problems and subset write them so), and
    every item's bytes lie inside atext."""
    cdef trow_t* rows        # rowbuf's data
    cdef Py_ssize_t n
    cdef gbuf_t rowbuf
    cdef gbuf_t qtext        # query names, in row order
    cdef gbuf_t atext        # answer texts and raw addresses
    cdef gbuf_t aitems       # aitem_t per answer
    cdef gbuf_t pcodes       # uint16 problem codes
    # the rows' connection uids when wirecraft.dns linked them to the connection table
    # (17 characters each); None: each row's uid is made from its endpoints, unless
    # uid_source is set: a callable that links them (setting uids) when a uid is first
    # read, so a table whose uids are never read does not pay for the linking
    cdef public list uids
    cdef public object uid_source

    cdef void _need_uids(self) except *:
        if self.uids is None and self.uid_source is not None:
            source, self.uid_source = self.uid_source, None
            source(self)

    def __dealloc__(self):
        self.rows = NULL
        gbuf_free(&self.rowbuf)
        gbuf_free(&self.qtext)
        gbuf_free(&self.atext)
        gbuf_free(&self.aitems)
        gbuf_free(&self.pcodes)

    def __len__(self):
        return self.n

    cdef Py_ssize_t new_row(self) except -1:
        """A zeroed row at the end; returns its index (pointers into rows may move)."""
        if self.n >= 0x7FFFFFFF:
            raise OverflowError("too many DNS transactions for one table")
        if self.rowbuf.len + <Py_ssize_t>sizeof(trow_t) > self.rowbuf.cap:
            gbuf_reserve(&self.rowbuf, sizeof(trow_t))
            self.rows = <trow_t*>self.rowbuf.data
        memset(&self.rows[self.n], 0, sizeof(trow_t))  # room ensured above
        self.rowbuf.len += sizeof(trow_t)
        self.n += 1
        return self.n - 1

    cdef int add_problems(self, Py_ssize_t row, list problems) except -1:
        """Problems of a message onto the row: those it has not listed yet, in order."""
        cdef trow_t* r = &self.rows[row]
        cdef uint16_t* have = <uint16_t*>(self.pcodes.data) + r.p_first
        cdef Py_ssize_t k, m = r.p_count
        cdef uint16_t code
        cdef bint moved = False
        for p in problems:
            code = <uint16_t>problem_code(p)
            have = <uint16_t*>(self.pcodes.data) + self.rows[row].p_first
            for k in range(m):   # k < m: the row's codes, then those appended below
                if have[k] == code:
                    break
            else:
                if not moved and (self.rows[row].p_first + m) * 2 != self.pcodes.len:
                    # the row's codes are not the last ones: copy them to the end first
                    gbuf_reserve(&self.pcodes, (m + 1) * 2)
                    memcpy(self.pcodes.data + self.pcodes.len,
                           self.pcodes.data + self.rows[row].p_first * 2, m * 2)
                    self.rows[row].p_first = self.pcodes.len // 2
                    self.pcodes.len += m * 2
                moved = True
                gbuf_put(&self.pcodes, &code, 2)
                m += 1
        self.rows[row].p_count = <uint32_t>m
        return 0

    cdef int set_answers(self, Py_ssize_t row, _Summary msg) except -1:
        cdef Py_ssize_t k, na = msg.n_answers()
        cdef int64_t base = self.atext.len
        cdef aitem_t* dst
        self.rows[row].a_first = self.aitems.len // sizeof(aitem_t)
        self.rows[row].a_count = <uint32_t>na
        gbuf_put(&self.atext, msg.text.data, msg.text.len)
        gbuf_reserve(&self.aitems, na * sizeof(aitem_t))
        dst = <aitem_t*>(self.aitems.data + self.aitems.len)
        memcpy(dst, msg.items.data, na * sizeof(aitem_t))
        for k in range(na):   # k < na: reserved above
            dst[k].off += base
        self.aitems.len += na * sizeof(aitem_t)
        return 0

    cdef TransactionStore subset(self, list idx, Py_ssize_t start):
        """A new store with rows idx (or, with idx None, rows start..n-1) in that order."""
        cdef TransactionStore out = TransactionStore.__new__(TransactionStore)
        cdef Py_ssize_t i, j, k, m = len(idx) if idx is not None else self.n - start
        cdef trow_t* src
        cdef trow_t* dst
        cdef aitem_t* items
        cdef int64_t base
        for j in range(m):
            i = idx[j] if idx is not None else start + j
            if not 0 <= i < self.n:
                raise IndexError("row out of range")
            src = &self.rows[i]
            k = out.new_row()
            dst = &out.rows[k]
            dst[0] = src[0]
            dst.q_off = out.qtext.len
            gbuf_put(&out.qtext, self.qtext.data + src.q_off, src.q_len)
            dst.p_first = out.pcodes.len // 2
            gbuf_put(&out.pcodes, self.pcodes.data + src.p_first * 2, src.p_count * 2)
            if src.a_first >= 0:
                dst.a_first = out.aitems.len // sizeof(aitem_t)
                items = <aitem_t*>self.aitems.data + src.a_first
                for k in range(src.a_count):
                    base = out.atext.len
                    gbuf_put(&out.atext, self.atext.data + items[k].off, item_len(&items[k]))
                    gbuf_put(&out.aitems, &items[k], sizeof(aitem_t))
                    (<aitem_t*>(out.aitems.data + out.aitems.len) - 1).off = base
        self._need_uids()
        if self.uids is not None:
            out.uids = ([self.uids[i] for i in idx] if idx is not None
                        else self.uids[start:self.n])
        return out

    cdef int extend(self, TransactionStore other) except -1:
        """Append every row of `other` (its strings, answers and problem codes copied, their
        offsets moved to where they land here). Uids are left to concat_stores."""
        cdef Py_ssize_t i, k
        cdef trow_t* src
        cdef trow_t* dst
        cdef aitem_t* items
        cdef int64_t abase = self.atext.len
        cdef int64_t ifirst = self.aitems.len // sizeof(aitem_t)
        cdef int64_t qbase = self.qtext.len
        cdef int64_t pfirst = self.pcodes.len // 2
        if self.n + other.n > 0x7FFFFFFF:
            raise OverflowError("too many DNS transactions for one table")
        gbuf_put(&self.qtext, other.qtext.data, other.qtext.len)
        gbuf_put(&self.atext, other.atext.data, other.atext.len)
        gbuf_put(&self.pcodes, other.pcodes.data, other.pcodes.len)
        gbuf_reserve(&self.aitems, other.aitems.len)
        items = <aitem_t*>(self.aitems.data + self.aitems.len)
        memcpy(items, other.aitems.data, other.aitems.len)
        # other.aitems.len is a whole number of items: set_answers and subset add whole ones
        for k in range(other.aitems.len // <Py_ssize_t>sizeof(aitem_t)):
            items[k].off += abase
        self.aitems.len += other.aitems.len
        for i in range(other.n):
            src = &other.rows[i]
            k = self.new_row()
            dst = &self.rows[k]
            dst[0] = src[0]
            dst.q_off = src.q_off + qbase
            dst.p_first = src.p_first + pfirst
            if src.a_first >= 0:
                dst.a_first = src.a_first + ifirst
        return 0

    def __reduce__(self):
        # a table made in another process (wirecraft.dns.transactions(paths, jobs=N)):
        # the buffers travel as bytes; rows hold offsets into them, never pointers. Uids
        # are read first, so a lazily linked table arrives linked.
        self._need_uids()
        return (_store_from_parts, (
            self.n, self.rowbuf.data[:self.rowbuf.len] if self.rowbuf.len else b"",
            self.qtext.data[:self.qtext.len] if self.qtext.len else b"",
            self.atext.data[:self.atext.len] if self.atext.len else b"",
            self.aitems.data[:self.aitems.len] if self.aitems.len else b"",
            self.pcodes.data[:self.pcodes.len] if self.pcodes.len else b"",
            self.uids))

    def __iter__(self):
        cdef _RowIter it = _RowIter.__new__(_RowIter)
        it.st = self
        it.i = 0
        return it

    def row(self, Py_ssize_t i):
        """The view of row i (negative counts from the end)."""
        if i < 0:
            i += self.n
        if not 0 <= i < self.n:
            raise IndexError("transaction index out of range")
        return _row(self, i)

    def column(self, str name):
        """One column as a list of the values rows give."""
        cdef int code = _code_of(name)
        cdef Py_ssize_t i
        return [row_value(self, i, code) for i in range(self.n)]

    def to_dicts(self):
        """Every row as a plain dict."""
        cdef Py_ssize_t i
        return [row_dict(self, i) for i in range(self.n)]

    # per row: hoff[k] with k in range(2) (hoff is made 2 long below) and cols[k] with
    # k in range(16) (made from the 16 names): unchecked list reads on the export loop
    @cython.boundscheck(False)
    @cython.wraparound(False)
    def answer_types(self):
        """The record type of every answer, as array('H') in the order the rows and their
        answers come (rows without a response add none): what a renderer needs beside the
        answers' text, such as the Zeek-form logs."""
        cdef Py_ssize_t i, k
        cdef trow_t* r
        cdef const aitem_t* items = <const aitem_t*>self.aitems.data
        out = array.array("H")
        for i in range(self.n):
            r = &self.rows[i]
            if r.a_first >= 0:
                # the row's items lie inside aitems (the store's invariant)
                for k in range(r.a_count):
                    out.append(items[r.a_first + k].rtype)
        return out

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def arrow_parts(self):
        """The columns as flat buffers for Arrow (see wirecraft.dns.TransactionTable):
        numeric columns as array('q'); strings as (int64 offsets, UTF-8 bytes); answers,
        TTLs and problems as per-row int64 offsets into their flat values."""
        cdef Py_ssize_t n = self.n, i, k, total
        cdef trow_t* r
        cdef const aitem_t* items = <const aitem_t*>self.aitems.data
        cdef const aitem_t* it
        cdef const uint16_t* codes = <const uint16_t*>self.pcodes.data
        cdef dict num = {}
        cdef str text
        cdef gbuf_t hosts[2]
        cdef gbuf_t atext
        cdef gbuf_t uid
        self._need_uids()
        names = ("ts_ns", "id_orig_p", "id_resp_p", "trans_id", "query_flags",
                 "response_flags", "rcode", "status_code", "duplicate_queries",
                 "duplicate_responses", "rtt_ns", "qtype", "qclass", "has_query", "proto",
                 "has_response")
        cdef int64_t* v[16]
        cols = [array.clone(_I64, n, False) for _ in names]
        for k in range(16):   # len(names) == 16
            v[k] = <int64_t*>(<array.array>cols[k]).data.as_longlongs
            num[names[k]] = cols[k]
        for i in range(n):   # i < n: each array was made n long
            r = &self.rows[i]
            v[0][i] = r.ts
            v[1][i] = r.cport
            v[2][i] = r.sport
            v[3][i] = r.tid
            v[4][i] = r.qflags
            v[5][i] = r.rflags
            v[6][i] = r.rcode
            v[7][i] = r.status
            v[8][i] = r.dupq
            v[9][i] = r.dupr
            v[10][i] = r.rtt
            v[11][i] = r.qtype
            v[12][i] = r.qcls
            v[13][i] = r.has_q
            v[14][i] = r.proto
            v[15][i] = r.a_first >= 0
        # query names: the text is in row order already
        qoff = array.clone(_I64, n + 1, False)
        for i in range(n):
            qoff.data.as_longlongs[i] = self.rows[i].q_off
        qoff.data.as_longlongs[n] = self.qtext.len
        # addresses, uids, answers: gathered in row order
        hoff = [array.clone(_I64, n + 1, False), array.clone(_I64, n + 1, False)]
        aoff = array.clone(_I64, n + 1, False)
        poff = array.clone(_I64, n + 1, False)
        total = 0
        for i in range(n):
            total += self.rows[i].a_count if self.rows[i].a_first >= 0 else 0
        ioff = array.clone(_I64, total + 1, False)
        ttls = array.clone(_I64, total, False)
        pcodes = array.clone(_I64, 0, False)
        memset(hosts, 0, sizeof(hosts))
        memset(&atext, 0, sizeof(atext))
        memset(&uid, 0, sizeof(uid))
        try:
            gbuf_reserve(&uid, 17 * n + 1)   # (+ 1: never a zero-byte reservation)
            total = 0
            for i in range(n):   # i < n: the offset arrays hold n + 1
                r = &self.rows[i]
                for k in range(2):
                    text = addr_text(<const uint8_t*>r.caddr if k == 0 else <const uint8_t*>r.saddr,
                                     r.alen)
                    (<array.array>hoff[k]).data.as_longlongs[i] = hosts[k].len
                    gbuf_put(&hosts[k], PyUnicode_1BYTE_DATA(text), PyUnicode_GET_LENGTH(text))
                if self.uids is not None:
                    text = self.uids[i]
                    if PyUnicode_GET_LENGTH(text) != 17:
                        raise ValueError(f"row {i}: uid {text!r} is not 17 characters")
                    memcpy(uid.data + uid.len, PyUnicode_1BYTE_DATA(text), 17)
                else:
                    uid_write(uid_hash(r.proto, addr_text(r.caddr, r.alen), r.cport,
                                       addr_text(r.saddr, r.alen), r.sport), uid.data + uid.len)
                uid.len += 17   # 17 * n bytes reserved
                aoff.data.as_longlongs[i] = total
                if r.a_first >= 0:
                    # the row's items (the store's invariant); total < the count made above
                    for k in range(r.a_count):
                        it = &items[r.a_first + k]
                        ioff.data.as_longlongs[total] = atext.len
                        ttls.data.as_longlongs[total] = it.ttl
                        if item_kind(it) == AK_TEXT:
                            gbuf_put(&atext, self.atext.data + it.off, item_len(it))
                        else:
                            text = item_text(it, self.atext.data)
                            gbuf_put(&atext, PyUnicode_1BYTE_DATA(text),
                                     PyUnicode_GET_LENGTH(text))
                        total += 1
                poff.data.as_longlongs[i] = len(pcodes)
                for k in range(r.p_count):
                    pcodes.append(codes[r.p_first + k])
            for k in range(2):
                (<array.array>hoff[k]).data.as_longlongs[n] = hosts[k].len
            aoff.data.as_longlongs[n] = total
            ioff.data.as_longlongs[total] = atext.len
            poff.data.as_longlongs[n] = len(pcodes)
            return {
                "n": n, "numbers": num,
                "query": (qoff, PyBytes_FromStringAndSize(self.qtext.data, self.qtext.len)),
                "id_orig_h": (hoff[0], PyBytes_FromStringAndSize(hosts[0].data, hosts[0].len)),
                "id_resp_h": (hoff[1], PyBytes_FromStringAndSize(hosts[1].data, hosts[1].len)),
                "uid": PyBytes_FromStringAndSize(uid.data, uid.len),
                "answers": (aoff, ioff, PyBytes_FromStringAndSize(atext.data, atext.len)),
                "TTLs": ttls,
                "problems": (poff, pcodes, list(_PROBLEM_TEXT)),
            }
        finally:
            gbuf_free(&hosts[0])
            gbuf_free(&hosts[1])
            gbuf_free(&atext)
            gbuf_free(&uid)


def _store_from_parts(Py_ssize_t n, bytes rows, bytes qtext, bytes atext, bytes aitems,
                      bytes pcodes, uids):
    """A store from TransactionStore.__reduce__'s parts, checked against the invariant the
    reads rely on (every row's strings, answers and codes inside their buffers) so that
    damaged parts raise ValueError instead of being read out of bounds."""
    cdef TransactionStore st = TransactionStore.__new__(TransactionStore)
    cdef Py_ssize_t i, k, nitems = len(aitems) // <Py_ssize_t>sizeof(aitem_t)
    cdef const trow_t* r
    cdef const aitem_t* it
    if (n < 0 or len(rows) != n * <Py_ssize_t>sizeof(trow_t)
            or len(aitems) % <Py_ssize_t>sizeof(aitem_t) or len(pcodes) % 2
            or (uids is not None and (type(uids) is not list or len(uids) != n))):
        raise ValueError("damaged DNS transaction table")
    gbuf_put(&st.rowbuf, <const char*>rows, len(rows))
    gbuf_put(&st.qtext, <const char*>qtext, len(qtext))
    gbuf_put(&st.atext, <const char*>atext, len(atext))
    gbuf_put(&st.aitems, <const char*>aitems, len(aitems))
    gbuf_put(&st.pcodes, <const char*>pcodes, len(pcodes))
    st.rows = <trow_t*>st.rowbuf.data
    st.n = n
    for k in range(nitems):
        it = <const aitem_t*>st.aitems.data + k
        if (it.off < 0 or it.off + item_len(it) > st.atext.len or item_kind(it) == 3
                or (item_kind(it) == AK_IP4 and item_len(it) != 4)
                or (item_kind(it) == AK_IP6 and item_len(it) != 16)):
            raise ValueError("damaged DNS transaction table")
    for i in range(n):
        r = &st.rows[i]
        if (r.q_off < 0 or r.q_off + r.q_len > st.qtext.len or r.p_first < 0
                or (r.p_first + r.p_count) * 2 > st.pcodes.len
                or (r.a_first >= 0 and r.a_first + r.a_count > nitems)
                or r.alen > 16 or r.proto > 1 or r.status >= len(_STATUS)):
            raise ValueError("damaged DNS transaction table")
    if uids is not None:
        for u in uids:
            if type(u) is not str:
                raise ValueError("damaged DNS transaction table")
    st.uids = uids
    return st


def concat_stores(list stores):
    """One store holding the rows of `stores` in order (wirecraft.dns.transactions over
    many files). A part linked to its connections keeps its uids; in a part that is not,
    each row's uid is made from its endpoints, as it would be there."""
    cdef TransactionStore out = TransactionStore.__new__(TransactionStore)
    cdef TransactionStore part
    cdef bint linked = False
    cdef Py_ssize_t i
    for part in stores:
        part._need_uids()
        linked = linked or part.uids is not None
    uids = [] if linked else None
    for part in stores:
        out.extend(part)
        if linked:
            if part.uids is not None:
                uids.extend(part.uids)
            else:
                uids.extend([uid_text(&part.rows[i]) for i in range(part.n)])
    out.uids = uids
    return out


cdef array.array _I64 = array.array("q")


# the column names as this module interned them: a key written in code (the same
# interned object) is found by identity, any other equal string by the dict
cdef PyObject* _COLUMN_KEY[C_COUNT]
for _k in range(C_COUNT):
    _COLUMN_KEY[_k] = <PyObject*>_COLUMNS[_k]
del _k


cdef inline int _code_of(str name) except -1:
    cdef int k
    for k in range(C_COUNT):
        if _COLUMN_KEY[k] == <PyObject*>name:
            return k
    code = _COLUMN_CODE.get(name)
    if code is None:
        raise KeyError(name)
    return code


cdef object row_value(TransactionStore st, Py_ssize_t i, int code):
    """The value of column `code` in row i (i < st.n: every caller holds such an index)."""
    cdef trow_t* r = &st.rows[i]
    cdef int64_t ask, ans
    cdef Py_ssize_t k
    cdef list out
    cdef object v
    cdef const aitem_t* items
    cdef const uint16_t* codes
    if code == C_STATUS:
        return _STATUS[r.status]
    if code == C_ANSWERS or code == C_TTLS:
        if r.a_first < 0:
            return None
        items = <const aitem_t*>st.aitems.data + r.a_first
        out = PyList_New(r.a_count)
        # k < a_count: inside the row's items (the store's invariant) and the new list
        for k in range(r.a_count):
            v = items[k].ttl if code == C_TTLS else item_text(&items[k], st.atext.data)
            Py_INCREF(v)
            PyList_SET_ITEM(out, k, v)
        return out
    if code == C_PROBLEMS:
        codes = <const uint16_t*>st.pcodes.data + r.p_first
        # k < p_count: the row's codes (the store's invariant), each a vocabulary index
        return [_PROBLEM_TEXT[codes[k]] for k in range(r.p_count)]
    if code == C_TS:
        return <double>r.ts / 1e9
    if code == C_TS_NS:
        return r.ts
    if code == C_UID:
        st._need_uids()
        return st.uids[i] if st.uids is not None else uid_text(r)
    if code == C_ORIG_H:
        return addr_text(r.caddr, r.alen)
    if code == C_ORIG_P:
        return r.cport
    if code == C_RESP_H:
        return addr_text(r.saddr, r.alen)
    if code == C_RESP_P:
        return r.sport
    if code == C_PROTO:
        return _PROTO[r.proto]
    if code == C_TRANS_ID:
        return r.tid
    if code == C_RTT:
        return <double>r.rtt / 1e9 if r.rtt >= 0 else None
    if code == C_QUERY:
        return PyUnicode_DecodeUTF8(st.qtext.data + r.q_off, r.q_len, NULL) if r.has_q else None
    if code == C_QCLASS:
        return r.qcls if r.has_q else None
    if code == C_QCLASS_NAME:
        return class_name(r.qcls) if r.has_q else None
    if code == C_QTYPE:
        return r.qtype if r.has_q else None
    if code == C_QTYPE_NAME:
        return type_name(r.qtype) if r.has_q else None
    if code == C_RCODE:
        return r.rcode if r.rcode >= 0 else None
    if code == C_RCODE_NAME:
        return rcode_name(r.rcode) if r.rcode >= 0 else None
    if code == C_REJECTED:
        return r.rcode >= 0 and r.rcode != 0 and r.rcode != 3
    if code == C_DUPQ:
        return r.dupq
    if code == C_DUPR:
        return r.dupr
    # the opcode of the message that made the row (the query, or a lone response);
    # RD/CD as the client asked; the other bits as the server answered
    ask = r.qflags if r.qflags >= 0 else r.rflags
    ans = r.rflags if r.rflags >= 0 else 0
    if code == C_OPCODE:
        return (ask >> 11) & 0xF
    if code == C_AA:
        return (ans & 0x400) != 0
    if code == C_TC:
        return (ans & 0x200) != 0
    if code == C_RD:
        return (ask & 0x100) != 0
    if code == C_RA:
        return (ans & 0x80) != 0
    if code == C_Z:
        return (ans >> 4) & 7
    if code == C_AD:
        return (ans & 0x20) != 0
    if code == C_CD:
        return (ask & 0x10) != 0
    raise KeyError(code)


cdef dict row_dict(TransactionStore st, Py_ssize_t i):
    cdef dict out = {}
    cdef int code
    for code in range(C_COUNT):
        out[_COLUMNS[code]] = row_value(st, i, code)
    return out


cdef inline TransactionRow _row(TransactionStore st, Py_ssize_t i):
    cdef TransactionRow row = TransactionRow.__new__(TransactionRow)  # no __init__: set here
    row.st = st
    row.i = i
    return row


@cython.no_gc   # refers to its store only, which never refers back: no cycle possible
@cython.freelist(16)
cdef class TransactionRow:
    """One transaction: a read-only mapping of TRANSACTION_COLUMNS viewing its table's
    columns; a value becomes a Python object when it is read."""
    cdef TransactionStore st
    cdef Py_ssize_t i

    def __init__(self, TransactionStore store, Py_ssize_t i):
        if not 0 <= i < store.n:
            raise IndexError("transaction index out of range")
        self.st = store
        self.i = i

    def __getitem__(self, str name):
        return row_value(self.st, self.i, _code_of(name))

    def get(self, str name, default=None):
        if name not in _COLUMN_CODE:
            return default
        return row_value(self.st, self.i, _code_of(name))

    def __contains__(self, name):
        return name in TRANSACTION_COLUMNS

    def __iter__(self):
        return iter(TRANSACTION_COLUMNS)

    def __len__(self):
        return len(TRANSACTION_COLUMNS)

    def keys(self):
        return list(TRANSACTION_COLUMNS)

    def values(self):
        cdef int code
        return [row_value(self.st, self.i, code) for code in range(C_COUNT)]

    def items(self):
        cdef int code
        return [(_COLUMNS[code], row_value(self.st, self.i, code)) for code in range(C_COUNT)]

    def to_dict(self):
        """A plain dict of the row (for JSON and printing)."""
        return row_dict(self.st, self.i)

    def __eq__(self, other):
        if isinstance(other, TransactionRow):
            return self.to_dict() == other.to_dict()
        if isinstance(other, dict):
            return self.to_dict() == other
        return NotImplemented

    def __repr__(self):
        return f"TransactionRow({self.to_dict()!r})"


@cython.no_gc
@cython.freelist(4)
cdef class _RowIter:
    cdef TransactionStore st
    cdef Py_ssize_t i

    def __iter__(self):
        return self

    def __next__(self):
        cdef Py_ssize_t i = self.i
        if i >= self.st.n:
            raise StopIteration
        self.i = i + 1
        return _row(self.st, i)


def transaction_rows(TransactionStore store):
    """Row views 0..n-1 over a store, as a list."""
    return list(store)
