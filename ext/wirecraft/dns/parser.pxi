# Included by _dns.pyx (in order): shares its cimports and module scope.
# The wire parser: byte readers, name decoding with bounded compression, typed rdata
# and EDNS (RFC 1035 4.1, 3597, 6891 and the per-type RFCs in _dns.pyx's docstring).

# --- low-level helpers ---------------------------------------------------------------------
cdef inline unsigned int rd16(const unsigned char* b, Py_ssize_t p) noexcept nogil:
    return (<unsigned int>b[p] << 8) | b[p + 1]


cdef inline unsigned long rd32(const unsigned char* b, Py_ssize_t p) noexcept nogil:
    return ((<unsigned long>b[p] << 24) | (<unsigned long>b[p + 1] << 16)
            | (<unsigned long>b[p + 2] << 8) | b[p + 3])


cdef inline bytes blob(const unsigned char* b, Py_ssize_t p, Py_ssize_t n):
    return PyBytes_FromStringAndSize(<const char*>(b + p), n)


cdef inline str _ascii(const char* text, Py_ssize_t n):
    # text is ASCII by construction (digits, dots, colons, or bytes escaped as \\DDD):
    # made directly as a 1-byte string, without the decoder's validation pass
    cdef str out = PyUnicode_New(n, 127)
    memcpy(PyUnicode_1BYTE_DATA(out), text, n)
    return out


cdef str ip_text(const unsigned char* src, int af):
    # src holds 4 (AF_INET) or 16 (AF_INET6) bytes: every caller passes such a buffer.
    # The text comes from the core's formatters (inet_ntop's exact output, no printf).
    if af == AF_INET:
        return ip4_text(src)
    return ip6_text(src)


def _ip6_text(bytes raw):
    """ip_text for 16 raw bytes (tested against socket.inet_ntop)."""
    if PyBytes_GET_SIZE(raw) != 16:
        raise ValueError("16 bytes needed")
    return ip_text(<const unsigned char*>PyBytes_AS_STRING(raw), AF_INET6)


cdef inline Py_ssize_t escape_byte(unsigned char c, char* out, Py_ssize_t o) noexcept nogil:
    # dig / RFC 1035 5.1 presentation: specials get a backslash, non-printables \DDD
    if c <= 0x20 or c >= 0x7F:
        out[o] = 92  # backslash
        out[o + 1] = 48 + c // 100
        out[o + 2] = 48 + (c // 10) % 10
        out[o + 3] = 48 + c % 10
        return o + 4
    if c == 46 or c == 92 or c == 34 or c == 40 or c == 41 or c == 59 or c == 64 or c == 36:
        out[o] = 92
        out[o + 1] = c
        return o + 2
    out[o] = c
    return o + 1


cdef bint _utf8_ok(const unsigned char* s, Py_ssize_t n):
    """Whether n bytes are valid UTF-8 (EDE extra text, RFC 8914 2)."""
    try:
        PyUnicode_DecodeUTF8(<const char*>s, n, NULL)
    except UnicodeDecodeError:
        return False
    return True


cdef str _NAME_TEXT_EMPTY = "."

# 1 for the label bytes escape_byte writes as they are
cdef unsigned char _PLAIN[256]
for _c in range(256):
    _PLAIN[_c] = 0x20 < _c < 0x7F and _c not in b'.\\"();@$'
del _c


@cython.final
cdef class _Parser:
    """One message being decoded: the buffer, its length and the problems seen."""
    cdef bytes data
    cdef const unsigned char* b
    cdef Py_ssize_t n
    cdef list problems
    cdef int mdns
    cdef bint want_text     # False: names are walked and checked, their text not made
    cdef bint dot           # True: name text ends with "." as in zone files (root stays ".")

    def __cinit__(self, bytes data, int mdns):
        self.want_text = True
        self.dot = False
        self.data = data
        self.b = <const unsigned char*>PyBytes_AS_STRING(data)
        self.n = PyBytes_GET_SIZE(data)
        self.problems = []
        self.mdns = mdns

    cdef void over(self, const unsigned char* b, Py_ssize_t n, int mdns) noexcept:
        """Reuse this parser for the n bytes at b, which the caller keeps alive while
        it decodes (no copy: the transaction builder reads its batch buffer in place)."""
        self.want_text = True
        self.dot = False
        self.data = None
        self.b = b
        self.n = n
        self.problems = None  # made by flag() when there is a problem (None: none yet)
        self.mdns = mdns

    cdef void flag(self, str problem):
        if self.problems is None:
            self.problems = [problem]
        elif problem not in self.problems:
            self.problems.append(problem)

    cdef void name_flags(self, int status):
        cdef int bit
        for bit, text in _NAME_FLAGS:
            if status & bit:
                self.flag(text)

    cdef str name(self, Py_ssize_t* pos, Py_ssize_t limit, int* status):
        """Decode the name at pos[0] as text (None when want_text is off; the root is
        always "."); see name_to."""
        cdef char out[NAME_BUF]
        cdef Py_ssize_t o = self.name_to(pos, limit, status, out)
        if o < 0:
            return None
        if o == 1 and out[0] == 46:  # "." alone is the root: a "." in a label is escaped
            return _NAME_TEXT_EMPTY
        return _ascii(out, o)

    cdef Py_ssize_t name_to(self, Py_ssize_t* pos, Py_ssize_t limit, int* status,
                            char* out) noexcept:
        """Decode the name at pos[0]; pos[0] moves past it (past the first pointer).

        The text (ASCII, at most NAME_BUF - 1 characters) goes to out and its length is
        returned; without want_text only the root's text (".") is written, for any other
        name -1 is returned. limit bounds the labels read before the first pointer (end
        of message or of rdata); after a jump the whole message may be read. status gets
        N_* bits; when N_TRUNCATED is set before any jump, pos[0] is left at limit.
        """
        cdef const unsigned char* b = self.b
        cdef Py_ssize_t p = pos[0]
        cdef Py_ssize_t end = limit
        cdef Py_ssize_t run_start = p
        cdef Py_ssize_t after = -1       # where the caller resumes, once a pointer was taken
        cdef Py_ssize_t visited[MAX_JUMPS + 2]
        cdef int jumps = 0, i
        cdef int st = 0
        cdef int wire = 0                # bytes of the uncompressed name so far
        cdef unsigned int length, target
        cdef Py_ssize_t o = 0
        cdef bint loop
        cdef unsigned char c
        while True:
            if p >= end:
                st |= N_TRUNCATED
                break
            length = b[p]  # p < end <= n checked above
            if length == 0:
                p += 1
                wire += 1
                break
            if length >= 0xC0:
                if p + 1 >= end:
                    st |= N_TRUNCATED
                    break
                target = ((length & 0x3F) << 8) | b[p + 1]  # p + 1 < end checked above
                if after < 0:
                    after = p + 2
                if jumps >= MAX_JUMPS:
                    st |= N_JUMPS
                    break
                if <Py_ssize_t>target >= run_start:
                    loop = <Py_ssize_t>target == p
                    for i in range(jumps):
                        if visited[i] == <Py_ssize_t>target:
                            loop = True
                    if loop or <Py_ssize_t>target < p:
                        st |= N_LOOP
                    else:
                        st |= N_FORWARD
                    break
                visited[jumps] = p
                jumps += 1
                run_start = target
                p = target
                end = self.n
                continue
            if length > 63:
                st |= N_LABEL
                break
            if wire + 1 + <int>length + 1 > MAX_NAME:
                st |= N_LONG
                break
            if p + 1 + <Py_ssize_t>length > end:
                st |= N_TRUNCATED
                break
            if not self.want_text:
                o = 1  # not the root: no text is made
            else:
                if o:
                    out[o] = 46
                    o += 1
                for i in range(<int>length):
                    c = b[p + 1 + i]  # p + 1 + length <= end checked above
                    if _PLAIN[c]:
                        out[o] = c
                        o += 1
                    else:
                        o = escape_byte(c, out, o)
            wire += 1 + <int>length
            p += 1 + length
        if st and after < 0:
            st |= N_FATAL
        if after >= 0:
            pos[0] = after
        elif st & N_TRUNCATED:
            pos[0] = limit
        else:
            pos[0] = p
        status[0] = st
        if o == 0:
            out[0] = 46  # the root
            return 1
        if not self.want_text:
            return -1
        if self.dot:
            out[o] = 46  # o < NAME_BUF - 1: a 255-byte name takes at most ~1010 characters
            o += 1
        return o

    cdef str rname(self, Py_ssize_t* pos, Py_ssize_t end):
        """A name inside rdata: must not run past the rdata; other problems are flagged."""
        cdef int st = 0
        cdef str text = self.name(pos, end, &st)
        if st:
            self.name_flags(st)
            if st & N_FATAL:
                raise _Bad()
        return text

    cdef bytes cstring(self, Py_ssize_t* pos, Py_ssize_t end):
        cdef Py_ssize_t p = pos[0]
        cdef Py_ssize_t ln
        if p >= end:
            raise _Bad()
        ln = self.b[p]  # p < end checked above
        if p + 1 + ln > end:
            raise _Bad()
        pos[0] = p + 1 + ln
        return blob(self.b, p + 1, ln)

    cdef tuple bitmap(self, Py_ssize_t p, Py_ssize_t end):
        """NSEC/NSEC3/CSYNC type bit maps (RFC 4034 4.1.2)."""
        cdef const unsigned char* b = self.b
        cdef unsigned int window, ln, i, bit
        cdef list types = []
        while p < end:
            if p + 2 > end:
                raise _Bad()
            window = b[p]  # p + 2 <= end checked above
            ln = b[p + 1]
            if ln == 0 or ln > 32 or p + 2 + <Py_ssize_t>ln > end:
                raise _Bad()
            for i in range(ln):
                for bit in range(8):
                    if b[p + 2 + i] & (0x80 >> bit):  # p + 2 + ln <= end checked above
                        types.append(window * 256 + i * 8 + bit)
            p += 2 + ln
        return tuple(types)

    cdef object rdata(self, unsigned int rtype, Py_ssize_t p, Py_ssize_t end):
        """Typed rdata of one record in [p, end); raises _Bad if it does not fit exactly."""
        cdef const unsigned char* b = self.b
        cdef Py_ssize_t ln = end - p
        cdef Py_ssize_t q
        cdef object a, c
        if rtype == 1:
            if ln != 4:
                raise _Bad()
            return ip_text(b + p, AF_INET) if self.want_text else None  # ln == 4 checked
        if rtype == 28:
            if ln != 16:
                raise _Bad()
            return ip_text(b + p, AF_INET6) if self.want_text else None  # ln == 16 checked
        if rtype in (2, 3, 4, 5, 7, 8, 9, 12, 39):
            a = self.rname(&p, end)
        elif rtype in (15, 18, 21, 36):
            if ln < 3:
                raise _Bad()
            q = rd16(b, p)  # ln >= 3 checked above
            p += 2
            a = self.rname(&p, end)
            a = _nt(AFSDB, (q, a,)) if rtype == 18 else _nt(MX, (q, a,))
        elif rtype == 6:
            a = self.rname(&p, end)
            c = self.rname(&p, end)
            if end - p != 20:
                raise _Bad()
            # end - p == 20 checked above; without want_text (light mode: authority and
            # additional records are only checked) nobody reads the value
            if self.want_text:
                a = _nt(SOA, (a, c, rd32(b, p), rd32(b, p + 4), rd32(b, p + 8),
                              rd32(b, p + 12), rd32(b, p + 16),))
            p = end
        elif rtype in (16, 99):
            items = []
            while p < end:
                items.append(self.cstring(&p, end))
            a = tuple(items)
        elif rtype == 13:
            a = self.cstring(&p, end)
            a = _nt(HINFO, (a, self.cstring(&p, end),))
        elif rtype == 14:
            a = self.rname(&p, end)
            a = _nt(MINFO, (a, self.rname(&p, end),))
        elif rtype == 17:
            a = self.rname(&p, end)
            a = _nt(RP, (a, self.rname(&p, end),))
        elif rtype == 33:
            if ln < 7:
                raise _Bad()
            q = p
            p += 6
            # ln >= 7 checked above
            a = _nt(SRV, (rd16(b, q), rd16(b, q + 2), rd16(b, q + 4), self.rname(&p, end),))
        elif rtype == 35:
            if ln < 7:
                raise _Bad()
            q = p
            p += 4
            # ln >= 7 checked above
            a = (rd16(b, q), rd16(b, q + 2), self.cstring(&p, end), self.cstring(&p, end),
                 self.cstring(&p, end))
            a = _nt(NAPTR, tuple((*a, self.rname(&p, end))))
        elif rtype == 257:
            if ln < 2:
                raise _Bad()
            q = b[p + 1]  # ln >= 2 checked above
            if p + 2 + q > end:
                raise _Bad()
            a = _nt(CAA, (b[p], blob(b, p + 2, q), blob(b, p + 2 + q, end - p - 2 - q),))
            p = end
        elif rtype == 44:
            if ln < 2:
                raise _Bad()
            a = _nt(SSHFP, (b[p], b[p + 1], blob(b, p + 2, ln - 2),))  # ln >= 2 checked above
            p = end
        elif rtype in (52, 53):
            if ln < 3:
                raise _Bad()
            a = _nt(TLSA, (b[p], b[p + 1], b[p + 2], blob(b, p + 3, ln - 3),))  # ln >= 3 above
            p = end
        elif rtype in (43, 59, 32769):
            if ln < 4:
                raise _Bad()
            a = _nt(DS, (rd16(b, p), b[p + 2], b[p + 3], blob(b, p + 4, ln - 4),))  # ln >= 4 above
            p = end
        elif rtype in (48, 60, 25):
            if ln < 4:
                raise _Bad()
            a = _nt(DNSKEY, (rd16(b, p), b[p + 2], b[p + 3], blob(b, p + 4, ln - 4),))  # ln >= 4
            p = end
        elif rtype in (46, 24):
            if ln < 19:
                raise _Bad()
            q = p
            p += 18
            c = self.rname(&p, end)
            # ln >= 19 checked above: the 18 fixed bytes are inside the rdata
            a = _nt(RRSIG, (rd16(b, q), b[q + 2], b[q + 3], rd32(b, q + 4), rd32(b, q + 8),
                      rd32(b, q + 12), rd16(b, q + 16), c, blob(b, p, end - p),))
            p = end
        elif rtype == 47:
            a = self.rname(&p, end)
            a = _nt(NSEC, (a, self.bitmap(p, end),))
            p = end
        elif rtype == 50:
            if ln < 5:
                raise _Bad()
            q = b[p + 4]  # ln >= 5 checked above
            if p + 5 + q + 1 > end:
                raise _Bad()
            c = b[p + 5 + q]  # p + 5 + q + 1 <= end checked above
            if p + 6 + q + <Py_ssize_t>c > end:
                raise _Bad()
            a = _nt(NSEC3, (b[p], b[p + 1], rd16(b, p + 2), blob(b, p + 5, q),
                      blob(b, p + 6 + q, c), self.bitmap(p + 6 + q + c, end),))
            p = end
        elif rtype == 51:
            if ln < 5:
                raise _Bad()
            q = b[p + 4]  # ln >= 5 checked above
            if ln != 5 + q:
                raise _Bad()
            a = _nt(NSEC3PARAM, (b[p], b[p + 1], rd16(b, p + 2), blob(b, p + 5, q),))
            p = end
        elif rtype == 62:
            if ln < 6:
                raise _Bad()
            a = _nt(CSYNC, (rd32(b, p), rd16(b, p + 4), self.bitmap(p + 6, end),))  # ln >= 6 above
            p = end
        elif rtype == 256:
            if ln < 4:
                raise _Bad()
            a = _nt(URI, (rd16(b, p), rd16(b, p + 2), blob(b, p + 4, ln - 4),))  # ln >= 4 above
            p = end
        elif rtype in (64, 65):
            if ln < 3:
                raise _Bad()
            q = rd16(b, p)  # ln >= 3 checked above
            p += 2
            c = self.rname(&p, end)
            a = _nt(SVCB, (q, c, self.svc_params(p, end, q),))
            p = end
        elif rtype == 250:
            a = self.tsig(p, end)
            p = end
        elif rtype in (49, 61):
            a = blob(b, p, ln)
            p = end
        elif rtype == 29:
            # RFC 1876: version 0 is exactly 16 bytes; other versions are not defined
            if ln < 1 or (b[p] == 0 and ln != 16):  # ln >= 1 checked before b[p]
                raise _Bad()
            return None
        else:
            return None
        if p != end:
            raise _Bad()
        return a

    cdef dict svc_params(self, Py_ssize_t p, Py_ssize_t end, unsigned int priority):
        """SvcParams (RFC 9460 2.2): wire form checked exactly (raises _Bad); the rules
        between parameters are flagged: keys in strictly increasing order (a repeated key
        keeps its first value), `mandatory` neither listing itself nor a key that is
        absent (and in increasing order), no parameters in AliasMode (priority 0), no
        empty list where one item at least is required, and no-default-alpn only with
        alpn."""
        cdef const unsigned char* b = self.b
        cdef unsigned int key, ln, i
        cdef long prev = -1
        cdef Py_ssize_t q
        cdef dict params = {}
        cdef object v
        cdef tuple mandatory = None
        cdef list keys = []
        if priority == 0 and p < end:
            self.flag("svcb_alias_with_params")
        while p < end:
            if p + 4 > end:
                raise _Bad()
            key = rd16(b, p)  # p + 4 <= end checked above
            ln = rd16(b, p + 2)
            p += 4
            if p + ln > end:
                raise _Bad()
            if <long>key == prev:
                self.flag("svcb_duplicate_key")
            elif <long>key < prev:
                self.flag("svcb_key_order")
            prev = key
            keys.append(key)
            if ln == 0 and (key == 0 or key == 1 or key == 4 or key == 5 or key == 6):
                # mandatory, alpn, ech and the hints hold at least one item (RFC 9460 7, 8)
                self.flag("svcb_param_empty")
            # every read below stays inside [p, p + ln), p + ln <= end checked above
            if key == 0:
                if ln % 2:
                    raise _Bad()
                v = tuple([rd16(b, p + 2 * i) for i in range(ln // 2)])
            elif key == 1:
                items = []
                q = p
                while q < p + ln:
                    if b[q] == 0:  # q < p + ln: an alpn-id is never empty (RFC 9460 7.1.1)
                        self.flag("svcb_param_empty")
                    items.append(self.cstring(&q, p + ln))
                v = tuple(items)
            elif key == 2:
                if ln:
                    raise _Bad()
                v = True
            elif key == 3:
                if ln != 2:
                    raise _Bad()
                v = rd16(b, p)
            elif key == 4:
                if ln % 4:
                    raise _Bad()
                v = tuple([ip_text(b + p + 4 * i, AF_INET) for i in range(ln // 4)])
            elif key == 6:
                if ln % 16:
                    raise _Bad()
                v = tuple([ip_text(b + p + 16 * i, AF_INET6) for i in range(ln // 16)])
            else:
                v = blob(b, p, ln)
            if key == 0 and mandatory is None:
                mandatory = v
            name = SVC_PARAM_NAMES.get(key)
            name = name if name is not None else f"key{key}"
            if name not in params:
                params[name] = v
            p += ln
        if 2 in keys and 1 not in keys:
            self.flag("svcb_no_default_alpn_without_alpn")   # RFC 9460 7.1.1
        if mandatory is not None:
            if 0 in mandatory:
                self.flag("svcb_mandatory_self")
            if any(k not in keys for k in mandatory if k != 0):
                self.flag("svcb_mandatory_missing")
            if any(mandatory[i] >= mandatory[i + 1] for i in range(len(mandatory) - 1)):
                self.flag("svcb_mandatory_order")
        return params

    cdef object tsig(self, Py_ssize_t p, Py_ssize_t end):
        cdef const unsigned char* b = self.b
        cdef unsigned int maclen, otherlen
        alg = self.rname(&p, end)
        if p + 10 > end:
            raise _Bad()
        # p + 10 <= end checked above
        signed = (<unsigned long long>rd16(b, p) << 32) | rd32(b, p + 2)
        fudge = rd16(b, p + 6)
        maclen = rd16(b, p + 8)
        p += 10
        if p + maclen + 6 > end:
            raise _Bad()
        mac = blob(b, p, maclen)
        p += maclen
        # p + 6 <= end checked above (with the MAC)
        orig = rd16(b, p)
        err = rd16(b, p + 2)
        otherlen = rd16(b, p + 4)
        p += 6
        if p + otherlen != end:
            raise _Bad()
        return _nt(TSIG, (alg, signed, fudge, mac, orig, err, blob(b, p, otherlen),))

    cdef void ecs_check(self, Py_ssize_t p, unsigned int ln):
        """RFC 7871 6: family 1 (IPv4) or 2 (IPv6), prefixes within the address size, as
        many address bytes as the source prefix needs and no bits set past it."""
        cdef const unsigned char* b = self.b
        cdef unsigned int fam, src, scope, bits, need
        if ln < 4:
            self.flag("edns_ecs_truncated")
            return
        fam = rd16(b, p)  # ln >= 4 checked above
        src = b[p + 2]
        scope = b[p + 3]
        if fam != 1 and fam != 2:
            self.flag("edns_ecs_bad_family")
            return
        bits = 32 if fam == 1 else 128
        if src > bits or scope > bits:
            self.flag("edns_ecs_bad_prefix")
            return
        need = (src + 7) // 8
        if ln - 4 != need:
            self.flag("edns_ecs_bad_address_length")
            return
        # need >= 1 here when src % 8 != 0: the last address byte is p + 3 + need
        if src % 8 and b[p + 3 + need] & (0xFF >> (src % 8)):
            self.flag("edns_ecs_address_bits_past_prefix")

    cdef object edns(self, unsigned int payload, unsigned long ttl, Py_ssize_t p,
                     Py_ssize_t end, bint build):
        """The OPT record's fields and options (RFC 6891 6.1); with build False only the
        checks run (same flags) and None is returned."""
        cdef const unsigned char* b = self.b
        cdef unsigned int code, ln, fam, src, scope, need
        cdef list options = [] if build else None
        cdef bytes addr
        cdef object v
        cdef bint parsed
        while p < end:
            if p + 4 > end:
                self.flag("edns_option_truncated")
                break
            code = rd16(b, p)  # p + 4 <= end checked above
            ln = rd16(b, p + 2)
            p += 4
            if p + ln > end:
                self.flag("edns_option_truncated")
                if not build:
                    break
                options.append(_nt(EdnsOption, (code, _option_name(code),
                                          blob(b, p, end - p),)))
                break
            # every read below stays inside [p, p + ln), p + ln <= end checked above.
            # The options' own rules are checked in both modes (same problems).
            if code == 8:
                self.ecs_check(p, ln)
            elif code == 10:
                if not (ln == 8 or 16 <= ln <= 40):   # RFC 7873 4: client 8, server 8-32
                    self.flag("edns_cookie_bad_length")
            elif code == 11:
                if ln != 0 and ln != 2:               # RFC 7828 3.1
                    self.flag("edns_keepalive_bad_length")
            elif code == 9:
                if ln != 0 and ln != 4:               # RFC 7314 2
                    self.flag("edns_expire_bad_length")
            elif code == 15:
                if ln < 2:                            # RFC 8914 2: a 16-bit INFO-CODE
                    self.flag("edns_ede_truncated")
                elif not _utf8_ok(b + p + 2, ln - 2):
                    self.flag("edns_ede_bad_text")
            if not build:
                p += ln
                continue
            v = None
            parsed = False
            if code == 8 and ln >= 4:
                fam = rd16(b, p)
                src = b[p + 2]
                scope = b[p + 3]
                need = (src + 7) // 8
                if fam in (1, 2) and ln - 4 == need and need <= (4 if fam == 1 else 16):
                    addr = blob(b, p + 4, need) + bytes((4 if fam == 1 else 16) - need)
                    v = _nt(ClientSubnet, (fam, src, scope,
                                     ip_text(<const unsigned char*>PyBytes_AS_STRING(addr),
                                             AF_INET if fam == 1 else AF_INET6),))
                    parsed = True
            elif code == 10 and (ln == 8 or 16 <= ln <= 40):
                v = _nt(Cookie, (blob(b, p, 8), blob(b, p + 8, ln - 8),))
                parsed = True
            elif code == 11 and ln in (0, 2):
                v = rd16(b, p) if ln == 2 else None
                parsed = True
            elif code == 15 and ln >= 2:
                v = _nt(ExtendedError, (rd16(b, p), blob(b, p + 2, ln - 2).decode("utf-8", "replace"),))
                parsed = True
            if not parsed:
                v = blob(b, p, ln)
            options.append(_nt(EdnsOption, (code, _option_name(code), v,)))
            p += ln
        if not build:
            return None
        return _nt(Edns, (payload, (ttl >> 24) & 0xFF, (ttl >> 16) & 0xFF, bool(ttl & 0x8000),
                    ttl & 0x7FFF, options,))
