# Included by _core.pyx (one module, wirecraft._core): checksum verification.

# --------------------------------------------------------------------------
# Checksums (RFC 1071), run only when asked for: `Packet.verify_checksums()`,
# or over a whole batch by `check_checksums` (wirecraft.open(..., checksums=True)).
# --------------------------------------------------------------------------

# The sum itself is the shared routine of _checksum.pxd.


cdef int ip4_checksum_state(const uint8_t* p, const rec_t* r) noexcept nogil:
    """1: the IPv4 header checksum is right, 0: wrong, -1: no IPv4 header wholly captured."""
    cdef uint32_t hl = r.ip_header_length
    if not (r.layers & L_IPV4) or hl < 20 or r.l3_offset + hl > r.caplen:
        return -1
    # l3_offset + hl <= caplen checked above
    return verify16(sum16(p + r.l3_offset, hl, 0))


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
    s = sum16(p + r.l4_offset, n, 0)
    if proto != 1:
        # pseudo-header: addresses, upper-layer length, protocol
        if r.layers & L_IPV4:
            s = sum16(r.ip_dst, 4, sum16(r.ip_src, 4, s))
        else:
            s = sum16(ip6_final_dst(p, r), 16, sum16(r.ip_src, 16, s))
        s += (n >> 16) + (n & 0xFFFF) + proto
    return verify16(s)


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


def check_checksums(Batch b):
    """Verify the IPv4, TCP, UDP, ICMP and ICMPv6 checksums of every packet of `b`.

    A wrong one sets its anomaly bit, so `Packet.problems` names it
    ('ip_bad_checksum', 'tcp_bad_checksum', 'udp_bad_checksum', 'icmp_bad_checksum',
    'icmpv6_bad_checksum', as tshark's expert info does) and Table columns carry it.
    Checksums that cannot be checked (see `Packet.verify_checksums`) set nothing.
    Runs in C without the GIL; calling it twice changes nothing."""
    with nogil:
        check_records(b.base, b.recs, b.n)
