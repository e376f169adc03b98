# Included by _core.pyx (one module, wirecraft._core): the record as numpy columns.

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
