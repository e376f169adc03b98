"""Packet-like objects for reassembly tests, with only the core API attributes."""

from __future__ import annotations

import ipaddress
from types import SimpleNamespace

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def fake_packet(src: str, sport: int, dst: str, dport: int, seq: int, flags: int,
                payload: bytes = b"", ack: int = 0, time_ns: int = 0) -> SimpleNamespace:
    """A stand-in for wirecraft.Packet carrying what reassembly reads."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    ip = SimpleNamespace(version=s.version, src=str(s), dst=str(d), src_bytes=s.packed,
                         dst_bytes=d.packed)
    tcp = SimpleNamespace(src_port=sport, dst_port=dport, seq=seq % (1 << 32),
                          ack=ack % (1 << 32), flags=flags)
    return SimpleNamespace(ip=ip, tcp=tcp, payload=payload, time_ns=time_ns)
