# The decoder's codes, shared by every C decoder (ext/wirecraft/proto/*.pxd), the
# core module and whoever cimports them: layer bits, where and why decoding stopped,
# anomaly bits and application hints.  Enums only: cimporting this file adds no
# runtime import.

# layers present (rec_t.layers)
cdef enum:
    L_ETH = 1
    L_VLAN = 2
    L_SLL = 4
    L_ARP = 8
    L_IPV4 = 16
    L_IPV6 = 32
    L_TCP = 64
    L_UDP = 128
    L_ICMP = 256
    L_ICMPV6 = 512
    L_FRAG = 1024
    L_IPOPT = 2048
    L_NULL = 4096

# where decoding stopped (rec_t.stop_layer): the deepest layer the decoder reached;
# S_PAYLOAD means every header was decoded and the stop concerns the payload bytes
cdef enum:
    S_LINK = 1
    S_VLAN = 2
    S_ARP = 3
    S_NETWORK = 4
    S_TRANSPORT = 5
    S_PAYLOAD = 6

# why it stopped there (rec_t.stop_reason); R_OK: decoded to the end
cdef enum:
    R_OK = 0
    R_TRUNCATED_HEADER = 1
    R_TRUNCATED_PAYLOAD = 2
    R_BAD_LENGTH = 3
    R_BAD_VERSION = 4
    R_UNSUPPORTED = 5
    R_NON_FIRST_FRAGMENT = 6
    R_FRAGMENTED_HEADER = 7     # first fragment: the transport header continues in the next

# anomaly bits (rec_t.anomalies)
cdef enum:
    A_SNAPLEN_CUT = 1 << 0
    A_CAPLEN_GT_WIRE = 1 << 1
    A_IP_LEN_BEYOND_CAPTURE = 1 << 2
    A_IP_LEN_TOO_SHORT = 1 << 3
    A_IP_HEADER_LEN_BAD = 1 << 4
    A_UDP_LEN_MISMATCH = 1 << 5
    A_UDP_LEN_BAD = 1 << 6
    A_TCP_DOFF_BAD = 1 << 7
    A_TCP_HEADER_BEYOND = 1 << 8
    A_IP6_EXT_TRUNCATED = 1 << 9
    A_IP6_EXT_LIMIT = 1 << 10
    A_VLAN_LIMIT = 1 << 11
    A_IP6_JUMBO = 1 << 12
    A_IP_FRAGMENT = 1 << 13
    A_TUNNEL = 1 << 14
    A_ETH_LENGTH_FIELD = 1 << 15
    # set only when checksums are verified (check_checksums / checksums=True)
    A_IP_BAD_CHECKSUM = 1 << 16
    A_TCP_BAD_CHECKSUM = 1 << 17
    A_UDP_BAD_CHECKSUM = 1 << 18
    A_ICMP_BAD_CHECKSUM = 1 << 19
    A_ICMPV6_BAD_CHECKSUM = 1 << 20

# application hint (rec_t.app)
cdef enum:
    APP_NONE = 0
    APP_DNS = 1
    APP_MDNS = 2
    APP_LLMNR = 3
    APP_SMTP = 4
