# cython: language_level=3
"""Serialization helpers for crafting: internet checksums (RFC 1071) with
pseudo-headers, incremental checksum update (RFC 1624), header builders, the
build of a layer stack for wirecraft.craft, the template expansion loop that
stamps millions of frames from one, and pcap records in bulk.

Portable C only: the CPython object-model tricks crafting uses (slot offsets, the
vectorcall constructor, the copy-free `/`, clone) live in wirecraft._fastobj, behind
its WIRECRAFT_NO_FAST switch.

Every function takes bytes-like objects and checks lengths before reading;
unchecked reads carry a comment naming the check that precedes them.
"""

cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.object cimport PyObject_TypeCheck, PyTypeObject
from wirecraft._fastobj cimport (bare_instance, fast_enabled, make_layer, slot_get, slot_offset,
                                 slot_put)


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
cdef object _ip_protocol_of = None, _pseudo_addrs = None, _encoded = None
cdef object _type_number = None, _class_number = None
cdef bint _question_plain = False


# The serializers below read the fields they need straight from the instance slots, at
# offsets _fastobj.slot_offset takes from each class's member descriptors at registration
# (attribute lookup would cost more than the rest of the work); with the CPython tricks off
# the offsets are 0 and the same reads are plain attribute lookups. Only instances of the
# registered class (checked before every read: exact type, or Layer for payload/_resolved)
# are read this way.

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

# The fields each serializer reads, in the order of the enum above: not a declaration of
# the layers (their classes' `fields` are that), a list of the reads, which register()
# checks against each class's `fields`, so renaming a field fails at import, not at build.
cdef tuple _READS = (
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
assert len(_READS) == N_FIELDS

cdef Py_ssize_t _OFF[N_FIELDS]
cdef tuple _NAMES = tuple([name for _, name in _READS])


cdef void _take_offsets(str cls_name, object cls) except *:
    cdef Py_ssize_t k
    declared = cls.__slots__ if cls_name in ("Layer", "Question") else [n for n, _ in cls.fields]
    for k in range(N_FIELDS):
        if _READS[k][0] != cls_name:
            continue
        if <str>_NAMES[k] not in declared:
            raise TypeError(f"{cls_name} has no field {_NAMES[k]!r}, which wirecraft._craft "
                            "serializes")
        _OFF[k] = slot_offset(cls, <str>_NAMES[k])


cdef inline object _get(object obj, int k):
    # obj is an instance of the class field k was registered for (callers check the type),
    # so _OFF[k] lies inside it
    return slot_get(obj, _OFF[k], <str>_NAMES[k])


cdef inline int _put(object obj, int k, object value) except -1:
    # same precondition as _get
    return slot_put(obj, _OFF[k], <str>_NAMES[k], value)


cdef inline object _payload(object node):
    if _LayerT != NULL and PyObject_TypeCheck(node, _LayerT):
        return _get(node, F_PAYLOAD)
    return node.payload


def register(**names) -> None:
    """Called by wirecraft.craft at import: the layer classes, caches and helpers used here."""
    global _AUTO, _Eth, _IP4, _UDP, _DNS, _Question, _Layer, _MAC_CACHE, _IP4_CACHE
    global _NAME_CACHE, _TYPES, _CLASSES, _mac_bytes, _ip4_bytes, _ethertype_of
    global _ip_protocol_of, _pseudo_addrs, _encoded, _type_number, _class_number
    global _ETHERTYPES, _PROTOCOLS, _LayerT, _question_plain
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
        elif key == "pseudo_addrs": _pseudo_addrs = value
        elif key == "encoded": _encoded = value
        elif key == "type_number": _type_number = value
        elif key == "class_number": _class_number = value
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
cdef tuple _UDP_DERIVED = ("length", "checksum")
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
    cdef uint16_t sport = _get(layer, U_SRC), dport = _get(layer, U_DST)
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



cdef tuple _QUERY_FIELDS = ("id", "questions")


def dns_query(cls, name, type="A", id=0, rclass="IN", **fields):
    """DNS.query: a recursive query for one name (rd=1, as resolvers send).

    The message DNS(id=id, questions=[Question(name, type, rclass)], **fields) makes; for
    DNS itself and no other fields, made (with the CPython tricks on) without running
    either __init__.
    """
    if fields or cls is not _DNS or not _question_plain or not fast_enabled():
        return cls(id=id, questions=[_Question(name, type, rclass)], **fields)
    # the Question dataclass as its __init__ makes it: three slots set (see register)
    q = bare_instance(_Question)
    _put(q, Q_NAME, name)
    _put(q, Q_TYPE, type)
    _put(q, Q_CLASS, rclass)
    obj = make_layer(cls, _QUERY_FIELDS, (id, [q]))
    if obj is None:  # DNS has no C constructor (a changed __init__, say)
        return cls(id=id, questions=[q])
    return obj


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
