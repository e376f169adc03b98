# ICMP (RFC 792) and ICMPv6 (RFC 4443): type, code, checksum and, for echo-like
# types, identifier and sequence number.
# Inline, nogil, no runtime import: it is compiled into the batch decoder's loop.

from libc.stdint cimport uint8_t, uint32_t

from wirecraft._codes cimport L_ICMP, L_ICMPV6, S_TRANSPORT
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16
from wirecraft.proto.common cimport short_header, stop


cdef inline bint icmp_has_id(uint8_t proto, uint8_t t) noexcept nogil:
    """ICMP/ICMPv6 types whose bytes 4..7 are an identifier and a sequence number."""
    if proto == 1:
        return t == 0 or t == 8 or t == 13 or t == 14 or t == 15 or t == 16 or t == 17 or t == 18
    return t == 128 or t == 129


cdef inline void decode_icmp(const uint8_t* p, rec_t* r, uint32_t off, uint32_t avail,
                             uint8_t proto, bint fragment) noexcept nogil:
    """ICMP (proto 1) or ICMPv6 (proto 58: the layer bit and the echo types follow it)
    header at p[off:off + avail]."""
    if avail < 4:
        r.payload_offset = off + avail
        r.payload_length = 0
        stop(r, S_TRANSPORT, short_header(r, fragment))
        return
    # avail >= 4 checked above
    r.layers |= L_ICMP if proto == 1 else L_ICMPV6
    r.icmp_type = p[off]
    r.icmp_code = p[off + 1]
    r.icmp_checksum = be16(p + off + 2)
    r.payload_offset = off + 4
    r.payload_length = avail - 4
    r.stop_layer = S_TRANSPORT
    # rest of header: id/seq for echo, unused/pointer/MTU for others; each of id and
    # seq is kept only when captured (the views tell absent from 0 by `avail`)
    if icmp_has_id(proto, r.icmp_type):
        if avail >= 6:
            r.icmp_id = be16(p + off + 4)
        if avail >= 8:
            r.icmp_seq = be16(p + off + 6)
    if avail >= 8:
        r.payload_offset = off + 8
        r.payload_length = avail - 8
