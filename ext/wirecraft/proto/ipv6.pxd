# IPv6 (RFC 8200): fixed header, the extension-header chain (hop-by-hop, routing,
# fragment, destination options, AH, mobility, HIP, shim6), then the transport dispatch.
# Inline, nogil, no runtime import: it is compiled into the batch decoder's loop.

from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy

from wirecraft._codes cimport (
    A_IP6_EXT_LIMIT, A_IP6_EXT_TRUNCATED, A_IP6_JUMBO, A_IP_FRAGMENT, A_IP_LEN_BEYOND_CAPTURE,
    A_SNAPLEN_CUT, L_FRAG, L_IPOPT, L_IPV6, R_BAD_LENGTH, R_BAD_VERSION, R_FRAGMENTED_HEADER,
    R_NON_FIRST_FRAGMENT, R_TRUNCATED_HEADER, R_TRUNCATED_PAYLOAD, R_UNSUPPORTED, S_NETWORK,
    S_PAYLOAD,
)
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16, be32
from wirecraft.proto.common cimport enter_network, short_header, stop
from wirecraft.proto.l4 cimport decode_l4

# extension headers walked before the decoder gives up (A_IP6_EXT_LIMIT)
cdef enum:
    MAX_IP6_EXT = 255


cdef inline void decode_ipv6(const uint8_t* p, rec_t* r, uint32_t off,
                             uint32_t caplen) noexcept nogil:
    cdef uint32_t avail = caplen - off
    cdef uint32_t plen, end, cur, ehl, fragfield
    cdef uint8_t nh
    cdef int count = 0
    cdef bint fragment = 0
    cdef bint later = 0     # a fragment header after the first says "non-first fragment"
    if not enter_network(p, r, off, caplen, 6, S_NETWORK, R_TRUNCATED_HEADER, R_BAD_VERSION):
        return
    # avail >= 1
    r.ip_version = 6
    r.layers |= L_IPV6
    if avail < 40:
        # a cut header: keep the fields that were captured whole
        if avail >= 4:
            r.ip_tos = <uint8_t>((be16(p + off) >> 4) & 0xFF)
            r.ip6_flow_label = be32(p + off) & 0xFFFFF
        if avail >= 6:
            r.ip_total_length = be16(p + off + 4) + 40
        if avail >= 7:
            r.ip_protocol = p[off + 6]
        if avail >= 8:
            r.ip_ttl = p[off + 7]
        if avail >= 24:
            memcpy(r.ip_src, p + off + 8, 16)
        r.payload_offset = caplen
        r.payload_length = 0
        stop(r, S_NETWORK, R_TRUNCATED_HEADER)
        return
    # avail >= 40 checked above
    r.layers |= L_IPV6
    r.ip_tos = <uint8_t>((be16(p + off) >> 4) & 0xFF)
    r.ip6_flow_label = be32(p + off) & 0xFFFFF
    plen = be16(p + off + 4)
    nh = p[off + 6]
    r.ip_ttl = p[off + 7]
    memcpy(r.ip_src, p + off + 8, 16)
    memcpy(r.ip_dst, p + off + 24, 16)
    r.ip_total_length = plen + 40
    end = off + 40 + plen
    if plen == 0 and nh == 0:
        r.anomalies |= A_IP6_JUMBO
        end = caplen
    elif 40 + plen > avail:
        r.anomalies |= A_IP_LEN_BEYOND_CAPTURE
        end = caplen
    cur = off + 40
    while nh == 0 or nh == 43 or nh == 44 or nh == 60 or nh == 51 or nh == 135 \
            or nh == 139 or nh == 140:
        if count >= MAX_IP6_EXT or cur + 8 > end:
            if count >= MAX_IP6_EXT:
                r.anomalies |= A_IP6_EXT_LIMIT
                stop(r, S_NETWORK, R_UNSUPPORTED)
            else:
                # cut by the capture, split across fragments, or a payload length too short
                stop(r, S_NETWORK, short_header(r, fragment and (r.ip_flags & 1) != 0))
                if r.stop_reason != R_FRAGMENTED_HEADER:
                    r.anomalies |= A_IP6_EXT_TRUNCATED
            r.ip6_ext_count = <uint8_t>count
            r.ip_protocol = nh
            r.ip_header_length = <uint8_t>min(cur - off, 255)
            # the headers not walked are the payload (none when the chain overran)
            r.payload_offset = cur if cur < end else end
            r.payload_length = end - r.payload_offset
            return
        # cur + 8 <= end <= caplen checked above
        count += 1
        r.layers |= L_IPOPT
        if nh == 44:
            if not fragment:
                # the first fragment header describes this packet's fragmentation
                fragfield = be16(p + cur + 2)
                r.layers |= L_FRAG
                r.anomalies |= A_IP_FRAGMENT
                r.ip_id = be32(p + cur + 4)
                r.ip_frag_offset = <uint16_t>(fragfield & 0xFFF8)
                r.ip_flags = <uint8_t>(fragfield & 1)
                fragment = 1
            elif be16(p + cur + 2) & 0xFFF8:
                # a second fragment header (RFC 8200 4.1: at most one) of a later fragment:
                # what follows it is not this packet's transport header (to_layers()
                # stops at it too); the record keeps the first header's fields
                later = 1
            ehl = 8
        elif nh == 51:
            ehl = (<uint32_t>p[cur + 1] + 2) * 4
        else:
            ehl = (<uint32_t>p[cur + 1] + 1) * 8
        nh = p[cur]
        cur += ehl
        if fragment and (r.ip_frag_offset != 0 or later):
            break
    r.ip6_ext_count = <uint8_t>count
    r.ip_protocol = nh
    r.ip_header_length = <uint8_t>min(cur - off, 255)
    if cur > end:
        r.payload_offset = end
        r.payload_length = 0
        stop(r, S_NETWORK, short_header(r, fragment and (r.ip_flags & 1) != 0
                                        and r.ip_frag_offset == 0))
        if r.stop_reason != R_FRAGMENTED_HEADER:
            r.anomalies |= A_IP6_EXT_TRUNCATED
        return
    if fragment and (r.ip_frag_offset != 0 or later):
        r.l4_offset = cur
        r.payload_offset = cur
        r.payload_length = end - cur
        stop(r, S_NETWORK, R_NON_FIRST_FRAGMENT)
        return
    if nh == 59:
        # no next header: decoding ends here, with what IP's length leaves as payload
        r.l4_offset = cur
        r.payload_offset = cur
        r.payload_length = end - cur
        if r.anomalies & A_SNAPLEN_CUT:
            stop(r, S_PAYLOAD, R_TRUNCATED_PAYLOAD)
        elif r.anomalies & A_IP_LEN_BEYOND_CAPTURE:
            stop(r, S_PAYLOAD, R_BAD_LENGTH)
        return
    # an atomic fragment (offset 0, M=0) is a whole packet: only M=1 cuts the payload
    decode_l4(p, r, cur, end, nh, fragment and (r.ip_flags & 1) != 0)
