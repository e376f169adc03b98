# UDP (RFC 768): header into rec_t; the UDP length bounds the payload.
# Inline, nogil, no runtime import: it is compiled into the batch decoder's loop.

from libc.stdint cimport uint16_t, uint8_t, uint32_t

from wirecraft._codes cimport (
    A_IP_LEN_BEYOND_CAPTURE, A_SNAPLEN_CUT, A_UDP_LEN_BAD, A_UDP_LEN_MISMATCH, L_UDP,
    R_BAD_LENGTH, R_TRUNCATED_PAYLOAD, S_PAYLOAD, S_TRANSPORT,
)
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16
from wirecraft.proto.common cimport read_ports, short_header, stop


cdef inline void decode_udp(const uint8_t* p, rec_t* r, uint32_t off, uint32_t avail,
                            bint fragment) noexcept nogil:
    """UDP header at p[off:off + avail] (avail bounded by caplen and IP length)."""
    cdef uint32_t ulen
    if avail < 8:
        if avail >= 4:
            read_ports(p, r, off, L_UDP, 0)
        if avail >= 6:
            r.udp_length = be16(p + off + 4)
        r.payload_offset = off + avail
        r.payload_length = 0
        stop(r, S_TRANSPORT, short_header(r, fragment))
        return
    # avail >= 8 checked above
    read_ports(p, r, off, L_UDP, 0)
    ulen = be16(p + off + 4)
    r.udp_length = <uint16_t>ulen
    r.udp_checksum = be16(p + off + 6)
    r.payload_offset = off + 8
    r.payload_length = avail - 8
    r.stop_layer = S_TRANSPORT
    if ulen < 8:
        r.anomalies |= A_UDP_LEN_BAD
        stop(r, S_TRANSPORT, R_BAD_LENGTH)
    elif not fragment:
        if ulen - 8 < r.payload_length:
            # shorter than the IP payload: the UDP length wins, rest is trailer
            r.payload_length = ulen - 8
            r.anomalies |= A_UDP_LEN_MISMATCH
        elif ulen - 8 > r.payload_length:
            if r.anomalies & A_SNAPLEN_CUT:
                stop(r, S_PAYLOAD, R_TRUNCATED_PAYLOAD)
            elif r.anomalies & A_IP_LEN_BEYOND_CAPTURE:
                stop(r, S_PAYLOAD, R_BAD_LENGTH)
            else:
                # the payload was reached; it is shorter than UDP's length says
                r.anomalies |= A_UDP_LEN_MISMATCH | A_UDP_LEN_BAD
                stop(r, S_PAYLOAD, R_BAD_LENGTH)
