# The fixed-width record the batch decoder fills: one per packet.
# An array of these *is* the columnar output (numpy views it through a dtype
# built from the offsets below, see core/columns.pxi:record_fields).
#
# This file holds rec_t alone on purpose: it is to be generated from the field
# catalogue (src/wirecraft/proto), so keep anything else out of it.

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
