# The fixed-width record the batch decoder fills: one per packet.
# An array of these *is* the columnar output (numpy views it through a dtype
# built from the offsets below, see _core.pyx:record_fields).

from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t

cdef struct rec_t:
    int64_t ts_ns
    uint64_t index
    uint64_t eth_src
    uint64_t eth_dst
    uint64_t arp_sender_mac
    uint64_t arp_target_mac
    uint32_t frame_offset
    uint32_t caplen
    uint32_t wire_len
    uint32_t l3_offset
    uint32_t l4_offset
    uint32_t payload_offset
    uint32_t payload_length
    uint32_t anomalies
    uint32_t ip_id
    uint32_t ip_total_length
    uint32_t ip6_flow_label
    uint32_t tcp_seq
    uint32_t tcp_ack
    uint32_t arp_sender_ip
    uint32_t arp_target_ip
    uint8_t ip_src[16]
    uint8_t ip_dst[16]
    uint16_t linktype
    uint16_t iface
    uint16_t layers
    uint16_t eth_type
    uint16_t vlan1_tci
    uint16_t vlan2_tci
    uint16_t vlan3_tci
    uint16_t link_pkttype
    uint16_t arp_opcode
    uint16_t ip_frag_offset
    uint16_t ip_checksum
    uint16_t l4_src_port
    uint16_t l4_dst_port
    uint16_t tcp_flags
    uint16_t tcp_window
    uint16_t tcp_urgent
    uint16_t tcp_checksum
    uint16_t udp_length
    uint16_t udp_checksum
    uint16_t icmp_checksum
    uint16_t icmp_id
    uint16_t icmp_seq
    uint8_t vlan_count
    uint8_t ip_version
    uint8_t ip_header_length
    uint8_t ip_tos
    uint8_t ip_ttl
    uint8_t ip_protocol
    uint8_t ip_flags
    uint8_t ip6_ext_count
    uint8_t tcp_header_length
    uint8_t icmp_type
    uint8_t icmp_code
    uint8_t app
    uint8_t stop_layer
    uint8_t stop_reason

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

cdef void decode_frame(const uint8_t* p, rec_t* r) noexcept nogil

# address text, shared with the other extension modules (one formatter each)
cdef str ip4_text(const uint8_t* a)
cdef str ip6_text(const uint8_t* a)
