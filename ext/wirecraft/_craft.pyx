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
from cpython.object cimport PyObject, PyObject_TypeCheck, PyTypeObject
from wirecraft._checksum cimport (checksum16, fold16, sum16 as c_sum16,
                                  update16 as c_update16)
from wirecraft._fastobj cimport (bare_instance, fast_init, fast_on, make_layer, slot_offset,
                                 slot_peek, slot_poke)

fast_init()  # the CPython-tricks switch, read once (_fastobj.pxd)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline uint64_t _sum_view(const uint8_t[::1] data, Py_ssize_t start,
                               Py_ssize_t end) noexcept nogil:
    """_checksum.sum16 of data[start:end], not folded."""
    # unchecked: every caller passes 0 <= start <= end <= data.shape[0] -- sum16, checksum,
    # update and pseudo_header_sum use (0, shape[0]); fill_checksum checks its range first
    if end <= start:
        return 0
    return c_sum16(&data[start], <size_t>(end - start), 0)


def sum16(const uint8_t[::1] data) -> int:
    """One's-complement sum of `data` as 16-bit big-endian words, folded (not inverted)."""
    return fold16(_sum_view(data, 0, data.shape[0]))


def checksum(const uint8_t[::1] data, unsigned int initial=0) -> int:
    """Internet checksum (RFC 1071) of `data`, starting from a folded partial sum `initial`.

    `initial` is usually the sum16() of a pseudo-header, so TCP/UDP/ICMPv6
    checksums need no concatenated copy of the segment.
    """
    return checksum16(_sum_view(data, 0, data.shape[0]) + initial)


def pseudo_header_sum(const uint8_t[::1] src, const uint8_t[::1] dst, unsigned int protocol,
                      unsigned long long length) -> int:
    """Folded sum of the IPv4 (RFC 793) or IPv6 (RFC 8200 s8.1) pseudo-header.

    src/dst are 4 or 16 bytes; the IPv6 form carries a 32-bit upper-layer length.
    """
    if src.shape[0] != dst.shape[0] or src.shape[0] not in (4, 16):
        raise ValueError("pseudo-header addresses must both be 4 or 16 bytes")
    cdef uint64_t acc = _sum_view(src, 0, src.shape[0]) + _sum_view(dst, 0, dst.shape[0])
    acc += protocol & 0xFF
    acc += (length >> 16) & 0xFFFF
    acc += length & 0xFFFF
    return fold16(acc)


def update16(unsigned int old_checksum, unsigned int old_word, unsigned int new_word) -> int:
    """RFC 1624 eqn. 3: checksum after one 16-bit word changes from old_word to new_word."""
    return c_update16(old_checksum & 0xFFFF, old_word & 0xFFFF, new_word & 0xFFFF)


def update(unsigned int old_checksum, const uint8_t[::1] old, const uint8_t[::1] new,
           bint odd=False) -> int:
    """RFC 1624 update for a changed run of bytes of equal length.

    `odd` says the run starts at an odd offset from the start of the summed region.
    """
    if old.shape[0] != new.shape[0]:
        raise ValueError("old and new must have the same length")
    cdef uint32_t so = fold16(_sum_view(old, 0, old.shape[0]))
    cdef uint32_t sn = fold16(_sum_view(new, 0, new.shape[0]))
    if odd:
        so = ((so << 8) | (so >> 8)) & 0xFFFF
        sn = ((sn << 8) | (sn >> 8)) & 0xFFFF
    return checksum16((~old_checksum & 0xFFFF) + (~so & 0xFFFF) + sn)


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
    cdef uint32_t c = checksum16(_sum_view(buf, start, end) + initial)
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
                    acc += (~fold16(old_sum)) & 0xFFFF
                    acc += fold16(new_sum)
                word = checksum16(acc)
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
        _put16(b + 10, checksum16(c_sum16(b, 20 + olen, 0)))
    else:
        _put16(b + 10, <uint32_t>(checksum & 0xFFFF))
    return out



cdef uint32_t _pseudo(object src, object dst, unsigned int protocol, Py_ssize_t length) except? 0xFFFFFFFF:
    if type(src) is not bytes or type(dst) is not bytes:
        raise TypeError("pseudo-header addresses must be bytes")
    cdef Py_ssize_t n = len(<bytes>src)
    if n != len(<bytes>dst) or (n != 4 and n != 16):
        raise ValueError("pseudo-header addresses must both be 4 or 16 bytes")
    # n is 4 or 16 (checked above): even, so the pieces can be summed one after the other
    cdef uint64_t acc = c_sum16(<const uint8_t*>PyBytes_AS_STRING(src), n, 0)
    acc = c_sum16(<const uint8_t*>PyBytes_AS_STRING(dst), n, acc)
    acc += protocol & 0xFF
    acc += (<uint64_t>length >> 16) & 0xFFFF
    acc += length & 0xFFFF
    return fold16(acc)


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
        acc = c_sum16(b, hlen + plen, 0)
        if src is not None:
            acc += _pseudo(src, dst, protocol, hlen + plen)
        c = checksum16(acc)
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

include "craft/stack.pxi"


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
