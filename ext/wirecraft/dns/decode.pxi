# Included by _dns.pyx (in order): shares its cimports and module scope.
# The decode driver: header, sections, EDNS and problems in one pass (_decode_with),
# decode_light and decode_name.

cdef Py_ssize_t _escape_chars(const unsigned char* src, Py_ssize_t n, char* out) noexcept nogil:
    """The dig-style text of n bytes of a character-string (\" and \\ escaped, other
    non-printables as \DDD) written to out, which has room for 4 * n characters; returns
    how many were written."""
    cdef Py_ssize_t i, o = 0
    cdef unsigned char c
    for i in range(n):
        c = src[i]  # i < n
        if c == 34 or c == 92:
            out[o] = 92
            out[o + 1] = c
            o += 2
        elif c < 0x20 or c >= 0x7F:
            out[o] = 92
            out[o + 1] = 48 + c // 100
            out[o + 2] = 48 + (c // 10) % 10
            out[o + 3] = 48 + c % 10
            o += 4
        else:
            out[o] = c
            o += 1
    return o


cdef Py_ssize_t _txt_text(const unsigned char* b, Py_ssize_t p, Py_ssize_t end,
                          gbuf_t* text) except -2:
    """Write the presentation text of the character-strings in [p, end) (inside the
    message) after text.len without committing it; returns its length, or -1 when a
    string runs past end. The same text as rdata_text gives a TXT record."""
    cdef Py_ssize_t o, ln
    cdef char* out
    gbuf_reserve(text, 7 * (end - p) + 8)   # 4 characters a byte, 3 more per string
    out = text.data + text.len
    o = 0
    while p < end:
        ln = b[p]  # p < end
        if p + 1 + ln > end:
            return -1
        if o:
            out[o] = 32
            o += 1
        out[o] = 34
        o += 1
        # b[p + 1 : p + 1 + ln] lies inside the message: p + 1 + ln <= end checked above
        o += _escape_chars(b + p + 1, ln, out + o)
        out[o] = 34
        o += 1
        p += 1 + ln
    return o


cdef Message _decode(bytes raw, int mode, bint light=False):
    return _decode_with(_Parser(raw, mode), mode, light, None)


cdef Message _decode_with(_Parser ps, int mode, bint light, _Summary sink):
    """The one wire parser, with two outputs.

    Without sink it returns a Message. light (for transaction logs) keeps the first
    question and the answers but builds no objects for authority/additional records or
    EDNS options: they are still walked and checked the same way, so problems are
    identical. With sink (columnar, implies light) no Message is made: the header, the
    first question and each answer's presentation text and TTL go into sink; A and AAAA
    answers are formatted straight from the wire, other types through a Record and the
    same formatter the Message path uses (rdata_text), so both outputs agree. Names
    are written straight into the sink's buffers (no str for the question's name)."""
    cdef bint seen_opt = False
    cdef bint columnar = sink is not None
    cdef const unsigned char* b = ps.b
    cdef Py_ssize_t n = ps.n
    cdef Message m = None
    cdef Py_ssize_t p = 12
    cdef unsigned int counts[4]
    cdef unsigned int rtype, rclass, rdlen, k, section
    cdef unsigned long ttl
    cdef int st, ident, flags, rcode
    cdef Py_ssize_t q
    cdef Question qu
    cdef Record rr
    cdef bint split, ok = True
    cdef bytes head
    cdef char nbuf[NAME_BUF]
    cdef Py_ssize_t tl = 0, k0
    cdef bint is_root
    if columnar:
        light = True
        sink.reset()
    else:
        m = Message.__new__(Message)
        m.size = n
        m.edns = None
        m.tsig = None
        m.questions = []
        m.answers = []
        if light:
            # never appended to in light mode (records of these sections are only checked)
            m.authorities = _LIGHT_EMPTY
            m.additionals = _LIGHT_EMPTY
        else:
            m.authorities = []
            m.additionals = []
    if n < 12:
        ps.flag("header_truncated")
        head = PyBytes_FromStringAndSize(<const char*>b, n) + bytes(12 - n)
        b = <const unsigned char*>PyBytes_AS_STRING(head)
        p = n
        ok = False
    # b has at least 12 bytes here (the message itself or the zero-padded copy)
    ident = rd16(b, 0)
    flags = rd16(b, 2)
    for k in range(4):
        counts[k] = rd16(b, 4 + 2 * k)
    b = ps.b
    rcode = flags & 0xF
    section = 0
    while ok and section < 4:
        for k in range(counts[section]):
            if p >= n:
                ps.flag("count_exceeds_data")
                ok = False
                break
            st = 0
            # light: authority/additional names are checked, their text not made;
            # columnar: answer owner names only for a message without a question
            if columnar:
                if section == 0 and k == 0:
                    ps.want_text = True
                    gbuf_reserve(&sink.qname, NAME_BUF)
                    tl = ps.name_to(&p, n, &st, sink.qname.data)
                else:
                    ps.want_text = section == 1 and not sink.has_q
                    tl = ps.name_to(&p, n, &st, nbuf)
                is_root = tl == 1 and (sink.qname.data if section == 0 and k == 0
                                       else nbuf)[0] == 46
                name = None
            else:
                ps.want_text = not (light and section >= 2)
                name = ps.name(&p, n, &st)
                is_root = name == "."
            if st:
                ps.name_flags(st)
                if st & N_FATAL:
                    ok = False
                    break
            if section == 0:
                if p + 4 > n:
                    ps.flag("record_truncated")
                    ok = False
                    break
                rtype = rd16(b, p)  # p + 4 <= n checked above
                rclass = rd16(b, p + 2)
                split = (mode == 1 or (mode == 2 and (rclass & 0x7FFF) == 1)) and rclass & 0x8000
                p += 4
                if columnar:
                    if k == 0:
                        sink.has_q = True
                        sink.qname.len = tl
                        sink.qtype = rtype
                        sink.qcls = rclass & 0x7FFF if split else rclass
                    continue
                qu = Question.__new__(Question)
                qu.name = name
                qu.type = rtype
                qu.unicast_response = split
                qu.cls = rclass & 0x7FFF if split else rclass
                m.questions.append(qu)
                continue
            if p + 10 > n:
                ps.flag("record_truncated")
                ok = False
                break
            if light and section >= 2:
                # p + 10 <= n checked above
                rtype = rd16(b, p)
                rclass = rd16(b, p + 2)
                ttl = rd32(b, p + 4)
                rdlen = rd16(b, p + 8)
                p += 10
                if p + rdlen > n:
                    ps.flag("rdata_past_end")
                    ok = False
                    break
                if rtype == 41:
                    if section != 3:
                        ps.flag("opt_outside_additional")
                    if seen_opt:
                        ps.flag("multiple_opt")
                    ps.edns(rclass, ttl, p, p + rdlen, False)
                    if not is_root:
                        ps.flag("opt_name_not_root")
                    if not seen_opt:
                        seen_opt = True
                        rcode = ((ttl >> 24) & 0xFF) << 4 | (flags & 0xF)
                elif not (rdlen == 0 and (flags & 0x7800) == 0x2800 and (
                        rclass == 255 and section <= 2 or rclass == 254 and section == 1)):
                    # (UPDATE, RFC 2136 2.4/2.5: class ANY/NONE RRs with no rdata are valid)
                    try:
                        ps.rdata(rtype, p, p + rdlen)
                    except _Bad:
                        ps.flag("rdata_malformed")
                    if rtype == 250 and (section != 3 or k + 1 != counts[3]):
                        ps.flag("tsig_not_last")   # RFC 8945 4.1: the last record
                p += rdlen
                continue
            # p + 10 <= n checked above
            rtype = rd16(b, p)
            rclass = rd16(b, p + 2)
            ttl = rd32(b, p + 4)
            rdlen = rd16(b, p + 8)
            p += 10
            if columnar:  # section 1: an answer
                if not sink.has_q:
                    # tl >= 0: want_text was on (no question), so the text was made
                    sink.add_owner(nbuf, tl)
                if p + rdlen <= n and ((rtype == 1 and rdlen == 4) or (
                        rtype == 28 and rdlen == 16)):
                    # p + rdlen <= n and rdlen is the address size: checked above;
                    # kept raw, formatted by ip_text when read
                    sink.add_raw(b + p, AK_IP4 if rtype == 1 else AK_IP6, ttl)
                    p += rdlen
                    continue
                if p + rdlen <= n and (rtype == 5 or rtype == 2 or rtype == 12 or rtype == 39
                                       or (rtype == 15 and rdlen >= 3)):
                    # a name (MX: after a 16-bit preference) filling the rdata exactly, in
                    # zone-file form as rdata_text writes it; anything else (a problem in
                    # the name, bytes left over) takes the Record path below, which flags it.
                    # Written after the sink's text, kept only when it is whole.
                    gbuf_reserve(&sink.text, NAME_BUF + 8)
                    k0 = 0
                    if rtype == 15:  # rdlen >= 3 checked above
                        k0 = snprintf(sink.text.data + sink.text.len, 8, "%u ", rd16(b, p))
                    q = p + 2 if rtype == 15 else p
                    st = 0
                    ps.want_text = True
                    ps.dot = True
                    tl = ps.name_to(&q, p + rdlen, &st, sink.text.data + sink.text.len + k0)
                    ps.dot = False
                    if st == 0 and q == p + rdlen:
                        sink.commit_text(k0 + tl, ttl, rtype)
                        p += rdlen
                        continue
                elif p + rdlen <= n and (rtype == 16 or rtype == 99):
                    # character-strings filling the rdata exactly, as rdata_text writes
                    # them ("..." joined by spaces); otherwise the Record path flags it
                    tl = _txt_text(b, p, p + rdlen, &sink.text)
                    if tl >= 0:
                        sink.commit_text(tl, ttl, rtype)
                        p += rdlen
                        continue
            rr = Record.__new__(Record)
            rr.name = name
            rr.type = rtype
            rr.ttl = ttl
            split = (rtype != 41 and (mode == 1 or (mode == 2 and (rclass & 0x7FFF) == 1))
                     and rclass & 0x8000)
            rr.cache_flush = split
            rr.cls = rclass & 0x7FFF if split else rclass
            if p + rdlen > n:
                ps.flag("rdata_past_end")
                rr.rdata = blob(b, p, n - p)
                rr.data = rr.rdata
                rr.malformed = True
                if columnar:
                    put_text(&sink.text, &sink.items, _answer_text(rr), ttl, rr.type)
                else:
                    _section_list(m, section).append(rr)
                ok = False
                break
            rr.rdata = blob(b, p, rdlen)
            rr.malformed = False
            if rtype == 41:
                if section != 3:
                    ps.flag("opt_outside_additional")
                if seen_opt:
                    ps.flag("multiple_opt")
                rr.data = ps.edns(rclass, ttl, p, p + rdlen, True)
                if not is_root:
                    ps.flag("opt_name_not_root")
                if not seen_opt:
                    seen_opt = True
                    if not columnar:
                        m.edns = rr.data
                    rcode = ((ttl >> 24) & 0xFF) << 4 | (flags & 0xF)
            elif (rdlen == 0 and (flags & 0x7800) == 0x2800 and (
                    rclass == 255 and section <= 2 or rclass == 254 and section == 1)):
                # UPDATE (RFC 2136 2.4/2.5): prerequisites of class ANY or NONE and
                # updates of class ANY (delete an RRset or a name) carry no rdata; that
                # is valid, not a malformed record
                rr.data = rr.rdata
            else:
                ps.want_text = True  # typed rdata keeps its names' text
                try:
                    rr.data = ps.rdata(rtype, p, p + rdlen)
                except _Bad:
                    rr.data = None
                    rr.malformed = True
                    ps.flag("rdata_malformed")
                if rr.data is None:
                    rr.data = rr.rdata
                if rtype == 250:
                    if section != 3 or k + 1 != counts[3]:
                        ps.flag("tsig_not_last")   # RFC 8945 4.1: the last record
                    if not columnar:
                        m.tsig = rr
            p += rdlen
            if columnar:
                put_text(&sink.text, &sink.items, _answer_text(rr), ttl, rr.type)
            else:
                _section_list(m, section).append(rr)
        section += 1
    if ok and p < n:
        ps.flag("trailing_bytes")
    if columnar:
        sink.id = ident
        sink.flags = flags
        sink.rcode = rcode
        sink.problems = ps.problems
        return None
    m.id = ident
    m.flags = flags
    m.counts = (counts[0], counts[1], counts[2], counts[3])
    m.rcode = rcode
    m.end = p
    m.problems = ps.problems if ps.problems is not None else []
    return m


cdef _Summary _summary_of(Message msg, _Summary s=None):
    """The columnar output computed from a Message (for messages fed already decoded)."""
    cdef Question q
    cdef Record rec
    cdef bytes raw
    if s is None:
        s = _Summary.__new__(_Summary)
    s.reset()
    s.id = msg.id
    s.flags = msg.flags
    s.rcode = msg.rcode
    if msg.questions:
        q = msg.questions[0]
        raw = q.name.encode("utf-8")
        if PyBytes_GET_SIZE(raw) >= NAME_BUF:
            raise ValueError("question name too long")
        s.has_q = True
        gbuf_put(&s.qname, PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))
        s.qtype = q.type
        s.qcls = q.cls
    elif msg.answers:
        for rec in msg.answers:
            raw = rec.name.encode("utf-8")
            if PyBytes_GET_SIZE(raw) >= NAME_BUF:
                raise ValueError("owner name too long")
            s.add_owner(PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))
    for rec in msg.answers:
        put_text(&s.text, &s.items, _answer_text(rec), <uint32_t>rec.ttl, rec.type)
    s.problems = list(msg.problems)
    return s


def _columnar_agrees(data, mdns=None):
    """(columnar output, the same computed from the Message path) for one message:
    the test that the parser's two outputs agree."""
    cdef bytes raw = data if type(data) is bytes else bytes(data)
    cdef int mode = 2 if mdns is None else (1 if mdns else 0)
    cdef _Summary s = _Summary.__new__(_Summary)
    _decode_with(_Parser(raw, mode), mode, True, s)
    return s.as_tuple(), _summary_of(_decode(raw, mode)).as_tuple()


def decode_light(data, mdns=None):
    """decode() as the transaction log runs it: no objects for authority/additional
    records or EDNS options (those lists stay empty, edns None), same problems."""
    cdef bytes raw = data if type(data) is bytes else bytes(data)
    return _decode(raw, 2 if mdns is None else (1 if mdns else 0), True)


def decode_name(data, Py_ssize_t offset=0):
    """Decode the (possibly compressed) name at offset: (text, next_offset, problems)."""
    cdef bytes raw = data if type(data) is bytes else bytes(data)
    cdef _Parser ps = _Parser(raw, 0)
    cdef Py_ssize_t p = offset
    cdef int st = 0
    if offset < 0 or offset > ps.n:
        raise ValueError("offset outside the data")
    text = ps.name(&p, ps.n, &st)
    ps.name_flags(st)
    return text, p, ps.problems
