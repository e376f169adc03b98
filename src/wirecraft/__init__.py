"""wirecraft: packet capture, dissection and crafting with a Cython core.

Importing the package is cheap: it opens no socket, probes no interface and
loads numpy, libpcap and the protocol modules only when they are first used.

    >>> import wirecraft
    >>> for pkt in wirecraft.read("captures/zeek__smtp.pcap", filter="tcp port 25"):
    ...     print(pkt.time, pkt.ip.src, pkt.tcp.dst_port)
"""

from __future__ import annotations

import importlib

from .errors import (
    CaptureDamagedWarning,
    CaptureFileError,
    CaptureLimitWarning,
    CaptureTruncatedWarning,
    CaptureWarning,
    ExtensionNotBuilt,
    FilterError,
    MissingDependency,
    PermissionDenied,
    WirecraftError,
)

TYPE_CHECKING = False  # typing is for type checkers only: importing it costs ~10 ms
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it; resolved on first attribute access
_LAZY: dict[str, str] = {
    "open": "wirecraft.capture",
    "read": "wirecraft.capture",
    "decode": "wirecraft.capture",
    "Capture": "wirecraft.capture",
    "Packet": "wirecraft.packet",
    "Table": "wirecraft.table",
    "streams": "wirecraft.reassembly",
    "Reassembler": "wirecraft.reassembly",
    "Stream": "wirecraft.reassembly",
    "sniff": "wirecraft.live",
    "interfaces": "wirecraft.live",
    "Sniffer": "wirecraft.live",
    "LiveStats": "wirecraft.live",
    # crafting
    "Ethernet": "wirecraft.craft",
    "Dot1Q": "wirecraft.craft",
    "ARP": "wirecraft.craft",
    "IPv4": "wirecraft.craft",
    "IPv6": "wirecraft.craft",
    "TCP": "wirecraft.craft",
    "UDP": "wirecraft.craft",
    "ICMP": "wirecraft.craft",
    "ICMPv6": "wirecraft.craft",
    "DNS": "wirecraft.craft",
    "Raw": "wirecraft.craft",
    "PcapWriter": "wirecraft.writers",
    "PcapngWriter": "wirecraft.writers",
    "RotatingWriter": "wirecraft.writers",
    "WriteError": "wirecraft.writers",
    "from_bytes": "wirecraft.craft",
    "Template": "wirecraft.craft",
    # scapy's conveniences
    "write": "wirecraft.writers",
    "send": "wirecraft.sending",
    "sendp": "wirecraft.sending",
    "sr": "wirecraft.exchange",
    "sr1": "wirecraft.exchange",
    "srloop": "wirecraft.exchange",
    "srp": "wirecraft.exchange",
    "srp1": "wirecraft.exchange",
    "ping": "wirecraft.recipes",
    "traceroute": "wirecraft.recipes",
    "scan": "wirecraft.recipes",
    "query": "wirecraft.recipes",
    "arping": "wirecraft.recipes",
    "asniff": "wirecraft.aio",
    "asend": "wirecraft.aio",
    "asendp": "wirecraft.aio",
    "asr": "wirecraft.aio",
    "asr1": "wirecraft.aio",
    "hexdump": "wirecraft.present",
    "ls": "wirecraft.present",
    "STOP": "wirecraft.live",
    "DisplayFilterError": "wirecraft.display",
    "flows": "wirecraft.conn",
    "FlowTracker": "wirecraft.conn",
    "weird": "wirecraft.logs",
}

_SUBMODULES = {"dns", "smtp", "defrag", "craft", "live", "writers", "reassembly", "capture", "table",
               "inject", "flags", "display", "conn", "logs"}

__all__ = [
    "CaptureDamagedWarning",
    "CaptureFileError",
    "CaptureLimitWarning",
    "CaptureTruncatedWarning",
    "CaptureWarning",
    "ExtensionNotBuilt",
    "FilterError",
    "MissingDependency",
    "PermissionDenied",
    "WirecraftError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"wirecraft.{name}")
    if name[:1].isupper() and not name.startswith("_"):
        # a payload protocol's crafting layer (wirecraft.NTP), made from its catalogue rows
        from .craft.payload import by_craft_name
        cls = by_craft_name(name)
        if cls is not None:
            globals()[name] = cls
            return cls
    raise AttributeError(f"module 'wirecraft' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
