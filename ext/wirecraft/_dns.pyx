# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""DNS wire decoder: one bounded pass over a message, typed records, problems as flags.

RFCs: 1035 (format, compression), 3596 (AAAA), 2782 (SRV), 3403 (NAPTR), 4034 (DNSSEC
records), 5155 (NSEC3), 6891 (EDNS0), 7871 (client subnet), 7873 (cookies), 7828
(keepalive), 7830 (padding), 8914 (extended errors), 9460 (SVCB/HTTPS), 8945 (TSIG),
3597 (unknown types), 4255 (SSHFP), 6698 (TLSA), 8659 (CAA), 6762 (mDNS), 4795 (LLMNR).

Reads use raw pointers: every read is preceded by a length check against the end of the
message or of the rdata; each such read carries a comment naming its check. Names follow
at most MAX_JUMPS compression pointers, each strictly backwards of where the current run
of labels began, so a name costs at most 255 label bytes plus 20 jumps whatever the input.
Every record consumes at least 5 bytes, so a message costs time linear in its length.
"""

cimport cython
from wirecraft._core cimport ip4_text, ip6_text
from cpython cimport array
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF, PyObject
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t, uint16_t, uint32_t
from libc.stdint cimport int32_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memcpy, memset
from cpython.unicode cimport (PyUnicode_1BYTE_DATA, PyUnicode_DecodeUTF8,
                              PyUnicode_GET_LENGTH, PyUnicode_New)
from libc.stdio cimport snprintf

import binascii
import time as _time
from collections import namedtuple

cdef extern from "arpa/inet.h" nogil:
    const char* inet_ntop(int af, const void* src, char* dst, unsigned int size)

cdef extern from "sys/socket.h" nogil:
    int AF_INET
    int AF_INET6

# an escaped label byte takes at most 4 characters (\DDD); plus dots: NAME_BUF
cdef enum:
    MAX_JUMPS = 20
    MAX_NAME = 255
    NAME_BUF = 1100

# --- name status bits --------------------------------------------------------------------
cdef enum:
    N_TRUNCATED = 1       # the name ran past the end of the message (or of its rdata)
    N_LOOP = 2            # a pointer aimed at itself or at a pointer/run already visited
    N_FORWARD = 4         # a pointer aimed forward of where the current run started
    N_JUMPS = 8           # more than MAX_JUMPS pointers
    N_LABEL = 16          # a label length byte 0x40-0xBF (length > 63 / reserved label type)
    N_LONG = 32           # more than 255 bytes on the wire
    N_FATAL = 64          # the problem came before any pointer: where the name ends is unknown

cdef tuple _NAME_FLAGS = (
    (N_TRUNCATED, "name_truncated"),
    (N_LOOP, "name_pointer_loop"),
    (N_FORWARD, "name_pointer_forward"),
    (N_JUMPS, "name_too_many_pointers"),
    (N_LABEL, "label_too_long"),
    (N_LONG, "name_too_long"),
)

# --- type, class, rcode, opcode names -----------------------------------------------------
TYPE_NAMES = {
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT",
    17: "RP", 18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR",
    24: "SIG", 25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT",
    31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT",
    38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP",
    45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3",
    51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP", 56: "NINFO", 57: "RKEY",
    58: "TALINK", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD",
    64: "SVCB", 65: "HTTPS", 99: "SPF", 100: "UINFO", 101: "UID", 102: "GID",
    103: "UNSPEC", 104: "NID", 105: "L32", 106: "L64", 107: "LP", 108: "EUI48",
    109: "EUI64", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB",
    254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA", 258: "AVC", 259: "DOA",
    260: "AMTRELAY", 32768: "TA", 32769: "DLV",
}
TYPE_CODES = {v: k for k, v in TYPE_NAMES.items()}
CLASS_NAMES = {1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}
RCODE_NAMES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
    11: "DSOTYPENI", 16: "BADVERS", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE",
    20: "BADNAME", 21: "BADALG", 22: "BADTRUNC", 23: "BADCOOKIE",
}
OPCODE_NAMES = {0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE", 6: "DSO"}
EDNS_OPTION_NAMES = {
    1: "LLQ", 2: "UL", 3: "NSID", 5: "DAU", 6: "DHU", 7: "N3U", 8: "ECS", 9: "EXPIRE",
    10: "COOKIE", 11: "KEEPALIVE", 12: "PADDING", 13: "CHAIN", 14: "KEY-TAG", 15: "EDE",
    16: "CLIENT-TAG", 17: "SERVER-TAG", 18: "REPORT-CHANNEL", 19: "ZONEVERSION",
}
SVC_PARAM_NAMES = {
    0: "mandatory", 1: "alpn", 2: "no-default-alpn", 3: "port", 4: "ipv4hint", 5: "ech",
    6: "ipv6hint", 7: "dohpath", 8: "ohttp",
}


def type_name(int rtype):
    """Mnemonic of a record type, or TYPEnnn (RFC 3597) when it has none."""
    name = TYPE_NAMES.get(rtype)
    return name if name is not None else f"TYPE{rtype}"


def class_name(int rclass):
    """Mnemonic of a class, or CLASSnnn (RFC 3597) when it has none."""
    name = CLASS_NAMES.get(rclass)
    return name if name is not None else f"CLASS{rclass}"


def rcode_name(int rcode):
    """Mnemonic of an (extended) response code, or RCODEnnn."""
    name = RCODE_NAMES.get(rcode)
    return name if name is not None else f"RCODE{rcode}"


# --- typed rdata ------------------------------------------------------------------------
class MX(namedtuple("MX", "preference exchange")):
    """MX, RT and KX rdata: a preference and a host name."""
    __slots__ = ()


class SOA(namedtuple("SOA", "mname rname serial refresh retry expire minimum")):
    """SOA rdata (RFC 1035 3.3.13)."""
    __slots__ = ()


class SRV(namedtuple("SRV", "priority weight port target")):
    """SRV rdata (RFC 2782)."""
    __slots__ = ()


class NAPTR(namedtuple("NAPTR", "order preference flags services regexp replacement")):
    """NAPTR rdata (RFC 3403); flags, services and regexp are bytes."""
    __slots__ = ()


class CAA(namedtuple("CAA", "flags tag value")):
    """CAA rdata (RFC 8659); tag and value are bytes."""
    __slots__ = ()


class HINFO(namedtuple("HINFO", "cpu os")):
    """HINFO rdata: two character-strings (bytes)."""
    __slots__ = ()


class MINFO(namedtuple("MINFO", "rmailbx emailbx")):
    """MINFO rdata: two mailbox names."""
    __slots__ = ()


class RP(namedtuple("RP", "mbox txt")):
    """RP rdata (RFC 1183): mailbox and TXT owner names."""
    __slots__ = ()


class AFSDB(namedtuple("AFSDB", "subtype hostname")):
    """AFSDB rdata (RFC 1183)."""
    __slots__ = ()


class SSHFP(namedtuple("SSHFP", "algorithm fp_type fingerprint")):
    """SSHFP rdata (RFC 4255)."""
    __slots__ = ()


class TLSA(namedtuple("TLSA", "usage selector mtype cert")):
    """TLSA/SMIMEA rdata (RFC 6698)."""
    __slots__ = ()


class DS(namedtuple("DS", "key_tag algorithm digest_type digest")):
    """DS/CDS/DLV rdata (RFC 4034 5)."""
    __slots__ = ()


class DNSKEY(namedtuple("DNSKEY", "flags protocol algorithm key")):
    """DNSKEY/CDNSKEY/KEY rdata (RFC 4034 2)."""
    __slots__ = ()


class RRSIG(namedtuple("RRSIG", "type_covered algorithm labels original_ttl expiration "
                                "inception key_tag signer signature")):
    """RRSIG/SIG rdata (RFC 4034 3); times are seconds since the epoch."""
    __slots__ = ()


class NSEC(namedtuple("NSEC", "next types")):
    """NSEC rdata (RFC 4034 4): next owner name and the type numbers of the bit map."""
    __slots__ = ()


class NSEC3(namedtuple("NSEC3", "algorithm flags iterations salt next types")):
    """NSEC3 rdata (RFC 5155); next is the raw hashed owner name."""
    __slots__ = ()


class NSEC3PARAM(namedtuple("NSEC3PARAM", "algorithm flags iterations salt")):
    """NSEC3PARAM rdata (RFC 5155 4)."""
    __slots__ = ()


class CSYNC(namedtuple("CSYNC", "serial flags types")):
    """CSYNC rdata (RFC 7477)."""
    __slots__ = ()


class URI(namedtuple("URI", "priority weight target")):
    """URI rdata (RFC 7553); target is bytes."""
    __slots__ = ()


class SVCB(namedtuple("SVCB", "priority target params")):
    """SVCB/HTTPS rdata (RFC 9460); params maps key name to a typed value."""
    __slots__ = ()


class TSIG(namedtuple("TSIG", "algorithm time_signed fudge mac original_id error other")):
    """TSIG rdata (RFC 8945)."""
    __slots__ = ()


class Edns(namedtuple("Edns", "payload_size ext_rcode version do z options")):
    """EDNS(0) from the OPT record (RFC 6891): ext_rcode is the upper 8 bits."""
    __slots__ = ()


class EdnsOption(namedtuple("EdnsOption", "code name value")):
    """One EDNS option; value is typed for ECS, COOKIE, KEEPALIVE, EDE, else bytes."""
    __slots__ = ()


class ClientSubnet(namedtuple("ClientSubnet", "family source_prefix scope_prefix address")):
    """EDNS client subnet (RFC 7871); address is text, zero-filled to the family's size."""
    __slots__ = ()


class Cookie(namedtuple("Cookie", "client server")):
    """DNS cookie (RFC 7873): 8-byte client cookie and an optional server cookie."""
    __slots__ = ()


class ExtendedError(namedtuple("ExtendedError", "code text")):
    """Extended DNS error (RFC 8914)."""
    __slots__ = ()


cdef str _option_name(unsigned int code):
    name = EDNS_OPTION_NAMES.get(code)
    return name if name is not None else f"OPT{code}"


cdef inline object _nt(object cls, tuple values):
    # tuple's own constructor: a named tuple without its Python-level __new__
    return tuple.__new__(cls, values)


class _Bad(Exception):
    """Internal: typed rdata did not fit its declared length."""


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


# --- message and records -----------------------------------------------------------------
cdef class Question:
    """A question: name, type, class; unicast_response is mDNS's QU bit (RFC 6762 5.4)."""
    cdef readonly str name
    cdef readonly int type
    cdef readonly int cls
    cdef readonly bint unicast_response

    @property
    def type_name(self):
        return type_name(self.type)

    @property
    def class_name(self):
        return class_name(self.cls)

    def __str__(self):
        return f";{_owner_text(self.name)}\t\t{class_name(self.cls)}\t{type_name(self.type)}"

    def __repr__(self):
        return f"Question({self.name!r}, {type_name(self.type)}, {class_name(self.cls)})"

    def __eq__(self, other):
        if not isinstance(other, Question):
            return NotImplemented
        return (self.name, self.type, self.cls, self.unicast_response) == (
            other.name, other.type, other.cls, other.unicast_response)

    def __hash__(self):
        return hash((self.name, self.type, self.cls))


cdef class Record:
    """A resource record: owner name, type, class, TTL, typed data and raw rdata.

    data is typed (str for addresses and names, named tuples for structured rdata,
    Edns for OPT) or the raw rdata bytes for unknown or malformed types; malformed is
    True when a known type's rdata did not parse. cache_flush is mDNS's bit.
    """
    cdef readonly str name
    cdef readonly int type
    cdef readonly int cls
    cdef readonly long long ttl
    cdef readonly object data
    cdef readonly bytes rdata
    cdef readonly bint cache_flush
    cdef readonly bint malformed

    @property
    def type_name(self):
        return type_name(self.type)

    @property
    def class_name(self):
        return class_name(self.cls)

    @property
    def text(self):
        """The rdata in presentation form (as dig prints it)."""
        return rdata_text(self)

    def __str__(self):
        if self.type == 41 and isinstance(self.data, Edns):
            return f"{_owner_text(self.name)}\t{self.ttl}\tCLASS{self.cls}\tOPT\t{rdata_text(self)}"
        return (f"{_owner_text(self.name)}\t{self.ttl}\t{class_name(self.cls)}\t"
                f"{type_name(self.type)}\t{rdata_text(self)}")

    def __repr__(self):
        return f"Record({str(self)!r})"

    def __eq__(self, other):
        if not isinstance(other, Record):
            return NotImplemented
        return (self.name, self.type, self.cls, self.ttl, self.rdata, self.cache_flush) == (
            other.name, other.type, other.cls, other.ttl, other.rdata, other.cache_flush)

    def __hash__(self):
        return hash((self.name, self.type, self.cls, self.ttl, self.rdata))


cdef class Message:
    """A decoded DNS message. problems lists what was wrong with the bytes (empty if clean).

    rcode includes the upper bits from OPT (extended rcode); header_rcode is the 4-bit
    field. For LLMNR (RFC 4795) aa is the C (conflict) bit and rd the T (tentative) bit.
    """
    cdef readonly int id
    cdef readonly int flags
    cdef readonly int rcode
    cdef readonly tuple counts
    cdef readonly list questions
    cdef readonly list answers
    cdef readonly list authorities
    cdef readonly list additionals
    cdef readonly object edns
    cdef readonly object tsig
    cdef readonly list problems
    cdef readonly Py_ssize_t size
    cdef readonly Py_ssize_t end

    @property
    def qr(self):
        return bool(self.flags & 0x8000)

    @property
    def opcode(self):
        return (self.flags >> 11) & 0xF

    @property
    def opcode_name(self):
        return OPCODE_NAMES.get(self.opcode, f"OPCODE{self.opcode}")

    @property
    def aa(self):
        return bool(self.flags & 0x0400)

    @property
    def tc(self):
        return bool(self.flags & 0x0200)

    @property
    def rd(self):
        return bool(self.flags & 0x0100)

    @property
    def ra(self):
        return bool(self.flags & 0x0080)

    @property
    def z(self):
        return bool(self.flags & 0x0040)

    @property
    def ad(self):
        return bool(self.flags & 0x0020)

    @property
    def cd(self):
        return bool(self.flags & 0x0010)

    @property
    def header_rcode(self):
        return self.flags & 0xF

    @property
    def rcode_name(self):
        return rcode_name(self.rcode)

    @property
    def flag_names(self):
        """The set header bits as dig prints them: qr aa tc rd ra z ad cd."""
        names = []
        for bit, text in ((0x8000, "qr"), (0x400, "aa"), (0x200, "tc"), (0x100, "rd"),
                          (0x80, "ra"), (0x40, "z"), (0x20, "ad"), (0x10, "cd")):
            if self.flags & bit:
                names.append(text)
        return names

    @property
    def question(self):
        """The first question, or None."""
        return self.questions[0] if self.questions else None

    def records(self):
        """Every record of the answer, authority and additional sections, in order."""
        return self.answers + self.authorities + self.additionals

    def __repr__(self):
        q = self.questions[0] if self.questions else None
        return (f"<DNS {'response' if self.qr else 'query'} id={self.id} "
                f"{q.name + ' ' + type_name(q.type) if q is not None else '-'} "
                f"{self.rcode_name} an={len(self.answers)} ns={len(self.authorities)} "
                f"ar={len(self.additionals)}{' problems=' + ','.join(self.problems) if self.problems else ''}>")

    def to_text(self):
        """A dig-like multi-line rendering of the whole message."""
        lines = [f";; opcode: {self.opcode_name}, status: {self.rcode_name}, id: {self.id}",
                 f";; flags: {' '.join(self.flag_names)}; QUERY: {self.counts[0]}, "
                 f"ANSWER: {self.counts[1]}, AUTHORITY: {self.counts[2]}, "
                 f"ADDITIONAL: {self.counts[3]}"]
        if self.edns is not None:
            lines.append(f";; EDNS: version: {self.edns.version}, flags:"
                         f"{' do' if self.edns.do else ''}; udp: {self.edns.payload_size}")
        lines.append(";; QUESTION SECTION:")
        lines.extend(str(q) for q in self.questions)
        for title, section in (("ANSWER", self.answers), ("AUTHORITY", self.authorities),
                               ("ADDITIONAL", self.additionals)):
            if section:
                lines.append(f";; {title} SECTION:")
                lines.extend(str(r) for r in section)
        if self.problems:
            lines.append(f";; PROBLEMS: {', '.join(self.problems)}")
        return "\n".join(lines)


def decode(data, mdns=None):
    """Decode one DNS message (no TCP length prefix). Never raises on wire data.

    mdns: None splits the class's top bit (mDNS cache-flush / unicast-response) only
    when the rest is IN; True always splits it, False never.
    """
    cdef bytes raw = data if type(data) is bytes else bytes(data)
    return _decode(raw, 2 if mdns is None else (1 if mdns else 0))


cdef list _LIGHT_EMPTY = []


cdef inline list _section_list(Message m, unsigned int section):
    if section == 1:
        return m.answers
    if section == 2:
        return m.authorities
    return m.additionals


# --- growable C buffers (the transaction table's columns and the parser's columnar sink)
cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>
    #if defined(__linux__)
    #include <sys/mman.h>
    #endif
    /* Growth of a buffer to new_cap bytes (used: bytes to keep). From 256 KiB on, Linux
       buffers are anonymous mappings grown by mremap (no copy, no second page fault per
       page); from 4 MiB they ask for transparent huge pages (one page fault per 2 MiB
       instead of per 4 KiB, a large part of filling a big table). NULL on failure, the
       old buffer left as it was. */
    static char* wc_grow(char* old, size_t old_cap, int* mapped, size_t new_cap,
                         size_t used) {
        char* p;
    #if defined(__linux__) && defined(MREMAP_MAYMOVE)
        if (new_cap >= ((size_t)256 << 10)) {
            if (*mapped) {
                p = (char*)mremap(old, old_cap, new_cap, MREMAP_MAYMOVE);
                if (p == (char*)MAP_FAILED) return NULL;
            } else {
                p = (char*)mmap(NULL, new_cap, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == (char*)MAP_FAILED) return NULL;
                if (used) memcpy(p, old, used);
                free(old);
                *mapped = 1;
            }
    #ifdef MADV_HUGEPAGE
            if (new_cap >= ((size_t)4 << 20)) madvise(p, new_cap, MADV_HUGEPAGE);
    #endif
            return p;
        }
    #endif
        (void)old_cap; (void)used; (void)mapped;
        return (char*)realloc(old, new_cap);
    }
    static void wc_release(char* p, size_t cap, int mapped) {
    #if defined(__linux__) && defined(MREMAP_MAYMOVE)
        if (mapped) { munmap(p, cap); return; }
    #endif
        (void)cap; (void)mapped;
        free(p);
    }
    """
    char* wc_grow(char* old, size_t old_cap, int* mapped, size_t new_cap,
                  size_t used) noexcept nogil
    void wc_prefetch "__builtin_prefetch"(const void* p) noexcept nogil
    void wc_release(char* p, size_t cap, int mapped) noexcept nogil


cdef struct gbuf_t:
    char* data
    Py_ssize_t len
    Py_ssize_t cap
    int mapped               # data is an anonymous mapping (see wc_grow)


cdef int gbuf_reserve(gbuf_t* g, Py_ssize_t extra) except -1:
    """Make room for extra more bytes after g.len."""
    cdef Py_ssize_t want = g.len + extra
    cdef Py_ssize_t cap = g.cap if g.cap else 256
    cdef char* grown
    if want <= g.cap:
        return 0
    while cap < want:
        cap *= 2
    grown = wc_grow(g.data, g.cap, &g.mapped, cap, g.len)
    if grown == NULL:
        raise MemoryError()
    g.data = grown
    g.cap = cap
    return 0


cdef inline int gbuf_put(gbuf_t* g, const void* p, Py_ssize_t n) except -1:
    if n <= 0:
        return 0
    if g.len + n > g.cap:
        gbuf_reserve(g, n)
    memcpy(g.data + g.len, p, n)  # g.len + n <= g.cap ensured above
    g.len += n
    return 0


cdef void gbuf_free(gbuf_t* g) noexcept:
    if g.data != NULL:
        wc_release(g.data, g.cap, g.mapped)
    g.data = NULL
    g.len = 0
    g.cap = 0
    g.mapped = 0


# an answer of the table: text (UTF-8) or a raw address formatted when read
cdef enum:
    AK_TEXT = 0
    AK_IP4 = 1
    AK_IP6 = 2

cdef struct aitem_t:
    int64_t off             # where its bytes start in the text buffer
    uint32_t len_kind       # length (< 2**30: at most 7 characters per rdata byte) | kind << 30
    uint32_t ttl

cdef inline uint32_t item_len(const aitem_t* it) noexcept nogil:
    return it.len_kind & 0x3FFFFFFF

cdef inline int item_kind(const aitem_t* it) noexcept nogil:
    return it.len_kind >> 30


cdef int put_text(gbuf_t* text, gbuf_t* items, object s, uint32_t ttl) except -1:
    """Append str s (stored as UTF-8) as an answer item."""
    cdef aitem_t it
    cdef bytes raw = (<str>s).encode("utf-8")
    if PyBytes_GET_SIZE(raw) >= 0x40000000:
        raise ValueError("answer text too long")
    it.off = text.len
    it.len_kind = <uint32_t>PyBytes_GET_SIZE(raw) | (AK_TEXT << 30)
    it.ttl = ttl
    gbuf_put(text, PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))
    gbuf_put(items, &it, sizeof(aitem_t))
    return 0


cdef object item_text(const aitem_t* it, const char* text):
    # it.off + its length lie inside text: items are appended with their bytes
    cdef int kind = item_kind(it)
    if kind == AK_IP4:
        return ip_text(<const unsigned char*>text + it.off, AF_INET)
    if kind == AK_IP6:
        return ip_text(<const unsigned char*>text + it.off, AF_INET6)
    return PyUnicode_DecodeUTF8(text + it.off, item_len(it), NULL)


@cython.no_gc
@cython.final
cdef class _Summary:
    """What a transaction row takes from one message: the columnar output of the parser,
    in C buffers reused from message to message (no Python object per message).

    has_q: the message has a question (qname holds its name's text); owners (lower-cased
    answer owner names, each as a 2-byte length then the text) are kept only without one,
    for mDNS responses that carry no question."""
    cdef int id
    cdef int flags
    cdef int rcode
    cdef bint has_q
    cdef int qtype
    cdef int qcls
    cdef gbuf_t qname
    cdef gbuf_t text            # answer texts and raw addresses
    cdef gbuf_t items           # aitem_t per answer
    cdef bint has_owners
    cdef gbuf_t owners
    cdef Py_ssize_t n_owners
    cdef list problems          # None: no problem

    def __dealloc__(self):
        gbuf_free(&self.qname)
        gbuf_free(&self.text)
        gbuf_free(&self.items)
        gbuf_free(&self.owners)

    cdef inline void reset(self) noexcept:
        self.has_q = False
        self.qtype = 0
        self.qcls = 0
        self.qname.len = 0
        self.text.len = 0
        self.items.len = 0
        self.has_owners = False
        self.owners.len = 0
        self.n_owners = 0
        self.problems = None

    cdef inline Py_ssize_t n_answers(self) noexcept:
        return self.items.len // sizeof(aitem_t)

    cdef int add_raw(self, const unsigned char* a, int kind, uint32_t ttl) except -1:
        cdef aitem_t it
        cdef uint32_t n = 4 if kind == AK_IP4 else 16
        it.off = self.text.len
        it.len_kind = n | (<uint32_t>kind << 30)
        it.ttl = ttl
        gbuf_put(&self.text, a, n)
        gbuf_put(&self.items, &it, sizeof(aitem_t))
        return 0

    cdef int commit_text(self, Py_ssize_t n, uint32_t ttl) except -1:
        """The n bytes just written after text.len (room reserved) become an answer."""
        cdef aitem_t it
        it.off = self.text.len
        it.len_kind = <uint32_t>n | (AK_TEXT << 30)   # n < 2**30: one rdata's text
        it.ttl = ttl
        self.text.len += n
        gbuf_put(&self.items, &it, sizeof(aitem_t))
        return 0

    cdef int add_owner(self, const char* name, Py_ssize_t n) except -1:
        # lower-cased (names are ASCII: what str.lower() does to them)
        cdef Py_ssize_t i
        cdef char c
        cdef uint16_t ln = <uint16_t>n   # n < NAME_BUF
        gbuf_reserve(&self.owners, n + 2)
        memcpy(self.owners.data + self.owners.len, &ln, 2)
        for i in range(n):
            c = name[i]
            self.owners.data[self.owners.len + 2 + i] = c + 32 if 65 <= c <= 90 else c
        self.owners.len += n + 2
        self.n_owners += 1
        self.has_owners = True
        return 0

    def as_tuple(self):
        cdef Py_ssize_t k, pos = 0
        cdef uint16_t ln
        cdef const aitem_t* items = <const aitem_t*>self.items.data
        answers = [item_text(&items[k], self.text.data) for k in range(self.n_answers())]
        ttls = [items[k].ttl for k in range(self.n_answers())]
        owners = None
        if self.has_owners:
            owners = []
            while pos < self.owners.len:
                memcpy(&ln, self.owners.data + pos, 2)
                owners.append(_ascii(self.owners.data + pos + 2, ln))
                pos += 2 + ln
        qname = PyUnicode_DecodeUTF8(self.qname.data, self.qname.len, NULL) if self.has_q \
            else None
        return (self.id, self.flags, self.rcode, qname, self.qtype, self.qcls,
                answers, ttls, owners, self.problems or [])


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
                        sink.commit_text(k0 + tl, ttl)
                        p += rdlen
                        continue
                elif p + rdlen <= n and (rtype == 16 or rtype == 99):
                    # character-strings filling the rdata exactly, as rdata_text writes
                    # them ("..." joined by spaces); otherwise the Record path flags it
                    tl = _txt_text(b, p, p + rdlen, &sink.text)
                    if tl >= 0:
                        sink.commit_text(tl, ttl)
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
                    put_text(&sink.text, &sink.items, _answer_text(rr), ttl)
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
                put_text(&sink.text, &sink.items, _answer_text(rr), ttl)
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
        put_text(&s.text, &s.items, _answer_text(rec), <uint32_t>rec.ttl)
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


# --- presentation form ----------------------------------------------------------------
cdef str _owner_text(str name):
    return name if name == "." else name + "."


def _qstr(bytes s):
    """A character-string in double quotes, dig-style escapes."""
    return '"' + _escaped(s) + '"'


def _escaped(bytes s):
    """A character-string's text inside double quotes: \\" and \\\\ escaped, others \\DDD."""
    cdef const unsigned char* b = <const unsigned char*>PyBytes_AS_STRING(s)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(s)
    cdef bytearray buf = bytearray(4 * n)   # at most 4 characters per byte (\\DDD)
    cdef char* out = PyByteArray_AS_STRING(buf)
    return _ascii(out, _escape_chars(b, n, out))


def _b64(bytes s):
    return binascii.b2a_base64(s, newline=False).decode("ascii")


_B32HEX = "0123456789ABCDEFGHIJKLMNOPQRSTUV"


def _b32hex(bytes s):
    bits = 0
    nbits = 0
    out = []
    for c in s:
        bits = (bits << 8) | c
        nbits += 8
        while nbits >= 5:
            nbits -= 5
            out.append(_B32HEX[(bits >> nbits) & 31])
    if nbits:
        out.append(_B32HEX[(bits << (5 - nbits)) & 31])
    return "".join(out)


def _time_text(t):
    return _time.strftime("%Y%m%d%H%M%S", _time.gmtime(t))


def _types_text(types):
    return " ".join(type_name(t) for t in types)


def _svc_value_text(key, value):
    # dig 9.18 form: alpn and opaque values in double quotes, the others bare
    if value is True:
        return key
    if key == "mandatory":
        return key + "=" + ",".join(SVC_PARAM_NAMES.get(k, f"key{k}") for k in value)
    if key == "alpn":
        return key + '="' + ",".join(_escaped(v).replace(",", "\\\\,") for v in value) + '"'
    if key in ("ipv4hint", "ipv6hint"):
        return key + "=" + ",".join(value)
    if key == "port":
        return f"{key}={value}"
    if key == "ech":
        return key + "=" + _b64(value)
    return key + '="' + _escaped(value) + '"'


def _edns_option_text(opt):
    v = opt.value
    if isinstance(v, ClientSubnet):
        return f"{opt.name}: {v.address}/{v.source_prefix}/{v.scope_prefix}"
    if isinstance(v, Cookie):
        return f"{opt.name}: {v.client.hex()}{v.server.hex()}"
    if isinstance(v, ExtendedError):
        return f"{opt.name}: {v.code} {v.text!r}"
    if opt.code == 12 and isinstance(v, bytes):
        return f"{opt.name}: ({len(v)} bytes)"
    if opt.code == 11:
        return f"{opt.name}: {v if v is not None else '-'}"
    return f"{opt.name}: {v.hex() if isinstance(v, bytes) else v}"


def rdata_text(Record r):
    """Presentation form of a record's rdata; RFC 3597 \\# form for unknown/malformed."""
    d = r.data
    t = r.type
    if r.malformed or isinstance(d, bytes) and t not in (49, 61):
        return f"\\# {len(r.rdata)} {r.rdata.hex().upper()}".rstrip()
    if isinstance(d, str):
        return d if t in (1, 28) else _owner_text(d)
    if t in (15, 18, 21, 36):
        return f"{d[0]} {_owner_text(d[1])}"
    if t == 6:
        return (f"{_owner_text(d.mname)} {_owner_text(d.rname)} {d.serial} {d.refresh} "
                f"{d.retry} {d.expire} {d.minimum}")
    if t in (16, 99):
        return " ".join(_qstr(s) for s in d)
    if t == 13:
        return f"{_qstr(d.cpu)} {_qstr(d.os)}"
    if t in (14, 17):
        return f"{_owner_text(d[0])} {_owner_text(d[1])}"
    if t == 33:
        return f"{d.priority} {d.weight} {d.port} {_owner_text(d.target)}"
    if t == 35:
        return (f"{d.order} {d.preference} {_qstr(d.flags)} {_qstr(d.services)} "
                f"{_qstr(d.regexp)} {_owner_text(d.replacement)}")
    if t == 257:
        return f"{d.flags} {d.tag.decode('latin-1')} {_qstr(d.value)}"
    if t == 44:
        return f"{d.algorithm} {d.fp_type} {d.fingerprint.hex().upper()}"
    if t in (52, 53):
        return f"{d.usage} {d.selector} {d.mtype} {d.cert.hex().upper()}"
    if t in (43, 59, 32769):
        return f"{d.key_tag} {d.algorithm} {d.digest_type} {d.digest.hex().upper()}"
    if t in (48, 60, 25):
        return f"{d.flags} {d.protocol} {d.algorithm} {_b64(d.key)}"
    if t in (46, 24):
        return (f"{type_name(d.type_covered)} {d.algorithm} {d.labels} {d.original_ttl} "
                f"{_time_text(d.expiration)} {_time_text(d.inception)} {d.key_tag} "
                f"{_owner_text(d.signer)} {_b64(d.signature)}")
    if t == 47:
        return f"{_owner_text(d.next)} {_types_text(d.types)}".rstrip()
    if t == 50:
        return (f"{d.algorithm} {d.flags} {d.iterations} {d.salt.hex().upper() or '-'} "
                f"{_b32hex(d.next)} {_types_text(d.types)}").rstrip()
    if t == 51:
        return f"{d.algorithm} {d.flags} {d.iterations} {d.salt.hex().upper() or '-'}"
    if t == 62:
        return f"{d.serial} {d.flags} {_types_text(d.types)}".rstrip()
    if t == 256:
        return f"{d.priority} {d.weight} {_qstr(d.target)}"
    if t in (64, 65):
        parts = [str(d.priority), _owner_text(d.target)]
        parts.extend(_svc_value_text(k, v) for k, v in d.params.items())
        return " ".join(parts)
    if t in (49, 61):
        return _b64(d)
    if t == 250:
        return (f"{_owner_text(d.algorithm)} {d.time_signed} {d.fudge} {len(d.mac)} "
                f"{_b64(d.mac)} {d.original_id} {rcode_name(d.error)} {len(d.other)}"
                f"{' ' + _b64(d.other) if d.other else ''}")
    if t == 41:
        parts = [f"; EDNS: version: {d.version}, flags:{' do' if d.do else ''}; "
                 f"udp: {d.payload_size}"]
        parts.extend(_edns_option_text(o) for o in d.options)
        return "; ".join(parts)
    return f"\\# {len(r.rdata)} {r.rdata.hex().upper()}".rstrip()


# --- transactions: pairing queries with responses, fed from batches or packets ---------------

cdef enum:
    ST_UNANSWERED = 0
    ST_ANSWERED = 1
    ST_NO_QUERY = 2

STATUS_NAMES = ("unanswered", "answered", "no_query")

# where the core's record keeps the fields read here: filled by _record_layout() from
# wirecraft._core.record_fields(), so this module does not compile against _core
cdef Py_ssize_t F_TS, F_INDEX, F_FRAME, F_POFF, F_PLEN, F_SRC, F_DST, F_LAYERS
cdef Py_ssize_t F_SPORT, F_DPORT, F_VERSION, F_IPFLAGS, REC_SIZE = 0
cdef unsigned int L_UDP_BIT = 0, L_TCP_BIT = 0

_LAYOUT = {"ts_ns": "<i8", "index": "<u8", "frame_offset": "<u4", "payload_offset": "<u4",
           "payload_length": "<u4", "ip_src": "V16", "ip_dst": "V16", "layers": "<u2",
           "l4_src_port": "<u2", "l4_dst_port": "<u2", "ip_version": "u1", "ip_flags": "u1"}


def _record_layout(core):
    """Learn the core's record layout; False if it is not the one this reader expects."""
    global F_TS, F_INDEX, F_FRAME, F_POFF, F_PLEN, F_SRC, F_DST, F_LAYERS
    global F_SPORT, F_DPORT, F_VERSION, F_IPFLAGS, REC_SIZE, L_UDP_BIT, L_TCP_BIT
    fields = {name: (offset, fmt) for name, offset, fmt in core.record_fields()}
    for name, fmt in _LAYOUT.items():
        if name not in fields or fields[name][1] != fmt:
            return False
    F_TS = fields["ts_ns"][0]
    F_INDEX = fields["index"][0]
    F_FRAME = fields["frame_offset"][0]
    F_POFF = fields["payload_offset"][0]
    F_PLEN = fields["payload_length"][0]
    F_SRC = fields["ip_src"][0]
    F_DST = fields["ip_dst"][0]
    F_LAYERS = fields["layers"][0]
    F_SPORT = fields["l4_src_port"][0]
    F_DPORT = fields["l4_dst_port"][0]
    F_VERSION = fields["ip_version"][0]
    F_IPFLAGS = fields["ip_flags"][0]
    L_UDP_BIT = core.LAYER_BITS["udp"]
    L_TCP_BIT = core.LAYER_BITS["tcp"]
    REC_SIZE = core.record_size()
    return True


cdef inline uint16_t get_u16(const unsigned char* p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v


cdef inline uint32_t get_u32(const unsigned char* p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v


cdef inline int64_t get_i64(const unsigned char* p) noexcept nogil:
    cdef int64_t v
    memcpy(&v, p, 8)
    return v


cdef object _answer_text(Record r):
    # the common types without the generic formatter; the same text as rdata_text
    cdef int t = r.type
    d = r.data
    # (an UPDATE record of class ANY/NONE has no rdata: raw b"", the generic form)
    if not r.malformed and PyBytes_GET_SIZE(r.rdata):
        if t == 1 or t == 28:
            return d
        if t == 2 or t == 5 or t == 12 or t == 39:
            return d + "." if d != "." else "."
        if t == 15:
            return f"{(<tuple>d)[0]} {_owner_text((<tuple>d)[1])}"
    return rdata_text(r)


cdef extern from "arpa/inet.h" nogil:
    int inet_pton(int af, const char* src, void* dst)


cdef struct trow_t:
    int64_t ts
    int64_t rtt              # -1: none
    int64_t q_off            # the first question's name in the store's qtext (has_q)
    int64_t a_first          # first answer item in the store; -1: no response (null lists)
    int64_t p_first          # first problem code in the store
    uint32_t a_count
    uint32_t p_count
    int32_t next_ep          # older row with the same hash in each table, -1 at the end
    int32_t next_grp
    int32_t next_cli
    int32_t qflags           # header flags of the query, -1 if none was seen
    int32_t rflags           # of the response, -1 if none
    int32_t rcode            # extended rcode of the response, -1 if none
    int32_t dupq
    int32_t dupr
    uint16_t q_len
    uint16_t cport
    uint16_t sport
    uint16_t tid
    uint16_t qtype           # of the first question (0 without one)
    uint16_t qcls
    uint8_t has_q
    uint8_t proto            # 0 udp, 1 tcp
    uint8_t status
    uint8_t alen
    uint8_t group
    uint8_t emitted          # streaming: already handed out by take()
    uint8_t caddr[16]
    uint8_t saddr[16]


cdef struct hslot_t:
    uint32_t tag             # the key hash's low 32 bits
    int32_t head             # the newest row with it, -1: empty


cdef struct htab_t:
    # open addressing over one array (a probe touches one cache line). Keys whose hashes
    # share a tag share a chain: harmless, as find() compares every key field.
    hslot_t* slots
    Py_ssize_t cap
    Py_ssize_t used


cdef int htab_init(htab_t* t, Py_ssize_t cap) except -1:
    cdef Py_ssize_t i
    t.slots = <hslot_t*>malloc(cap * sizeof(hslot_t))
    if t.slots == NULL:
        raise MemoryError()
    for i in range(cap):
        t.slots[i].head = -1
    t.cap = cap
    t.used = 0
    return 0


cdef void htab_free(htab_t* t) noexcept:
    free(t.slots)
    t.slots = NULL


cdef inline Py_ssize_t htab_slot(htab_t* t, uint64_t h) noexcept nogil:
    # cap is a power of two (<= 2**31) and the table is at most half full: the probe ends
    cdef uint32_t tag = <uint32_t>h
    cdef Py_ssize_t i = <Py_ssize_t>(tag & <uint32_t>(t.cap - 1))
    while t.slots[i].head != -1 and t.slots[i].tag != tag:
        i = (i + 1) & (t.cap - 1)
    return i


cdef inline int32_t htab_head(htab_t* t, uint64_t h) noexcept nogil:
    return t.slots[htab_slot(t, h)].head


cdef int htab_grow(htab_t* t) except -1:
    cdef htab_t bigger
    cdef Py_ssize_t i, j
    if t.cap >= (<Py_ssize_t>1 << 31):
        raise OverflowError("DNS pairing table full")
    htab_init(&bigger, t.cap * 2)
    for i in range(t.cap):
        if t.slots[i].head != -1:
            j = htab_slot(&bigger, t.slots[i].tag)
            bigger.slots[j] = t.slots[i]
            bigger.used += 1
    htab_free(t)
    t[0] = bigger
    return 0


cdef int32_t htab_push(htab_t* t, uint64_t h, int32_t row) except -2:
    """Make row the newest with hash h; returns the previous newest (-1 if none)."""
    cdef Py_ssize_t i
    cdef int32_t old
    if (t.used + 1) * 2 > t.cap:
        htab_grow(t)
    i = htab_slot(t, h)
    old = t.slots[i].head
    if old == -1:
        t.slots[i].tag = <uint32_t>h
        t.used += 1
    t.slots[i].head = row
    return old


cdef inline uint64_t mix(uint64_t h, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # FNV-1a
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * 0x100000001B3ULL
    return h


cdef inline uint64_t hmix(uint64_t h, uint64_t w) noexcept nogil:
    h = (h ^ w) * 0x9E3779B97F4A7C15ULL
    return h ^ (h >> 29)


cdef inline uint64_t key_hash(int kind, int proto, int alen, const uint8_t* a, int aport,
                              const uint8_t* b, int bport, int tid) noexcept nogil:
    # word at a time (the key is 12 to 40 bytes); a splitmix64 finish spreads the low bits
    cdef uint64_t w[2]
    cdef uint32_t v
    cdef uint64_t h = hmix(0x243F6A8885A308D3ULL, <uint64_t>kind | (<uint64_t>proto << 4)
                           | (<uint64_t>alen << 8) | (<uint64_t>(aport & 0xFFFF) << 16)
                           | (<uint64_t>(bport & 0xFFFF) << 32)
                           | (<uint64_t>(tid & 0xFFFF) << 48))
    if alen == 16:
        memcpy(w, a, 16)   # a and b hold alen bytes
        h = hmix(hmix(h, w[0]), w[1])
        if b != NULL:
            memcpy(w, b, 16)
            h = hmix(hmix(h, w[0]), w[1])
    else:
        memcpy(&v, a, 4)
        w[0] = v
        if b != NULL:
            memcpy(&v, b, 4)
            w[0] |= <uint64_t>v << 32
        h = hmix(h, w[0])
    h ^= h >> 31
    h *= 0xBF58476D1CE4E5B9ULL
    return h ^ (h >> 32)


cdef enum:
    K_EP = 1
    K_GRP = 2
    K_CLI = 3


cdef inline uint64_t ep_hash(int pr, int alen, const uint8_t* sa, int sport, const uint8_t* da,
                             int dport, int tid, bint response) noexcept nogil:
    # the (transport, client, server, id) key of a message: a response goes the other way
    if response:
        return key_hash(K_EP, pr, alen, da, dport, sa, sport, tid)
    return key_hash(K_EP, pr, alen, sa, sport, da, dport, tid)

# what a message is matched by: nothing, its first question, or (a response without a
# question, as mDNS sends) the owner names of its answers
cdef enum:
    Q_NONE = 0
    Q_NAME = 1
    Q_OWNERS = 2


cdef int _address(object host, uint8_t* out) except -1:
    """Raw address bytes of host (4/16 raw bytes, or text); returns the length."""
    cdef bytes raw
    cdef Py_ssize_t n
    if type(host) is bytes:
        n = PyBytes_GET_SIZE(host)
        if n != 4 and n != 16:
            raise ValueError("address bytes must be 4 or 16 long")
        memcpy(out, PyBytes_AS_STRING(host), n)
        return n
    raw = str(host).encode("ascii")
    if inet_pton(AF_INET, raw, out) == 1:
        return 4
    if inet_pton(AF_INET6, raw, out) == 1:
        return 16
    raise ValueError(f"not an IP address: {host!r}")


cdef inline bint _multicast(const uint8_t* a, int alen) noexcept nogil:
    # ff00::/8, 224.0.0.0/4
    return a[0] == 0xFF if alen == 16 else 224 <= a[0] <= 239


cdef inline bint name_eq(const char* a, const char* b, Py_ssize_t n) noexcept nogil:
    # names are ASCII text (escaped by the parser): equal after str.lower()
    cdef Py_ssize_t i
    cdef char x, y
    for i in range(n):
        x = a[i]
        y = b[i]
        if x != y:
            if 65 <= x <= 90:
                x += 32
            if 65 <= y <= 90:
                y += 32
            if x != y:
                return False
    return True


# --- address text and problem texts, shared by every table --------------------------------
cdef enum:
    ADDR_CACHE = 4096   # slots (about 100 KB): a few thousand clients, as busy resolvers see

# a direct-mapped cache: clients and servers repeat, so most rows share the text
cdef list _addr_cache = [None] * ADDR_CACHE
cdef uint8_t _addr_raw[ADDR_CACHE][17]   # per slot: length (0: empty), then the address


cdef str addr_text(const uint8_t* a, int alen):
    cdef Py_ssize_t slot = <Py_ssize_t>(mix(0xCBF29CE484222325ULL, a, alen)
                                        & (ADDR_CACHE - 1))
    cdef uint8_t* raw = _addr_raw[slot]
    cdef str text
    if raw[0] == alen and memcmp(raw + 1, a, alen) == 0:
        return <str>_addr_cache[slot]
    text = ip_text(a, AF_INET6 if alen == 16 else AF_INET)
    raw[0] = alen
    memcpy(raw + 1, a, alen)  # alen is 4 or 16: the slot holds 16
    _addr_cache[slot] = text
    return text


# Problems are stored as 16-bit codes of this vocabulary: the parser's flags, a few dozen
# texts (a message fed already decoded may bring others; at most 65535 distinct).
cdef list _PROBLEM_TEXT = []
cdef dict _PROBLEM_CODE = {}


cdef int problem_code(object text) except -1:
    code = _PROBLEM_CODE.get(text)
    if code is not None:
        return code
    if len(_PROBLEM_TEXT) >= 65535:
        raise ValueError("more than 65535 distinct DNS problem texts")
    _PROBLEM_CODE[text] = len(_PROBLEM_TEXT)
    _PROBLEM_TEXT.append(text)
    return len(_PROBLEM_TEXT) - 1


cdef inline uint64_t mix_port(uint64_t h, unsigned int port) noexcept nogil:
    # FNV-1a over " <decimal port>"
    cdef uint8_t digits[6]
    cdef int k = 6
    while True:
        k -= 1
        digits[k] = 48 + port % 10
        port //= 10
        if port == 0:
            break
    k -= 1
    digits[k] = 32
    return mix(h, digits + k, 6 - k)


cdef uint64_t uid_hash(int pr, str oh, int op, str rh, int rp) noexcept:
    # FNV-1a of the text connection_uid hashes, "<proto> <orig_h> <orig_p> <resp_h>
    # <resp_p>"; the address texts are ASCII (ip_text), the ports 0..65535
    cdef uint8_t sp = 32
    cdef uint64_t h = mix(0xCBF29CE484222325ULL, <const uint8_t*>("tcp" if pr else "udp"), 3)
    h = mix(h, &sp, 1)
    h = mix(h, <const uint8_t*>PyUnicode_1BYTE_DATA(oh), PyUnicode_GET_LENGTH(oh))
    h = mix_port(h, <unsigned int>op)
    h = mix(h, &sp, 1)
    h = mix(h, <const uint8_t*>PyUnicode_1BYTE_DATA(rh), PyUnicode_GET_LENGTH(rh))
    return mix_port(h, <unsigned int>rp)


cdef const char* _HEX = "0123456789abcdef"


cdef inline void uid_write(uint64_t h, char* out) noexcept nogil:
    # "D" and 16 lower-case hex digits: 17 characters, as connection_uid writes them
    cdef int k
    out[0] = 68
    for k in range(16):
        out[16 - k] = _HEX[h & 15]
        h >>= 4


cdef str uid_text(trow_t* r):
    cdef char out[17]
    uid_write(uid_hash(r.proto, addr_text(r.caddr, r.alen), r.cport,
                       addr_text(r.saddr, r.alen), r.sport), out)
    return _ascii(out, 17)


def connection_uid(str proto, str orig_h, orig_p, str resp_h, resp_p):
    """A stable id for the (transport, client, server) conversation, Zeek-uid-like."""
    cdef bytes text = f"{proto} {orig_h} {orig_p} {resp_h} {resp_p}".encode()
    cdef unsigned long long h = 0xCBF29CE484222325ULL
    cdef unsigned char c
    for c in text:
        h = (h ^ c) * 0x100000001B3ULL
    return f"D{h:016x}"


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
        return out

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
        return uid_text(r)
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
        cdef const unsigned char* rec
        cdef const unsigned char* r
        cdef unsigned int layers, sport, dport, poff, plen, fo
        cdef int alen
        cdef const unsigned char* p
        cdef uint64_t h
        cdef const unsigned char* mask = <const unsigned char*>PyByteArray_AS_STRING(
            self.port_mask)
        cdef _Parser ps = _Parser(b"", 2)
        cdef _Summary msg = self.sink
        cdef int mode
        if REC_SIZE == 0:
            raise RuntimeError("record layout unknown: call _record_layout first")
        if isinstance(data, bytes):
            base = <const unsigned char*>PyBytes_AS_STRING(data)
            data_len = PyBytes_GET_SIZE(data)
        else:
            base = <const unsigned char*>PyByteArray_AS_STRING(data)
            data_len = PyByteArray_GET_SIZE(data)
        PyObject_GetBuffer(batch.record_bytes(), &view, PyBUF_SIMPLE)
        try:
            if view.len < n * REC_SIZE:
                raise ValueError("batch records shorter than its length")
            rec = <const unsigned char*>view.buf
            for i in range(n):
                # i < n and the record buffer holds n * REC_SIZE bytes (checked above)
                r = rec + i * REC_SIZE
                layers = get_u16(r + F_LAYERS)
                if not (layers & (L_UDP_BIT | L_TCP_BIT)):
                    continue
                sport = get_u16(r + F_SPORT)
                dport = get_u16(r + F_DPORT)
                if not (mask[sport] or mask[dport]):  # ports < 65536, mask has 65536 bytes
                    continue
                if layers & L_TCP_BIT:
                    if self.tcp_handler is not None:
                        self.tcp_handler(batch[i])
                    continue
                fo = get_u32(r + F_FRAME)
                poff = get_u32(r + F_POFF)
                plen = get_u32(r + F_PLEN)
                if plen < 12 or <Py_ssize_t>fo + poff + plen > data_len:
                    continue
                alen = 16 if r[F_VERSION] == 6 else 4
                mode = 1 if (sport == 5353 or dport == 5353) else 2
                # the pairing key from the header (plen >= 12 checked above): its hash
                # slot is fetched into the cache while the message is parsed
                p = base + fo + poff
                h = ep_hash(0, alen, r + F_SRC, sport, r + F_DST, dport, rd16(p, 0),
                            p[2] & 0x80)
                wc_prefetch(&self.t_ep.slots[<uint32_t>h & <uint32_t>(self.t_ep.cap - 1)])
                # fo + poff + plen <= data_len checked above; `data` (held by this frame)
                # keeps the buffer alive while the parser reads it in place
                ps.over(base + fo + poff, plen, mode)
                _decode_with(ps, mode, True, msg)
                if r[F_IPFLAGS] & 1:
                    msg.problems = (msg.problems or []) + ["ip_fragment"]
                # the address fields are 16 bytes inside the record (alen <= 16)
                self.pair(get_i64(r + F_TS), 0, alen, r + F_SRC, sport, r + F_DST, dport,
                          msg, _multicast(r + F_DST, alen), h)
        finally:
            PyBuffer_Release(&view)
