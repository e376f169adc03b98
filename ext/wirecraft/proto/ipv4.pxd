# IPv4 (RFC 791): header into rec_t, fragments, then the transport dispatch.
# Inline, nogil, no runtime import: it is compiled into the batch decoder's loop.

from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy

from wirecraft._codes cimport (
    A_IP_FRAGMENT, A_IP_HEADER_LEN_BAD, A_IP_LEN_BEYOND_CAPTURE, A_IP_LEN_TOO_SHORT, L_FRAG,
    L_IPOPT, L_IPV4, R_BAD_LENGTH, R_BAD_VERSION, R_NON_FIRST_FRAGMENT, R_TRUNCATED_HEADER,
    S_NETWORK,
)
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16
from wirecraft.proto.common cimport enter_network, stop
from wirecraft.proto.l4 cimport decode_l4


cdef inline void decode_ipv4(const uint8_t* p, rec_t* r, uint32_t off,
                             uint32_t caplen) noexcept nogil:
    cdef uint32_t avail = caplen - off
    cdef uint32_t hl, tl, end, frag
    if not enter_network(p, r, off, caplen, 4, S_NETWORK, R_TRUNCATED_HEADER, R_BAD_VERSION):
        return
    # avail >= 1
    if avail < 20:
        # a cut header: keep the fields that were captured whole
        r.layers |= L_IPV4
        r.ip_version = 4
        r.ip_header_length = (p[off] & 0x0F) * 4
        if avail >= 2:
            r.ip_tos = p[off + 1]
        if avail >= 4:
            r.ip_total_length = be16(p + off + 2)
        if avail >= 6:
            r.ip_id = be16(p + off + 4)
        if avail >= 8:
            r.ip_flags = p[off + 6] >> 5
            r.ip_frag_offset = <uint16_t>((be16(p + off + 6) & 0x1FFF) * 8)
        if avail >= 9:
            r.ip_ttl = p[off + 8]
        if avail >= 10:
            r.ip_protocol = p[off + 9]
        if avail >= 12:
            r.ip_checksum = be16(p + off + 10)
        if avail >= 16:
            memcpy(r.ip_src, p + off + 12, 4)
        r.payload_offset = caplen
        r.payload_length = 0
        stop(r, S_NETWORK, R_TRUNCATED_HEADER)
        return
    # avail >= 20 checked above
    r.layers |= L_IPV4
    r.ip_version = 4
    hl = (p[off] & 0x0F) * 4
    r.ip_header_length = <uint8_t>hl
    r.ip_tos = p[off + 1]
    tl = be16(p + off + 2)
    r.ip_total_length = tl
    r.ip_id = be16(p + off + 4)
    frag = be16(p + off + 6)
    r.ip_flags = <uint8_t>(frag >> 13)
    r.ip_frag_offset = <uint16_t>((frag & 0x1FFF) * 8)
    r.ip_ttl = p[off + 8]
    r.ip_protocol = p[off + 9]
    r.ip_checksum = be16(p + off + 10)
    memcpy(r.ip_src, p + off + 12, 4)
    memcpy(r.ip_dst, p + off + 16, 4)
    if hl < 20:
        r.anomalies |= A_IP_HEADER_LEN_BAD
        stop(r, S_NETWORK, R_BAD_LENGTH)
        return
    if hl > avail:
        r.payload_offset = caplen
        r.payload_length = 0
        stop(r, S_NETWORK, R_TRUNCATED_HEADER)
        return
    if hl > 20:
        r.layers |= L_IPOPT
    if tl < hl:
        r.anomalies |= A_IP_LEN_TOO_SHORT
        stop(r, S_NETWORK, R_BAD_LENGTH)
        r.payload_offset = off + hl
        r.payload_length = 0
        return
    end = off + tl
    if tl > avail:
        r.anomalies |= A_IP_LEN_BEYOND_CAPTURE
        end = caplen
    if (frag & 0x3FFF) != 0:
        r.layers |= L_FRAG
        r.anomalies |= A_IP_FRAGMENT
        if (frag & 0x1FFF) != 0:
            r.l4_offset = off + hl
            r.payload_offset = off + hl
            r.payload_length = end - (off + hl)
            stop(r, S_NETWORK, R_NON_FIRST_FRAGMENT)
            return
    decode_l4(p, r, off + hl, end, r.ip_protocol, (frag & 0x2000) != 0)
