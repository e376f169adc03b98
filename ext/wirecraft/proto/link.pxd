# The link layer: one frame by its linktype (tcpdump LINKTYPE_ list) -- Ethernet,
# Linux cooked capture v1/v2, raw IP, BSD loopback/null -- then the ethertype decoder.
# decode_frame is the decoder's entry point: it fills one rec_t from one frame.
# Inline, nogil, no runtime import: it is compiled into the batch decoder's loop.

from libc.stdint cimport uint8_t, uint16_t, uint32_t

from wirecraft._codes cimport (
    A_CAPLEN_GT_WIRE, A_ETH_LENGTH_FIELD, A_SNAPLEN_CUT, L_ETH, L_IPV4, L_IPV6, L_NULL, L_SLL,
    R_OK, R_TRUNCATED_HEADER, R_TRUNCATED_PAYLOAD, R_UNSUPPORTED, S_LINK,
)
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16, be32, le32, mac48
from wirecraft.proto.common cimport stop, stop_at
from wirecraft.proto.ethernet cimport decode_ethertype
from wirecraft.proto.ipv4 cimport decode_ipv4
from wirecraft.proto.ipv6 cimport decode_ipv6


cdef inline void decode_frame(const uint8_t* p, rec_t* r) noexcept nogil:
    """Fill every decoded field of `r`; frame bytes are p[0:r.caplen]."""
    cdef uint32_t caplen = r.caplen
    cdef uint32_t fam
    cdef uint16_t etype, halen
    cdef uint16_t lt
    if r.caplen < r.wire_len:
        r.anomalies |= A_SNAPLEN_CUT
    elif r.caplen > r.wire_len:
        r.anomalies |= A_CAPLEN_GT_WIRE
    r.stop_layer = S_LINK
    lt = r.linktype
    if lt == 1:
        if caplen < 14:
            stop(r, S_LINK, R_TRUNCATED_HEADER)
            return
        # caplen >= 14 checked above
        r.layers |= L_ETH
        r.eth_dst = mac48(p)
        r.eth_src = mac48(p + 6)
        etype = be16(p + 12)
        if etype <= 1500:
            # 802.3 length field followed by LLC: not decoded further
            r.anomalies |= A_ETH_LENGTH_FIELD
            r.eth_type = etype
            r.l3_offset = 14
            stop_at(r, 14, caplen, S_LINK, R_UNSUPPORTED)
            return
        decode_ethertype(p, r, 14, caplen, etype)
    elif lt == 113:
        if caplen < 16:
            stop(r, S_LINK, R_TRUNCATED_HEADER)
            return
        # caplen >= 16 checked above
        r.layers |= L_SLL
        r.link_pkttype = be16(p)
        halen = be16(p + 4)
        if halen == 6:
            r.eth_src = mac48(p + 6)
        etype = be16(p + 14)
        if etype <= 1500:
            r.eth_type = etype
            r.l3_offset = 16
            stop_at(r, 16, caplen, S_LINK, R_UNSUPPORTED)
            return
        decode_ethertype(p, r, 16, caplen, etype)
    elif lt == 276:
        if caplen < 20:
            stop(r, S_LINK, R_TRUNCATED_HEADER)
            return
        # caplen >= 20 checked above
        r.layers |= L_SLL
        etype = be16(p)
        r.link_pkttype = p[10]
        if p[11] == 6:
            r.eth_src = mac48(p + 12)
        if etype <= 1500:
            r.eth_type = etype
            r.l3_offset = 20
            stop_at(r, 20, caplen, S_LINK, R_UNSUPPORTED)
            return
        decode_ethertype(p, r, 20, caplen, etype)
    elif lt == 101 or lt == 12 or lt == 14:
        if caplen < 1:
            stop(r, S_LINK, R_TRUNCATED_HEADER)
            return
        # caplen >= 1
        if (p[0] >> 4) == 6:
            r.eth_type = 0x86DD
            decode_ipv6(p, r, 0, caplen)
        else:
            r.eth_type = 0x0800
            decode_ipv4(p, r, 0, caplen)
    elif lt == 228:
        r.eth_type = 0x0800
        decode_ipv4(p, r, 0, caplen)
    elif lt == 229:
        r.eth_type = 0x86DD
        decode_ipv6(p, r, 0, caplen)
    elif lt == 0 or lt == 108:
        if caplen < 4:
            stop(r, S_LINK, R_TRUNCATED_HEADER)
            return
        # caplen >= 4 checked above
        r.layers |= L_NULL
        fam = be32(p) if lt == 108 else le32(p)
        if lt == 0 and fam > 0xFFFF:
            fam = be32(p)          # written on a big-endian host
        if fam == 2:
            r.eth_type = 0x0800
            decode_ipv4(p, r, 4, caplen)
        elif fam == 24 or fam == 28 or fam == 30 or fam == 10:
            r.eth_type = 0x86DD
            decode_ipv6(p, r, 4, caplen)
        else:
            r.l3_offset = 4
            stop_at(r, 4, caplen, S_LINK, R_UNSUPPORTED)
    else:
        stop(r, S_LINK, R_UNSUPPORTED)
    if (r.stop_reason == R_OK and r.anomalies & A_SNAPLEN_CUT
            and not (r.layers & (L_IPV4 | L_IPV6))):
        # no IP length to tell padding from content: a cut frame counts as truncated
        r.stop_reason = R_TRUNCATED_PAYLOAD
