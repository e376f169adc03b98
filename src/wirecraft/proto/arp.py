"""ARP (RFC 826) and RARP (RFC 903): the field catalogue.

The decoder keeps Ethernet/IPv4 ARP (hardware size 6, protocol size 4); the
view's four addresses read None for any other ARP and for one cut before its 28
bytes (the decoder did not read them: hand-written in ARPView). The other header
fields are read from the frame by position (`at`) when a crafting
layer is rebuilt from a decoded packet.
"""

from __future__ import annotations

from ._spec import Field, Protocol, Slot

PROTOCOL = Protocol(
    name="arp",
    title="Address Resolution Protocol",
    reference="RFC 826",
    view="ARPView",
    packet_attr="arp",
    layer_bit="arp",
    craft="ARP",
    json="arp",
    header="l3_offset",
    slots=(
        Slot("arp_sender_mac", "u64", "ARP sender hardware address (48 bits)"),
        Slot("arp_target_mac", "u64", "ARP target hardware address (48 bits)"),
        Slot("arp_sender_ip", "u32", "ARP sender IPv4 address (host order)"),
        Slot("arp_target_ip", "u32", "ARP target IPv4 address (host order)"),
        Slot("arp_opcode", "u16", "ARP opcode (1 request, 2 reply, 3/4 RARP)"),
    ),
    fields=(
        Field("arp.hw.type", "FT_UINT16", "Hardware type", craft="hardware_type", at=(0, 2)),
        Field("arp.proto.type", "FT_UINT16", "Protocol type", craft="protocol_type",
              at=(2, 2)),
        Field("arp.hw.size", "FT_UINT8", "Hardware size", craft="hardware_size", at=(4, 1)),
        Field("arp.proto.size", "FT_UINT8", "Protocol size", craft="protocol_size", at=(5, 1)),
        Field("arp.opcode", "FT_UINT16", "Opcode", attr="opcode", slot="arp_opcode",
              column="arp_opcode", json="opcode", craft="opcode", at=(6, 2)),
        Field("arp.src.hw_mac", "FT_ETHER", "Sender MAC address", attr="sender_mac",
              slot="arp_sender_mac", getter="custom", column="arp_sender_mac",
              json="sender_mac", craft="sender_mac", at=(8, 6)),
        Field("arp.src.proto_ipv4", "FT_IPv4", "Sender IP address", attr="sender_ip",
              slot="arp_sender_ip", getter="custom", column="arp_sender_ip",
              json="sender_ip", craft="sender_ip", at=(14, 4)),
        Field("arp.dst.hw_mac", "FT_ETHER", "Target MAC address", attr="target_mac",
              slot="arp_target_mac", getter="custom", column="arp_target_mac",
              json="target_mac", craft="target_mac", at=(18, 6)),
        Field("arp.dst.proto_ipv4", "FT_IPv4", "Target IP address", attr="target_ip",
              slot="arp_target_ip", getter="custom", column="arp_target_ip",
              json="target_ip", craft="target_ip", at=(24, 4)),
    ),
)
