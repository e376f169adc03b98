# What follows an ethertype: up to MAX_VLAN 802.1Q/802.1ad tags, then the network
# decoder the ethertype selects (IPv4, IPv6, ARP/RARP) through the binding table.
# Inline, nogil, no runtime import: it is compiled into the batch decoder's loop.

from libc.stdint cimport uint8_t, uint16_t, uint32_t

from wirecraft._codes cimport (
    A_VLAN_LIMIT, L_VLAN, R_TRUNCATED_HEADER, R_UNSUPPORTED, S_LINK, S_VLAN,
)
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16
from wirecraft.proto.arp cimport decode_arp
from wirecraft.proto.common cimport stop_at
from wirecraft.proto.dispatch cimport (
    NEXT_ARP, NEXT_IPV4, NEXT_IPV6, NEXT_VLAN, wc_next_ethertype,
)
from wirecraft.proto.ipv4 cimport decode_ipv4
from wirecraft.proto.ipv6 cimport decode_ipv6

# VLAN tags kept in the record (vlan1_tci..vlan3_tci); a fourth stops decoding
cdef enum:
    MAX_VLAN = 3


cdef inline void decode_ethertype(const uint8_t* p, rec_t* r, uint32_t off, uint32_t caplen,
                                  uint16_t etype) noexcept nogil:
    """Everything after an ethertype: VLAN tags, then ARP/IPv4/IPv6, as the binding
    table's ethertype rows select (proto/dispatch.pxd)."""
    cdef uint16_t tci
    cdef uint8_t nxt = wc_next_ethertype[etype]
    while nxt == NEXT_VLAN:
        if r.vlan_count >= MAX_VLAN:
            r.anomalies |= A_VLAN_LIMIT
            r.eth_type = etype
            r.l3_offset = off
            stop_at(r, off, caplen, S_VLAN, R_UNSUPPORTED)
            return
        if caplen - off < 4:
            r.eth_type = etype
            r.l3_offset = off
            stop_at(r, off, caplen, S_VLAN, R_TRUNCATED_HEADER)
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
        nxt = wc_next_ethertype[etype]
        off += 4
        r.stop_layer = S_VLAN
    r.eth_type = etype
    r.l3_offset = off
    r.payload_offset = off
    r.payload_length = caplen - off
    if nxt == NEXT_IPV4:
        decode_ipv4(p, r, off, caplen)
    elif nxt == NEXT_IPV6:
        decode_ipv6(p, r, off, caplen)
    elif nxt == NEXT_ARP:
        decode_arp(p, r, off, caplen)
    else:
        if r.stop_layer == 0:
            r.stop_layer = S_LINK
        r.stop_reason = R_UNSUPPORTED
