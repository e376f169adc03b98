# TCP (RFC 9293): the fixed header into rec_t; options are read by the view.
# Inline, nogil, no runtime import: it is compiled into the batch decoder's loop.

from libc.stdint cimport uint8_t, uint32_t

from wirecraft._codes cimport (
    A_TCP_DOFF_BAD, A_TCP_HEADER_BEYOND, L_TCP, R_BAD_LENGTH, S_TRANSPORT,
)
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16, be32
from wirecraft.proto.common cimport read_ports, short_header, stop


cdef inline void decode_tcp(const uint8_t* p, rec_t* r, uint32_t off, uint32_t avail,
                            bint fragment) noexcept nogil:
    """TCP header at p[off:off + avail] (avail bounded by caplen and IP length)."""
    cdef uint32_t hl
    if avail < 20:
        # a cut header: keep the fields that were captured whole
        if avail >= 4:
            read_ports(p, r, off, L_TCP, 1)
        if avail >= 8:
            r.tcp_seq = be32(p + off + 4)
        if avail >= 12:
            r.tcp_ack = be32(p + off + 8)
        if avail >= 14:
            r.tcp_header_length = (p[off + 12] >> 4) * 4
            r.tcp_flags = be16(p + off + 12) & 0x0FFF
        if avail >= 16:
            r.tcp_window = be16(p + off + 14)
        if avail >= 18:
            r.tcp_checksum = be16(p + off + 16)
        r.payload_offset = off + avail
        r.payload_length = 0
        stop(r, S_TRANSPORT, short_header(r, fragment))
        return
    # avail >= 20 checked above
    read_ports(p, r, off, L_TCP, 1)
    r.tcp_seq = be32(p + off + 4)
    r.tcp_ack = be32(p + off + 8)
    hl = (p[off + 12] >> 4) * 4
    r.tcp_header_length = <uint8_t>hl
    r.tcp_flags = be16(p + off + 12) & 0x0FFF
    r.tcp_window = be16(p + off + 14)
    r.tcp_checksum = be16(p + off + 16)
    r.tcp_urgent = be16(p + off + 18)
    if hl < 20:
        r.anomalies |= A_TCP_DOFF_BAD
        r.payload_offset = off + 20
        r.payload_length = avail - 20
        stop(r, S_TRANSPORT, R_BAD_LENGTH)
        return
    if hl > avail:
        r.payload_offset = off + avail
        r.payload_length = 0
        stop(r, S_TRANSPORT, short_header(r, fragment))
        # malformed only when IP's own length leaves no room for the header: not when
        # the capture cut it (snaplen) or the next fragment holds the rest
        if r.stop_reason == R_BAD_LENGTH:
            r.anomalies |= A_TCP_HEADER_BEYOND
        return
    r.payload_offset = off + hl
    r.payload_length = avail - hl
    r.stop_layer = S_TRANSPORT
