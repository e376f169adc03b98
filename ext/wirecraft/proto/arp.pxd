# ARP (RFC 826) and RARP (RFC 903): opcode, and the Ethernet/IPv4 addresses.
# Inline, nogil, no runtime import: it is compiled into the batch decoder's loop.

from libc.stdint cimport uint8_t, uint32_t

from wirecraft._codes cimport L_ARP, R_TRUNCATED_HEADER, R_UNSUPPORTED, S_ARP
from wirecraft._record cimport rec_t
from wirecraft._wire cimport be16, be32, mac48
from wirecraft.proto.common cimport stop


cdef inline void decode_arp(const uint8_t* p, rec_t* r, uint32_t off,
                            uint32_t caplen) noexcept nogil:
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
