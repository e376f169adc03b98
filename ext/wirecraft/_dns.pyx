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
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint16_t, uint32_t
from libc.stdint cimport int32_t, uint8_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp, memcpy, memmove, memset
from cpython.unicode cimport (PyUnicode_1BYTE_DATA, PyUnicode_GET_LENGTH, PyUnicode_New,
                              PyUnicode_READ_CHAR)
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


cdef str _NAME_TEXT_EMPTY = "."


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

    cdef void over(self, const unsigned char* b, Py_ssize_t n, int mdns):
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
        """Decode the name at pos[0]; pos[0] moves past it (past the first pointer).

        limit bounds the labels read before the first pointer (end of message or of
        rdata); after a jump the whole message may be read. status gets N_* bits; when
        N_TRUNCATED is set before any jump, pos[0] is left at limit.
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
        cdef char out[NAME_BUF]
        cdef Py_ssize_t o = 0
        cdef bint loop
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
                    o = escape_byte(b[p + 1 + i], out, o)  # p + 1 + length <= end checked
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
            return _NAME_TEXT_EMPTY
        if not self.want_text:
            return None
        if self.dot:
            out[o] = 46  # o < NAME_BUF - 1: a 255-byte name takes at most ~1010 characters
            o += 1
        return _ascii(out, o)

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
            # end - p == 20 checked above
            a = _nt(SOA, (a, c, rd32(b, p), rd32(b, p + 4), rd32(b, p + 8), rd32(b, p + 12),
                    rd32(b, p + 16),))
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
            a = _nt(SVCB, (q, c, self.svc_params(p, end),))
            p = end
        elif rtype == 250:
            a = self.tsig(p, end)
            p = end
        elif rtype in (49, 61):
            a = blob(b, p, ln)
            p = end
        else:
            return None
        if p != end:
            raise _Bad()
        return a

    cdef dict svc_params(self, Py_ssize_t p, Py_ssize_t end):
        cdef const unsigned char* b = self.b
        cdef unsigned int key, ln, i
        cdef Py_ssize_t q
        cdef dict params = {}
        cdef object v
        while p < end:
            if p + 4 > end:
                raise _Bad()
            key = rd16(b, p)  # p + 4 <= end checked above
            ln = rd16(b, p + 2)
            p += 4
            if p + ln > end:
                raise _Bad()
            # every read below stays inside [p, p + ln), p + ln <= end checked above
            if key == 0:
                if ln % 2:
                    raise _Bad()
                v = tuple([rd16(b, p + 2 * i) for i in range(ln // 2)])
            elif key == 1:
                items = []
                q = p
                while q < p + ln:
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
            name = SVC_PARAM_NAMES.get(key)
            params[name if name is not None else f"key{key}"] = v
            p += ln
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

    cdef object edns(self, unsigned int payload, unsigned long ttl, Py_ssize_t p,
                     Py_ssize_t end, bint build):
        """The OPT record's fields and options (RFC 6891 6.1); with build False only the
        checks run (same flags) and None is returned."""
        cdef const unsigned char* b = self.b
        cdef unsigned int code, ln, fam, src, scope, need
        cdef list options = []
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
            if not build:
                p += ln
                continue
            # every read below stays inside [p, p + ln), p + ln <= end checked above
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


@cython.no_gc
cdef class _Summary:
    """What a transaction row takes from one message: the columnar output of the parser.

    qname is None when the message has no question; owners (lower-cased answer owner
    names) is filled only then, for mDNS responses that carry no question."""
    cdef int id
    cdef int flags
    cdef int rcode
    cdef str qname
    cdef int qtype
    cdef int qcls
    cdef list answers
    cdef list ttls
    cdef list owners
    cdef list problems          # None: no problem

    def as_tuple(self):
        return (self.id, self.flags, self.rcode, self.qname, self.qtype, self.qcls,
                self.answers or [], self.ttls or [], self.owners, self.problems or [])

    cdef inline void add_answer(self, object text, unsigned long ttl):
        if self.answers is None:
            self.answers = []
            self.ttls = []
        self.answers.append(text)
        self.ttls.append(ttl)


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
    same formatter the Message path uses (rdata_text), so both outputs agree."""
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
    cdef Py_ssize_t ostart, q
    cdef list target
    cdef Question qu
    cdef Record rr
    cdef bint split, ok = True
    cdef bytes head
    if columnar:
        light = True
        sink.qname = None
        sink.qtype = 0
        sink.qcls = 0
        sink.answers = None   # made by add_answer() at the first answer
        sink.ttls = None
        sink.owners = None
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
            ostart = p
            st = 0
            # light: authority/additional names are checked, their text not made;
            # columnar: answer owner names only for a message without a question
            if columnar and section != 0:
                ps.want_text = section == 1 and sink.qname is None
            elif columnar:
                ps.want_text = k == 0
            else:
                ps.want_text = not (light and section >= 2)
            name = ps.name(&p, n, &st)
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
                        sink.qname = name
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
                    if name != ".":
                        ps.flag("opt_name_not_root")
                    if not seen_opt:
                        seen_opt = True
                        rcode = ((ttl >> 24) & 0xFF) << 4 | (flags & 0xF)
                else:
                    try:
                        ps.rdata(rtype, p, p + rdlen)
                    except _Bad:
                        ps.flag("rdata_malformed")
                    if rtype == 250 and section != 3:
                        ps.flag("tsig_not_last")
                p += rdlen
                continue
            # p + 10 <= n checked above
            rtype = rd16(b, p)
            rclass = rd16(b, p + 2)
            ttl = rd32(b, p + 4)
            rdlen = rd16(b, p + 8)
            p += 10
            if columnar:  # section 1: an answer
                if sink.owners is not None or sink.qname is None:
                    if sink.owners is None:
                        sink.owners = []
                    sink.owners.append(name.lower())
                if p + rdlen <= n and ((rtype == 1 and rdlen == 4) or (
                        rtype == 28 and rdlen == 16)):
                    # p + rdlen <= n and rdlen is the address size: checked above
                    sink.add_answer(ip_text(b + p, AF_INET if rtype == 1 else AF_INET6), ttl)
                    p += rdlen
                    continue
                if p + rdlen <= n and (rtype == 5 or rtype == 2 or rtype == 12 or rtype == 39
                                       or (rtype == 15 and rdlen >= 3)):
                    # a name (MX: after a 16-bit preference) filling the rdata exactly, in
                    # zone-file form as rdata_text writes it; anything else (a problem in
                    # the name, bytes left over) takes the Record path below, which flags it
                    q = p + 2 if rtype == 15 else p
                    st = 0
                    ps.want_text = True
                    ps.dot = True
                    text = ps.name(&q, p + rdlen, &st)
                    ps.dot = False
                    if st == 0 and q == p + rdlen:
                        if rtype == 15:
                            text = f"{rd16(b, p)} {text}"  # rdlen >= 3 checked above
                        sink.add_answer(text, ttl)
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
                    sink.add_answer(_answer_text(rr), ttl)
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
                if name != ".":
                    ps.flag("opt_name_not_root")
                if not seen_opt:
                    seen_opt = True
                    if not columnar:
                        m.edns = rr.data
                    rcode = ((ttl >> 24) & 0xFF) << 4 | (flags & 0xF)
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
                    if section != 3:
                        ps.flag("tsig_not_last")
                    if not columnar:
                        m.tsig = rr
            p += rdlen
            if columnar:
                sink.add_answer(_answer_text(rr), ttl)
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


cdef _Summary _summary_of(Message msg):
    """The columnar output computed from a Message (for messages fed already decoded)."""
    cdef _Summary s = _Summary.__new__(_Summary)
    cdef Question q
    cdef Record rec
    s.id = msg.id
    s.flags = msg.flags
    s.rcode = msg.rcode
    s.qname = None
    s.qtype = 0
    s.qcls = 0
    s.owners = None
    if msg.questions:
        q = msg.questions[0]
        s.qname = q.name
        s.qtype = q.type
        s.qcls = q.cls
    elif msg.answers:
        s.owners = [rec.name.lower() for rec in msg.answers]
    s.answers = [_answer_text(rec) for rec in msg.answers]
    s.ttls = [rec.ttl for rec in msg.answers]
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
    cdef Py_ssize_t n = PyBytes_GET_SIZE(s), i, o = 0
    cdef unsigned char c
    cdef bytearray buf = bytearray(4 * n)   # at most 4 characters per byte (\\DDD)
    cdef char* out = PyByteArray_AS_STRING(buf)
    for i in range(n):
        c = b[i]  # i < n == len(s)
        # o + 4 <= 4 * n: one byte writes at most 4 characters
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
    return _ascii(out, o)


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


cdef bint _text_multicast(str host):
    if ":" in host:
        return host[:2].lower() == "ff"
    head = host.partition(".")[0]
    return head.isdigit() and 224 <= int(head) <= 239


cdef object _answer_text(Record r):
    # the common types without the generic formatter; the same text as rdata_text
    cdef int t = r.type
    d = r.data
    if not r.malformed:
        if t == 1 or t == 28:
            return d
        if t == 2 or t == 5 or t == 12 or t == 39:
            return d + "." if d != "." else "."
        if t == 15:
            return f"{(<tuple>d)[0]} {_owner_text((<tuple>d)[1])}"
    return rdata_text(r)


cdef class _AnswerNames(list):
    """Lower-cased answer owner names of a response that carries no question."""


cdef str _lower(str name):
    # names are ASCII text (escaped by the parser): the same object when already lower
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(name)
    cdef Py_UCS4 c
    for i in range(n):
        c = PyUnicode_READ_CHAR(name, i)
        if 65 <= c <= 90:
            return name.lower()
    return name


cdef inline bint _question_matches(object response_key, object query_key):
    # keys are lower-cased first-question names (type and class are compared apart);
    # response_key may also be None (no question, no answer) or _AnswerNames
    if response_key is None:
        return True
    if type(response_key) is _AnswerNames:
        return query_key is not None and query_key in response_key
    return response_key == query_key


cdef extern from "arpa/inet.h" nogil:
    int inet_pton(int af, const char* src, void* dst)

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(void* op)


cdef inline object _atomic_list(list values):
    # The table's lists (a row's answers, TTLs and problems; the columns) hold only str,
    # int, None and such lists, so they can never be part of a reference cycle:
    # untracked, the cyclic collector does not rescan them (a table holds three per
    # transaction; a collector pass over them cost more than building the table).
    # Only a caller who puts a list into itself would leak it. Safe to repeat.
    PyObject_GC_UnTrack(<void*>values)
    return values


cdef struct trow_t:
    int64_t ts
    int64_t rtt              # -1: none
    uint64_t h_ep            # hash of (transport, client, server, id)
    uint64_t h_grp           # hash of (transport, group, id) for queries sent to a group
    uint64_t h_cli           # hash of (transport, client, id) for those queries
    int32_t next_ep          # older row with the same hash in each table, -1 at the end
    int32_t next_grp
    int32_t next_cli
    int32_t qflags           # header flags of the query, -1 if none was seen
    int32_t rflags           # of the response, -1 if none
    int32_t rcode            # extended rcode of the response, -1 if none
    int32_t dupq
    int32_t dupr
    uint16_t cport
    uint16_t sport
    uint16_t tid
    uint16_t qtype           # of the first question (its lower-cased name is in c_qkey)
    uint16_t qcls
    uint8_t proto
    uint8_t status
    uint8_t alen
    uint8_t group
    uint8_t emitted          # streaming: already handed out by take()
    uint8_t caddr[16]
    uint8_t saddr[16]


cdef struct htab_t:
    # open addressing: a slot holds a key hash and the newest row with it (-1: empty)
    uint64_t* hashes
    int32_t* heads
    Py_ssize_t cap
    Py_ssize_t used


cdef int htab_init(htab_t* t, Py_ssize_t cap) except -1:
    cdef Py_ssize_t i
    t.hashes = <uint64_t*>malloc(cap * sizeof(uint64_t))
    t.heads = <int32_t*>malloc(cap * sizeof(int32_t))
    if t.hashes == NULL or t.heads == NULL:
        free(t.hashes)
        free(t.heads)
        t.hashes = NULL
        t.heads = NULL
        raise MemoryError()
    for i in range(cap):
        t.heads[i] = -1
    t.cap = cap
    t.used = 0
    return 0


cdef void htab_free(htab_t* t) noexcept:
    free(t.hashes)
    free(t.heads)
    t.hashes = NULL
    t.heads = NULL


cdef inline Py_ssize_t htab_slot(htab_t* t, uint64_t h) noexcept nogil:
    # cap is a power of two and the table is at most half full: the probe ends
    cdef Py_ssize_t i = <Py_ssize_t>(h & <uint64_t>(t.cap - 1))
    while t.heads[i] != -1 and t.hashes[i] != h:
        i = (i + 1) & (t.cap - 1)
    return i


cdef inline int32_t htab_head(htab_t* t, uint64_t h) noexcept nogil:
    return t.heads[htab_slot(t, h)]


cdef int htab_grow(htab_t* t) except -1:
    cdef htab_t bigger
    cdef Py_ssize_t i, j
    htab_init(&bigger, t.cap * 2)
    for i in range(t.cap):
        if t.heads[i] != -1:
            j = htab_slot(&bigger, t.hashes[i])
            bigger.hashes[j] = t.hashes[i]
            bigger.heads[j] = t.heads[i]
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
    old = t.heads[i]
    if old == -1:
        t.hashes[i] = h
        t.used += 1
    t.heads[i] = row
    return old


cdef inline uint64_t mix(uint64_t h, const uint8_t* p, Py_ssize_t n) noexcept nogil:
    # FNV-1a
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * 0x100000001B3ULL
    return h


cdef inline uint64_t key_hash(int kind, int proto, int alen, const uint8_t* a, int aport,
                              const uint8_t* b, int bport, int tid) noexcept nogil:
    cdef uint8_t head[8]
    cdef uint64_t h = 0xCBF29CE484222325ULL
    head[0] = kind
    head[1] = proto
    head[2] = alen
    head[3] = aport >> 8
    head[4] = aport & 0xFF
    head[5] = bport >> 8
    head[6] = bport & 0xFF
    head[7] = tid & 0xFF
    h = mix(h, head, 8)
    h = mix(h, a, alen)
    if b != NULL:
        h = mix(h, b, alen)
    head[0] = tid >> 8
    return mix(h, head, 1)


cdef enum:
    K_EP = 1
    K_GRP = 2
    K_CLI = 3


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


cdef array.array _I64 = array.array("q")

_RAW_COLUMNS = ("ts_ns", "proto", "id_orig_h", "id_orig_p", "id_resp_h", "id_resp_p",
                "trans_id", "query", "qclass", "qtype", "opcode", "query_flags",
                "response_flags", "rcode", "answers", "TTLs", "status_code",
                "duplicate_queries", "duplicate_responses", "rtt_ns", "problems")


cdef enum:
    ADDR_CACHE = 512


cdef class TransactionBuilder:
    """Pairs DNS queries with responses as they are fed; columns come out at the end.

    Rows live in a C array and three hash tables chain them by (transport, client,
    server, id), by (transport, multicast group, id) and by (transport, client, id) for
    queries sent to a group; the first question (lower-cased name, type, class) is
    compared last. Memory: one row per transaction plus its strings.

    With streaming=True (TransactionTracker), take() hands out the rows completed since
    the last call and the pending ones older than the timeout, and rows that can no
    longer match anything (older than the timeout) are dropped, so memory stays bounded
    by the traffic of one timeout window. The pairing itself is the same in both modes.
    """
    cdef trow_t* rows
    cdef Py_ssize_t n
    cdef Py_ssize_t cap
    cdef htab_t t_ep
    cdef htab_t t_grp
    cdef htab_t t_cli
    cdef list c_proto, c_oh, c_rh, c_query, c_qclass, c_qtype
    cdef list c_answers, c_ttls, c_problems, c_qkey
    cdef int64_t timeout_ns
    cdef int cur_qtype         # the first question of the message being paired
    cdef int cur_qcls
    cdef bytearray port_mask
    cdef object tcp_handler
    cdef bint streaming
    cdef list addr_cache       # text of recently seen endpoint addresses (ADDR_CACHE slots)
    cdef uint8_t addr_raw[ADDR_CACHE][17]   # per slot: length, then the raw address
    cdef list done             # streaming: rows completed since the last take()
    cdef Py_ssize_t expire_from  # streaming: rows before this one are handed out and dead

    def __cinit__(self):
        self.rows = NULL
        self.t_ep.hashes = NULL
        self.t_ep.heads = NULL
        self.t_grp.hashes = NULL
        self.t_grp.heads = NULL
        self.t_cli.hashes = NULL
        self.t_cli.heads = NULL

    def __init__(self, ports, double timeout, tcp_handler=None, bint streaming=False):
        if not timeout >= 0:
            raise ValueError("timeout must be >= 0 seconds")
        self.streaming = streaming
        self.addr_cache = [None] * ADDR_CACHE
        memset(self.addr_raw, 0, sizeof(self.addr_raw))
        self.done = []
        self.expire_from = 0
        self.cap = 1024
        self.n = 0
        self.rows = <trow_t*>malloc(self.cap * sizeof(trow_t))
        if self.rows == NULL:
            raise MemoryError()
        htab_init(&self.t_ep, 2048)
        htab_init(&self.t_grp, 64)
        htab_init(&self.t_cli, 64)
        self.c_proto = []
        self.c_oh = []
        self.c_rh = []
        self.c_query = []
        self.c_qclass = []
        self.c_qtype = []
        self.c_answers = []
        self.c_ttls = []
        self.c_problems = []
        self.c_qkey = []
        self.timeout_ns = <int64_t>(timeout * 1e9)
        self.port_mask = bytearray(65536)
        for p in ports:
            self.port_mask[p] = 1
        self.tcp_handler = tcp_handler

    def __dealloc__(self):
        free(self.rows)
        htab_free(&self.t_ep)
        htab_free(&self.t_grp)
        htab_free(&self.t_cli)

    def columns(self):
        """The raw columns (see wirecraft.dns.TransactionTable for the derived ones).

        Integer columns that are never null are array.array('q') (filled in C: no Python
        int per value until one is read); the others are lists."""
        cdef Py_ssize_t i, n = self.n
        cdef trow_t* r
        cdef array.array ts = array.clone(_I64, n, False)
        cdef array.array cp = array.clone(_I64, n, False)
        cdef array.array sp = array.clone(_I64, n, False)
        cdef array.array qf = array.clone(_I64, n, False)
        cdef array.array rf = array.clone(_I64, n, False)
        cdef array.array st = array.clone(_I64, n, False)
        cdef array.array dq = array.clone(_I64, n, False)
        cdef array.array dr = array.clone(_I64, n, False)
        cdef array.array rtt = array.clone(_I64, n, False)
        cdef array.array tid = array.clone(_I64, n, False)
        cdef array.array opcode = array.clone(_I64, n, False)
        cdef list rc = [None] * n
        for i in range(n):
            # i < n: each array was made n long above
            r = &self.rows[i]
            ts.data.as_longlongs[i] = r.ts
            cp.data.as_longlongs[i] = r.cport
            sp.data.as_longlongs[i] = r.sport
            qf.data.as_longlongs[i] = r.qflags
            rf.data.as_longlongs[i] = r.rflags
            st.data.as_longlongs[i] = r.status
            dq.data.as_longlongs[i] = r.dupq
            dr.data.as_longlongs[i] = r.dupr
            rtt.data.as_longlongs[i] = r.rtt
            tid.data.as_longlongs[i] = r.tid
            # the opcode of the message that made the row (the query, or a lone response)
            opcode.data.as_longlongs[i] = ((r.qflags if r.qflags >= 0 else r.rflags) >> 11) & 0xF
            if r.rcode >= 0:
                rc[i] = r.rcode
        cols = {"ts_ns": ts, "proto": self.c_proto, "id_orig_h": self.c_oh,
                "id_orig_p": cp, "id_resp_h": self.c_rh, "id_resp_p": sp,
                "trans_id": tid, "query": self.c_query, "qclass": self.c_qclass,
                "qtype": self.c_qtype, "opcode": opcode, "query_flags": qf,
                "response_flags": rf, "rcode": rc, "answers": self.c_answers,
                "TTLs": self.c_ttls, "status_code": st, "duplicate_queries": dq,
                "duplicate_responses": dr, "rtt_ns": rtt, "problems": self.c_problems}
        # every column holds str, int, None or the rows' own untracked lists: no cycles,
        # and a collector pass over a million-row table would touch every value
        for values in cols.values():
            if type(values) is list:
                _atomic_list(values)
        return cols

    cdef int32_t add_row(self, int64_t ts, int proto, str proto_name, int alen,
                         const uint8_t* ca, int cport, object ch, const uint8_t* sa,
                         int sport, object sh, _Summary msg, object qk, int status) except -1:
        cdef trow_t* r
        cdef trow_t* grown
        if self.n >= 0x7FFFFFFF:
            raise OverflowError("too many DNS transactions for one table")
        if self.n == self.cap:
            grown = <trow_t*>realloc(self.rows, self.cap * 2 * sizeof(trow_t))
            if grown == NULL:
                raise MemoryError()
            self.rows = grown
            self.cap *= 2
        r = &self.rows[self.n]
        memset(r, 0, sizeof(trow_t))
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
        self.c_proto.append(proto_name)
        self.c_oh.append(ch if type(ch) is str else self.addr_text(ca, alen))
        self.c_rh.append(sh if type(sh) is str else self.addr_text(sa, alen))
        r.qtype = msg.qtype
        r.qcls = msg.qcls
        if msg.qname is not None:
            self.c_query.append(msg.qname)
            self.c_qclass.append(msg.qcls)
            self.c_qtype.append(msg.qtype)
        else:
            self.c_query.append(None)
            self.c_qclass.append(None)
            self.c_qtype.append(None)
        self.c_answers.append(None)
        self.c_ttls.append(None)
        self.c_problems.append(
            _atomic_list(msg.problems if msg.problems is not None else []))
        self.c_qkey.append(qk)
        self.n += 1
        return <int32_t>(self.n - 1)

    cdef object addr_text(self, const uint8_t* a, int alen):
        # a direct-mapped cache: clients and servers repeat, so most rows share the text
        cdef Py_ssize_t slot = <Py_ssize_t>(mix(0xCBF29CE484222325ULL, a, alen)
                                            & (ADDR_CACHE - 1))
        cdef uint8_t* raw = self.addr_raw[slot]
        cdef object text
        if raw[0] == alen and memcmp(raw + 1, a, alen) == 0:
            return self.addr_cache[slot]
        text = ip_text(a, AF_INET6 if alen == 16 else AF_INET)
        raw[0] = alen
        memcpy(raw + 1, a, alen)  # alen is 4 or 16: the slot holds 16
        self.addr_cache[slot] = text
        return text

    cdef int fill_response(self, int32_t row, int64_t ts, _Summary msg,
                           bint answered) except -1:
        cdef trow_t* r = &self.rows[row]
        r.rflags = msg.flags
        r.rcode = msg.rcode
        if answered:
            r.status = ST_ANSWERED
            r.rtt = ts - r.ts
        self.c_answers[row] = _atomic_list(msg.answers if msg.answers is not None else [])
        self.c_ttls[row] = _atomic_list(msg.ttls if msg.ttls is not None else [])
        if msg.problems and self.c_problems[row] is not msg.problems:
            probs = self.c_problems[row]
            for p in msg.problems:
                if p not in probs:
                    probs.append(p)
        return 0

    cdef int32_t find(self, int kind, uint64_t h, int proto, int alen, const uint8_t* a,
                      int aport, const uint8_t* b, int bport, int tid, object qk,
                      int64_t ts, int status, bint oldest, bint exact=False):
        """The oldest (or newest) row of the chain for h whose key, status, question
        (exactly equal with exact, else as _question_matches) and time window fit."""
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
            r = &self.rows[i]
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
                if hit and 0 <= age <= self.timeout_ns and (
                        qk == self.c_qkey[i] if exact else _question_matches(
                            qk, self.c_qkey[i])) and (
                        type(qk) is not str or (r.qtype == self.cur_qtype
                                                and r.qcls == self.cur_qcls)):
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
        self.pair(ts, 1 if proto == "tcp" else 0, alen, sa, sport, src, da, dport, dst,
                  _summary_of(msg), dst_multicast)

    cdef int pair(self, int64_t ts, int pr, int alen, const uint8_t* sa, int sport,
                  object src, const uint8_t* da, int dport, object dst, _Summary msg,
                  bint dst_multicast) except -1:
        # src/dst: the addresses as text, or None to format them from sa/da when needed
        cdef int tid = msg.id
        cdef str proto = "tcp" if pr else "udp"
        cdef uint64_t h
        cdef int32_t row
        cdef object qk = None
        if msg.qname is not None:
            qk = _lower(msg.qname)
        self.cur_qtype = msg.qtype
        self.cur_qcls = msg.qcls
        if not (msg.flags & 0x8000):
            h = key_hash(K_EP, pr, alen, sa, sport, da, dport, tid)
            row = self.find(K_EP, h, pr, alen, sa, sport, da, dport, tid, qk, ts,
                            ST_UNANSWERED, True, True)
            if row >= 0:  # the same question again while waiting: a retransmission
                self.rows[row].dupq += 1
                return 0
            row = self.add_row(ts, pr, proto, alen, sa, sport, src, da, dport, dst, msg, qk,
                               ST_UNANSWERED)
            self.rows[row].h_ep = h
            self.rows[row].next_ep = htab_push(&self.t_ep, h, row)
            if dst_multicast:
                self.rows[row].group = 1
                h = key_hash(K_GRP, pr, alen, da, dport, NULL, 0, tid)
                self.rows[row].h_grp = h
                self.rows[row].next_grp = htab_push(&self.t_grp, h, row)
                h = key_hash(K_CLI, pr, alen, sa, sport, NULL, 0, tid)
                self.rows[row].h_cli = h
                self.rows[row].next_cli = htab_push(&self.t_cli, h, row)
            return 0
        if qk is None and msg.owners:
            # no question (mDNS answers): the query is the one asking for an answer's name
            qk = _AnswerNames(msg.owners)
        if dst_multicast:
            h = key_hash(K_GRP, pr, alen, da, dport, NULL, 0, tid)
            row = self.find(K_GRP, h, pr, alen, da, dport, NULL, 0, tid, qk, ts,
                            ST_UNANSWERED, True)
            if row < 0:
                row = self.find(K_GRP, h, pr, alen, da, dport, NULL, 0, tid, qk, ts,
                                ST_ANSWERED, False)
                if row >= 0:
                    self.rows[row].dupr += 1
                    return 0
        else:
            h = key_hash(K_EP, pr, alen, da, dport, sa, sport, tid)
            row = self.find(K_EP, h, pr, alen, da, dport, sa, sport, tid, qk, ts,
                            ST_UNANSWERED, True)
            if row < 0:
                # a unicast reply to a query sent to a multicast group (mDNS QU, LLMNR)
                h = key_hash(K_CLI, pr, alen, da, dport, NULL, 0, tid)
                row = self.find(K_CLI, h, pr, alen, da, dport, NULL, 0, tid, qk, ts,
                                ST_UNANSWERED, True)
                if row < 0:
                    row = self.find(K_CLI, h, pr, alen, da, dport, NULL, 0, tid, qk, ts,
                                    ST_ANSWERED, False)
                    if row < 0:
                        h = key_hash(K_EP, pr, alen, da, dport, sa, sport, tid)
                        row = self.find(K_EP, h, pr, alen, da, dport, sa, sport, tid, qk,
                                        ts, ST_ANSWERED, False)
                    if row >= 0:
                        self.rows[row].dupr += 1
                        return 0
        if row >= 0:
            self.fill_response(row, ts, msg, True)
            if self.streaming:
                self.done.append(row)
            return 0
        row = self.add_row(ts, pr, proto, alen, da, dport, dst, sa, sport, src, msg,
                           None if type(qk) is _AnswerNames else qk, ST_NO_QUERY)
        self.fill_response(row, ts, msg, False)
        if self.streaming:
            self.done.append(row)
        return 0

    def __len__(self):
        """Rows held (in streaming mode: those of the last timeout window)."""
        return self.n

    def take(self, int64_t now, bint everything=False):
        """Streaming: the raw columns (as columns() gives them) of the rows completed
        since the last call, after the pending ones that `now` (packet time, ns) put past
        the timeout, which come out unanswered; everything=True hands out every row left.
        Returns None when there is nothing to hand out."""
        cdef Py_ssize_t i = self.expire_from
        cdef trow_t* r
        cdef list out = []
        if not self.streaming:
            raise RuntimeError("take() needs a streaming builder")
        while i < self.n:
            r = &self.rows[i]
            if not everything and now - r.ts <= self.timeout_ns:
                break
            if not r.emitted:
                r.emitted = 1
                out.append(i)
            i += 1
        self.expire_from = i
        for j in self.done:
            r = &self.rows[<Py_ssize_t>j]
            if not r.emitted:
                r.emitted = 1
                out.append(j)
        self.done = []
        cols = self._columns_of(out) if out else None
        if self.expire_from >= 256 and self.expire_from * 2 >= self.n:
            self._compact()
        return cols

    cdef dict _columns_of(self, list idx):
        # the layout of columns(), for the rows idx only (each index < self.n)
        cdef dict cols = {name: [] for name in _RAW_COLUMNS}
        cdef trow_t* r
        cdef Py_ssize_t i
        for j in idx:
            i = j
            r = &self.rows[i]
            cols["ts_ns"].append(r.ts)
            cols["id_orig_p"].append(r.cport)
            cols["id_resp_p"].append(r.sport)
            cols["query_flags"].append(r.qflags)
            cols["response_flags"].append(r.rflags)
            cols["rcode"].append(r.rcode if r.rcode >= 0 else None)
            cols["status_code"].append(r.status)
            cols["duplicate_queries"].append(r.dupq)
            cols["duplicate_responses"].append(r.dupr)
            cols["rtt_ns"].append(r.rtt)
            cols["proto"].append(self.c_proto[i])
            cols["id_orig_h"].append(self.c_oh[i])
            cols["id_resp_h"].append(self.c_rh[i])
            cols["trans_id"].append(r.tid)
            cols["query"].append(self.c_query[i])
            cols["qclass"].append(self.c_qclass[i])
            cols["qtype"].append(self.c_qtype[i])
            cols["opcode"].append(((r.qflags if r.qflags >= 0 else r.rflags) >> 11) & 0xF)
            cols["answers"].append(self.c_answers[i])
            cols["TTLs"].append(self.c_ttls[i])
            cols["problems"].append(self.c_problems[i])
        return cols

    cdef int _compact(self) except -1:
        # rows before expire_from are handed out and older than the timeout, so no
        # find() can return them: drop them and rebuild the chains of the rest in order
        cdef Py_ssize_t cut = self.expire_from, i
        cdef Py_ssize_t keep = self.n - cut
        cdef trow_t* r
        memmove(self.rows, self.rows + cut, keep * sizeof(trow_t))
        self.n = keep
        self.expire_from = 0
        for lst in (self.c_proto, self.c_oh, self.c_rh, self.c_query, self.c_qclass,
                    self.c_qtype, self.c_answers, self.c_ttls,
                    self.c_problems, self.c_qkey):
            del lst[:cut]
        htab_free(&self.t_ep)
        htab_free(&self.t_grp)
        htab_free(&self.t_cli)
        htab_init(&self.t_ep, 2048)
        htab_init(&self.t_grp, 64)
        htab_init(&self.t_cli, 64)
        for i in range(keep):
            r = &self.rows[i]
            r.next_ep = -1
            r.next_grp = -1
            r.next_cli = -1
            if r.qflags < 0:  # a response without a query is in no chain
                continue
            r.next_ep = htab_push(&self.t_ep, r.h_ep, <int32_t>i)
            if r.group:
                r.next_grp = htab_push(&self.t_grp, r.h_grp, <int32_t>i)
                r.next_cli = htab_push(&self.t_cli, r.h_cli, <int32_t>i)
        return 0

    cpdef feed(self, int64_t ts, str proto, object src, int sport, object dst, int dport,
               object payload, object mdns, bint fragment):
        """Decode one DNS payload and pair it."""
        cdef bytes raw = payload if type(payload) is bytes else bytes(payload)
        cdef int mode = 2 if mdns is None else (1 if mdns else 0)
        cdef _Summary msg = _Summary.__new__(_Summary)
        cdef uint8_t sa[16]
        cdef uint8_t da[16]
        cdef int alen = _address(src, sa)
        if _address(dst, da) != alen:
            raise ValueError("source and destination address families differ")
        _decode_with(_Parser(raw, mode), mode, True, msg)
        if fragment:
            msg.problems = (msg.problems or []) + ["ip_fragment"]
        self.pair(ts, 1 if proto == "tcp" else 0, alen, sa, sport, src, da, dport, dst, msg,
                  _text_multicast(dst))

    def feed_batch(self, batch):
        """Every UDP DNS message of a core Batch, read straight from its record array;
        TCP packets on the ports go to tcp_handler(packet)."""
        cdef object data = batch.data
        cdef bytearray records = batch.records
        cdef Py_ssize_t n = len(batch), i
        cdef const unsigned char* base
        cdef Py_ssize_t data_len
        cdef const unsigned char* rec = <const unsigned char*>PyByteArray_AS_STRING(records)
        cdef const unsigned char* r
        cdef unsigned int layers, sport, dport, poff, plen, fo
        cdef int alen
        cdef bint dst_mc
        cdef const unsigned char* mask = <const unsigned char*>PyByteArray_AS_STRING(
            self.port_mask)
        cdef _Parser ps = _Parser(b"", 2)
        cdef _Summary msg = _Summary.__new__(_Summary)  # reused: rows take its lists
        cdef int mode
        if REC_SIZE == 0:
            raise RuntimeError("record layout unknown: call _record_layout first")
        if isinstance(data, bytes):
            base = <const unsigned char*>PyBytes_AS_STRING(data)
            data_len = PyBytes_GET_SIZE(data)
        else:
            base = <const unsigned char*>PyByteArray_AS_STRING(data)
            data_len = PyByteArray_GET_SIZE(data)
        if PyByteArray_GET_SIZE(records) < n * REC_SIZE:
            raise ValueError("batch records shorter than its length")
        for i in range(n):
            # i < n and the records array holds n * REC_SIZE bytes (checked above)
            r = rec + i * REC_SIZE
            layers = get_u16(r + F_LAYERS)
            if not (layers & (L_UDP_BIT | L_TCP_BIT)):
                continue
            sport = get_u16(r + F_SPORT)
            dport = get_u16(r + F_DPORT)
            if not (mask[sport] or mask[dport]):  # ports are < 65536, mask has 65536 bytes
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
            dst_mc = (r[F_DST] == 0xFF) if alen == 16 else (224 <= r[F_DST] <= 239)
            mode = 1 if (sport == 5353 or dport == 5353) else 2
            # fo + poff + plen <= data_len checked above; `data` (held by this frame)
            # keeps the buffer alive while the parser reads it in place
            ps.over(base + fo + poff, plen, mode)
            _decode_with(ps, mode, True, msg)
            if r[F_IPFLAGS] & 1:
                msg.problems = (msg.problems or []) + ["ip_fragment"]
            # the address fields are 16 bytes inside the record (alen <= 16)
            self.pair(get_i64(r + F_TS), 0, alen, r + F_SRC, sport, None, r + F_DST, dport,
                      None, msg, dst_mc)


# --- rows of the transaction table -------------------------------------------------------------
TRANSACTION_COLUMNS = (
    "ts", "ts_ns", "uid", "id_orig_h", "id_orig_p", "id_resp_h", "id_resp_p", "proto",
    "trans_id", "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode",
    "rcode_name", "opcode", "AA", "TC", "RD", "RA", "Z", "AD", "CD", "answers", "TTLs",
    "rejected", "status", "duplicate_queries", "duplicate_responses", "problems",
)
_RAW_PUBLIC = frozenset(("ts_ns", "id_orig_h", "id_orig_p", "id_resp_h", "id_resp_p", "proto",
                         "trans_id", "query", "qclass", "qtype", "rcode", "opcode", "answers",
                         "TTLs", "duplicate_queries", "duplicate_responses", "problems"))


def connection_uid(str proto, str orig_h, orig_p, str resp_h, resp_p):
    """A stable id for the (transport, client, server) conversation, Zeek-uid-like."""
    cdef bytes text = f"{proto} {orig_h} {orig_p} {resp_h} {resp_p}".encode()
    cdef unsigned long long h = 0xCBF29CE484222325ULL
    cdef unsigned char c
    for c in text:
        h = (h ^ c) * 0x100000001B3ULL
    return f"D{h:016x}"


cdef object _derived(dict cols, Py_ssize_t i, str name):
    cdef long long qf, rf, ask, ans
    if name == "status":
        return STATUS_NAMES[cols["status_code"][i]]
    if name == "ts":
        return cols["ts_ns"][i] / 1e9
    if name == "rtt":
        rtt = cols["rtt_ns"][i]
        return rtt / 1e9 if rtt >= 0 else None
    if name == "uid":
        return connection_uid(cols["proto"][i], cols["id_orig_h"][i], cols["id_orig_p"][i],
                              cols["id_resp_h"][i], cols["id_resp_p"][i])
    if name == "qclass_name":
        c = cols["qclass"][i]
        return class_name(c) if c is not None else None
    if name == "qtype_name":
        t = cols["qtype"][i]
        return type_name(t) if t is not None else None
    if name == "rcode_name":
        c = cols["rcode"][i]
        return rcode_name(c) if c is not None else None
    if name == "rejected":
        c = cols["rcode"][i]
        return c is not None and c not in (0, 3)
    qf = cols["query_flags"][i]
    rf = cols["response_flags"][i]
    # RD/CD as the client asked; the other bits as the server answered
    ask = qf if qf >= 0 else rf
    ans = rf if rf >= 0 else 0
    if name == "AA":
        return bool(ans & 0x400)
    if name == "TC":
        return bool(ans & 0x200)
    if name == "RD":
        return bool(ask & 0x100)
    if name == "RA":
        return bool(ans & 0x80)
    if name == "Z":
        return (ans >> 4) & 7
    if name == "AD":
        return bool(ans & 0x20)
    if name == "CD":
        return bool(ask & 0x10)
    raise KeyError(name)


@cython.no_gc   # refers to the table's columns, which never refer back: no cycle possible
cdef class TransactionRow:
    """One transaction: a read-only mapping of TRANSACTION_COLUMNS over the table's columns."""
    cdef dict cols
    cdef Py_ssize_t i

    def __init__(self, dict cols, Py_ssize_t i):
        self.cols = cols
        self.i = i

    def __getitem__(self, str name):
        if name in _RAW_PUBLIC:
            return self.cols[name][self.i]
        return _derived(self.cols, self.i, name)

    def get(self, str name, default=None):
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name):
        return name in TRANSACTION_COLUMNS

    def __iter__(self):
        return iter(TRANSACTION_COLUMNS)

    def __len__(self):
        return len(TRANSACTION_COLUMNS)

    def keys(self):
        return list(TRANSACTION_COLUMNS)

    def values(self):
        return [self[k] for k in TRANSACTION_COLUMNS]

    def items(self):
        return [(k, self[k]) for k in TRANSACTION_COLUMNS]

    def to_dict(self):
        """A plain dict of the row (for JSON and printing)."""
        return {k: self[k] for k in TRANSACTION_COLUMNS}

    def __eq__(self, other):
        if isinstance(other, TransactionRow):
            return self.to_dict() == other.to_dict()
        if isinstance(other, dict):
            return self.to_dict() == other
        return NotImplemented

    def __repr__(self):
        return f"TransactionRow({self.to_dict()!r})"


def transaction_rows(dict cols, Py_ssize_t n):
    """Row views 0..n-1 over the columns."""
    # the rows are not tracked by the collector (no_gc) and neither is their list
    cdef list rows = [None] * n
    cdef TransactionRow row
    cdef Py_ssize_t i
    for i in range(n):
        row = TransactionRow.__new__(TransactionRow)  # no __init__ call: fields set here
        row.cols = cols
        row.i = i
        rows[i] = row
    return _atomic_list(rows)
