# cython: language_level=3
"""Serialization helpers for crafting: internet checksums (RFC 1071) with
pseudo-headers, incremental checksum update (RFC 1624), header packing, the
build of a layer stack and `/` for wirecraft.craft, the template expansion
loop that stamps millions of frames from one, and pcap records in bulk.

Every function takes bytes-like objects and checks lengths before reading;
unchecked reads carry a comment naming the check that precedes them.
"""

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.ref cimport Py_REFCNT, Py_INCREF, Py_XDECREF
from cpython.object cimport PyObject, PyObject_TypeCheck, PyTypeObject
from sys import intern as sys_intern


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline uint32_t _sum16(const uint8_t[::1] data, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    """Big-endian 16-bit word sum of data[start:end] (odd tail padded with zero), folded."""
    cdef uint64_t acc = 0
    cdef Py_ssize_t i = start
    # unchecked reads: every caller passes 0 <= start <= end <= data.shape[0] -- sum16,
    # checksum, update and pseudo_header_sum use (0, shape[0]); fill_checksum checks its
    # range first; pack_ipv4_header sums the 20 + olen bytes it allocated.
    while i + 1 < end:
        acc += (<uint32_t>data[i] << 8) | data[i + 1]
        i += 2
    if i < end:
        acc += <uint32_t>data[i] << 8
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return <uint32_t>acc


cdef inline uint32_t _fold(uint64_t acc) noexcept nogil:
    while acc >> 16:
        acc = (acc & 0xFFFF) + (acc >> 16)
    return <uint32_t>acc


def sum16(const uint8_t[::1] data) -> int:
    """One's-complement sum of `data` as 16-bit big-endian words, folded (not inverted)."""
    return _sum16(data, 0, data.shape[0])


def checksum(const uint8_t[::1] data, unsigned int initial=0) -> int:
    """Internet checksum (RFC 1071) of `data`, starting from a folded partial sum `initial`.

    `initial` is usually the sum16() of a pseudo-header, so TCP/UDP/ICMPv6
    checksums need no concatenated copy of the segment.
    """
    cdef uint64_t acc = <uint64_t>_sum16(data, 0, data.shape[0]) + initial
    return (~_fold(acc)) & 0xFFFF


def pseudo_header_sum(const uint8_t[::1] src, const uint8_t[::1] dst, unsigned int protocol,
                      unsigned long long length) -> int:
    """Folded sum of the IPv4 (RFC 793) or IPv6 (RFC 8200 s8.1) pseudo-header.

    src/dst are 4 or 16 bytes; the IPv6 form carries a 32-bit upper-layer length.
    """
    if src.shape[0] != dst.shape[0] or src.shape[0] not in (4, 16):
        raise ValueError("pseudo-header addresses must both be 4 or 16 bytes")
    cdef uint64_t acc = _sum16(src, 0, src.shape[0]) + _sum16(dst, 0, dst.shape[0])
    acc += protocol & 0xFF
    acc += (length >> 16) & 0xFFFF
    acc += length & 0xFFFF
    return _fold(acc)


def update16(unsigned int old_checksum, unsigned int old_word, unsigned int new_word) -> int:
    """RFC 1624 eqn. 3: checksum after one 16-bit word changes from old_word to new_word."""
    cdef uint64_t acc = (~old_checksum & 0xFFFF) + (~old_word & 0xFFFF) + (new_word & 0xFFFF)
    return (~_fold(acc)) & 0xFFFF


def update(unsigned int old_checksum, const uint8_t[::1] old, const uint8_t[::1] new,
           bint odd=False) -> int:
    """RFC 1624 update for a changed run of bytes of equal length.

    `odd` says the run starts at an odd offset from the start of the summed region.
    """
    if old.shape[0] != new.shape[0]:
        raise ValueError("old and new must have the same length")
    cdef uint32_t so = _sum16(old, 0, old.shape[0])
    cdef uint32_t sn = _sum16(new, 0, new.shape[0])
    if odd:
        so = ((so << 8) | (so >> 8)) & 0xFFFF
        sn = ((sn << 8) | (sn >> 8)) & 0xFFFF
    cdef uint64_t acc = (~old_checksum & 0xFFFF) + (~so & 0xFFFF) + sn
    return (~_fold(acc)) & 0xFFFF


def fill_checksum(uint8_t[::1] buf, Py_ssize_t at, Py_ssize_t start, Py_ssize_t end,
                  unsigned int initial=0, bint zero_is_ffff=False) -> int:
    """Compute the checksum of buf[start:end] (+ initial) and store it big-endian at buf[at].

    The two bytes at `at` are summed as zero. With zero_is_ffff (UDP, RFC 768)
    a computed 0 is sent as 0xFFFF. Returns the stored value.
    """
    cdef Py_ssize_t n = buf.shape[0]
    if not (0 <= start <= end <= n) or not (0 <= at and at + 2 <= n):
        raise ValueError("checksum range outside the buffer")
    buf[at] = 0
    buf[at + 1] = 0
    cdef uint64_t acc = <uint64_t>_sum16(buf, start, end) + initial
    cdef uint32_t c = (~_fold(acc)) & 0xFFFF
    if c == 0 and zero_is_ffff:
        c = 0xFFFF
    buf[at] = c >> 8
    buf[at + 1] = c & 0xFF
    return c


def pack_uint(uint8_t[::1] buf, Py_ssize_t at, unsigned long long value, int width) -> None:
    """Store `value` big-endian in `width` (1..8) bytes at buf[at]."""
    if width < 1 or width > 8 or at < 0 or at + width > buf.shape[0]:
        raise ValueError("field outside the buffer")
    cdef int k
    for k in range(width):
        buf[at + width - 1 - k] = (value >> (8 * k)) & 0xFF


def pack_ipv4_header(unsigned int header_length, unsigned int tos, unsigned int total_length,
                     unsigned int ident, unsigned int flags_frag, unsigned int ttl,
                     unsigned int protocol, int checksum, const uint8_t[::1] src,
                     const uint8_t[::1] dst, const uint8_t[::1] options, int version=4) -> bytes:
    """20-byte IPv4 header + options; checksum < 0 means compute it (RFC 791)."""
    if src.shape[0] != 4 or dst.shape[0] != 4:
        raise ValueError("IPv4 addresses must be 4 bytes")
    cdef Py_ssize_t olen = options.shape[0]
    cdef bytearray out = bytearray(20 + olen)
    cdef uint8_t[::1] b = out
    b[0] = ((version & 0xF) << 4) | ((header_length // 4) & 0xF)
    b[1] = tos & 0xFF
    b[2] = (total_length >> 8) & 0xFF
    b[3] = total_length & 0xFF
    b[4] = (ident >> 8) & 0xFF
    b[5] = ident & 0xFF
    b[6] = (flags_frag >> 8) & 0xFF
    b[7] = flags_frag & 0xFF
    b[8] = ttl & 0xFF
    b[9] = protocol & 0xFF
    memcpy(&b[12], &src[0], 4)   # src.shape[0] == 4 checked above
    memcpy(&b[16], &dst[0], 4)   # dst.shape[0] == 4 checked above
    if olen:
        memcpy(&b[20], &options[0], olen)  # out was sized 20 + olen
    cdef uint32_t c
    if checksum < 0:
        c = (~_sum16(b, 0, 20 + olen)) & 0xFFFF
    else:
        c = checksum & 0xFFFF
    b[10] = c >> 8
    b[11] = c & 0xFF
    return bytes(out)


@cython.boundscheck(False)
@cython.wraparound(False)
def expand(const uint8_t[::1] base, Py_ssize_t count, const int64_t[::1] offsets,
           const int64_t[::1] widths, const uint64_t[:, ::1] values,
           const int64_t[::1] csum_at, const int64_t[::1] csum_start,
           const uint8_t[::1] csum_zero_ffff, const uint8_t[:, ::1] affects,
           uint8_t[::1] out) -> None:
    """Stamp `count` copies of `base` into `out`, writing values[i, f] into field f.

    Field f is widths[f] bytes at offsets[f]. Checksum c lives at csum_at[c]
    and covers a region starting at csum_start[c]; affects[f, c] says field f
    is summed by checksum c (directly or through the pseudo-header). Checksums
    are updated incrementally (RFC 1624) from the base frame's value, so the
    cost per frame is the fields changed, not the frame length.
    A checksum whose base value is 0 with csum_zero_ffff set (UDP "no
    checksum") is left at 0.
    """
    cdef Py_ssize_t flen = base.shape[0]
    cdef Py_ssize_t nf = offsets.shape[0]
    cdef Py_ssize_t nc = csum_at.shape[0]
    cdef Py_ssize_t i, f, c, k, pos
    cdef uint64_t v, acc
    cdef uint32_t old_sum, new_sum, word, base_c
    cdef uint8_t byte_old, byte_new
    cdef uint8_t* dst
    if count < 0 or out.shape[0] < count * flen:
        raise ValueError("output buffer too small")
    if widths.shape[0] != nf or affects.shape[0] != nf or (nf and affects.shape[1] != nc):
        raise ValueError("field tables disagree in length")
    if values.shape[0] < count or values.shape[1] != nf:
        raise ValueError("values must be (count, fields)")
    if csum_start.shape[0] != nc or csum_zero_ffff.shape[0] != nc:
        raise ValueError("checksum tables disagree in length")
    for f in range(nf):
        if widths[f] < 1 or widths[f] > 8 or offsets[f] < 0 or offsets[f] + widths[f] > flen:
            raise ValueError("field outside the frame")
    for c in range(nc):
        if csum_at[c] < 0 or csum_at[c] + 2 > flen or csum_start[c] < 0 or csum_start[c] > flen:
            raise ValueError("checksum outside the frame")
    if flen == 0:
        return
    # All indices below are bounded by the checks above: out holds count*flen bytes,
    # every field and checksum lies inside [0, flen).
    with nogil:
        for i in range(count):
            dst = &out[i * flen]
            memcpy(dst, &base[0], flen)
            for c in range(nc):
                base_c = (<uint32_t>base[csum_at[c]] << 8) | base[csum_at[c] + 1]
                if base_c == 0 and csum_zero_ffff[c]:
                    continue
                acc = (~base_c) & 0xFFFF
                for f in range(nf):
                    if not affects[f, c]:
                        continue
                    v = values[i, f]
                    old_sum = 0
                    new_sum = 0
                    for k in range(widths[f]):
                        pos = offsets[f] + k
                        byte_old = base[pos]
                        byte_new = (v >> (8 * (widths[f] - 1 - k))) & 0xFF
                        if ((pos - csum_start[c]) & 1) == 0:
                            old_sum += <uint32_t>byte_old << 8
                            new_sum += <uint32_t>byte_new << 8
                        else:
                            old_sum += byte_old
                            new_sum += byte_new
                    acc += (~_fold(old_sum)) & 0xFFFF
                    acc += _fold(new_sum)
                word = (~_fold(acc)) & 0xFFFF
                if word == 0 and csum_zero_ffff[c]:
                    word = 0xFFFF
                dst[csum_at[c]] = word >> 8
                dst[csum_at[c] + 1] = word & 0xFF
            for f in range(nf):
                v = values[i, f]
                for k in range(widths[f]):
                    dst[offsets[f] + k] = (v >> (8 * (widths[f] - 1 - k))) & 0xFF


# ---------------------------------------------------------------- whole headers in one call
# The layer classes hand their field values here so a header (and its checksum) costs one
# call and one allocation; `bytes` arguments are read in place, without a buffer request.

cdef inline uint32_t _sum16p(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    """Folded big-endian 16-bit word sum of p[0:n]; callers pass the length they own."""
    cdef uint64_t acc = 0
    cdef Py_ssize_t i = 0
    while i + 1 < n:
        acc += (<uint32_t>p[i] << 8) | p[i + 1]
        i += 2
    if i < n:
        acc += <uint32_t>p[i] << 8
    return _fold(acc)


cdef inline void _put16(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = (v >> 8) & 0xFF
    p[1] = v & 0xFF


cdef bytes _eth_c(bytes dst, bytes src, uint32_t ethertype, bytes payload, bytes trailer):
    if len(dst) != 6 or len(src) != 6:
        raise ValueError("MAC addresses must be 6 bytes")
    cdef Py_ssize_t plen = len(payload), tlen = len(trailer)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 14 + plen + tlen)
    cdef uint8_t* o = <uint8_t*>PyBytes_AS_STRING(out)
    memcpy(o, PyBytes_AS_STRING(dst), 6)      # len(dst) == 6 checked above
    memcpy(o + 6, PyBytes_AS_STRING(src), 6)  # len(src) == 6 checked above
    _put16(o + 12, ethertype)
    memcpy(o + 14, PyBytes_AS_STRING(payload), plen)      # out sized 14 + plen + tlen
    memcpy(o + 14 + plen, PyBytes_AS_STRING(trailer), tlen)
    return out


def ethernet_build(bytes dst, bytes src, unsigned int ethertype, bytes payload,
                   bytes trailer) -> bytes:
    """dst + src + type + payload + trailer: an Ethernet II frame (addresses 6 bytes each)."""
    return _eth_c(dst, src, ethertype & 0xFFFF, payload, trailer)


cdef bytes _ipv4_c(unsigned int header_length, unsigned int tos, unsigned int total_length,
                   unsigned int ident, unsigned int flags_frag, unsigned int ttl,
                   unsigned int protocol, long checksum, bytes src, bytes dst, bytes options,
                   bytes payload, unsigned int version):
    if len(src) != 4 or len(dst) != 4:
        raise ValueError("IPv4 addresses must be 4 bytes")
    cdef Py_ssize_t olen = len(options), plen = len(payload)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 20 + olen + plen)
    cdef uint8_t* b = <uint8_t*>PyBytes_AS_STRING(out)
    b[0] = ((version & 0xF) << 4) | ((header_length // 4) & 0xF)
    b[1] = tos & 0xFF
    _put16(b + 2, total_length)
    _put16(b + 4, ident)
    _put16(b + 6, flags_frag)
    b[8] = ttl & 0xFF
    b[9] = protocol & 0xFF
    b[10] = 0
    b[11] = 0
    memcpy(b + 12, PyBytes_AS_STRING(src), 4)  # len(src) == 4 checked above
    memcpy(b + 16, PyBytes_AS_STRING(dst), 4)  # len(dst) == 4 checked above
    memcpy(b + 20, PyBytes_AS_STRING(options), olen)  # out sized 20 + olen + plen
    memcpy(b + 20 + olen, PyBytes_AS_STRING(payload), plen)
    if checksum < 0:
        _put16(b + 10, (~_sum16p(b, 20 + olen)) & 0xFFFF)
    else:
        _put16(b + 10, <uint32_t>(checksum & 0xFFFF))
    return out


def ipv4_build(unsigned int header_length, unsigned int tos, unsigned int total_length,
               unsigned int ident, unsigned int flags_frag, unsigned int ttl,
               unsigned int protocol, long checksum, bytes src, bytes dst, bytes options,
               bytes payload, unsigned int version=4) -> bytes:
    """IPv4 header + options + payload in one buffer; checksum < 0 computes it (RFC 791)."""
    return _ipv4_c(header_length, tos, total_length, ident, flags_frag, ttl, protocol, checksum,
                   src, dst, options, payload, version)


cdef uint32_t _pseudo(object src, object dst, unsigned int protocol, Py_ssize_t length) except? 0xFFFFFFFF:
    if type(src) is not bytes or type(dst) is not bytes:
        raise TypeError("pseudo-header addresses must be bytes")
    cdef Py_ssize_t n = len(<bytes>src)
    if n != len(<bytes>dst) or (n != 4 and n != 16):
        raise ValueError("pseudo-header addresses must both be 4 or 16 bytes")
    cdef uint64_t acc = _sum16p(<const uint8_t*>PyBytes_AS_STRING(src), n)
    acc += _sum16p(<const uint8_t*>PyBytes_AS_STRING(dst), n)
    acc += protocol & 0xFF
    acc += (<uint64_t>length >> 16) & 0xFFFF
    acc += length & 0xFFFF
    return _fold(acc)


cdef bytes _transport_c(const uint8_t* header, Py_ssize_t hlen, bytes payload, Py_ssize_t at,
                        long checksum, object src, object dst, unsigned int protocol,
                        bint zero_is_ffff):
    # callers own hlen bytes at header and pass 0 <= at, at + 2 <= hlen
    cdef Py_ssize_t plen = len(payload)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, hlen + plen)
    cdef uint8_t* b = <uint8_t*>PyBytes_AS_STRING(out)
    memcpy(b, header, hlen)  # out sized hlen + plen
    memcpy(b + hlen, PyBytes_AS_STRING(payload), plen)
    b[at] = 0
    b[at + 1] = 0
    cdef uint64_t acc
    cdef uint32_t c
    if checksum >= 0:
        c = <uint32_t>(checksum & 0xFFFF)
    elif src is None and checksum == -2:
        c = 0
    else:
        acc = _sum16p(b, hlen + plen)
        if src is not None:
            acc += _pseudo(src, dst, protocol, hlen + plen)
        c = (~_fold(acc)) & 0xFFFF
        if c == 0 and zero_is_ffff:
            c = 0xFFFF
    _put16(b + at, c)
    return out


def transport_build(bytes header, bytes payload, Py_ssize_t at, long checksum,
                    object src, object dst, unsigned int protocol,
                    bint zero_is_ffff=False) -> bytes:
    """header + payload with the 16-bit checksum at `at` (TCP/UDP/ICMP/ICMPv6).

    checksum >= 0 is stored as given. Otherwise it is computed over the segment
    plus, when src/dst are given (4 or 16 bytes), the pseudo-header with the
    segment length; src None means no pseudo-header: checksum -1 then computes
    a plain checksum and -2 leaves 0 (UDP over a non-IP link). zero_is_ffff
    sends a computed 0 as 0xFFFF (UDP, RFC 768).
    """
    if at < 0 or at + 2 > len(header):
        raise ValueError("checksum outside the header")
    return _transport_c(<const uint8_t*>PyBytes_AS_STRING(header), len(header), payload, at,
                        checksum, src, dst, protocol, zero_is_ffff)


# ---------------------------------------------------------------- building a layer stack
# wirecraft.craft registers its classes and helpers here (register()); build() then
# serializes Ethernet, IPv4, UDP and one-question DNS layers without a Python frame each
# and calls `_serialize` of every other layer. Each fast path does what the layer's own
# `_serialize` does (the Python methods call these same functions), field by field.

cdef object _AUTO = object()
cdef object _Eth = None, _IP4 = None, _UDP = None, _DNS = None, _Question = None
cdef object _Layer = None
cdef PyTypeObject* _LayerT = NULL  # the type object _Layer holds
cdef dict _MAC_CACHE = {}, _IP4_CACHE = {}, _NAME_CACHE = {}, _TYPES = {}, _CLASSES = {}
cdef dict _ETHERTYPES = {}, _PROTOCOLS = {}
cdef object _mac_bytes = None, _ip4_bytes = None, _ethertype_of = None
cdef object _ip_protocol_of = None, _pseudo_addrs = None, _encoded = None, _udp_port_of = None
cdef object _type_number = None, _class_number = None, _as_layer = None
cdef Py_ssize_t _RC_SELF = 0, _RC_OTHER = 0, _RC_CHAIN = 0
cdef Py_ssize_t _seen_self = 0, _seen_other = 0
cdef bint _question_plain = False


# Fields are read straight from the instance slots (offsets taken from each class's member
# descriptors at registration); attribute lookup through Layer.__getattr__'s hook would cost
# more than the rest of the work. Only instances of the registered class (checked before
# every read: exact type, or Layer for payload/_resolved) are read this way.

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    object _generic_alloc "PyType_GenericAlloc"(PyTypeObject* t, Py_ssize_t nitems)

cdef enum:
    F_PAYLOAD, F_RESOLVED,
    E_DST, E_SRC, E_TYPE, E_TRAILER,
    I_VERSION, I_HL, I_TOS, I_TOTAL, I_ID, I_FLAGS, I_FRAG, I_TTL, I_PROTO, I_CSUM, I_SRC,
    I_DST, I_OPTIONS,
    U_SRC, U_DST, U_LEN, U_CSUM,
    D_ID, D_QR, D_OPCODE, D_AA, D_TC, D_RD, D_RA, D_Z, D_AD, D_CD, D_RCODE, D_QD, D_AN, D_NS,
    D_AR, D_QUESTIONS, D_ANSWERS, D_AUTH, D_ADD,
    Q_NAME, Q_TYPE, Q_CLASS,
    N_FIELDS

_FIELD_SPEC = (
    ("Layer", "payload"), ("Layer", "_resolved"),
    ("Ethernet", "dst"), ("Ethernet", "src"), ("Ethernet", "type"), ("Ethernet", "trailer"),
    ("IPv4", "version"), ("IPv4", "header_length"), ("IPv4", "tos"), ("IPv4", "total_length"),
    ("IPv4", "id"), ("IPv4", "flags"), ("IPv4", "frag_offset"), ("IPv4", "ttl"),
    ("IPv4", "protocol"), ("IPv4", "checksum"), ("IPv4", "src"), ("IPv4", "dst"),
    ("IPv4", "options"),
    ("UDP", "src_port"), ("UDP", "dst_port"), ("UDP", "length"), ("UDP", "checksum"),
    ("DNS", "id"), ("DNS", "qr"), ("DNS", "opcode"), ("DNS", "aa"), ("DNS", "tc"), ("DNS", "rd"),
    ("DNS", "ra"), ("DNS", "z"), ("DNS", "ad"), ("DNS", "cd"), ("DNS", "rcode"),
    ("DNS", "qdcount"), ("DNS", "ancount"), ("DNS", "nscount"), ("DNS", "arcount"),
    ("DNS", "questions"), ("DNS", "answers"), ("DNS", "authorities"), ("DNS", "additionals"),
    ("Question", "name"), ("Question", "type"), ("Question", "rclass"),
)
assert len(_FIELD_SPEC) == N_FIELDS

cdef Py_ssize_t _OFF[N_FIELDS]
cdef enum:
    T_OBJECT_EX = 16  # structmember.h: an object slot that raises AttributeError when unset


cdef void _take_offsets(str cls_name, object cls) except *:
    cdef PyMemberDef* m
    cdef Py_ssize_t k
    for k in range(N_FIELDS):
        if _FIELD_SPEC[k][0] != cls_name:
            continue
        d = getattr(cls, _FIELD_SPEC[k][1])
        if type(d).__name__ != "member_descriptor":
            raise TypeError(f"{cls_name}.{_FIELD_SPEC[k][1]} is not a slot")
        m = (<PyMemberDescrObject*><PyObject*>d).d_member
        if m.type != T_OBJECT_EX or m.offset < <Py_ssize_t>sizeof(PyObject):
            raise TypeError(f"{cls_name}.{_FIELD_SPEC[k][1]} is not an object slot")
        _OFF[k] = m.offset


cdef inline object _get(object obj, int k):
    # obj is an instance of the class field k was registered for (callers check the type),
    # so _OFF[k] lies inside it
    cdef PyObject* v = (<PyObject**>((<char*><PyObject*>obj) + _OFF[k]))[0]
    if v == NULL:
        raise AttributeError(_FIELD_SPEC[k][1])
    return <object>v


cdef inline void _put(object obj, int k, object value):
    # same precondition as _get
    cdef PyObject** slot = <PyObject**>((<char*><PyObject*>obj) + _OFF[k])
    cdef PyObject* old = slot[0]
    Py_INCREF(value)
    slot[0] = <PyObject*>value
    Py_XDECREF(old)


cdef inline object _payload(object node):
    if _LayerT != NULL and PyObject_TypeCheck(node, _LayerT):
        return _get(node, F_PAYLOAD)
    return node.payload


def register(**names) -> None:
    """Called by wirecraft.craft at import: the layer classes, caches and helpers used here."""
    global _AUTO, _Eth, _IP4, _UDP, _DNS, _Question, _Layer, _MAC_CACHE, _IP4_CACHE
    global _NAME_CACHE, _TYPES, _CLASSES, _mac_bytes, _ip4_bytes, _ethertype_of
    global _ip_protocol_of, _pseudo_addrs, _encoded, _type_number, _class_number, _as_layer
    global _ETHERTYPES, _PROTOCOLS, _LayerT, _question_plain, _udp_port_of
    for key, value in names.items():
        if key in ("Ethernet", "IPv4", "UDP", "DNS", "Question", "Layer"):
            # the classes whose slots the serializer reads directly
            if not isinstance(value, type):
                raise TypeError(f"{key} must be a class")
            _take_offsets(key, value)
        if key == "AUTO": _AUTO = value
        elif key == "Ethernet": _Eth = value
        elif key == "IPv4": _IP4 = value
        elif key == "UDP": _UDP = value
        elif key == "DNS": _DNS = value
        elif key == "Question":
            _Question = value
            # dns_query may make one without calling it: a slots dataclass of exactly the
            # fields name, type, rclass, with object's __new__ and __setattr__
            _question_plain = (getattr(value, "__slots__", None) == ("name", "type", "rclass")
                               and value.__new__ is object.__new__
                               and value.__setattr__ is object.__setattr__
                               and not hasattr(value, "__post_init__"))
        elif key == "Layer":
            _Layer = value
            _LayerT = <PyTypeObject*>value
        elif key == "mac_cache": _MAC_CACHE = value
        elif key == "ip4_cache": _IP4_CACHE = value
        elif key == "name_cache": _NAME_CACHE = value
        elif key == "types": _TYPES = value
        elif key == "classes": _CLASSES = value
        elif key == "mac_bytes": _mac_bytes = value
        elif key == "ip4_bytes": _ip4_bytes = value
        elif key == "ethertype_of": _ethertype_of = value
        elif key == "ip_protocol_of": _ip_protocol_of = value
        elif key == "udp_port_of": _udp_port_of = value
        elif key == "pseudo_addrs": _pseudo_addrs = value
        elif key == "encoded": _encoded = value
        elif key == "type_number": _type_number = value
        elif key == "class_number": _class_number = value
        elif key == "as_layer": _as_layer = value
        elif key == "ethertypes": _ETHERTYPES = value
        elif key == "protocols": _PROTOCOLS = value
        else:
            raise TypeError(f"register: unknown name {key!r}")


@cython.final
@cython.freelist(32)
@cython.no_gc  # holds ints and a tuple of str: no reference cycle can pass through it
cdef class Derived:
    """What the last build derived for a layer's AUTO fields: a small read-only mapping.

    Layer._resolved of Ethernet, IPv4, UDP and DNS layers (other layers use a dict); a
    field left out was given explicitly (value None here means "not derived").
    """

    cdef tuple names
    cdef object v0, v1, v2, v3, v4

    cdef inline object _at(self, Py_ssize_t k):
        if k == 0:
            return self.v0
        if k == 1:
            return self.v1
        if k == 2:
            return self.v2
        if k == 3:
            return self.v3
        return self.v4

    cdef Py_ssize_t _find(self, object key):
        cdef Py_ssize_t k
        for k in range(len(self.names)):
            if self.names[k] == key:
                return k if self._at(k) is not None else -1
        return -1

    def get(self, key, default=None):
        cdef Py_ssize_t k = self._find(key)
        return default if k < 0 else self._at(k)

    def __getitem__(self, key):
        cdef Py_ssize_t k = self._find(key)
        if k < 0:
            raise KeyError(key)
        return self._at(k)

    def __contains__(self, key) -> bool:
        return self._find(key) >= 0

    def keys(self) -> list:
        return [n for k, n in enumerate(self.names) if self._at(k) is not None]

    def items(self) -> list:
        return [(n, self._at(k)) for k, n in enumerate(self.names) if self._at(k) is not None]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return repr(dict(self.items()))


cdef tuple _ETH_DERIVED = ("type",)
cdef tuple _IP4_DERIVED = ("header_length", "total_length", "protocol", "id", "checksum")
cdef tuple _UDP_DERIVED = ("length", "checksum", "src_port", "dst_port")
cdef tuple _DNS_DERIVED = ("qdcount", "ancount", "nscount", "arcount")


cdef inline Derived _derived(tuple names):
    cdef Derived d = Derived.__new__(Derived)
    d.names = names
    return d


cdef inline bytes _mac(object v):
    cdef object b
    if type(v) is str:
        b = _MAC_CACHE.get(v)
        if b is not None:
            return <bytes>b
    return _mac_bytes(v)


cdef inline bytes _ip4(object v):
    cdef object b
    if type(v) is str:
        b = _IP4_CACHE.get(v)
        if b is not None:
            return <bytes>b
    return _ip4_bytes(v)


cdef inline object _upper(list stack, Py_ssize_t i):
    return stack[i + 1] if i + 1 < len(stack) else None


cdef bytes _ethernet_layer(object layer, bytes payload, list stack, Py_ssize_t i, Derived r):
    etype = _get(layer, E_TYPE)
    if etype is _AUTO:
        upper = _upper(stack, i)
        etype = _ETHERTYPES.get(type(upper))
        if etype is None:
            etype = _ethertype_of(upper)
        r.v0 = etype
    trailer = _get(layer, E_TRAILER)
    if type(trailer) is not bytes:
        trailer = bytes(trailer)
    return _eth_c(_mac(_get(layer, E_DST)), _mac(_get(layer, E_SRC)), etype & 0xFFFF, payload, trailer)


cdef bytes _ipv4_layer(object layer, bytes payload, list stack, Py_ssize_t i, Derived r):
    options = _get(layer, I_OPTIONS)
    if options:
        options = bytes(options)
        if len(options) % 4:
            options = options + b"\0" * (4 - len(options) % 4)
    elif type(options) is not bytes:
        options = b""
    hl = _get(layer, I_HL)
    if hl is _AUTO:
        hl = 20 + len(options)
        r.v0 = hl
    total = _get(layer, I_TOTAL)
    if total is _AUTO:
        total = 20 + len(options) + len(payload)
        r.v1 = total
    proto = _get(layer, I_PROTO)
    if proto is _AUTO:
        upper = _upper(stack, i)
        proto = _PROTOCOLS.get(type(upper)) if upper is not None else 0
        if proto is None:
            proto = _ip_protocol_of(upper, 0)
        r.v2 = proto
    flags = _get(layer, I_FLAGS)
    if type(flags) is not int:
        flags = layer.flags_int()
    flags_frag = ((flags & 7) << 13) | ((_get(layer, I_FRAG) // 8) & 0x1FFF)
    ident = _get(layer, I_ID)
    if ident is _AUTO:
        ident = 1
        r.v3 = 1
    csum = _get(layer, I_CSUM)
    cdef bytes out = _ipv4_c(hl, _get(layer, I_TOS), total & 0xFFFF, ident & 0xFFFF, flags_frag,
                             _get(layer, I_TTL), proto, -1 if csum is _AUTO else csum, _ip4(_get(layer, I_SRC)),
                             _ip4(_get(layer, I_DST)), options, payload, _get(layer, I_VERSION))
    if csum is _AUTO:
        r.v4 = (out[10] << 8) | out[11]
    return out


cdef bytes _udp_layer(object layer, bytes payload, list stack, Py_ssize_t i, Derived r):
    cdef uint8_t h[8]
    length = _get(layer, U_LEN)
    if length is _AUTO:
        length = 8 + len(payload)
        r.v0 = length
    src_port = _get(layer, U_SRC)
    dst_port = _get(layer, U_DST)
    if src_port is _AUTO or dst_port is _AUTO:
        # the port the binding table gives the layer above (wirecraft.craft.layers)
        bound = _udp_port_of(_upper(stack, i))
        if src_port is _AUTO:
            src_port = r.v2 = bound
        if dst_port is _AUTO:
            dst_port = r.v3 = bound
    cdef uint16_t sport = src_port, dport = dst_port
    _put16(h, sport)
    _put16(h + 2, dport)
    _put16(h + 4, <uint32_t>(length & 0xFFFF))
    h[6] = 0
    h[7] = 0
    csum = _get(layer, U_CSUM)
    cdef bytes seg
    if csum is not _AUTO:
        return _transport_c(h, 8, payload, 6, csum & 0xFFFF, None, None, 17, False)
    below = stack[i - 1] if i > 0 else None
    if type(below) is _IP4:
        src, dst = _ip4(_get(below, I_SRC)), _ip4(_get(below, I_DST))
    else:
        src, dst = _pseudo_addrs(stack, i)
    seg = _transport_c(h, 8, payload, 6, -2, src, dst, 17, True)
    r.v1 = (seg[6] << 8) | seg[7]
    return seg


cdef object _dns_layer(object layer, bytes payload, list stack, Py_ssize_t i, Derived r):
    """One question and no records (a query): header + cached name + type/class."""
    questions = _get(layer, D_QUESTIONS)
    if (type(questions) is not list or len(questions) != 1 or _get(layer, D_ANSWERS)
            or _get(layer, D_AUTH) or _get(layer, D_ADD)
            or type((<list>questions)[0]) is not _Question):
        return None  # the general writer in DNS._serialize
    q = (<list>questions)[0]
    cdef uint16_t counts[4]
    qd = _get(layer, D_QD)
    if qd is _AUTO:
        qd = r.v0 = 1
    an = _get(layer, D_AN)
    if an is _AUTO:
        an = r.v1 = 0
    ns = _get(layer, D_NS)
    if ns is _AUTO:
        ns = r.v2 = 0
    ar = _get(layer, D_AR)
    if ar is _AUTO:
        ar = r.v3 = 0
    counts[0] = qd & 0xFFFF
    counts[1] = an & 0xFFFF
    counts[2] = ns & 0xFFFF
    counts[3] = ar & 0xFFFF
    cdef uint32_t ident = _get(layer, D_ID) & 0xFFFF
    cdef long long qr = _get(layer, D_QR), opcode = _get(layer, D_OPCODE), aa = _get(layer, D_AA), tc = _get(layer, D_TC)
    cdef long long rd = _get(layer, D_RD), ra = _get(layer, D_RA), z = _get(layer, D_Z), ad = _get(layer, D_AD), cd = _get(layer, D_CD)
    cdef long long rcode = _get(layer, D_RCODE)
    cdef uint32_t flags = <uint32_t>((qr & 1) << 15 | (opcode & 0xF) << 11 | (aa & 1) << 10
                                     | (tc & 1) << 9 | (rd & 1) << 8 | (ra & 1) << 7
                                     | (z & 1) << 6 | (ad & 1) << 5 | (cd & 1) << 4
                                     | (rcode & 0xF))
    name = _get(q, Q_NAME)
    hit = None
    if type(name) is str or type(name) is bytes:
        hit = _NAME_CACHE.get(name)
    if hit is None:
        hit = _encoded(name)
    cdef bytes wire = (<tuple>hit)[1]
    qtype = _get(q, Q_TYPE)
    t = _TYPES.get(qtype) if type(qtype) is str else None
    if t is None:
        t = _type_number(qtype)
    qclass = _get(q, Q_CLASS)
    c = _CLASSES.get(qclass) if type(qclass) is str else None
    if c is None:
        c = _class_number(qclass)
    cdef uint32_t tn = t, cn = c
    cdef Py_ssize_t wlen = len(wire), plen = len(payload)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 12 + wlen + 4 + plen)
    cdef uint8_t* o = <uint8_t*>PyBytes_AS_STRING(out)
    _put16(o, ident)
    _put16(o + 2, flags)
    _put16(o + 4, counts[0])
    _put16(o + 6, counts[1])
    _put16(o + 8, counts[2])
    _put16(o + 10, counts[3])
    memcpy(o + 12, PyBytes_AS_STRING(wire), wlen)  # out sized 12 + wlen + 4 + plen
    _put16(o + 12 + wlen, tn)
    _put16(o + 14 + wlen, cn)
    memcpy(o + 16 + wlen, PyBytes_AS_STRING(payload), plen)
    return out


def build(object top) -> bytes:
    """Serialize a layer stack, deriving every AUTO field (Layer.build)."""
    cdef list stack = []
    node = top
    while node is not None:
        stack.append(node)
        node = _payload(node)
    cdef Py_ssize_t i
    cdef Derived r
    data = b""
    for i in range(len(stack) - 1, -1, -1):
        layer = stack[i]
        t = type(layer)
        if t is _UDP:
            r = _derived(_UDP_DERIVED)
            data = _udp_layer(layer, data, stack, i, r)
            _put(layer, F_RESOLVED, r)
        elif t is _IP4:
            r = _derived(_IP4_DERIVED)
            data = _ipv4_layer(layer, data, stack, i, r)
            _put(layer, F_RESOLVED, r)
        elif t is _Eth:
            r = _derived(_ETH_DERIVED)
            data = _ethernet_layer(layer, data, stack, i, r)
            _put(layer, F_RESOLVED, r)
        else:
            out = None
            if t is _DNS:
                r = _derived(_DNS_DERIVED)
                out = _dns_layer(layer, data, stack, i, r)
                if out is not None:
                    _put(layer, F_RESOLVED, r)
            if out is None:
                layer._resolved = {}
                out = layer._serialize(data, stack, i)
            data = out
        if type(data) is not bytes:
            data = bytes(data)
    return data


cdef dict _PLAIN = {}


cdef object _as_registered(object layer, object base):
    """`layer` itself if its class keeps `base`'s field slots, else a `base` copy of its fields.

    A subclass that turns a field into a property is read through that property.
    """
    t = type(layer)
    ok = _PLAIN.get(t)
    if ok is None:
        ok = all(getattr(t, n) is getattr(base, n) for n, _ in base.fields)
        _PLAIN[t] = ok
    if ok:
        return layer
    plain = object.__new__(base)
    for n, _ in base.fields:
        setattr(plain, n, getattr(layer, n))
    plain.payload = None
    return plain


def serialize_layer(object layer, bytes payload, list stack, Py_ssize_t index) -> bytes:
    """`_serialize` of Ethernet, IPv4 and UDP layers (and their subclasses); build() calls
    the same code directly."""
    cdef Derived r
    if isinstance(layer, _UDP):
        r = _derived(_UDP_DERIVED)
        out = _udp_layer(_as_registered(layer, _UDP), payload, stack, index, r)
    elif isinstance(layer, _IP4):
        r = _derived(_IP4_DERIVED)
        out = _ipv4_layer(_as_registered(layer, _IP4), payload, stack, index, r)
    elif isinstance(layer, _Eth):
        r = _derived(_ETH_DERIVED)
        out = _ethernet_layer(_as_registered(layer, _Eth), payload, stack, index, r)
    else:
        raise TypeError(f"no fast path for {type(layer).__name__}")
    layer._resolved = r
    return out


# ---------------------------------------------------------------- `/` without copies

cdef Py_ssize_t _chain_max_rc(object node):
    cdef Py_ssize_t worst = 0, c
    nxt = _payload(node)
    while nxt is not None:
        c = Py_REFCNT(nxt)
        if c > worst:
            worst = c
        nxt = _payload(nxt)
    return worst


def chain_rc(object node) -> int:
    """Largest reference count among the layers above `node` (import-time calibration)."""
    return _chain_max_rc(node)


def seen_rc() -> tuple:
    """(self, other) reference counts seen by the last stack() call (calibration)."""
    return _seen_self, _seen_other


def set_rc_limits(Py_ssize_t self_limit, Py_ssize_t other_limit, Py_ssize_t chain_limit) -> None:
    """Counts at or under which stack() may reuse an operand instead of copying it."""
    global _RC_SELF, _RC_OTHER, _RC_CHAIN
    _RC_SELF, _RC_OTHER, _RC_CHAIN = self_limit, other_limit, chain_limit


def stack(self, other):
    """Layer.__truediv__: `self / other`, copying an operand only when someone else holds it.

    An operand is reused when its reference count and those of every layer above it are
    what a temporary has (limits measured at import, see wirecraft.craft.base); a layer
    anyone else can reach is copied, so `a / b` never changes a or b.
    """
    global _seen_self, _seen_other
    cdef Py_ssize_t rs = Py_REFCNT(self), ro = Py_REFCNT(other)
    if _LayerT == NULL:
        raise RuntimeError("wirecraft.craft.base registers Layer first")
    _seen_self = rs
    _seen_other = ro
    cdef bint own_other = ro <= _RC_OTHER
    right = other
    if not PyObject_TypeCheck(right, _LayerT):
        right = _as_layer(right)
        own_other = True
    if rs <= _RC_SELF and _chain_max_rc(self) <= _RC_CHAIN:
        top = self
    else:
        top = self.copy()
    if not (own_other and _chain_max_rc(right) <= _RC_CHAIN):
        right = right.copy()
    last = top
    nxt = _payload(last)
    while nxt is not None:
        last = nxt
        nxt = _payload(last)
    if PyObject_TypeCheck(last, _LayerT):
        _put(last, F_PAYLOAD, right)
    else:
        last.payload = right
    return top


# ---------------------------------------------------------------- pcap records in bulk

cdef inline void _put_le32(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = v & 0xFF
    p[1] = (v >> 8) & 0xFF
    p[2] = (v >> 16) & 0xFF
    p[3] = (v >> 24) & 0xFF


@cython.boundscheck(False)
@cython.wraparound(False)
def pcap_records(const uint8_t[::1] frames, Py_ssize_t frame_length, Py_ssize_t count,
                 long long start_ns, long long interval_ns, bint nanosecond=True,
                 Py_ssize_t snaplen=262144) -> bytearray:
    """`count` pcap records (16-byte header + data) for frames of `frame_length` bytes laid
    back to back in `frames`, frame i stamped start_ns + i * interval_ns.

    Data beyond snaplen is cut (the header keeps the real length), as PcapWriter.write does.
    """
    if count < 0 or frame_length < 0 or snaplen < 0:
        raise ValueError("count, frame_length and snaplen must be >= 0")
    if frames.shape[0] < count * frame_length:
        raise ValueError("frames holds fewer than count * frame_length bytes")
    cdef Py_ssize_t cap = frame_length if frame_length < snaplen else snaplen
    cdef Py_ssize_t rlen = 16 + cap
    cdef bytearray out = bytearray(count * rlen)
    if count == 0:
        return out
    cdef uint8_t* o = <uint8_t*>(<char*>out)
    cdef Py_ssize_t i
    cdef long long ts, sec, frac
    cdef const uint8_t* src = &frames[0]
    cdef uint32_t hdr[4]
    # frames holds count * frame_length bytes (checked above) and out count * rlen
    with nogil:
        for i in range(count):
            ts = start_ns + i * interval_ns
            sec = ts // 1000000000
            frac = ts % 1000000000
            if frac < 0:  # floor division, as Python's divmod
                frac += 1000000000
                sec -= 1
            if not nanosecond:
                frac //= 1000
            hdr[0] = <uint32_t><unsigned long long>sec  # low 32 bits, as sec & 0xFFFFFFFF
            hdr[1] = <uint32_t>frac
            hdr[2] = <uint32_t>cap
            hdr[3] = <uint32_t>frame_length
            _put_le32(o, hdr[0])
            _put_le32(o + 4, hdr[1])
            _put_le32(o + 8, hdr[2])
            _put_le32(o + 12, hdr[3])
            memcpy(o + 16, src + i * frame_length, cap)
            o += rlen
    return out



# ---------------------------------------------------------------- copying a layer

cdef dict _CLONE_TABLES = {}  # layer class -> bytes: (offset, is list field) pairs of Py_ssize_t

ctypedef struct _SlotEntry:
    Py_ssize_t offset
    Py_ssize_t is_list


cdef bytes _clone_table(object t):
    cdef PyMemberDef* m
    cdef list entries = []
    list_fields = set(getattr(t, "_list_fields", ()))
    seen = set()
    for klass in t.__mro__:
        for name in klass.__dict__.get("__slots__", ()):
            if name in seen or name.startswith("__") or name in ("payload", "_resolved"):
                continue
            seen.add(name)
            d = klass.__dict__.get(name)
            if type(d).__name__ != "member_descriptor":
                raise TypeError(f"{klass.__name__}.{name} is not a slot")
            m = (<PyMemberDescrObject*><PyObject*>d).d_member
            if m.type != T_OBJECT_EX or m.offset < <Py_ssize_t>sizeof(PyObject):
                raise TypeError(f"{klass.__name__}.{name} is not an object slot")
            entries.append((m.offset, name in list_fields))
    cdef bytes table = PyBytes_FromStringAndSize(NULL, len(entries) * sizeof(_SlotEntry))
    cdef _SlotEntry* e = <_SlotEntry*>PyBytes_AS_STRING(table)
    cdef Py_ssize_t k
    for k in range(len(entries)):  # table sized for len(entries) entries
        e[k].offset = entries[k][0]
        e[k].is_list = entries[k][1]
    _CLONE_TABLES[t] = table
    return table


def clone(object layer):
    """A copy of one layer (Layer._clone): every field shared, list fields copied into new
    lists, no payload, nothing derived yet."""
    if _LayerT == NULL or not PyObject_TypeCheck(layer, _LayerT):
        raise TypeError("clone() takes a Layer")
    t = type(layer)
    table = _CLONE_TABLES.get(t)
    if table is None:
        table = _clone_table(t)
    cdef const _SlotEntry* e = <const _SlotEntry*>PyBytes_AS_STRING(table)
    cdef Py_ssize_t k, n = len(<bytes>table) // sizeof(_SlotEntry)
    new = _generic_alloc(<PyTypeObject*>t, 0)  # as object.__new__ here: zeroed slots
    cdef PyObject* v
    cdef PyObject** slot
    for k in range(n):
        # offsets come from the member descriptors of type(layer), the type of new too
        v = (<PyObject**>((<char*><PyObject*>layer) + e[k].offset))[0]
        if v == NULL:
            continue
        value = <object>v
        if e[k].is_list and type(value) is list:
            value = list(<list>value)
        slot = <PyObject**>((<char*><PyObject*>new) + e[k].offset)
        Py_INCREF(value)
        Py_XDECREF(slot[0])
        slot[0] = <PyObject*>value
    if (<PyTypeObject*>t).tp_dictoffset:  # a subclass that asked for a __dict__ as well
        new.__dict__.update(layer.__dict__)
    _put(new, F_PAYLOAD, None)
    _put(new, F_RESOLVED, None)
    return new


# ---------------------------------------------------------------- constructing a layer
# `Ethernet(src=..., dst=...)` without a Python frame: a class whose __init__ is the one
# _LayerMeta generates gets a vectorcall constructor (PyTypeObject.tp_vectorcall, never
# inherited by subclasses) that does what that __init__ does -- every field to its default,
# a fresh list for list fields, the keywords given, payload through as_layer, _resolved None
# -- storing straight into the slots. Anything else (positional arguments, an unknown or
# repeated keyword) goes through type.__call__ and the generated __init__, which raises the
# usual TypeError.

cdef extern from "Python.h":
    ctypedef PyObject* (*_vectorcallfunc "vectorcallfunc")(PyObject*, PyObject* const*, size_t,
                                                          PyObject*)
    ctypedef struct _TypeSlots "PyTypeObject":
        unsigned long tp_flags
        Py_ssize_t tp_vectorcall_offset
        void* tp_call
        _vectorcallfunc tp_vectorcall
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    unsigned long Py_TPFLAGS_HAVE_VECTORCALL
    PyObject* _tuple_item "PyTuple_GET_ITEM"(PyObject* t, Py_ssize_t i)
    PyObject* _type_lookup "_PyType_Lookup"(PyTypeObject* t, PyObject* name)  # borrowed

ctypedef struct _InitField:
    Py_ssize_t offset
    PyObject* name      # borrowed: the spec's names tuple holds it
    PyObject* default   # borrowed: the spec's defaults tuple holds it
    Py_ssize_t is_list

cdef enum:
    _MAX_FAST_FIELDS = 64  # fields of one class the fast constructor tracks (a bit mask)


@cython.final
@cython.no_gc  # holds str, the field defaults and bytes; no cycle passes through a class
cdef class _InitSpec:
    """The field table of one layer class for its C constructor (kept in the class's dict)."""
    cdef tuple names, defaults
    cdef bytes table  # n _InitField entries
    cdef Py_ssize_t n
    cdef size_t owner  # address of the class it was made for (identity only, no reference)


cdef str _SPEC_ATTR = sys_intern("_c_constructor")  # where a class keeps its _InitSpec
cdef bint _meta_ready = False


cdef inline _InitSpec _spec_of(object cls):
    """The _InitSpec made for cls itself (not for a base class it inherits from), or None."""
    cdef PyObject* found = _type_lookup(<PyTypeObject*>cls, <PyObject*>_SPEC_ATTR)
    if found == NULL or type(<object>found) is not _InitSpec:
        return None
    cdef _InitSpec spec = <_InitSpec>found
    return spec if spec.owner == <size_t><PyObject*>cls else None


cdef object _fallback_call(object cls, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames):
    """type.__call__(cls, *args, **kwargs): object.__new__ plus the class's __init__."""
    cdef Py_ssize_t j
    pos = tuple([<object>args[j] for j in range(nargs)])
    kw = {}
    if kwnames != NULL:
        for j in range(len(<tuple>kwnames)):
            kw[(<tuple>kwnames)[j]] = <object>args[nargs + j]
    return type.__call__(cls, *pos, **kw)


cdef object _layer_vectorcall(object cls, PyObject* const* args, size_t nargsf, PyObject* kwnames):
    cdef Py_ssize_t nargs = PyVectorcall_NARGS(nargsf)
    cdef _InitSpec spec = _spec_of(cls)
    if spec is None or nargs:
        return _fallback_call(cls, args, nargs, kwnames)
    cdef const _InitField* f = <const _InitField*>PyBytes_AS_STRING(spec.table)
    cdef Py_ssize_t n = spec.n, nkw = 0, j, k
    cdef uint64_t given = 0
    cdef PyObject* key
    cdef signed char where[_MAX_FAST_FIELDS + 1]  # field index of keyword j; n for payload
    if kwnames != NULL:
        nkw = len(<tuple>kwnames)
    if nkw > n + 1:
        return _fallback_call(cls, args, nargs, kwnames)
    for j in range(nkw):  # j < nkw <= n + 1 <= _MAX_FAST_FIELDS + 1 entries of where
        key = _tuple_item(kwnames, j)  # borrowed; kwnames is a tuple of nkw
        for k in range(n):  # keywords are interned: the identity test finds them
            if f[k].name == key:
                break
        else:
            for k in range(n):
                if <object>f[k].name == <object>key:
                    break
            else:
                if <object>key == "payload":
                    k = n
                else:
                    return _fallback_call(cls, args, nargs, kwnames)
        if (given >> k) & 1:
            return _fallback_call(cls, args, nargs, kwnames)
        given |= (<uint64_t>1) << k
        where[j] = <signed char>k
    payload = None
    if (given >> n) & 1:
        for j in range(nkw):
            if where[j] == n:
                payload = <object>args[j]
        if payload is not None and not PyObject_TypeCheck(payload, _LayerT):
            payload = _as_layer(payload)
    obj = _new_with_defaults(cls, spec, given)
    cdef PyObject** slot
    cdef PyObject* v
    for j in range(nkw):
        k = where[j]
        if k == n:
            continue
        v = args[j]
        slot = <PyObject**>((<char*><PyObject*>obj) + f[k].offset)
        Py_INCREF(<object>v)
        slot[0] = v
    _put(obj, F_PAYLOAD, payload)
    _put(obj, F_RESOLVED, None)
    return obj


cdef object _new_with_defaults(object cls, _InitSpec spec, uint64_t given):
    """A zeroed instance of cls (as object.__new__ makes it) with every field whose bit is
    not set in `given` at its default; the caller stores the others, payload and _resolved."""
    cdef const _InitField* f = <const _InitField*>PyBytes_AS_STRING(spec.table)
    cdef PyObject** slot
    cdef Py_ssize_t k
    obj = _generic_alloc(<PyTypeObject*>cls, 0)
    for k in range(spec.n):
        if (given >> k) & 1:
            continue
        # offsets come from the member descriptors of cls (the type of obj), see _init_spec
        slot = <PyObject**>((<char*><PyObject*>obj) + f[k].offset)
        if f[k].is_list:
            value = []
            Py_INCREF(value)
            slot[0] = <PyObject*>value
        else:
            Py_INCREF(<object>f[k].default)
            slot[0] = f[k].default
    return obj


cdef Py_ssize_t _field_index(_InitSpec spec, str name) except -1:
    cdef Py_ssize_t k
    for k in range(spec.n):
        if spec.names[k] == name:
            return k
    raise KeyError(name)


cdef object _dns_spec = None
cdef uint64_t _dns_given = 0


def dns_query(cls, name, type="A", id=0, rclass="IN", **fields):
    """DNS.query: a recursive query for one name (rd=1, as resolvers send).

    The message DNS(id=id, questions=[Question(name, type, rclass)], **fields) makes; for
    DNS itself and no other fields, made here without running either __init__.
    """
    if fields or cls is not _DNS:
        return cls(id=id, questions=[_Question(name, type, rclass)], **fields)
    global _dns_spec, _dns_given
    cdef _InitSpec spec = _spec_of(cls)
    if spec is None or not _question_plain:
        return cls(id=id, questions=[_Question(name, type, rclass)])
    if spec is not _dns_spec:  # which bits are id and questions, found once per spec
        _dns_given = ((<uint64_t>1) << _field_index(spec, "id")) | (
            (<uint64_t>1) << _field_index(spec, "questions"))
        _dns_spec = spec
    # the Question dataclass as its __init__ makes it: three slots set (see register)
    q = _generic_alloc(<PyTypeObject*>_Question, 0)
    _put(q, Q_NAME, name)
    _put(q, Q_TYPE, type)
    _put(q, Q_CLASS, rclass)
    obj = _new_with_defaults(cls, spec, _dns_given)
    _put(obj, D_ID, id)
    _put(obj, D_QUESTIONS, [q])
    _put(obj, F_PAYLOAD, None)
    _put(obj, F_RESOLVED, None)
    return obj


cdef object _init_spec(object cls):
    """The field table of cls, or None if a field is not a plain object slot."""
    cdef PyMemberDef* m
    fields = cls.fields
    names = tuple([sys_intern(fname) for fname, _ in fields])
    defaults = tuple([fdefault for _, fdefault in fields])
    cdef Py_ssize_t n = len(names), k
    if n > _MAX_FAST_FIELDS - 1:
        return None
    cdef bytes table = PyBytes_FromStringAndSize(NULL, n * sizeof(_InitField))
    cdef _InitField* e = <_InitField*>PyBytes_AS_STRING(table)
    for k in range(n):  # table sized for n entries
        d = getattr(cls, names[k], None)
        if type(d).__name__ != "member_descriptor":
            return None
        m = (<PyMemberDescrObject*><PyObject*>d).d_member
        if m.type != T_OBJECT_EX or m.offset < <Py_ssize_t>sizeof(PyObject):
            return None
        e[k].offset = m.offset
        e[k].name = <PyObject*>names[k]
        e[k].default = <PyObject*>defaults[k]
        e[k].is_list = isinstance(defaults[k], list)
    cdef _InitSpec spec = _InitSpec.__new__(_InitSpec)
    spec.names = names
    spec.defaults = defaults
    spec.table = table
    spec.n = n
    spec.owner = <size_t><PyObject*>cls
    return spec


def fast_init(object cls, bint on=True) -> bool:
    """Give layer class `cls` the C constructor (on), or take it away; True if it has one.

    Only a class whose metaclass is the registered one, whose __init__ is its generated
    field setter and which keeps object's __new__ and __setattr__ qualifies.
    """
    global _meta_ready
    if not isinstance(cls, type):
        raise TypeError("fast_init() takes a class")
    cdef _TypeSlots* t = <_TypeSlots*><PyObject*>cls
    if not on:
        if _SPEC_ATTR in cls.__dict__:
            type.__delattr__(cls, _SPEC_ATTR)
        if t.tp_vectorcall == <_vectorcallfunc>_layer_vectorcall:
            t.tp_vectorcall = NULL
        return False
    own = cls.__dict__
    if (not _meta_ready or not issubclass(cls, _Layer) or cls is _Layer
            or type(cls) is not _LayerMeta_o or cls.__new__ is not object.__new__
            or cls.__setattr__ is not object.__setattr__ or "_init_fields" not in own
            or own.get("__init__") is not own["_init_fields"]):
        return fast_init(cls, False)
    spec = _init_spec(cls)
    if spec is None:
        return fast_init(cls, False)
    type.__setattr__(cls, _SPEC_ATTR, spec)
    t.tp_vectorcall = <_vectorcallfunc>_layer_vectorcall
    return True


cdef object _LayerMeta_o = None


def register_meta(object meta) -> None:
    """Let calls of classes made by `meta` (the layer metaclass) use their vectorcall slot.

    CPython 3.12+ sets Py_TPFLAGS_HAVE_VECTORCALL on such a metaclass itself (it inherits
    type's call); 3.11 leaves it off for heap types, so it is set here, after checking that
    the metaclass neither overrides __call__ nor moved type's vectorcall slot.
    """
    global _LayerMeta_o, _meta_ready
    if not isinstance(meta, type) or not issubclass(meta, type):
        raise TypeError("register_meta() takes a metaclass")
    cdef _TypeSlots* m = <_TypeSlots*><PyObject*>meta
    cdef _TypeSlots* base = <_TypeSlots*><PyObject*>type
    _LayerMeta_o = meta
    _meta_ready = False
    if _LayerT == NULL:
        raise RuntimeError("register Layer before its metaclass")
    if m.tp_call != base.tp_call or m.tp_vectorcall_offset != base.tp_vectorcall_offset:
        return
    m.tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL
    _meta_ready = True
