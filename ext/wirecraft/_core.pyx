# cython: language_level=3
"""wirecraft's core: capture-file reader, BPF machine, L2-L4 batch decoder, Packet views.

One decoder (`decode_frame`) fills one `rec_t` per packet; the columnar API
views the record array through numpy and the per-packet API (`Packet`) reads
the same records, so the two can never disagree.

References: pcap (draft-ietf-opsawg-pcap), pcapng (draft-ietf-opsawg-pcapng),
Ethernet/802.1Q/802.1ad, Linux cooked capture v1/v2 (tcpdump LINKTYPE list),
ARP (RFC 826), IPv4 (RFC 791), IPv6 (RFC 8200), TCP (RFC 9293, options RFC
7323/2018), UDP (RFC 768), ICMP (RFC 792), ICMPv6 (RFC 4443), classic BPF
(McCanne & Jacobson 1993, Linux filter.txt).
"""

cimport cython
from cpython.bytearray cimport (
    PyByteArray_AS_STRING,
    PyByteArray_FromStringAndSize,
    PyByteArray_GET_SIZE,
    PyByteArray_Resize,
)
from cpython.object cimport PyObject, PyObject_GenericGetAttr, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_REFCNT, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeLatin1
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memmove, memset


# A record larger than this is taken as corruption, not as a packet: it is
# rejected before anything is allocated from it.  (pcap's largest common
# snaplen is 262144; D-Bus captures may reach 128 MiB but are out of scope.)
DEF MAX_RECORD = 16777216
MAX_RECORD_BYTES = MAX_RECORD
DEF MAX_VLAN = 3
DEF MAX_IP6_EXT = 255
DEF POOL_SIZE = 4     # frame buffers / record areas a reader keeps for reuse

# --------------------------------------------------------------------------
# Byte access.  Every caller checks the length before the read.
# --------------------------------------------------------------------------

cdef inline uint16_t be16(const uint8_t* p) noexcept nogil:
    return (<uint16_t>p[0] << 8) | p[1]

cdef inline uint32_t be32(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]

cdef inline uint16_t le16(const uint8_t* p) noexcept nogil:
    return (<uint16_t>p[1] << 8) | p[0]

cdef inline uint32_t le32(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[3] << 24) | (<uint32_t>p[2] << 16) | (<uint32_t>p[1] << 8) | p[0]

cdef inline uint32_t rd32(const uint8_t* p, bint swap) noexcept nogil:
    # file-order read: `swap` means the file is big-endian
    return be32(p) if swap else le32(p)

cdef inline uint16_t rd16(const uint8_t* p, bint swap) noexcept nogil:
    return be16(p) if swap else le16(p)

cdef inline uint64_t mac48(const uint8_t* p) noexcept nogil:
    return ((<uint64_t>p[0] << 40) | (<uint64_t>p[1] << 32) | (<uint64_t>p[2] << 24)
            | (<uint64_t>p[3] << 16) | (<uint64_t>p[4] << 8) | p[5])

# --------------------------------------------------------------------------
# The decoder
# --------------------------------------------------------------------------

cdef inline void stop(rec_t* r, uint8_t layer, uint8_t reason) noexcept nogil:
    r.stop_layer = layer
    r.stop_reason = reason

cdef inline bint icmp_has_id(uint8_t proto, uint8_t t) noexcept nogil:
    """ICMP/ICMPv6 types whose bytes 4..7 are an identifier and a sequence number."""
    if proto == 1:
        return t == 0 or t == 8 or t == 13 or t == 14 or t == 15 or t == 16 or t == 17 or t == 18
    return t == 128 or t == 129


cdef inline uint8_t app_hint(uint16_t sport, uint16_t dport, bint tcp) noexcept nogil:
    if sport == 53 or dport == 53:
        return APP_DNS
    if sport == 5353 or dport == 5353:
        return APP_MDNS
    if sport == 5355 or dport == 5355:
        return APP_LLMNR
    if tcp and (sport == 25 or dport == 25 or sport == 587 or dport == 587
                or sport == 2525 or dport == 2525):
        return APP_SMTP
    return APP_NONE


cdef inline uint8_t short_header(const rec_t* r, bint fragment) noexcept nogil:
    """Why a transport header does not fit in the bytes the IP layer gave it."""
    if r.anomalies & (A_SNAPLEN_CUT | A_IP_LEN_BEYOND_CAPTURE):
        return R_TRUNCATED_HEADER       # the capture holds fewer bytes than IP announced
    if fragment:
        return R_FRAGMENTED_HEADER      # the rest of the header is in the next fragment
    return R_BAD_LENGTH                 # IP's own length leaves no room for the header


cdef void decode_l4(const uint8_t* p, rec_t* r, uint32_t off, uint32_t end,
                    uint8_t proto, bint fragment) noexcept nogil:
    """Transport layer at p[off:end]; `end` is already bounded by caplen and IP length.

    `fragment`: this is the first fragment of several (more follow), so the IP
    payload ends before the transport data does."""
    cdef uint32_t avail = end - off if end > off else 0
    cdef uint32_t hl, ulen
    r.l4_offset = off
    r.payload_offset = off
    r.payload_length = avail
    r.stop_layer = S_NETWORK
    if proto == 6:
        if avail < 20:
            # a cut header: keep the fields that were captured whole
            if avail >= 4:
                r.layers |= L_TCP
                r.l4_src_port = be16(p + off)
                r.l4_dst_port = be16(p + off + 2)
                r.app = app_hint(r.l4_src_port, r.l4_dst_port, 1)
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
        r.layers |= L_TCP
        r.l4_src_port = be16(p + off)
        r.l4_dst_port = be16(p + off + 2)
        r.tcp_seq = be32(p + off + 4)
        r.tcp_ack = be32(p + off + 8)
        hl = (p[off + 12] >> 4) * 4
        r.tcp_header_length = <uint8_t>hl
        r.tcp_flags = be16(p + off + 12) & 0x0FFF
        r.tcp_window = be16(p + off + 14)
        r.tcp_checksum = be16(p + off + 16)
        r.tcp_urgent = be16(p + off + 18)
        r.app = app_hint(r.l4_src_port, r.l4_dst_port, 1)
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
            if r.stop_reason != R_FRAGMENTED_HEADER:
                r.anomalies |= A_TCP_HEADER_BEYOND
            return
        r.payload_offset = off + hl
        r.payload_length = avail - hl
        r.stop_layer = S_TRANSPORT
    elif proto == 17:
        if avail < 8:
            if avail >= 4:
                r.layers |= L_UDP
                r.l4_src_port = be16(p + off)
                r.l4_dst_port = be16(p + off + 2)
                r.app = app_hint(r.l4_src_port, r.l4_dst_port, 0)
            if avail >= 6:
                r.udp_length = be16(p + off + 4)
            r.payload_offset = off + avail
            r.payload_length = 0
            stop(r, S_TRANSPORT, short_header(r, fragment))
            return
        # avail >= 8 checked above
        r.layers |= L_UDP
        r.l4_src_port = be16(p + off)
        r.l4_dst_port = be16(p + off + 2)
        ulen = be16(p + off + 4)
        r.udp_length = <uint16_t>ulen
        r.udp_checksum = be16(p + off + 6)
        r.app = app_hint(r.l4_src_port, r.l4_dst_port, 0)
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
    elif proto == 1 or proto == 58:
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
    else:
        if proto == 4 or proto == 41 or proto == 47:
            r.anomalies |= A_TUNNEL
        stop(r, S_NETWORK, R_UNSUPPORTED)
        return
    if r.stop_reason == R_OK and r.anomalies & (A_SNAPLEN_CUT | A_IP_LEN_BEYOND_CAPTURE):
        # every header decoded; the payload is short: a snaplen cut, or (no cut) a
        # frame shorter than its IP length, which is malformed
        stop(r, S_PAYLOAD, R_TRUNCATED_PAYLOAD if r.anomalies & A_SNAPLEN_CUT else R_BAD_LENGTH)


cdef void decode_ipv4(const uint8_t* p, rec_t* r, uint32_t off, uint32_t caplen) noexcept nogil:
    cdef uint32_t avail = caplen - off
    cdef uint32_t hl, tl, end, frag
    r.l3_offset = off
    r.stop_layer = S_NETWORK
    # until a header is decoded, the payload is the whole network layer
    r.payload_offset = off
    r.payload_length = avail
    if avail < 1:
        stop(r, S_NETWORK, R_TRUNCATED_HEADER)
        return
    # avail >= 1
    if (p[off] >> 4) != 4:
        r.ip_version = p[off] >> 4
        stop(r, S_NETWORK, R_BAD_VERSION)
        return
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


cdef void decode_ipv6(const uint8_t* p, rec_t* r, uint32_t off, uint32_t caplen) noexcept nogil:
    cdef uint32_t avail = caplen - off
    cdef uint32_t plen, end, cur, ehl, fragfield
    cdef uint8_t nh
    cdef int count = 0
    cdef bint fragment = 0
    r.l3_offset = off
    r.stop_layer = S_NETWORK
    # until a header is decoded, the payload is the whole network layer
    r.payload_offset = off
    r.payload_length = avail
    if avail < 1:
        stop(r, S_NETWORK, R_TRUNCATED_HEADER)
        return
    # avail >= 1
    if (p[off] >> 4) != 6:
        r.ip_version = p[off] >> 4
        stop(r, S_NETWORK, R_BAD_VERSION)
        return
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
            ehl = 8
        elif nh == 51:
            ehl = (<uint32_t>p[cur + 1] + 2) * 4
        else:
            ehl = (<uint32_t>p[cur + 1] + 1) * 8
        nh = p[cur]
        cur += ehl
        if fragment and r.ip_frag_offset != 0:
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
    if fragment and r.ip_frag_offset != 0:
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


cdef void decode_arp(const uint8_t* p, rec_t* r, uint32_t off, uint32_t caplen) noexcept nogil:
    r.l3_offset = off
    r.stop_layer = S_ARP
    if caplen - off < 8:
        stop(r, S_ARP, R_TRUNCATED_HEADER)
        return
    # caplen - off >= 8
    r.arp_opcode = be16(p + off + 6)
    r.layers |= L_ARP
    if be16(p + off) == 1 and be16(p + off + 2) == 0x0800 and p[off + 4] == 6 and p[off + 5] == 4:
        if caplen - off < 28:
            stop(r, S_ARP, R_TRUNCATED_HEADER)
            return
        # caplen - off >= 28
        r.arp_sender_mac = mac48(p + off + 8)
        r.arp_sender_ip = be32(p + off + 14)
        r.arp_target_mac = mac48(p + off + 18)
        r.arp_target_ip = be32(p + off + 24)
        # ARP carries no payload: what follows the 28 bytes is link padding
        r.payload_offset = off + 28
        r.payload_length = 0
    else:
        stop(r, S_ARP, R_UNSUPPORTED)


cdef void decode_ethertype(const uint8_t* p, rec_t* r, uint32_t off, uint32_t caplen,
                           uint16_t etype) noexcept nogil:
    """Everything after an ethertype: VLAN tags, then ARP/IPv4/IPv6."""
    cdef uint16_t tci
    while etype == 0x8100 or etype == 0x88A8 or etype == 0x9100:
        if r.vlan_count >= MAX_VLAN:
            r.anomalies |= A_VLAN_LIMIT
            r.eth_type = etype
            r.l3_offset = off
            r.payload_offset = off
            r.payload_length = caplen - off
            stop(r, S_VLAN, R_UNSUPPORTED)
            return
        if caplen - off < 4:
            r.eth_type = etype
            r.l3_offset = off
            r.payload_offset = off
            r.payload_length = caplen - off
            stop(r, S_VLAN, R_TRUNCATED_HEADER)
            return
        # caplen - off >= 4 checked above
        tci = be16(p + off)
        if r.vlan_count == 0:
            r.vlan1_tci = tci
        elif r.vlan_count == 1:
            r.vlan2_tci = tci
        else:
            r.vlan3_tci = tci
        r.vlan_count += 1
        r.layers |= L_VLAN
        etype = be16(p + off + 2)
        off += 4
        r.stop_layer = S_VLAN
    r.eth_type = etype
    r.l3_offset = off
    r.payload_offset = off
    r.payload_length = caplen - off
    if etype == 0x0800:
        decode_ipv4(p, r, off, caplen)
    elif etype == 0x86DD:
        decode_ipv6(p, r, off, caplen)
    elif etype == 0x0806 or etype == 0x8035:
        decode_arp(p, r, off, caplen)
    else:
        if r.stop_layer == 0:
            r.stop_layer = S_LINK
        r.stop_reason = R_UNSUPPORTED


cdef void decode_frame(const uint8_t* p, rec_t* r) noexcept nogil:
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
            r.payload_offset = 14
            r.payload_length = caplen - 14
            stop(r, S_LINK, R_UNSUPPORTED)
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
            r.payload_offset = 16
            r.payload_length = caplen - 16
            stop(r, S_LINK, R_UNSUPPORTED)
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
            r.payload_offset = 20
            r.payload_length = caplen - 20
            stop(r, S_LINK, R_UNSUPPORTED)
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
            r.payload_offset = 4
            r.payload_length = caplen - 4
            stop(r, S_LINK, R_UNSUPPORTED)
    else:
        stop(r, S_LINK, R_UNSUPPORTED)
    if (r.stop_reason == R_OK and r.anomalies & A_SNAPLEN_CUT
            and not (r.layers & (L_IPV4 | L_IPV6))):
        # no IP length to tell padding from content: a cut frame counts as truncated
        r.stop_reason = R_TRUNCATED_PAYLOAD


# --------------------------------------------------------------------------
# Checksums (RFC 1071), run only when asked for: `Packet.verify_checksums()`,
# or over a whole batch by `check_checksums` (wirecraft.open(..., checksums=True)).
# --------------------------------------------------------------------------

cdef inline uint64_t sum16(const uint8_t* p, uint32_t n) noexcept nogil:
    """Sum of the big-endian 16-bit words of p[0:n] (an odd last byte padded with 0)."""
    cdef uint64_t s = 0
    cdef uint32_t i = 0
    while i + 1 < n:
        s += (<uint32_t>p[i] << 8) | p[i + 1]
        i += 2
    if n & 1:
        s += <uint32_t>p[n - 1] << 8
    return s


cdef inline int folds_to_ones(uint64_t s) noexcept nogil:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return 1 if s == 0xFFFF else 0


cdef int ip4_checksum_state(const uint8_t* p, const rec_t* r) noexcept nogil:
    """1: the IPv4 header checksum is right, 0: wrong, -1: no IPv4 header wholly captured."""
    cdef uint32_t hl = r.ip_header_length
    if not (r.layers & L_IPV4) or hl < 20 or r.l3_offset + hl > r.caplen:
        return -1
    # l3_offset + hl <= caplen checked above
    return folds_to_ones(sum16(p + r.l3_offset, hl))


cdef const uint8_t* ip6_final_dst(const uint8_t* p, const rec_t* r) noexcept nogil:
    """The destination an IPv6 upper-layer checksum covers (RFC 8200 8.1): the final one
    named by a routing header with segments left (types 0 and 2: its last address;
    type 4, segment routing: segment list[0]); else the header's own destination."""
    cdef uint32_t cur = r.l3_offset + 40, ehl, units, m
    cdef uint32_t limit = r.l4_offset       # the extension headers lie before it
    cdef uint8_t nh
    cdef int _k
    if limit > r.caplen or r.l3_offset + 40 > limit:
        return r.ip_dst
    nh = p[r.l3_offset + 6]
    for _k in range(r.ip6_ext_count):
        if cur + 8 > limit:
            break
        # cur + 8 <= limit <= caplen checked above
        units = p[cur + 1]
        if nh == 43 and p[cur + 3] != 0:
            if p[cur + 2] == 0 or p[cur + 2] == 2:
                m = units // 2
                if m >= 1 and cur + 8 + 16 * m <= limit:
                    return p + cur + 8 + 16 * (m - 1)
            elif p[cur + 2] == 4:
                if units >= 2 and cur + 24 <= limit:
                    return p + cur + 8
            return r.ip_dst
        if nh == 44:
            ehl = 8
        elif nh == 51:
            ehl = (units + 2) * 4
        else:
            ehl = (units + 1) * 8
        nh = p[cur]
        cur += ehl
    return r.ip_dst


cdef int l4_checksum_state(const uint8_t* p, const rec_t* r) noexcept nogil:
    """1: the TCP/UDP/ICMP/ICMPv6 checksum is right, 0: wrong, -1: not checkable (no such
    layer, bytes not captured, a fragment of several, a bad UDP length, or an IPv4 UDP
    checksum of 0, which means none)."""
    cdef uint32_t ip_end, end, n, hdr
    cdef uint64_t s
    cdef uint8_t proto
    if r.layers & L_TCP:
        hdr = 20; proto = 6
    elif r.layers & L_UDP:
        hdr = 8; proto = 17
    elif r.layers & L_ICMP:
        hdr = 4; proto = 1
    elif r.layers & L_ICMPV6:
        hdr = 4; proto = 58
    else:
        return -1
    if not (r.layers & (L_IPV4 | L_IPV6)) or r.anomalies & A_IP6_JUMBO:
        return -1
    if r.layers & L_FRAG and (r.ip_frag_offset != 0 or r.ip_flags & 1):
        return -1           # the checksum covers data in other fragments
    ip_end = r.l3_offset + r.ip_total_length
    if ip_end > r.caplen or ip_end < r.l4_offset + hdr:
        return -1
    end = ip_end
    if proto == 17:
        # RFC 768: the checksum covers the UDP length, not the rest of the IP payload
        if r.udp_length < 8 or r.l4_offset + r.udp_length > ip_end:
            return -1
        end = r.l4_offset + r.udp_length
        if r.udp_checksum == 0 and r.layers & L_IPV4:
            return -1
    n = end - r.l4_offset
    # l4_offset + n == end <= ip_end <= caplen checked above
    s = sum16(p + r.l4_offset, n)
    if proto != 1:
        # pseudo-header: addresses, upper-layer length, protocol
        if r.layers & L_IPV4:
            s += sum16(r.ip_src, 4) + sum16(r.ip_dst, 4)
        else:
            s += sum16(r.ip_src, 16) + sum16(ip6_final_dst(p, r), 16)
        s += (n >> 16) + (n & 0xFFFF) + proto
    return folds_to_ones(s)


cdef void check_records(const uint8_t* base, rec_t* recs, Py_ssize_t n) noexcept nogil:
    """Set the bad-checksum anomaly bits of every record whose checksum is wrong."""
    cdef Py_ssize_t i
    cdef rec_t* r
    cdef const uint8_t* p
    for i in range(n):
        r = &recs[i]
        p = base + r.frame_offset
        if ip4_checksum_state(p, r) == 0:
            r.anomalies |= A_IP_BAD_CHECKSUM
        if l4_checksum_state(p, r) == 0:
            if r.layers & L_TCP:
                r.anomalies |= A_TCP_BAD_CHECKSUM
            elif r.layers & L_UDP:
                r.anomalies |= A_UDP_BAD_CHECKSUM
            elif r.layers & L_ICMP:
                r.anomalies |= A_ICMP_BAD_CHECKSUM
            else:
                r.anomalies |= A_ICMPV6_BAD_CHECKSUM


cdef void decode_records(const uint8_t* base, rec_t* recs, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        decode_frame(base + recs[i].frame_offset, &recs[i])


# --------------------------------------------------------------------------
# Classic BPF, run over a batch in C.  libpcap compiles the expression (via
# pcapy-ng); the program is validated here before it is ever run.
# --------------------------------------------------------------------------

cdef struct bpf_insn:
    uint16_t code
    uint8_t jt
    uint8_t jf
    uint32_t k


cdef class BPFProgram:
    """A validated classic BPF program for one link type."""
    cdef bpf_insn* insns
    cdef Py_ssize_t n
    cdef readonly int linktype

    def __cinit__(self, list instructions, int linktype):
        cdef Py_ssize_t i
        cdef uint16_t code
        self.linktype = linktype
        self.n = len(instructions)
        if self.n == 0 or self.n > 4096:
            raise ValueError("BPF program must have 1..4096 instructions")
        self.insns = <bpf_insn*>malloc(self.n * sizeof(bpf_insn))
        if self.insns == NULL:
            raise MemoryError()
        for i, ins in enumerate(instructions):
            code, jt, jf, k = ins
            self.insns[i].code = code
            self.insns[i].jt = jt
            self.insns[i].jf = jf
            self.insns[i].k = <uint32_t>(k & 0xFFFFFFFF)
            cls = code & 7
            if cls == 5:            # jumps only forward, inside the program
                if (code & 0xF0) == 0:
                    if i + 1 + (k & 0xFFFFFFFF) >= self.n:
                        raise ValueError(f"BPF jump out of range at {i}")
                elif i + 1 + max(jt, jf) >= self.n:
                    raise ValueError(f"BPF jump out of range at {i}")
            elif (cls == 0 or cls == 1) and (code & 0xE0) == 0x60 and (k & 0xFFFFFFFF) >= 16:
                raise ValueError(f"BPF scratch index out of range at {i}")
            elif (cls == 2 or cls == 3) and (k & 0xFFFFFFFF) >= 16:
                raise ValueError(f"BPF scratch index out of range at {i}")
        if (self.insns[self.n - 1].code & 7) != 6:
            raise ValueError("BPF program does not end with a return")

    def __dealloc__(self):
        free(self.insns)

    def __len__(self):
        return self.n

    def matches(self, bytes frame, wire_len=None):
        """Run the program on one frame (for tests and single packets)."""
        cdef uint32_t wl = len(frame) if wire_len is None else wire_len
        return bpf_run(self.insns, <const uint8_t*>PyBytes_AS_STRING(frame),
                       <uint32_t>len(frame), wl) != 0


@cython.cdivision(True)
cdef uint32_t bpf_run(const bpf_insn* prog, const uint8_t* p, uint32_t caplen,
                      uint32_t wirelen) noexcept nogil:
    """Interpret a validated program; a read out of bounds rejects the packet."""
    cdef uint32_t A = 0, X = 0, k, idx, v, op, cls, mode, size, rv
    cdef bint cond
    cdef uint32_t mem[16]
    cdef Py_ssize_t pc = 0
    cdef uint16_t code
    memset(mem, 0, sizeof(mem))
    while True:
        code = prog[pc].code
        k = prog[pc].k
        cls = code & 7
        if cls == 0 or cls == 1:        # LD / LDX
            mode = code & 0xE0
            size = code & 0x18
            if mode == 0x00:
                idx = k
                if cls == 0: A = k
                else: X = k
            elif mode == 0x80:
                if cls == 0: A = wirelen
                else: X = wirelen
            elif mode == 0x60:
                if cls == 0: A = mem[k & 15]
                else: X = mem[k & 15]
            elif mode == 0xA0:          # LDX MSH: X = 4 * (p[k] & 0xf)
                if k >= caplen:
                    return 0
                X = (p[k] & 0x0F) * 4
            elif mode == 0x20 or mode == 0x40:
                idx = k if mode == 0x20 else X + k
                if mode == 0x40 and idx < X:    # wrapped
                    return 0
                if size == 0x00:
                    if idx > caplen or caplen - idx < 4:
                        return 0
                    A = be32(p + idx)
                elif size == 0x08:
                    if idx > caplen or caplen - idx < 2:
                        return 0
                    A = be16(p + idx)
                else:
                    if idx >= caplen:
                        return 0
                    A = p[idx]
            else:
                return 0
        elif cls == 2:
            mem[k & 15] = A
        elif cls == 3:
            mem[k & 15] = X
        elif cls == 4:                  # ALU
            op = code & 0xF0
            v = X if code & 0x08 else k
            if op == 0x00: A = A + v
            elif op == 0x10: A = A - v
            elif op == 0x20: A = A * v
            elif op == 0x30:
                if v == 0: return 0
                A = A // v
            elif op == 0x90:
                if v == 0: return 0
                A = A % v
            elif op == 0x40: A = A | v
            elif op == 0x50: A = A & v
            elif op == 0xA0: A = A ^ v
            elif op == 0x60: A = (A << v) if v < 32 else 0
            elif op == 0x70: A = (A >> v) if v < 32 else 0
            elif op == 0x80: A = <uint32_t>(-(<int64_t>A))
            else: return 0
        elif cls == 5:                  # JMP (validated: forward and in range)
            op = code & 0xF0
            if op == 0x00:
                pc += k
            else:
                v = X if code & 0x08 else k
                if op == 0x10: cond = A == v
                elif op == 0x20: cond = A > v
                elif op == 0x30: cond = A >= v
                elif op == 0x40: cond = (A & v) != 0
                else: return 0
                pc += prog[pc].jt if cond else prog[pc].jf
        elif cls == 6:                  # RET
            rv = code & 0x18
            if rv == 0x00: return k
            if rv == 0x08: return X
            return A
        else:                           # MISC
            if (code & 0xF8) == 0x00: X = A
            elif (code & 0xF8) == 0x80: A = X
            else: return 0
        pc += 1


cdef class Filter:
    """A BPF expression, compiled by libpcap once per link type it meets."""
    cdef readonly str expression
    cdef int snaplen
    cdef dict programs
    cdef BPFProgram last
    cdef int last_linktype

    def __cinit__(self, str expression, int snaplen=262144):
        self.expression = expression
        self.snaplen = snaplen
        self.programs = {}
        self.last = None
        self.last_linktype = -1

    cpdef BPFProgram program(self, int linktype):
        """The compiled program for `linktype` (compiled on first use)."""
        prog = self.programs.get(linktype)
        if prog is None:
            from .errors import FilterError
            try:
                import pcapy
            except ImportError as exc:                   # pragma: no cover
                raise FilterError("BPF filters need pcapy-ng (pip install pcapy-ng)") from exc
            try:
                compiled = pcapy.compile(linktype, self.snaplen, self.expression, 1, 0xFFFFFFFF)
            except Exception as exc:
                raise FilterError(
                    f"cannot compile filter {self.expression!r} for link type {linktype}: {exc}"
                ) from None
            prog = BPFProgram(list(compiled.get_bpf()), linktype)
            self.programs[linktype] = prog
        return prog

    cdef inline bint accept(self, const uint8_t* p, uint32_t caplen, uint32_t wirelen,
                            int linktype) except -1:
        if linktype != self.last_linktype:
            self.last = self.program(linktype)
            self.last_linktype = linktype
        return bpf_run(self.last.insns, p, caplen, wirelen) != 0

    def matches(self, bytes frame, int linktype=1, wire_len=None):
        return self.program(linktype).matches(frame, wire_len)


# --------------------------------------------------------------------------
# Batches: a buffer of frames plus their records
# --------------------------------------------------------------------------

cdef class Batch:
    """Frames sharing one buffer, with one decoded record each.

    `data` holds the frames; `records` (a bytearray, or a caller's writable
    buffer) holds the rec_t array that numpy views as columns and `Packet`
    views read one at a time.
    """
    cdef readonly object data
    cdef const uint8_t* base
    cdef readonly object records
    cdef rec_t* recs
    cdef readonly Py_ssize_t n
    cdef Py_ssize_t cap
    cdef bint pooled
    cdef bint zeroed                # the record area is known to be all zero bytes
    cdef public dict comments
    cdef public object interfaces

    def __cinit__(self, data, Py_ssize_t capacity, records=None, bint pooled=False,
                  bint zeroed=False):
        # data is bytes or a bytearray that is never resized while the batch lives
        cdef uint8_t[::1] mem
        self.data = data
        if isinstance(data, bytes):
            self.base = <const uint8_t*>PyBytes_AS_STRING(data)
        elif isinstance(data, bytearray):
            self.base = <const uint8_t*>PyByteArray_AS_STRING(data)
        else:
            raise TypeError("batch data must be bytes or bytearray")
        self.cap = max(capacity, 1)
        self.pooled = pooled
        self.zeroed = zeroed and records is not None
        if records is None:
            # uninitialised: push() clears each record as it is taken
            self.records = PyByteArray_FromStringAndSize(NULL, self.cap * sizeof(rec_t))
            self.recs = <rec_t*>PyByteArray_AS_STRING(self.records)
        else:
            # a caller-owned record area (a reader's pool, a Table's chunk)
            mem = records
            if mem.shape[0] < self.cap * <Py_ssize_t>sizeof(rec_t):
                raise ValueError(f"record area of {mem.shape[0]} bytes is smaller than "
                                 f"{self.cap} records")
            self.records = records
            self.recs = <rec_t*>&mem[0]
        self.n = 0
        self.comments = None
        self.interfaces = None

    def __len__(self):
        return self.n

    def __getitem__(self, Py_ssize_t i):
        if i < 0:
            i += self.n
        if i < 0 or i >= self.n:
            raise IndexError("packet index out of range")
        return make_packet(self, i)

    def __iter__(self):
        cdef Py_ssize_t i
        for i in range(self.n):
            yield make_packet(self, i)

    cdef rec_t* push(self) except NULL:
        cdef rec_t* r
        if self.n >= self.cap:
            raise OverflowError("batch is full")
        r = &self.recs[self.n]
        if not self.zeroed:
            memset(r, 0, sizeof(rec_t))
        self.n += 1
        return r

    cdef int shrink(self) except -1:
        """Give back unused record space; only before any Packet view exists.

        A record area from the reader's pool goes back to the pool: a mostly
        empty batch (a selective filter) moves its few records to a right-sized
        bytearray, so batches a caller keeps never pin a whole pooled area."""
        cdef Py_ssize_t keep = max(self.n, 1)
        cdef bytearray small
        if self.pooled:
            # batches usually end at a read-buffer boundary, well short of max_packets:
            # copy only when most of the area would be wasted by a caller keeping it
            if self.cap > 64 and keep < self.cap // 4:
                small = PyByteArray_FromStringAndSize(<const char*>self.recs,
                                                      keep * sizeof(rec_t))
                self.records = small
                self.pooled = False
                self.recs = <rec_t*>PyByteArray_AS_STRING(self.records)
                self.cap = keep
        elif self.cap > 64 and keep < self.cap // 2 and isinstance(self.records, bytearray):
            PyByteArray_Resize(self.records, keep * sizeof(rec_t))
            self.recs = <rec_t*>PyByteArray_AS_STRING(self.records)
            self.cap = keep
        return 0

    cdef void decode_all(self):
        with nogil:
            decode_records(self.base, self.recs, self.n)

    def record_bytes(self):
        """The used part of the record array (shares memory with the batch)."""
        return memoryview(self.records).cast("B")[: self.n * sizeof(rec_t)]


def batch_from_buffer(bytes data, offsets, caplens, wire_lens, ts_ns, int linktype,
                      Py_ssize_t first_index=0, Filter bpf=None):
    """Decode frames that already sit in `data` (live capture, tests, crafted frames).

    offsets/caplens/wire_lens/ts_ns are equal-length sequences of ints; every
    frame must lie inside `data` (checked).
    """
    cdef Py_ssize_t n = len(offsets), i
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Batch b = Batch(data, n)
    cdef rec_t* r
    cdef uint32_t off, cl
    cdef const uint8_t* base = <const uint8_t*>PyBytes_AS_STRING(data)
    if not (len(caplens) == n and len(wire_lens) == n and len(ts_ns) == n):
        raise ValueError("offsets, caplens, wire_lens and ts_ns differ in length")
    for i in range(n):
        off = offsets[i]
        cl = caplens[i]
        if <Py_ssize_t>off + <Py_ssize_t>cl > size:
            raise ValueError(f"frame {i} lies outside the buffer")
        if bpf is not None and not bpf.accept(base + off, cl, wire_lens[i], linktype):
            continue
        r = b.push()
        r.frame_offset = off
        r.caplen = cl
        r.wire_len = wire_lens[i]
        r.ts_ns = ts_ns[i]
        r.linktype = <uint16_t>linktype
        r.index = first_index + i
    b.decode_all()
    return b


def batch_from_pcapy(bytes data, meta, int linktype, wire_lens=None,
                     Py_ssize_t first_index=0):
    """Decode pcapy-ng `next_batch` output: meta is 16-byte native (sec, usec, offset, caplen)."""
    cdef const uint8_t[:] m = memoryview(meta).cast("B")
    cdef Py_ssize_t n = m.shape[0] // 16, i
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Batch b = Batch(data, n)
    cdef rec_t* r
    cdef uint32_t sec, usec, off, cl
    if wire_lens is not None and len(wire_lens) != n:
        raise ValueError("wire_lens must have one entry per packet")
    for i in range(n):
        # m has at least (i + 1) * 16 bytes (n computed above)
        memcpy(&sec, &m[i * 16], 4)
        memcpy(&usec, &m[i * 16 + 4], 4)
        memcpy(&off, &m[i * 16 + 8], 4)
        memcpy(&cl, &m[i * 16 + 12], 4)
        if <Py_ssize_t>off + <Py_ssize_t>cl > size:
            raise ValueError(f"frame {i} lies outside the buffer")
        r = b.push()
        r.frame_offset = off
        r.caplen = cl
        r.wire_len = cl if wire_lens is None else wire_lens[i]
        r.ts_ns = <int64_t>sec * 1000000000 + <int64_t>usec * 1000
        r.linktype = <uint16_t>linktype
        r.index = first_index + i
    b.decode_all()
    return b


# --------------------------------------------------------------------------
# File reader: pcap and pcapng, in chunks, never more than one record ahead
# --------------------------------------------------------------------------

DEF FMT_PCAP = 1
DEF FMT_PCAPNG = 2

# Caps on what a reader keeps about a pcapng file besides its packets: metadata is
# read from the file, so without them a small file could fill memory.  Whatever a cap
# drops is counted in Reader.limits_hit (Capture warns with CaptureLimitWarning).
DEF MAX_SECTION_IFACES = 65535      # interfaces one section may define (the rest dropped)
DEF MAX_TOTAL_IFACES = 65535        # entries of `interfaces` (so rec_t.iface, 16 bits, fits)
DEF MAX_COMMENTS = 65536            # section comments kept, over the whole file
DEF MAX_KEPT_BYTES = 16777216       # bytes of comments, names and descriptions kept in total
DEF MAX_PACKET_COMMENTS = 64        # comment options kept per packet (joined by newlines)
IFACE_NONE = 0xFFFF                 # rec_t.iface of a packet whose interface was dropped
READER_LIMITS = {
    "section_interfaces": MAX_SECTION_IFACES,
    "interfaces": MAX_TOTAL_IFACES,
    "comments": MAX_COMMENTS,
    "kept_bytes": MAX_KEPT_BYTES,
    "packet_comments": MAX_PACKET_COMMENTS,
}

# Problems the reader (not the decoder) finds in a record: high bits of rec_t.anomalies,
# named in ANOMALIES like the decoder's own.
cdef enum:
    A_BAD_TIMESTAMP = 1 << 28       # pcap sub-second field >= 1 s: time is the seconds field alone
    A_TIMESTAMP_RANGE = 1 << 29     # pcapng time outside int64 ns: saturated to INT64_MIN/MAX
    A_IFACE_DROPPED = 1 << 30       # the packet's interface description was dropped by a cap

READER_ANOMALIES = {
    A_BAD_TIMESTAMP: "bad_timestamp",
    A_TIMESTAMP_RANGE: "timestamp_out_of_range",
    A_IFACE_DROPPED: "interface_dropped",
}

cdef extern from *:
    """
    /* pcapng time units -> ns since the epoch, exactly (floor), with if_tsoffset (whole
       seconds) added; returns 1 when the result does not fit int64 and was saturated.
       kind 0: units of 10^-e s, e <= 9, k = 10^(9-e)   (multiply)
       kind 1: units of 10^-e s, 9 < e <= 28, k = 10^(e-9)   (divide)
       kind 2: units of 2^-k s   (128-bit multiply then shift)
       kind 3: units so fine that any 64-bit count is below 1 ns (e > 28) */
    static int wc_units_to_ns(uint64_t t, int kind, uint64_t k, int64_t off_s, int64_t *out)
    {
    #if defined(__SIZEOF_INT128__)
        __int128 v;
        if (kind == 0) v = (__int128)t * (__int128)k;
        else if (kind == 1) v = (__int128)(t / k);
        else if (kind == 2) v = (__int128)(((unsigned __int128)t * 1000000000u) >> k);
        else v = 0;
        v += (__int128)off_s * 1000000000;
        if (v > (__int128)INT64_MAX) { *out = INT64_MAX; return 1; }
        if (v < (__int128)INT64_MIN) { *out = INT64_MIN; return 1; }
        *out = (int64_t)v;
        return 0;
    #else
        /* no 128-bit integers: 64-bit arithmetic, saturating on any intermediate overflow */
        uint64_t u, whole, frac;
        int64_t v, off;
        if (kind == 0) {
            if (k != 0 && t > (uint64_t)INT64_MAX / k) goto over;
            u = t * k;
        } else if (kind == 1) {
            u = t / k;
        } else if (kind == 2) {
            if (k >= 64) { whole = 0; frac = t; } else { whole = t >> k; frac = t & ((1ULL << k) - 1); }
            if (whole > (uint64_t)INT64_MAX / 1000000000u) goto over;
            u = whole * 1000000000u;
            /* frac < 2^k: frac * 1e9 / 2^k, in two 32-bit halves of frac */
            {
                uint64_t hi = frac >> 32, lo = frac & 0xFFFFFFFFu, a, b;
                a = hi * 1000000000u;             /* < 2^62 */
                b = lo * 1000000000u;             /* < 2^62 */
                if (k >= 32) {
                    uint64_t s = a + (b >> 32);   /* (frac * 1e9) >> 32 */
                    u += (k - 32 >= 64) ? 0 : (s >> (k - 32));
                } else {
                    u += ((a << (32 - k)) + (b >> k));
                }
            }
        } else {
            u = 0;
        }
        if (u > (uint64_t)INT64_MAX) goto over;
        v = (int64_t)u;
        if (off_s > INT64_MAX / 1000000000 || off_s < INT64_MIN / 1000000000) {
            *out = off_s > 0 ? INT64_MAX : INT64_MIN;
            return 1;
        }
        off = off_s * 1000000000;
        if (off > 0 && v > INT64_MAX - off) goto over;
        *out = v + off;
        return 0;
    over:
        *out = INT64_MAX;
        return 1;
    #endif
    }
    """
    int wc_units_to_ns(uint64_t t, int kind, uint64_t k, int64_t off_s, int64_t* out) noexcept nogil


cdef struct iface_t:
    uint16_t linktype
    uint16_t index      # position in Reader.interfaces, or IFACE_NONE when its info was dropped
    uint32_t snaplen
    int kind            # see wc_units_to_ns
    uint64_t k
    int64_t offset_s    # if_tsoffset, seconds


cdef class Reader:
    """Streams batches from a pcap or pcapng file object.

    Raises CaptureFileError (path, byte offset, reason) for anything that is
    not a capture; a record cut short at the end of the file ends the stream
    and is reported through `truncated` (the caller warns).

    Damage later in the file never costs the packets before it: the batch in
    which the damage falls is returned up to the last good record, the error is
    kept in `error`, and the next `read_batch` raises it — or, when `soft` is set
    and at least one record was read, returns None (end of stream) and leaves the
    caller to report `error`.  Errors of the underlying file object (OSError,
    EOFError, zlib.error) become CaptureFileError the same way, with the offset in
    the (uncompressed) stream where reading failed.
    """
    cdef object f
    cdef readonly str path
    cdef object buf                 # bytearray, never resized once filled
    cdef const uint8_t* base        # its bytes
    cdef Py_ssize_t buf_len         # how much of it holds file data
    cdef object readinto
    cdef Py_ssize_t pos             # parse position in buf
    cdef int64_t buf_start          # file offset of buf[0]
    cdef bint eof
    cdef readonly int format
    cdef readonly int version_major, version_minor
    # pcap
    cdef bint swap
    cdef int64_t ts_mult
    cdef uint32_t frac_limit        # sub-second field must be below this (10^6 or 10^9)
    cdef int rec_hdr
    cdef readonly int linktype
    cdef readonly uint32_t snaplen
    # pcapng
    cdef iface_t* ifaces
    cdef Py_ssize_t n_ifaces, cap_ifaces
    cdef Py_ssize_t section_dropped     # interfaces of this section beyond MAX_SECTION_IFACES
    cdef iface_t dropped_iface          # stands in for them: unknown link type, microseconds
    cdef readonly list interfaces       # python-side info for every interface kept
    cdef readonly list section_comments
    cdef Py_ssize_t kept_bytes          # bytes of comments/names/descriptions kept so far
    # counters
    cdef readonly uint64_t packets_read
    cdef readonly uint64_t packets_matched
    cdef readonly object truncated      # None or (offset, reason)
    cdef readonly object error          # the CaptureFileError that ended reading, or None
    cdef public bint soft               # end the stream instead of raising (see class doc)
    cdef readonly uint64_t blocks_skipped
    cdef uint64_t ifaces_dropped, iface_info_dropped, comments_dropped, bytes_dropped
    cdef uint64_t packet_comments_dropped, packets_iface_dropped, n_bad_ts
    cdef Py_ssize_t chunk
    cdef Filter bpf
    cdef list bufpool                   # frame buffers of `chunk` bytes, reused once free
    cdef list recpool                   # record areas, reused once no batch holds them
    cdef object target                  # a caller's record area for the next batch, or None
    cdef bint target_zeroed             # ... and whether it is all zero bytes

    def __cinit__(self, fileobj, str path, Py_ssize_t chunk=1 << 20, Filter bpf=None):
        self.f = fileobj
        self.path = path
        self.buf = bytearray()
        self.base = <const uint8_t*>PyByteArray_AS_STRING(self.buf)
        self.buf_len = 0
        self.readinto = getattr(fileobj, "readinto", None)
        self.pos = 0
        self.buf_start = 0
        self.eof = False
        self.chunk = chunk
        self.bpf = bpf
        self.bufpool = []
        self.recpool = []
        self.target = None
        self.ifaces = NULL
        self.n_ifaces = 0
        self.cap_ifaces = 0
        self.section_dropped = 0
        self.dropped_iface.linktype = 0xFFFF
        self.dropped_iface.index = IFACE_NONE
        self.dropped_iface.snaplen = 0
        self.dropped_iface.kind = 0
        self.dropped_iface.k = 1000
        self.dropped_iface.offset_s = 0
        self.interfaces = []
        self.section_comments = []
        self.truncated = None
        self.error = None
        self.soft = False
        self._read_header()

    def __dealloc__(self):
        free(self.ifaces)

    cdef error_at(self, int64_t offset, str reason):
        from .errors import CaptureFileError
        return CaptureFileError(self.path, offset, reason)

    @property
    def limits_hit(self):
        """What the metadata caps (READER_LIMITS) dropped so far, by kind; empty when nothing.

        interfaces: interface descriptions dropped whole (their packets are delivered with
        link type 0xFFFF, microsecond time and the `interface_dropped` problem);
        interface_info: descriptions used for decoding but left out of `interfaces` (their
        packets have iface IFACE_NONE and the same problem); comments / kept_bytes:
        section comments, names and descriptions not kept (count, and their bytes);
        packet_comments: comment options of packets beyond MAX_PACKET_COMMENTS each."""
        out = {}
        for key, v in (("interfaces", self.ifaces_dropped),
                       ("interface_info", self.iface_info_dropped),
                       ("comments", self.comments_dropped),
                       ("kept_bytes", self.bytes_dropped),
                       ("packet_comments", self.packet_comments_dropped),
                       ("packets_with_dropped_interface", self.packets_iface_dropped)):
            if v:
                out[key] = v
        return out

    @property
    def bad_timestamps(self):
        """Packets flagged bad_timestamp or timestamp_out_of_range so far."""
        return self.n_bad_ts

    cdef bint fill(self, Py_ssize_t need) except -1:
        """Make buf[pos:] hold at least `need` bytes; False at end of file."""
        cdef Py_ssize_t have = self.buf_len - self.pos
        cdef Py_ssize_t size, filled, k
        cdef uint8_t* nb
        if have >= need:
            return True
        if self.eof:
            return False
        # one size for every ordinary refill, so that free buffers can be reused
        size = self.chunk if need <= self.chunk else need
        newbuf = self._from_pool(self.bufpool, size, size == self.chunk)
        nb = <uint8_t*>PyByteArray_AS_STRING(newbuf)
        if have > 0:
            # in place when the current buffer is the free one
            memmove(nb, self.base + self.pos, have)
        filled = have
        view = memoryview(newbuf)
        while filled < need:
            if self.readinto is not None:
                k = self.readinto(view[filled:]) or 0
            else:
                more = self.f.read(size - filled)
                k = len(more)
                if k > size - filled:
                    raise self.error_at(self.buf_start + self.pos,
                                        "file object returned too much data")
                memcpy(nb + filled, PyBytes_AS_STRING(more), k)
            if k <= 0:
                self.eof = True
                break
            filled += k
        view.release()
        self.buf_start += self.pos
        self.buf = newbuf
        self.base = nb
        self.buf_len = filled
        self.pos = 0
        return filled >= need

    cdef bytearray _from_pool(self, list pool, Py_ssize_t size, bint keep):
        """A bytearray of `size` bytes that nothing else holds: a free one from `pool`,
        else a fresh one, added to the pool (a free entry evicted when full) if `keep`.
        Pools spare a streaming read fresh pages for every chunk and every batch."""
        cdef bytearray b
        cdef Py_ssize_t i, held
        for i in range(len(pool)):
            b = pool[i]
            # references: the pool's, this local's, and self.buf's for the current buffer;
            # any more is a batch, a Packet view or an array still using it
            held = 3 if b is self.buf else 2
            if Py_REFCNT(b) == held and PyByteArray_GET_SIZE(b) == size:
                return b
        b = PyByteArray_FromStringAndSize(NULL, size)
        if keep:
            if len(pool) >= POOL_SIZE:
                self._evict(pool)
            if len(pool) < POOL_SIZE:
                pool.append(b)
        return b

    cdef void _evict(self, list pool):
        """Drop one pooled entry that nobody else holds (its memory goes back)."""
        cdef Py_ssize_t i
        for i in range(len(pool)):
            x = pool[i]
            if Py_REFCNT(x) == 2 and x is not self.buf:
                del pool[i]
                return

    cdef Batch _new_batch(self, Py_ssize_t max_packets):
        """A batch over the current frame buffer, its records in the caller's area
        (table()), in a free pooled area, or in a fresh one added to the pool."""
        cdef Py_ssize_t size = max(max_packets, 1) * sizeof(rec_t)
        cdef Batch b
        if self.target is not None:
            b = Batch(self.buf, max_packets, self.target, False, self.target_zeroed)
        else:
            b = Batch(self.buf, max_packets, self._from_pool(self.recpool, size, True), True)
        b.interfaces = self.interfaces
        return b

    cdef void _read_header(self) except *:
        cdef const uint8_t* p
        cdef uint32_t magic
        if not self.fill(4):
            raise self.error_at(0, "file is shorter than any capture header (empty or truncated)")
        p = self.base
        magic = le32(p)
        if magic == 0x0A0D0D0A:
            self.format = FMT_PCAPNG
            if not self.fill(28):
                raise self.error_at(0, "pcapng section header block is truncated")
            return
        self.format = FMT_PCAP
        self.rec_hdr = 16
        if magic == 0xA1B2C3D4 or magic == 0xA1B2CD34:
            self.swap = False; self.ts_mult = 1000
        elif magic == 0xD4C3B2A1 or magic == 0x34CDB2A1:
            self.swap = True; self.ts_mult = 1000
        elif magic == 0xA1B23C4D:
            self.swap = False; self.ts_mult = 1
        elif magic == 0x4D3CB2A1:
            self.swap = True; self.ts_mult = 1
        else:
            if p[0] == 0x1F and self.buf_len > 1 and p[1] == 0x8B:
                raise self.error_at(0, "gzip data inside gzip data is not a capture")
            raise self.error_at(0, f"not a pcap or pcapng file (magic 0x{magic:08x})")
        self.frac_limit = 1000000 if self.ts_mult == 1000 else 1000000000
        if magic == 0xA1B2CD34 or magic == 0x34CDB2A1:
            self.rec_hdr = 24       # Kuznetzov's modified pcap: 8 more bytes per record
        if not self.fill(24):
            raise self.error_at(0, "pcap file header is truncated (24 bytes needed)")
        p = self.base
        self.version_major = rd16(p + 4, self.swap)
        self.version_minor = rd16(p + 6, self.swap)
        self.snaplen = rd32(p + 16, self.swap)
        self.linktype = rd32(p + 20, self.swap) & 0x0FFFFFFF
        if self.version_major != 2:
            raise self.error_at(4, f"unsupported pcap version {self.version_major}.{self.version_minor}")
        self.pos = 24
        self.interfaces.append({"linktype": self.linktype, "snaplen": self.snaplen,
                                "name": None, "description": None,
                                "ts_resolution": "ns" if self.ts_mult == 1 else "us"})

    cpdef Batch read_batch(self, Py_ssize_t max_packets=4096, records=None, bint zeroed=False):
        """Up to max_packets packets (fewer at a chunk boundary); None at the end.

        `records`, a writable buffer of at least max_packets records, receives
        the records instead of a pooled area (Capture.table() decodes straight
        into its chunks this way); `zeroed` says it holds only zero bytes, so
        records need not be cleared before they are filled.

        After damage: the batch holding the last good records comes first; the
        call after it raises `error` (or returns None when `soft`, see the class)."""
        import zlib
        from .errors import CaptureFileError
        if self.error is not None:
            if self.soft and self.packets_read > 0:
                return None
            self.error.packets_read = self.packets_read
            raise self.error
        self.target = records
        self.target_zeroed = zeroed
        try:
            if self.format == FMT_PCAP:
                return self._batch_pcap(max_packets)
            return self._batch_pcapng(max_packets)
        except CaptureFileError as exc:
            self.error = exc
        except (OSError, EOFError, zlib.error) as exc:
            self.error = self.error_at(self.buf_start + self.buf_len,
                                       f"cannot read: {str(exc) or type(exc).__name__}")
        finally:
            self.target = None
        if self.soft and self.packets_read > 0:
            return None
        self.error.packets_read = self.packets_read
        raise self.error

    cdef Batch _batch_pcap(self, Py_ssize_t max_packets):
        cdef const uint8_t* p
        cdef uint32_t caplen, wirelen, sec, frac
        cdef Batch b = None
        cdef rec_t* r
        cdef int hdr = self.rec_hdr
        cdef uint64_t total = self.packets_read
        from .errors import CaptureFileError
        try:
            while True:
                if b is not None and (b.n >= max_packets or self.buf_len - self.pos < hdr):
                    # fill() would move to a new buffer, but b's frames live in this one
                    break
                if not self.fill(hdr):
                    if self.buf_len - self.pos > 0 and self.truncated is None:
                        self.truncated = (self.buf_start + self.pos,
                                          "last record header is cut short")
                    break
                p = self.base + self.pos
                # fill(hdr) guarantees hdr bytes at p
                caplen = rd32(p + 8, self.swap)
                wirelen = rd32(p + 12, self.swap)
                if caplen > MAX_RECORD:
                    raise self.error_at(self.buf_start + self.pos,
                                        f"record length {caplen} is absurd (limit {MAX_RECORD})")
                if b is not None and (b.n >= max_packets or
                                      self.buf_len - self.pos < hdr + caplen):
                    break           # the batch ends at the current chunk boundary
                if not self.fill(hdr + caplen):
                    self.truncated = (self.buf_start + self.pos,
                                      f"last record is cut short ({self.buf_len - self.pos - hdr}"
                                      f" of {caplen} bytes)")
                    break
                if b is None:
                    b = self._new_batch(max_packets)
                p = self.base + self.pos
                sec = rd32(p, self.swap)
                frac = rd32(p + 4, self.swap)
                total += 1
                if self.bpf is None or self.bpf.accept(p + hdr, caplen, wirelen, self.linktype):
                    r = b.push()
                    if frac < self.frac_limit:
                        r.ts_ns = <int64_t>sec * 1000000000 + <int64_t>frac * self.ts_mult
                    else:
                        # like tcpdump's "[bad usec]": the fraction is invalid, not carried
                        r.ts_ns = <int64_t>sec * 1000000000
                        r.anomalies = A_BAD_TIMESTAMP
                        self.n_bad_ts += 1
                    r.caplen = caplen
                    r.wire_len = wirelen
                    r.frame_offset = <uint32_t>(self.pos + hdr)
                    r.linktype = <uint16_t>self.linktype
                    r.index = total - 1
                self.pos += hdr + caplen
        except CaptureFileError as exc:
            self.packets_read = total
            if b is None or b.n == 0:
                raise
            self.error = exc        # raised by the next read_batch, after this batch
        self.packets_read = total
        if b is None:
            return None
        self.packets_matched += b.n
        b.shrink()
        b.decode_all()
        return b

    cdef bint _keep(self, Py_ssize_t nbytes):
        """Whether `nbytes` more of metadata text fit MAX_KEPT_BYTES (then counted)."""
        if self.kept_bytes + nbytes > MAX_KEPT_BYTES:
            self.bytes_dropped += nbytes
            return False
        self.kept_bytes += nbytes
        return True

    cdef void _add_iface(self, uint16_t linktype, uint32_t snaplen, int tsresol,
                         int64_t tsoffset, bint listed) except *:
        cdef iface_t* it
        cdef int e
        cdef Py_ssize_t newcap
        if self.n_ifaces >= self.cap_ifaces:
            newcap = min(max(8, self.cap_ifaces * 2), MAX_SECTION_IFACES)
            it = <iface_t*>malloc(newcap * sizeof(iface_t))
            if it == NULL:
                raise MemoryError()
            if self.ifaces != NULL:
                memcpy(it, self.ifaces, self.n_ifaces * sizeof(iface_t))
                free(self.ifaces)
            self.ifaces = it
            self.cap_ifaces = newcap
        it = &self.ifaces[self.n_ifaces]
        it.linktype = linktype
        it.snaplen = snaplen
        it.offset_s = tsoffset
        it.index = <uint16_t>(len(self.interfaces) - 1) if listed else IFACE_NONE
        if tsresol & 0x80:
            it.kind = 2
            it.k = tsresol & 0x7F
        else:
            e = tsresol
            it.k = 1
            if e <= 9:
                it.kind = 0
                for _ in range(9 - e):
                    it.k *= 10
            elif e <= 28:
                it.kind = 1
                for _ in range(e - 9):
                    it.k *= 10
            else:
                it.kind = 3
        self.n_ifaces += 1

    cdef Py_ssize_t _option(self, const uint8_t* p, Py_ssize_t n, Py_ssize_t i, int64_t where,
                            uint16_t* code, uint16_t* length) except -2:
        """The pcapng option at p[i:n]: sets code/length and returns where its value starts,
        or -1 at opt_endofopt or the end of the area; raises if it overruns the area."""
        if i + 4 > n:
            return -1
        # i + 4 <= n checked above
        code[0] = rd16(p + i, self.swap)
        length[0] = rd16(p + i + 2, self.swap)
        if code[0] == 0:
            return -1
        if i + 4 + length[0] > n:
            raise self.error_at(where, f"pcapng option {code[0]} runs past its block")
        return i + 4

    cdef object _packet_comment(self, const uint8_t* p, Py_ssize_t n, int64_t where):
        """The comment options of a packet block's options p[0:n], joined, or None."""
        cdef Py_ssize_t i = 0, v
        cdef uint16_t code, length
        parts = None
        while True:
            v = self._option(p, n, i, where, &code, &length)
            if v < 0:
                break
            if code == 1:
                if parts is None:
                    parts = []
                if len(parts) < MAX_PACKET_COMMENTS:
                    parts.append(PyBytes_FromStringAndSize(<const char*>p + v, length)
                                 .decode("utf-8", "replace"))
                else:
                    self.packet_comments_dropped += 1
            i = v + ((length + 3) & ~3)
        return None if parts is None else "\n".join(parts)

    cdef void _section(self, const uint8_t* p, uint32_t body, int64_t where) except *:
        """A section header block (whole, at p): version check, comments, interfaces reset."""
        cdef Py_ssize_t i = 0, v
        cdef uint16_t code, length
        if body < 16:
            raise self.error_at(where, "pcapng section header block is too short")
        major = rd16(p + 12, self.swap)
        minor = rd16(p + 14, self.swap)
        if major != 1:
            raise self.error_at(where + 12, f"unsupported pcapng version {major}.{minor}")
        self.version_major = major
        self.version_minor = minor
        while True:
            v = self._option(p + 24, body - 16, i, where, &code, &length)
            if v < 0:
                break
            if code == 1:
                if len(self.section_comments) < MAX_COMMENTS and self._keep(length):
                    self.section_comments.append(
                        PyBytes_FromStringAndSize(<const char*>p + 24 + v, length)
                        .decode("utf-8", "replace"))
                else:
                    self.comments_dropped += 1
            i = v + ((length + 3) & ~3)
        self.n_ifaces = 0
        self.section_dropped = 0

    cdef void _interface(self, const uint8_t* p, uint32_t body, int64_t where) except *:
        """An interface description block (whole, at p), kept within the caps."""
        cdef Py_ssize_t i = 0, v
        cdef uint16_t code, length
        cdef int tsresol = 6
        cdef int64_t tsoffset = 0
        cdef const uint8_t* q
        if body < 8:
            raise self.error_at(where, "interface description block is too short")
        linktype = rd16(p + 8, self.swap)
        snaplen = rd32(p + 12, self.swap)
        name = None
        description = None
        dropped = self.n_ifaces >= MAX_SECTION_IFACES
        listed = not dropped and len(self.interfaces) < MAX_TOTAL_IFACES
        while True:
            v = self._option(p + 16, body - 8, i, where, &code, &length)
            if v < 0:
                break
            q = p + 16 + v
            if code == 9 and length >= 1:
                tsresol = q[0]
            elif code == 14 and length >= 8:
                if self.swap:
                    tsoffset = <int64_t>((<uint64_t>rd32(q, True) << 32) | rd32(q + 4, True))
                else:
                    tsoffset = <int64_t>((<uint64_t>rd32(q + 4, False) << 32) | rd32(q, False))
            elif (listed and (code == 2 or code == 3)
                  and (name if code == 2 else description) is None):
                if self._keep(length):
                    text = PyBytes_FromStringAndSize(<const char*>q, length).decode("utf-8",
                                                                                   "replace")
                    if code == 2:
                        name = text
                    else:
                        description = text
            i = v + ((length + 3) & ~3)
        if dropped:
            # dropped whole: its packets are still delivered, flagged interface_dropped
            self.section_dropped += 1
            self.ifaces_dropped += 1
            return
        if listed:
            self.interfaces.append({"linktype": linktype, "snaplen": snaplen, "name": name,
                                    "description": description, "ts_resolution": tsresol,
                                    "ts_offset": tsoffset})
        else:
            self.iface_info_dropped += 1
        self._add_iface(linktype, snaplen, tsresol, tsoffset, listed)
        if self.n_ifaces == 1 and len(self.interfaces) == 1 and listed:
            self.linktype = linktype

    cdef Batch _batch_pcapng(self, Py_ssize_t max_packets):
        cdef const uint8_t* p
        cdef uint32_t btype, blen, trailer, iface, caplen, wirelen, body
        cdef uint64_t t
        cdef Batch b = None
        cdef rec_t* r
        cdef iface_t* it
        cdef int64_t where, ts
        cdef uint64_t total = self.packets_read
        cdef Py_ssize_t dataoff, optoff
        from .errors import CaptureFileError
        try:
            while True:
                if b is not None and (b.n >= max_packets or self.buf_len - self.pos < 12):
                    # fill() would move to a new buffer, but b's frames live in this one
                    break
                if not self.fill(8):
                    if self.buf_len - self.pos > 0 and self.truncated is None:
                        self.truncated = (self.buf_start + self.pos,
                                          "last block header is cut short")
                    break
                where = self.buf_start + self.pos
                p = self.base + self.pos
                # fill(8) guarantees 8 bytes at p
                btype = rd32(p, self.swap)
                if le32(p) == 0x0A0D0D0A:
                    btype = 0x0A0D0D0A
                    if not self.fill(12):
                        self.truncated = (where, "section header block is cut short")
                        break
                    p = self.base + self.pos
                    # fill(12): byte-order magic at p+8
                    if le32(p + 8) == 0x1A2B3C4D:
                        swap = False
                    elif be32(p + 8) == 0x1A2B3C4D:
                        swap = True
                    else:
                        raise self.error_at(where + 8, "pcapng byte-order magic is wrong")
                    self.swap = swap    # records pushed so far are complete already
                blen = rd32(p + 4, self.swap)
                if blen < 12 or blen % 4 != 0:
                    raise self.error_at(where, f"pcapng block length {blen} is not a multiple of 4 of at least 12")
                if blen > MAX_RECORD + 4096:
                    raise self.error_at(where, f"pcapng block length {blen} is absurd (limit {MAX_RECORD + 4096})")
                if b is not None and (b.n >= max_packets or
                                      self.buf_len - self.pos < blen):
                    break
                if not self.fill(blen):
                    self.truncated = (where, f"last block is cut short ({self.buf_len - self.pos} of {blen} bytes)")
                    break
                p = self.base + self.pos
                # the whole block (blen bytes) is in buf from here on
                trailer = rd32(p + blen - 4, self.swap)
                if trailer != blen:
                    raise self.error_at(where, f"pcapng block length {blen} disagrees with its trailer {trailer}")
                body = blen - 12
                if btype == 0x0A0D0D0A:
                    self._section(p, body, where)
                elif btype == 1:
                    self._interface(p, body, where)
                elif btype == 6 or btype == 2 or btype == 3:
                    if btype == 3:
                        if body < 4:
                            raise self.error_at(where, "simple packet block is too short")
                        iface = 0
                        wirelen = rd32(p + 8, self.swap)
                        caplen = min(wirelen, body - 4)
                        if self.n_ifaces > 0 and self.ifaces[0].snaplen and caplen > self.ifaces[0].snaplen:
                            caplen = self.ifaces[0].snaplen
                        t = 0
                        dataoff = 12
                        optoff = -1
                    else:
                        if body < 20:
                            raise self.error_at(where, "packet block is too short")
                        if btype == 6:
                            iface = rd32(p + 8, self.swap)
                        else:
                            iface = rd16(p + 8, self.swap)
                        t = (<uint64_t>rd32(p + 12, self.swap) << 32) | rd32(p + 16, self.swap)
                        caplen = rd32(p + 20, self.swap)
                        wirelen = rd32(p + 24, self.swap)
                        dataoff = 28
                        if caplen > body - 20:
                            raise self.error_at(where, f"packet length {caplen} runs past its block ({body - 20} bytes)")
                        optoff = dataoff + ((caplen + 3) & ~3)
                    if iface < self.n_ifaces:
                        it = &self.ifaces[iface]
                    elif <Py_ssize_t>iface - self.n_ifaces < self.section_dropped:
                        it = &self.dropped_iface
                    else:
                        raise self.error_at(where, f"packet refers to interface {iface}, but the section defines {self.n_ifaces + self.section_dropped}")
                    comment = None
                    if optoff >= 0 and optoff < blen - 4:
                        # before the record is pushed: a bad option leaves no half-made record
                        comment = self._packet_comment(p + optoff, blen - 4 - optoff, where)
                    total += 1
                    if self.bpf is None or self.bpf.accept(p + dataoff, caplen, wirelen,
                                                           it.linktype):
                        if b is None:
                            b = self._new_batch(max_packets)
                        r = b.push()
                        if btype != 3:
                            if wc_units_to_ns(t, it.kind, it.k, it.offset_s, &ts):
                                r.anomalies = A_TIMESTAMP_RANGE
                                self.n_bad_ts += 1
                            r.ts_ns = ts
                        r.caplen = caplen
                        r.wire_len = wirelen
                        r.frame_offset = <uint32_t>(self.pos + dataoff)
                        r.linktype = it.linktype
                        r.iface = it.index
                        if it.index == IFACE_NONE:
                            r.anomalies |= A_IFACE_DROPPED
                            self.packets_iface_dropped += 1
                        r.index = total - 1
                        if comment is not None:
                            if b.comments is None:
                                b.comments = {}
                            b.comments[b.n - 1] = comment
                else:
                    self.blocks_skipped += 1
                self.pos += blen
        except CaptureFileError as exc:
            self.packets_read = total
            if b is None or b.n == 0:
                raise
            self.error = exc        # raised by the next read_batch, after this batch
        self.packets_read = total
        if b is None:
            return None
        self.packets_matched += b.n
        b.shrink()
        b.decode_all()
        return b


cdef class PacketIterator:
    """Packets of a Reader one by one, crossing into Python once per packet only.

    `on_end` is called once when the reader is exhausted (or the iterator is
    closed), so the caller can report truncation and close the file.
    """
    cdef Reader reader
    cdef Batch batch
    cdef Py_ssize_t i
    cdef Py_ssize_t size
    cdef object on_end
    cdef bint done

    def __cinit__(self, Reader reader, Py_ssize_t size, on_end=None):
        self.reader = reader
        self.size = size
        self.on_end = on_end
        self.batch = None
        self.i = 0
        self.done = False

    def __iter__(self):
        return self

    def __next__(self):
        cdef Packet pkt
        while self.batch is None or self.i >= self.batch.n:
            if self.done:
                raise StopIteration
            try:
                self.batch = self.reader.read_batch(self.size)
            except BaseException:
                self.close()
                raise
            self.i = 0
            if self.batch is None:
                self.close()
                raise StopIteration
        pkt = make_packet(self.batch, self.i)
        self.i += 1
        return pkt

    def close(self):
        """Stop iterating; runs on_end once."""
        if not self.done:
            self.done = True
            self.batch = None
            if self.on_end is not None:
                cb, self.on_end = self.on_end, None
                cb()


# --------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------

def record_size():
    return sizeof(rec_t)


def record_fields():
    """(name, offset, numpy type string) for every field of rec_t, in memory order."""
    cdef rec_t r
    cdef size_t b = <size_t>&r

    def o(size_t a):
        return a - b
    return [
        ("ts_ns", o(<size_t>&r.ts_ns), "<i8"),
        ("index", o(<size_t>&r.index), "<u8"),
        ("eth_src", o(<size_t>&r.eth_src), "<u8"),
        ("eth_dst", o(<size_t>&r.eth_dst), "<u8"),
        ("arp_sender_mac", o(<size_t>&r.arp_sender_mac), "<u8"),
        ("arp_target_mac", o(<size_t>&r.arp_target_mac), "<u8"),
        ("frame_offset", o(<size_t>&r.frame_offset), "<u4"),
        ("caplen", o(<size_t>&r.caplen), "<u4"),
        ("wire_len", o(<size_t>&r.wire_len), "<u4"),
        ("l3_offset", o(<size_t>&r.l3_offset), "<u4"),
        ("l4_offset", o(<size_t>&r.l4_offset), "<u4"),
        ("payload_offset", o(<size_t>&r.payload_offset), "<u4"),
        ("payload_length", o(<size_t>&r.payload_length), "<u4"),
        ("anomalies", o(<size_t>&r.anomalies), "<u4"),
        ("ip_id", o(<size_t>&r.ip_id), "<u4"),
        ("ip_total_length", o(<size_t>&r.ip_total_length), "<u4"),
        ("ip6_flow_label", o(<size_t>&r.ip6_flow_label), "<u4"),
        ("tcp_seq", o(<size_t>&r.tcp_seq), "<u4"),
        ("tcp_ack", o(<size_t>&r.tcp_ack), "<u4"),
        ("arp_sender_ip", o(<size_t>&r.arp_sender_ip), "<u4"),
        ("arp_target_ip", o(<size_t>&r.arp_target_ip), "<u4"),
        ("ip_src", o(<size_t>&r.ip_src), "V16"),
        ("ip_dst", o(<size_t>&r.ip_dst), "V16"),
        ("linktype", o(<size_t>&r.linktype), "<u2"),
        ("iface", o(<size_t>&r.iface), "<u2"),
        ("layers", o(<size_t>&r.layers), "<u2"),
        ("eth_type", o(<size_t>&r.eth_type), "<u2"),
        ("vlan1_tci", o(<size_t>&r.vlan1_tci), "<u2"),
        ("vlan2_tci", o(<size_t>&r.vlan2_tci), "<u2"),
        ("vlan3_tci", o(<size_t>&r.vlan3_tci), "<u2"),
        ("link_pkttype", o(<size_t>&r.link_pkttype), "<u2"),
        ("arp_opcode", o(<size_t>&r.arp_opcode), "<u2"),
        ("ip_frag_offset", o(<size_t>&r.ip_frag_offset), "<u2"),
        ("ip_checksum", o(<size_t>&r.ip_checksum), "<u2"),
        ("l4_src_port", o(<size_t>&r.l4_src_port), "<u2"),
        ("l4_dst_port", o(<size_t>&r.l4_dst_port), "<u2"),
        ("tcp_flags", o(<size_t>&r.tcp_flags), "<u2"),
        ("tcp_window", o(<size_t>&r.tcp_window), "<u2"),
        ("tcp_urgent", o(<size_t>&r.tcp_urgent), "<u2"),
        ("tcp_checksum", o(<size_t>&r.tcp_checksum), "<u2"),
        ("udp_length", o(<size_t>&r.udp_length), "<u2"),
        ("udp_checksum", o(<size_t>&r.udp_checksum), "<u2"),
        ("icmp_checksum", o(<size_t>&r.icmp_checksum), "<u2"),
        ("icmp_id", o(<size_t>&r.icmp_id), "<u2"),
        ("icmp_seq", o(<size_t>&r.icmp_seq), "<u2"),
        ("vlan_count", o(<size_t>&r.vlan_count), "u1"),
        ("ip_version", o(<size_t>&r.ip_version), "u1"),
        ("ip_header_length", o(<size_t>&r.ip_header_length), "u1"),
        ("ip_tos", o(<size_t>&r.ip_tos), "u1"),
        ("ip_ttl", o(<size_t>&r.ip_ttl), "u1"),
        ("ip_protocol", o(<size_t>&r.ip_protocol), "u1"),
        ("ip_flags", o(<size_t>&r.ip_flags), "u1"),
        ("ip6_ext_count", o(<size_t>&r.ip6_ext_count), "u1"),
        ("tcp_header_length", o(<size_t>&r.tcp_header_length), "u1"),
        ("icmp_type", o(<size_t>&r.icmp_type), "u1"),
        ("icmp_code", o(<size_t>&r.icmp_code), "u1"),
        ("app", o(<size_t>&r.app), "u1"),
        ("stop_layer", o(<size_t>&r.stop_layer), "u1"),
        ("stop_reason", o(<size_t>&r.stop_reason), "u1"),
    ]


def format_addresses(const uint8_t[:, ::1] addrs, const uint8_t[::1] versions):
    """Text form of a column of 16-byte addresses (4 used when version is 4, '' when 0)."""
    cdef Py_ssize_t n = addrs.shape[0], i
    out = [None] * n
    for i in range(n):
        if versions[i] == 4:
            out[i] = ip4_text(&addrs[i, 0])
        elif versions[i] == 6:
            out[i] = ip6_text(&addrs[i, 0])
        else:
            out[i] = ""
    return out


def format_macs(const uint64_t[::1] macs):
    """Text form of a column of MAC addresses held in the low 48 bits."""
    cdef Py_ssize_t n = macs.shape[0], i
    out = [None] * n
    for i in range(n):
        out[i] = mac_text(macs[i])
    return out


# --------------------------------------------------------------------------
# Packet views
# --------------------------------------------------------------------------

cdef const char* HEXDIGITS = b"0123456789abcdef"


cdef inline str mac_text(uint64_t m):
    cdef char tmp[17]
    cdef int i, k = 0
    cdef unsigned b
    for i in range(6):
        b = <unsigned>((m >> (40 - 8 * i)) & 0xFF)
        if i:
            tmp[k] = 58       # ':'
            k += 1
        tmp[k] = HEXDIGITS[b >> 4]
        tmp[k + 1] = HEXDIGITS[b & 15]
        k += 2
    return PyUnicode_DecodeLatin1(tmp, k, NULL)


cdef inline int put_dec(char* out, unsigned v) noexcept nogil:
    """Write v (0..255) in decimal; return the number of characters."""
    if v >= 100:
        out[0] = <char>(48 + v // 100)
        out[1] = <char>(48 + (v // 10) % 10)
        out[2] = <char>(48 + v % 10)
        return 3
    if v >= 10:
        out[0] = <char>(48 + v // 10)
        out[1] = <char>(48 + v % 10)
        return 2
    out[0] = <char>(48 + v)
    return 1


# Address text is asked for again and again for the same hosts: a small
# direct-mapped cache of the str objects (one slot per hash, replaced on a
# clash) saves formatting and allocating them each time.
DEF ADDR_CACHE = 1024       # slots per family, a power of two

cdef struct addr4_slot:
    uint32_t key
    PyObject* text          # owned reference, or NULL

cdef struct addr6_slot:
    uint64_t hi, lo
    PyObject* text

cdef addr4_slot _addr4_cache[ADDR_CACHE]
cdef addr6_slot _addr6_cache[ADDR_CACHE]
memset(_addr4_cache, 0, sizeof(_addr4_cache))
memset(_addr6_cache, 0, sizeof(_addr6_cache))


cdef str ip4_text(const uint8_t* a):
    """Dotted-quad text of a 4-byte address (cached)."""
    cdef uint32_t key = be32(a)
    cdef addr4_slot* slot = &_addr4_cache[(key * 2654435761U) >> 22 & (ADDR_CACHE - 1)]
    cdef str text
    if slot.text is not NULL and slot.key == key:
        return <str>slot.text
    text = ip4_format(a)
    Py_XDECREF(slot.text)
    Py_INCREF(text)
    slot.text = <PyObject*>text
    slot.key = key
    return text


cdef str ip6_text(const uint8_t* a):
    """RFC 5952 text of a 16-byte address (cached)."""
    cdef uint64_t hi, lo
    memcpy(&hi, a, 8)
    memcpy(&lo, a + 8, 8)
    cdef uint64_t h = (hi ^ (lo * 0x9E3779B97F4A7C15ULL)) * 0x9E3779B97F4A7C15ULL
    cdef addr6_slot* slot = &_addr6_cache[(h >> 40) & (ADDR_CACHE - 1)]
    cdef str text
    if slot.text is not NULL and slot.hi == hi and slot.lo == lo:
        return <str>slot.text
    text = ip6_format(a)
    Py_XDECREF(slot.text)
    Py_INCREF(text)
    slot.text = <PyObject*>text
    slot.hi = hi
    slot.lo = lo
    return text


cdef str ip4_format(const uint8_t* a):
    cdef char tmp[16]
    cdef int k = put_dec(tmp, a[0])
    tmp[k] = 46; k += 1
    k += put_dec(tmp + k, a[1])
    tmp[k] = 46; k += 1
    k += put_dec(tmp + k, a[2])
    tmp[k] = 46; k += 1
    k += put_dec(tmp + k, a[3])
    return PyUnicode_DecodeLatin1(tmp, k, NULL)


cdef str ip6_format(const uint8_t* a):
    """RFC 5952 text, exactly as glibc's inet_ntop writes it (tshark and Python agree)."""
    cdef uint16_t w[8]
    cdef char tmp[48]
    cdef int i, k = 0, best = -1, best_len = 0, cur = -1, cur_len = 0, started
    cdef unsigned v, shift
    for i in range(8):
        w[i] = (<uint16_t>a[2 * i] << 8) | a[2 * i + 1]
        if w[i] == 0:
            if cur < 0:
                cur = i
                cur_len = 0
            cur_len += 1
            if cur_len > best_len:
                best = cur
                best_len = cur_len
        else:
            cur = -1
    if best_len < 2:
        best = -1
    if best == 0 and (best_len == 6 or (best_len == 5 and w[5] == 0xFFFF)):
        tmp[0] = 58; tmp[1] = 58; k = 2
        if best_len == 5:
            for c in b"ffff:":
                tmp[k] = c; k += 1
        k += put_dec(tmp + k, a[12]); tmp[k] = 46; k += 1
        k += put_dec(tmp + k, a[13]); tmp[k] = 46; k += 1
        k += put_dec(tmp + k, a[14]); tmp[k] = 46; k += 1
        k += put_dec(tmp + k, a[15])
        return PyUnicode_DecodeLatin1(tmp, k, NULL)
    i = 0
    while i < 8:
        if i == best:
            tmp[k] = 58; k += 1
            if i == 0:
                tmp[k] = 58; k += 1
            i += best_len
            continue
        v = w[i]
        started = 0
        shift = 12
        while True:
            if started or (v >> shift) & 15 or shift == 0:
                tmp[k] = HEXDIGITS[(v >> shift) & 15]
                k += 1
                started = 1
            if shift == 0:
                break
            shift -= 4
        i += 1
        if i < 8:
            tmp[k] = 58; k += 1
    return PyUnicode_DecodeLatin1(tmp, k, NULL)


cdef inline str ip_text(const rec_t* r, const uint8_t* a):
    """Text of an address field of an IPv4 or IPv6 record (its layer bits tell which)."""
    return ip4_text(a) if r.layers & L_IPV4 else ip6_text(a)


cdef inline str ip4_text_u32(uint32_t v):
    cdef uint8_t a[4]
    a[0] = (v >> 24) & 0xFF; a[1] = (v >> 16) & 0xFF; a[2] = (v >> 8) & 0xFF; a[3] = v & 0xFF
    return ip4_text(a)


_STOP_LAYERS = {0: None, S_LINK: "link", S_VLAN: "vlan", S_ARP: "arp", S_NETWORK: "network",
                S_TRANSPORT: "transport", S_PAYLOAD: "payload"}
_STOP_REASONS = {R_OK: None, R_TRUNCATED_HEADER: "truncated header",
                 R_TRUNCATED_PAYLOAD: "truncated payload", R_BAD_LENGTH: "bad length",
                 R_BAD_VERSION: "bad version", R_UNSUPPORTED: "unsupported",
                 R_NON_FIRST_FRAGMENT: "non-first fragment",
                 R_FRAGMENTED_HEADER: "fragmented header"}
ANOMALIES = {
    **READER_ANOMALIES,     # the reader's own, defined with the reader
    A_SNAPLEN_CUT: "frame cut by snaplen",
    A_CAPLEN_GT_WIRE: "captured length exceeds wire length",
    A_IP_LEN_BEYOND_CAPTURE: "IP length beyond captured bytes",
    A_IP_LEN_TOO_SHORT: "IP total length shorter than its header",
    A_IP_HEADER_LEN_BAD: "IPv4 header length below 20",
    A_UDP_LEN_MISMATCH: "UDP length disagrees with IP payload length",
    A_UDP_LEN_BAD: "UDP length invalid",
    A_TCP_DOFF_BAD: "TCP data offset below 5",
    A_TCP_HEADER_BEYOND: "TCP header beyond segment",
    A_IP6_EXT_TRUNCATED: "IPv6 extension headers truncated",
    A_IP6_EXT_LIMIT: "too many IPv6 extension headers",
    A_VLAN_LIMIT: "more than 3 VLAN tags",
    A_IP6_JUMBO: "IPv6 jumbogram (payload length 0)",
    A_IP_FRAGMENT: "IP fragment",
    A_TUNNEL: "tunnelled IP (not decoded)",
    A_ETH_LENGTH_FIELD: "802.3 length field (LLC not decoded)",
    # only with checksums verified (checksums=True); named as in tshark's expert info
    A_IP_BAD_CHECKSUM: "ip_bad_checksum",
    A_TCP_BAD_CHECKSUM: "tcp_bad_checksum",
    A_UDP_BAD_CHECKSUM: "udp_bad_checksum",
    A_ICMP_BAD_CHECKSUM: "icmp_bad_checksum",
    A_ICMPV6_BAD_CHECKSUM: "icmpv6_bad_checksum",
}
# anomalies that are facts about the packet rather than problems with it
_INFORMATIONAL = A_IP_FRAGMENT | A_TUNNEL | A_ETH_LENGTH_FIELD
LAYER_BITS = {"eth": L_ETH, "vlan": L_VLAN, "sll": L_SLL, "arp": L_ARP, "ipv4": L_IPV4,
              "ipv6": L_IPV6, "tcp": L_TCP, "udp": L_UDP, "icmp": L_ICMP, "icmpv6": L_ICMPV6,
              "fragment": L_FRAG, "ip_options": L_IPOPT, "null": L_NULL}
STOP_LAYERS = _STOP_LAYERS
STOP_REASONS = _STOP_REASONS
INFORMATIONAL_ANOMALIES = _INFORMATIONAL
APP_NAMES = {APP_NONE: None, APP_DNS: "dns", APP_MDNS: "mdns", APP_LLMNR: "llmnr",
             APP_SMTP: "smtp"}

_dns_module = None
_craft_module = None


# The attributes a per-packet loop reads most go through each class's own
# __getattribute__ (tp_getattro): one pointer comparison with the interned name
# instead of the generic type lookup and descriptor call, which CPython 3.11 does
# not specialise for extension-type properties. Every other name, and these
# names spelled by a non-interned string, take the generic path and its
# properties, which return the same values.
from sys import intern as _intern
cdef object _A_IP = _intern("ip")
cdef object _A_TCP = _intern("tcp")
cdef object _A_UDP = _intern("udp")
cdef object _A_VLAN = _intern("vlan")
cdef object _A_ARP = _intern("arp")
cdef object _A_ICMP = _intern("icmp")
cdef object _A_ICMPV6 = _intern("icmpv6")
cdef object _A_SRC = _intern("src")
cdef object _A_DST = _intern("dst")
cdef object _A_VERSION = _intern("version")
cdef object _A_SRC_PORT = _intern("src_port")
cdef object _A_DST_PORT = _intern("dst_port")
cdef object _FOUR = 4, _SIX = 6

# Packets and views hold only their batch (which never refers back to them), so
# they cannot be part of a reference cycle: no_gc spares the collector tracking
# the one or two such objects made per packet.
@cython.no_gc
@cython.freelist(64)
cdef class Packet:
    """A thin view of one decoded packet: (batch, index) plus lazy layer views."""
    cdef readonly Batch batch
    cdef readonly Py_ssize_t position
    cdef rec_t* r
    cdef const uint8_t* p
    cdef object _dns

    def __repr__(self):
        return f"<Packet #{self.r.index} {self.summary()}>"

    def __getattribute__(self, name):
        # the layer views a loop asks for on every packet (see _A_IP above); the
        # properties below give the same answers for every other way of asking
        if name is _A_IP:
            return ip_view(self)
        if name is _A_TCP:
            return layer_view(self, L_TCP, TCPView)
        if name is _A_UDP:
            return layer_view(self, L_UDP, UDPView)
        if name is _A_VLAN:
            if not self.r.layers & L_VLAN:
                return None
        elif name is _A_ICMP:
            return layer_view(self, L_ICMP, ICMPView)
        elif name is _A_ICMPV6:
            return layer_view(self, L_ICMPV6, ICMPView)
        elif name is _A_ARP:
            return layer_view(self, L_ARP, ARPView)
        return PyObject_GenericGetAttr(self, name)

    @property
    def index(self):
        """0-based position in the source (counting packets a filter dropped)."""
        return self.r.index

    @property
    def time(self):
        """Seconds since the epoch as a float (see time_ns for the exact value)."""
        return self.r.ts_ns / 1e9

    @property
    def time_ns(self):
        return self.r.ts_ns

    @property
    def caplen(self):
        return self.r.caplen

    @property
    def wire_len(self):
        return self.r.wire_len

    @property
    def linktype(self):
        return self.r.linktype

    @property
    def iface(self):
        return self.r.iface

    @property
    def interface(self):
        """Information on the capture interface (pcapng IDB fields) or None."""
        ifs = self.batch.interfaces
        if ifs is None or self.r.iface >= len(ifs):
            return None
        return ifs[self.r.iface]

    @property
    def comment(self):
        """The pcapng packet comment, if any."""
        c = self.batch.comments
        return None if c is None else c.get(self.position)

    @property
    def data(self):
        """The captured frame as bytes."""
        return PyBytes_FromStringAndSize(<const char*>self.p, self.r.caplen)

    @property
    def layers(self):
        return self.r.layers

    def has(self, str layer):
        """True if `layer` ('eth', 'vlan', 'ipv4', 'tcp', ...) was decoded."""
        return (self.r.layers & LAYER_BITS[layer]) != 0

    @property
    def eth(self):
        if not self.r.layers & L_ETH:
            return None
        return make_view(EthernetView, self)

    @property
    def sll(self):
        if not self.r.layers & L_SLL:
            return None
        return make_view(SLLView, self)

    @property
    def vlan(self):
        """The 802.1Q/802.1ad tags, outermost first, or None."""
        if not self.r.layers & L_VLAN:
            return None
        cdef list tags = []
        cdef int i
        cdef uint16_t tcis[3]
        cdef uint32_t off = 14 if self.r.linktype == 1 else (16 if self.r.linktype == 113 else 20)
        tcis[0] = self.r.vlan1_tci; tcis[1] = self.r.vlan2_tci; tcis[2] = self.r.vlan3_tci
        for i in range(self.r.vlan_count):
            # tag i was decoded, so its 4 bytes (and the tpid before them) were captured;
            # SLL v2 keeps its protocol field (the first tpid) at byte 0, not before the tag
            if i == 0 and self.r.linktype == 276:
                tpid = be16(self.p)
            else:
                tpid = be16(self.p + off - 2 + 4 * i)
            tags.append(VlanTag(tpid, tcis[i] & 0xFFF, tcis[i] >> 13, (tcis[i] >> 12) & 1))
        return tags

    @property
    def arp(self):
        return layer_view(self, L_ARP, ARPView)

    @property
    def ip(self):
        """IPv4 or IPv6 view (whichever the frame carries), or None."""
        return ip_view(self)

    @property
    def ipv4(self):
        return layer_view(self, L_IPV4, IPv4View)

    @property
    def ipv6(self):
        return layer_view(self, L_IPV6, IPv6View)

    @property
    def tcp(self):
        return layer_view(self, L_TCP, TCPView)

    @property
    def udp(self):
        return layer_view(self, L_UDP, UDPView)

    @property
    def icmp(self):
        return layer_view(self, L_ICMP, ICMPView)

    @property
    def icmpv6(self):
        return layer_view(self, L_ICMPV6, ICMPView)

    @property
    def payload(self):
        """Bytes after the deepest decoded header, bounded by the IP length and the capture."""
        cdef uint32_t off = self.r.payload_offset, n = self.r.payload_length
        # the decoder keeps off + n <= caplen; the view never relies on it
        if off > self.r.caplen:
            off = self.r.caplen
        if n > self.r.caplen - off:
            n = self.r.caplen - off
        return PyBytes_FromStringAndSize(<const char*>self.p + off, n)

    @property
    def payload_length(self):
        return len(self.payload)

    @property
    def payload_offset(self):
        return self.r.payload_offset

    @property
    def inner(self):
        """The IP packet an IP-in-IP tunnel carries (IPv4 or IPv6 inside IPv4 or IPv6,
        also behind IPv6 extension and segment routing headers), decoded as its own
        Packet; None for any other packet.

        The outer packet stops at 'network' / 'unsupported' with the 'tunnelled IP'
        anomaly; its payload is the inner packet, which this decodes (a cut outer frame
        gives a cut inner one)."""
        cdef uint32_t missing
        if not (self.r.anomalies & A_TUNNEL) or not (self.r.layers & (L_IPV4 | L_IPV6)):
            return None
        if self.r.ip_protocol != 4 and self.r.ip_protocol != 41:
            return None
        data = self.payload
        missing = self.r.wire_len - self.r.caplen if self.r.wire_len > self.r.caplen else 0
        b = batch_from_buffer(data, [0], [len(data)], [len(data) + missing], [self.r.ts_ns],
                              228 if self.r.ip_protocol == 4 else 229, self.r.index)
        return b[0]

    @property
    def app(self):
        """Application guessed from the ports ('dns', 'mdns', 'llmnr', 'smtp') or None."""
        return APP_NAMES.get(self.r.app)

    @property
    def stop_layer(self):
        """The deepest layer the decoder reached: 'link', 'vlan', 'arp', 'network',
        'transport', or 'payload' (every header decoded; the stop concerns the payload).

        It says where decoding ended, not where the first problem was: a frame whose IP
        length is wrong but whose UDP header was decoded stops at 'transport' or
        'payload'. Every problem, at any layer, is in `problems`."""
        return _STOP_LAYERS.get(self.r.stop_layer)

    @property
    def stop_reason(self):
        """Why decoding ended at `stop_layer`, or None when it ran to the end cleanly.

        'truncated header' / 'truncated payload': the capture holds fewer bytes than the
        headers announce (snaplen cut, or a frame shorter than its IP length);
        'bad length': a length field contradicts the bytes (at 'payload': the frame holds
        fewer bytes than IP/UDP say, without a snaplen cut); 'fragmented header': a first
        fragment whose transport header continues in the next fragment; 'non-first
        fragment': a fragment whose transport header is in another one; 'bad version';
        'unsupported': a protocol the decoder does not decode (tunnels, LLC, ...)."""
        return _STOP_REASONS.get(self.r.stop_reason)

    @property
    def anomalies(self):
        return self.r.anomalies

    @property
    def truncated(self):
        """True when bytes the headers promise are missing (snaplen cut or short frame)."""
        return (self.r.stop_reason == R_TRUNCATED_HEADER
                or self.r.stop_reason == R_TRUNCATED_PAYLOAD
                or (self.r.anomalies & A_SNAPLEN_CUT) != 0)

    @property
    def problems(self):
        """What was wrong with this packet, as short strings; empty when it is clean.

        The stop (when it is a problem: not 'unsupported' or a fragment's) as
        "<reason> at <layer>", then every anomaly at any layer (see ANOMALIES); with
        checksums verified (checksums=True) also 'ip_bad_checksum', 'tcp_bad_checksum',
        'udp_bad_checksum', 'icmp_bad_checksum', 'icmpv6_bad_checksum'."""
        cdef list out = []
        reason = self.r.stop_reason
        if (reason != R_OK and reason != R_UNSUPPORTED and reason != R_NON_FIRST_FRAGMENT
                and reason != R_FRAGMENTED_HEADER):
            out.append(f"{_STOP_REASONS[reason]} at {_STOP_LAYERS.get(self.r.stop_layer)}")
        bits = self.r.anomalies & ~_INFORMATIONAL
        if bits:
            for bit, text in ANOMALIES.items():
                if bits & bit:
                    out.append(text)
        return out

    @property
    def dns(self):
        """The DNS message (decoded on first access) for UDP DNS/mDNS/LLMNR, else None."""
        global _dns_module
        if self._dns is None:
            if not (self.r.layers & L_UDP) or self.r.app == APP_NONE or self.r.app == APP_SMTP:
                return None
            if _dns_module is None:
                import importlib
                _dns_module = importlib.import_module("wirecraft.dns")
            self._dns = _dns_module.decode(self.payload)
        return self._dns

    def verify_checksums(self):
        """{'ip': bool, 'tcp'|'udp'|'icmp'|'icmpv6': bool} for the layers present; None
        where the bytes needed were not captured, the packet is one fragment of several,
        the UDP length is invalid, or the checksum is optional and absent (IPv4 UDP 0).

        UDP is summed over its own length (RFC 768); IPv6 pseudo-headers use the final
        destination of a routing header (RFC 8200 8.1)."""
        cdef dict out = {}
        cdef int st
        if self.r.layers & L_IPV4:
            st = ip4_checksum_state(self.p, self.r)
            out["ip"] = None if st < 0 else st == 1
        if not (self.r.layers & (L_TCP | L_UDP | L_ICMP | L_ICMPV6)):
            return out
        name = ("tcp" if self.r.layers & L_TCP else "udp" if self.r.layers & L_UDP
                else "icmp" if self.r.layers & L_ICMP else "icmpv6")
        st = l4_checksum_state(self.p, self.r)
        out[name] = None if st < 0 else st == 1
        return out

    def to_layers(self):
        """Editable crafting layers whose bytes equal this frame, built from this decode."""
        global _craft_module
        if _craft_module is None:
            import importlib
            _craft_module = importlib.import_module("wirecraft.craft")
        return _craft_module.from_packet(self)

    def tcp_options(self):
        return self.tcp.options if self.r.layers & L_TCP else None

    def summary(self):
        """One line in the spirit of `tcpdump -n`."""
        from .summary import summarize
        return summarize(self)


cdef Packet make_packet(Batch b, Py_ssize_t i):
    cdef Packet pkt = Packet.__new__(Packet)
    pkt.batch = b
    pkt.position = i
    pkt.r = &b.recs[i]
    pkt.p = b.base + pkt.r.frame_offset
    return pkt


def ipv6_text(bytes address):
    """Text of a 16-byte IPv6 address (the decoder's own formatter, for tests)."""
    if len(address) != 16:
        raise ValueError("an IPv6 address is 16 bytes")
    return ip6_text(<const uint8_t*>PyBytes_AS_STRING(address))


def packet_at(Batch b, Py_ssize_t i):
    return b[i]


cdef tuple _EMPTY_TUPLE = ()


@cython.no_gc
@cython.freelist(64)
cdef class _View:
    cdef readonly Packet packet
    cdef rec_t* r
    cdef const uint8_t* p


cdef inline object layer_view(Packet pkt, uint32_t bit, type cls):
    """A `cls` view of pkt if its record has layer `bit`, else None."""
    return make_view(cls, pkt) if pkt.r.layers & bit else None


cdef inline object ip_view(Packet pkt):
    """The IPv4 or IPv6 view of pkt, whichever its frame carries, or None."""
    if pkt.r.layers & L_IPV4:
        return make_view(IPv4View, pkt)
    if pkt.r.layers & L_IPV6:
        return make_view(IPv6View, pkt)
    return None


cdef inline _View make_view(type cls, Packet pkt):
    # the type's tp_new directly: `cls.__new__(cls)` on a runtime type would go
    # through attribute lookup and an argument tuple for every view
    cdef _View v = <_View>(<PyTypeObject*>cls).tp_new(cls, <PyObject*>_EMPTY_TUPLE, NULL)
    v.packet = pkt
    v.r = pkt.r
    v.p = pkt.p
    return v


class VlanTag(tuple):
    """One 802.1Q/802.1ad tag."""
    __slots__ = ()

    def __new__(cls, tpid, id, pcp, dei):
        return tuple.__new__(cls, (tpid, id, pcp, dei))

    tpid = property(lambda self: self[0])
    id = property(lambda self: self[1])
    pcp = property(lambda self: self[2])
    dei = property(lambda self: self[3])

    def __repr__(self):
        return f"VlanTag(tpid=0x{self[0]:04x}, id={self[1]}, pcp={self[2]}, dei={self[3]})"


cdef class EthernetView(_View):
    """Ethernet II header."""
    @property
    def src(self):
        return mac_text(self.r.eth_src)

    @property
    def dst(self):
        return mac_text(self.r.eth_dst)

    @property
    def type(self):
        """The ethertype after any VLAN tags (tshark's innermost eth.type/vlan.etype)."""
        return self.r.eth_type

    def __repr__(self):
        return f"<Ethernet {self.src} > {self.dst} type 0x{self.type:04x}>"


cdef class SLLView(_View):
    """Linux cooked capture header (v1 or v2)."""
    @property
    def packet_type(self):
        return self.r.link_pkttype

    @property
    def src(self):
        """The link-layer source address: a MAC as 'aa:bb:...' (all-zero included) when
        the address length is 6, other lengths (up to 8) as colon hex, None when 0."""
        cdef uint32_t halen, at
        if self.r.linktype == 276:
            halen, at = self.p[11], 12
        else:
            halen, at = be16(self.p + 4), 6
        if halen == 6:
            return mac_text(self.r.eth_src)
        if halen == 0:
            return None
        # the 8-byte address field was captured (the header was decoded)
        return ":".join(f"{self.p[at + i]:02x}" for i in range(min(halen, 8)))

    @property
    def protocol(self):
        return self.r.eth_type

    @property
    def version(self):
        return 2 if self.r.linktype == 276 else 1


cdef class ARPView(_View):
    """ARP for IPv4 over Ethernet."""
    @property
    def opcode(self):
        return self.r.arp_opcode

    @property
    def sender_mac(self):
        return mac_text(self.r.arp_sender_mac)

    @property
    def target_mac(self):
        return mac_text(self.r.arp_target_mac)

    @property
    def sender_ip(self):
        return ip4_text_u32(self.r.arp_sender_ip)

    @property
    def target_ip(self):
        return ip4_text_u32(self.r.arp_target_ip)


cdef inline bint ip_has(const rec_t* r, uint32_t need4, uint32_t need6) noexcept:
    """True if the first need4 (IPv4) / need6 (IPv6) bytes of the IP header were captured:
    a field of a cut header that was not captured reads None, never an invented 0."""
    return r.caplen - r.l3_offset >= (need4 if r.layers & L_IPV4 else need6)


cdef inline uint32_t l4_avail(const rec_t* r) noexcept:
    """Bytes of the transport layer the decoder had (bounded by the capture and IP)."""
    return r.payload_offset + r.payload_length - r.l4_offset


cdef class _IPView(_View):
    """What IPv4 and IPv6 views share: the fields the decoder keeps in the same record
    slots for both families (which family: the record's layer bits).

    In a header cut short by the capture, every field whose bytes were not captured
    reads None (addresses included)."""

    def __getattribute__(self, name):
        if name is _A_SRC:
            return ip_text(self.r, self.r.ip_src) if ip_has(self.r, 16, 24) else None
        if name is _A_DST:
            return ip_text(self.r, self.r.ip_dst) if ip_has(self.r, 20, 40) else None
        if name is _A_VERSION:
            return _FOUR if self.r.layers & L_IPV4 else _SIX
        return PyObject_GenericGetAttr(self, name)

    @property
    def src(self):
        return ip_text(self.r, self.r.ip_src) if ip_has(self.r, 16, 24) else None

    @property
    def dst(self):
        return ip_text(self.r, self.r.ip_dst) if ip_has(self.r, 20, 40) else None

    @property
    def src_bytes(self):
        if not ip_has(self.r, 16, 24):
            return None
        return PyBytes_FromStringAndSize(<const char*>self.r.ip_src,
                                         4 if self.r.layers & L_IPV4 else 16)

    @property
    def dst_bytes(self):
        if not ip_has(self.r, 20, 40):
            return None
        return PyBytes_FromStringAndSize(<const char*>self.r.ip_dst,
                                         4 if self.r.layers & L_IPV4 else 16)

    @property
    def header_length(self):
        """IPv4: the header with its options (from its first byte); IPv6: 40 plus every
        extension header walked (None when the 40 bytes were not captured)."""
        if self.r.layers & L_IPV6 and not ip_has(self.r, 0, 40):
            return None
        return self.r.ip_header_length

    @property
    def tos(self):
        """IPv4 type of service / IPv6 traffic class."""
        return self.r.ip_tos if ip_has(self.r, 2, 4) else None

    @property
    def total_length(self):
        return self.r.ip_total_length if ip_has(self.r, 4, 6) else None

    @property
    def id(self):
        """Identification (IPv6: of the fragment header, 0 without one)."""
        return self.r.ip_id if ip_has(self.r, 6, 40) else None

    @property
    def flags(self):
        """3-bit field: 4 reserved, 2 DF, 1 MF (IPv6: MF from the fragment header)."""
        return self.r.ip_flags if ip_has(self.r, 8, 40) else None

    @property
    def mf(self):
        return bool(self.r.ip_flags & 1) if ip_has(self.r, 8, 40) else None

    @property
    def frag_offset(self):
        """Fragment offset in bytes."""
        return self.r.ip_frag_offset if ip_has(self.r, 8, 40) else None

    @property
    def ttl(self):
        """IPv4 time to live / IPv6 hop limit."""
        return self.r.ip_ttl if ip_has(self.r, 9, 8) else None

    @property
    def protocol(self):
        """The upper-layer protocol (IPv6: after the extension headers)."""
        return self.r.ip_protocol if ip_has(self.r, 10, 7) else None


cdef class IPv4View(_IPView):
    """IPv4 header (RFC 791)."""
    version = 4

    @property
    def dscp(self):
        return self.r.ip_tos >> 2

    @property
    def ecn(self):
        return self.r.ip_tos & 3

    @property
    def df(self):
        return bool(self.r.ip_flags & 2) if ip_has(self.r, 8, 8) else None

    @property
    def checksum(self):
        return self.r.ip_checksum if ip_has(self.r, 12, 12) else None

    @property
    def options(self):
        """Raw option bytes (empty without options)."""
        cdef uint32_t hl = self.r.ip_header_length
        if hl <= 20 or self.r.l3_offset + hl > self.r.caplen:
            return b""
        return PyBytes_FromStringAndSize(<const char*>self.p + self.r.l3_offset + 20, hl - 20)

    def verify_checksum(self):
        """True if the header checksum is right (None if the header was not captured)."""
        cdef int st = ip4_checksum_state(self.p, self.r)
        return None if st < 0 else st == 1

    def __repr__(self):
        return f"<IPv4 {self.src} > {self.dst} proto {self.protocol} ttl {self.ttl}>"


cdef class IPv6View(_IPView):
    """IPv6 header (RFC 8200) with its extension-header chain."""
    version = 6

    @property
    def traffic_class(self):
        return self.r.ip_tos if ip_has(self.r, 4, 4) else None

    @property
    def flow_label(self):
        return self.r.ip6_flow_label if ip_has(self.r, 4, 4) else None

    @property
    def payload_length(self):
        return self.r.ip_total_length - 40 if ip_has(self.r, 6, 6) else None

    @property
    def hop_limit(self):
        return self.r.ip_ttl if ip_has(self.r, 8, 8) else None

    @property
    def next_header(self):
        """The first next-header value (before extension headers)."""
        if self.r.caplen - self.r.l3_offset < 7:
            return None
        return self.p[self.r.l3_offset + 6]

    @property
    def extension_headers(self):
        """Next-header numbers of the extension headers, in order."""
        cdef uint32_t cur = self.r.l3_offset + 40, ehl
        cdef uint8_t nh
        cdef list out = []
        if self.r.l3_offset + 40 > self.r.caplen:
            return out
        nh = self.p[self.r.l3_offset + 6]
        for _ in range(self.r.ip6_ext_count):
            if cur + 8 > self.r.caplen:
                break
            # cur + 8 <= caplen checked above
            out.append(nh)
            if nh == 44:
                ehl = 8
            elif nh == 51:
                ehl = (<uint32_t>self.p[cur + 1] + 2) * 4
            else:
                ehl = (<uint32_t>self.p[cur + 1] + 1) * 8
            nh = self.p[cur]
            cur += ehl
        return out

    def __repr__(self):
        return f"<IPv6 {self.src} > {self.dst} nh {self.protocol} hlim {self.hop_limit}>"


TCP_FLAG_NAMES = ((1, "F"), (2, "S"), (4, "R"), (8, "P"), (16, "."), (32, "U"), (64, "E"),
                  (128, "W"), (256, "N"))
TCP_OPTION_NAMES = {0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sack_permitted", 5: "sack",
                    8: "timestamp", 28: "user_timeout", 29: "tcp_ao", 30: "mptcp",
                    34: "tfo"}


cdef class _PortsView(_View):
    """What TCP and UDP views share: the two ports (read straight from the record)."""
    def __getattribute__(self, name):
        if name is _A_SRC_PORT:
            return self.r.l4_src_port
        if name is _A_DST_PORT:
            return self.r.l4_dst_port
        return PyObject_GenericGetAttr(self, name)

    @property
    def src_port(self):
        return self.r.l4_src_port

    @property
    def dst_port(self):
        return self.r.l4_dst_port


cdef class TCPView(_PortsView):
    """TCP header (RFC 9293); options decoded on demand."""

    # a header cut short: a field whose bytes were not captured reads None

    @property
    def seq(self):
        return self.r.tcp_seq if l4_avail(self.r) >= 8 else None

    @property
    def ack(self):
        return self.r.tcp_ack if l4_avail(self.r) >= 12 else None

    @property
    def flags(self):
        """All 12 bits: FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128, AE (was NS)
        =0x100, reserved 0xE00."""
        return self.r.tcp_flags if l4_avail(self.r) >= 14 else None

    @property
    def flags_str(self):
        """tcpdump's flag letters, e.g. 'S.' for SYN-ACK (reserved bits have none)."""
        if l4_avail(self.r) < 14:
            return None
        return "".join(c for bit, c in TCP_FLAG_NAMES if self.r.tcp_flags & bit) or "none"

    @property
    def window(self):
        return self.r.tcp_window if l4_avail(self.r) >= 16 else None

    @property
    def header_length(self):
        return self.r.tcp_header_length if l4_avail(self.r) >= 14 else None

    @property
    def urgent(self):
        return self.r.tcp_urgent if l4_avail(self.r) >= 20 else None

    @property
    def checksum(self):
        return self.r.tcp_checksum if l4_avail(self.r) >= 18 else None

    @property
    def options_bytes(self):
        cdef uint32_t start = self.r.l4_offset + 20
        cdef uint32_t end = self.r.l4_offset + self.r.tcp_header_length
        cdef uint32_t have = self.r.l4_offset + l4_avail(self.r)
        if self.r.tcp_header_length <= 20 or l4_avail(self.r) < 20:
            return b""
        if end > have:
            end = have
        if end <= start:
            return b""
        return PyBytes_FromStringAndSize(<const char*>self.p + start, end - start)

    @property
    def options(self):
        """[(name, value)] with mss/wscale ints, sack as [(left, right)], timestamp (val, ecr).

        A malformed option ends the list with ('malformed', raw_rest); unknown
        kinds give (kind_number, raw_bytes).
        """
        return parse_tcp_options(self.options_bytes)

    def __repr__(self):
        return f"<TCP {self.src_port} > {self.dst_port} [{self.flags_str}] seq {self.seq}>"


def parse_tcp_options(bytes raw):
    """Decode TCP option bytes; never reads past `raw`, a zero length always advances."""
    cdef Py_ssize_t i = 0, n = len(raw), ln
    cdef const uint8_t* p = <const uint8_t*>PyBytes_AS_STRING(raw)
    cdef list out = []
    while i < n:
        kind = p[i]
        if kind == 0:
            out.append(("eol", None))
            break
        if kind == 1:
            out.append(("nop", None))
            i += 1
            continue
        if i + 1 >= n:
            out.append(("malformed", raw[i:]))
            break
        ln = p[i + 1]
        if ln < 2 or i + ln > n:
            out.append(("malformed", raw[i:]))
            break
        body = raw[i + 2:i + ln]
        if kind == 2 and ln == 4:
            out.append(("mss", int.from_bytes(body, "big")))
        elif kind == 3 and ln == 3:
            out.append(("wscale", body[0]))
        elif kind == 4 and ln == 2:
            out.append(("sack_permitted", True))
        elif kind == 5 and (ln - 2) % 8 == 0:
            out.append(("sack", [(int.from_bytes(body[j:j + 4], "big"),
                                  int.from_bytes(body[j + 4:j + 8], "big"))
                                 for j in range(0, ln - 2, 8)]))
        elif kind == 8 and ln == 10:
            out.append(("timestamp", (int.from_bytes(body[:4], "big"),
                                      int.from_bytes(body[4:], "big"))))
        else:
            out.append((TCP_OPTION_NAMES.get(kind, kind), body))
        i += ln
    return out


cdef class UDPView(_PortsView):
    """UDP header (RFC 768)."""

    @property
    def length(self):
        return self.r.udp_length if l4_avail(self.r) >= 6 else None

    @property
    def checksum(self):
        return self.r.udp_checksum if l4_avail(self.r) >= 8 else None

    def __repr__(self):
        return f"<UDP {self.src_port} > {self.dst_port} len {self.length}>"


cdef class ICMPView(_View):
    """ICMP or ICMPv6 header: type, code, checksum, and id/seq for echo messages."""
    @property
    def version(self):
        return 6 if self.r.layers & L_ICMPV6 else 4

    @property
    def type(self):
        return self.r.icmp_type

    @property
    def code(self):
        return self.r.icmp_code

    @property
    def checksum(self):
        return self.r.icmp_checksum

    @property
    def id(self):
        """Identifier of echo/timestamp/information messages; None for other types or
        when its bytes were not captured."""
        if not icmp_has_id(58 if self.r.layers & L_ICMPV6 else 1, self.r.icmp_type):
            return None
        return self.r.icmp_id if l4_avail(self.r) >= 6 else None

    @property
    def seq(self):
        """Sequence number, like `id`."""
        if not icmp_has_id(58 if self.r.layers & L_ICMPV6 else 1, self.r.icmp_type):
            return None
        return self.r.icmp_seq if l4_avail(self.r) >= 8 else None

    def __repr__(self):
        return f"<ICMP{'v6' if self.version == 6 else ''} type {self.type} code {self.code}>"


def check_checksums(Batch b):
    """Verify the IPv4, TCP, UDP, ICMP and ICMPv6 checksums of every packet of `b`.

    A wrong one sets its anomaly bit, so `Packet.problems` names it
    ('ip_bad_checksum', 'tcp_bad_checksum', 'udp_bad_checksum', 'icmp_bad_checksum',
    'icmpv6_bad_checksum', as tshark's expert info does) and Table columns carry it.
    Checksums that cannot be checked (see `Packet.verify_checksums`) set nothing.
    Runs in C without the GIL; calling it twice changes nothing."""
    with nogil:
        check_records(b.base, b.recs, b.n)
