# The decoder's dispatch tables: which C decoder a number in a lower layer selects
# (ethertype -> VLAN/IPv4/IPv6/ARP, IP protocol -> TCP/UDP/ICMP/ICMPv6) and which
# application hint a port gives (TCP and UDP apart).  They hold no rows of their own:
# wirecraft._core fills them at import from the binding table
# (src/wirecraft/proto/_bind.py, core/dispatch.pxi), so a binding row is what makes
# the decoder take a branch, and a number no row holds selects nothing.
#
# The arrays are C statics: every module that cimports this file has its own copy and
# only _core fills its copy; another module must not read them.

from libc.stdint cimport uint8_t, uint16_t

# what a table entry selects (0: nothing, the layer stops as unsupported)
cdef enum:
    NEXT_NONE = 0
    NEXT_VLAN = 1       # ethertype: an 802.1Q/802.1ad tag, then another ethertype
    NEXT_IPV4 = 2
    NEXT_IPV6 = 3
    NEXT_ARP = 4        # ARP and RARP
    NEXT_TCP = 5        # IP protocol (IPv4 protocol and IPv6 next header alike)
    NEXT_UDP = 6
    NEXT_ICMP = 7
    NEXT_ICMPV6 = 8

cdef extern from *:
    """
    /* dispatch tables of the decoder, filled from the binding table (proto/dispatch.pxd) */
    static uint8_t wc_next_ethertype[65536];
    static uint8_t wc_next_ipproto[256];
    static uint8_t wc_app_udp[65536];
    static uint8_t wc_app_tcp[65536];
    """
    uint8_t wc_next_ethertype[65536]    # ethertype -> NEXT_VLAN/IPV4/IPV6/ARP
    uint8_t wc_next_ipproto[256]        # IP protocol -> NEXT_TCP/UDP/ICMP/ICMPV6
    uint8_t wc_app_udp[65536]           # UDP port -> APP_ code
    uint8_t wc_app_tcp[65536]           # TCP port -> APP_ code


cdef inline uint8_t app_of(const uint8_t* table, uint16_t sport, uint16_t dport) noexcept nogil:
    """The application hint of a port pair: when both ports are bound, the lower APP_
    code wins (the codes are numbered in precedence order: DNS, mDNS, LLMNR, SMTP)."""
    cdef uint8_t a = table[sport], b = table[dport]
    if a == 0 or (b != 0 and b < a):
        return b
    return a
