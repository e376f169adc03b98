"""Crafting: protocol layers stacked with `/`, conversation builders and templates.

    >>> from wirecraft.craft import Ethernet, IPv4, UDP, DNS
    >>> frame = bytes(Ethernet() / IPv4(dst="192.0.2.1") / UDP(dst_port=53)
    ...               / DNS.query("example.com", "AAAA", id=7))

Fields left at AUTO (lengths, checksums, type numbers) are derived when the
packet is built; a value given explicitly is always sent as given.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import AUTO, Layer, Raw
from .dns import DNS, Question, Record
from .layers import (
    AH,
    ARP,
    HIP,
    ICMP,
    SLL,
    SLL2,
    TCP,
    UDP,
    Dot1Q,
    Ethernet,
    ICMPv6,
    IPv4,
    IPv6,
    IPv6DestOptions,
    IPv6Fragment,
    IPv6HopByHop,
    IPv6Mobility,
    IPv6Routing,
    Loopback,
    Shim6,
)

_LAZY = {
    "from_bytes": "wirecraft.craft.from_frame",
    "from_packet": "wirecraft.craft.from_frame",
    "from_scapy": "wirecraft.craft.from_frame",
    "TCPConversation": "wirecraft.craft.conversation",
    "dns_udp_exchange": "wirecraft.craft.conversation",
    "dns_tcp_exchange": "wirecraft.craft.conversation",
    "smtp_session": "wirecraft.craft.conversation",
    "build_message": "wirecraft.craft.conversation",
    "fragment": "wirecraft.craft.fragment",
    "Template": "wirecraft.craft.template",
    "Counter": "wirecraft.craft.template",
    "Range": "wirecraft.craft.template",
    "RandomValues": "wirecraft.craft.template",
    "Values": "wirecraft.craft.template",
}

__all__ = [
    "AH", "ARP", "AUTO", "DNS", "HIP", "ICMP", "SLL", "SLL2", "TCP", "UDP", "Dot1Q", "Ethernet",
    "ICMPv6", "IPv4", "IPv6", "IPv6DestOptions", "IPv6Fragment", "IPv6HopByHop", "IPv6Mobility",
    "IPv6Routing", "Layer", "Loopback", "Question", "Raw", "Record", "Shim6", *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        from .payload import by_craft_name  # a payload protocol's layer (NTP), if any
        cls = by_craft_name(name) if name[:1].isupper() else None
        if cls is None:
            raise AttributeError(f"module 'wirecraft.craft' has no attribute {name!r}")
        globals()[name] = cls
        return cls
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
