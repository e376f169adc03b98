# The transport dispatch: IP protocol number -> TCP, UDP or ICMP/ICMPv6 decoder, as the
# binding table's ip.proto and ipv6.nxt rows select (proto/dispatch.pxd; one table for
# both versions, like Wireshark's ip.proto table).
# Inline, nogil, no runtime import: it is compiled into the batch decoder's loop.

from libc.stdint cimport uint8_t, uint32_t

from wirecraft._codes cimport (
    A_IP_LEN_BEYOND_CAPTURE, A_SNAPLEN_CUT, A_TUNNEL, R_BAD_LENGTH, R_OK,
    R_TRUNCATED_PAYLOAD, R_UNSUPPORTED, S_NETWORK, S_PAYLOAD,
)
from wirecraft._record cimport rec_t
from wirecraft.proto.common cimport stop
from wirecraft.proto.dispatch cimport (
    NEXT_ICMP, NEXT_ICMPV6, NEXT_TCP, NEXT_UDP, wc_next_ipproto,
)
from wirecraft.proto.icmp cimport decode_icmp
from wirecraft.proto.tcp cimport decode_tcp
from wirecraft.proto.udp cimport decode_udp


cdef inline void decode_l4(const uint8_t* p, rec_t* r, uint32_t off, uint32_t end,
                           uint8_t proto, bint fragment) noexcept nogil:
    """Transport layer at p[off:end]; `end` is already bounded by caplen and IP length.

    `fragment`: this is the first fragment of several (more follow), so the IP
    payload ends before the transport data does."""
    cdef uint32_t avail = end - off if end > off else 0
    cdef uint8_t nxt = wc_next_ipproto[proto]
    r.l4_offset = off
    r.payload_offset = off
    r.payload_length = avail
    r.stop_layer = S_NETWORK
    if nxt == NEXT_TCP:
        decode_tcp(p, r, off, avail, fragment)
    elif nxt == NEXT_UDP:
        decode_udp(p, r, off, avail, fragment)
    elif nxt == NEXT_ICMP:
        decode_icmp(p, r, off, avail, 1, fragment)
    elif nxt == NEXT_ICMPV6:
        decode_icmp(p, r, off, avail, 58, fragment)
    else:
        if proto == 4 or proto == 41 or proto == 47:
            r.anomalies |= A_TUNNEL
        stop(r, S_NETWORK, R_UNSUPPORTED)
        return
    # a transport decoder that stopped early set a reason other than R_OK, so this
    # concerns only headers decoded whole
    if r.stop_reason == R_OK and r.anomalies & (A_SNAPLEN_CUT | A_IP_LEN_BEYOND_CAPTURE):
        # every header decoded; the payload is short: a snaplen cut, or (no cut) a
        # frame shorter than its IP length, which is malformed
        stop(r, S_PAYLOAD, R_TRUNCATED_PAYLOAD if r.anomalies & A_SNAPLEN_CUT else R_BAD_LENGTH)
