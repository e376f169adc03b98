"""The binding table: which number in a lower layer announces which upper layer.

One row per binding, used in both directions, like scapy's bind_layers:
* decoding: the C decoder's dispatch and application hints are built from
  these rows (ethertype -> network decoder, IP protocol -> transport decoder,
  port -> application hint);
* crafting: a lower layer's AUTO field takes the first value of the row that
  binds it to the layer stacked on it (`IPv4()/TCP()` gets protocol 6,
  `UDP()/DNS()` destination port 53).

`lower` and `upper` are protocol names of the catalogue; `field` is the lower
layer's catalogue field that carries the number (for ports: `udp.port` /
`tcp.port`, meaning either port matches when decoding, and the destination
port is filled when crafting).

A row with `decode=False` is for crafting only: the decoder's tables are built without
it. IPv6 extension headers are walked by the decoder itself, not dispatched on, and an
IP-in-IP packet is reported as a tunnel, its inner packet left undecoded; crafting still
needs their numbers (`IPv6()/IPv6Fragment()` gets next header 44, `IPv4()/IPv6()`
protocol 41).
"""

from __future__ import annotations


class Binding:
    """One row: `lower`'s field `field` carrying one of `values` announces `upper`.

    A plain slotted class, not a dataclass: wirecraft.dns and wirecraft.smtp read their
    ports here, and importing dataclasses would cost them several milliseconds."""

    __slots__ = ("lower", "upper", "field", "values", "decode")
    lower: str
    upper: str
    field: str
    values: tuple[int, ...]   # the first is what crafting fills in
    decode: bool              # False: crafting only, left out of the decoder's tables

    def __init__(self, lower: str, upper: str, field: str, values: tuple[int, ...],
                 decode: bool = True) -> None:
        self.lower, self.upper, self.field = lower, upper, field
        self.values, self.decode = tuple(values), decode

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Binding):
            return NotImplemented
        return ((self.lower, self.upper, self.field, self.values, self.decode)
                == (other.lower, other.upper, other.field, other.values, other.decode))

    def __hash__(self) -> int:
        return hash((self.lower, self.upper, self.field, self.values, self.decode))

    def __repr__(self) -> str:
        return (f"Binding({self.lower!r}, {self.upper!r}, {self.field!r}, {self.values!r}"
                + (")" if self.decode else ", decode=False)"))


BINDINGS: tuple[Binding, ...] = (
    Binding("eth", "vlan", "eth.type", (0x8100, 0x88A8, 0x9100)),
    Binding("eth", "ip", "eth.type", (0x0800,)),
    Binding("eth", "ipv6", "eth.type", (0x86DD,)),
    Binding("eth", "arp", "eth.type", (0x0806, 0x8035)),
    Binding("ip", "tcp", "ip.proto", (6,)),
    Binding("ip", "udp", "ip.proto", (17,)),
    Binding("ip", "icmp", "ip.proto", (1,)),
    Binding("ipv6", "tcp", "ipv6.nxt", (6,)),
    Binding("ipv6", "udp", "ipv6.nxt", (17,)),
    Binding("ipv6", "icmpv6", "ipv6.nxt", (58,)),
    # crafting only: extension headers (the decoder walks the chain itself) and IP in IP
    # (the decoder reports a tunnel and does not decode the inner packet)
    Binding("ipv6", "ipv6.hopopts", "ipv6.nxt", (0,), decode=False),
    Binding("ipv6", "ipv6.routing", "ipv6.nxt", (43,), decode=False),
    Binding("ipv6", "ipv6.fraghdr", "ipv6.nxt", (44,), decode=False),
    Binding("ipv6", "ipv6.dstopts", "ipv6.nxt", (60,), decode=False),
    Binding("ipv6", "ah", "ipv6.nxt", (51,), decode=False),
    Binding("ipv6", "mip6", "ipv6.nxt", (135,), decode=False),
    Binding("ipv6", "hip", "ipv6.nxt", (139,), decode=False),
    Binding("ipv6", "shim6", "ipv6.nxt", (140,), decode=False),
    Binding("ip", "ip", "ip.proto", (4,), decode=False),
    Binding("ip", "ipv6", "ip.proto", (41,), decode=False),
    Binding("ipv6", "ip", "ipv6.nxt", (4,), decode=False),
    Binding("ipv6", "ipv6", "ipv6.nxt", (41,), decode=False),
    Binding("udp", "dns", "udp.port", (53,)),
    Binding("udp", "mdns", "udp.port", (5353,)),
    Binding("udp", "llmnr", "udp.port", (5355,)),
    Binding("tcp", "dns", "tcp.port", (53,)),
    Binding("tcp", "smtp", "tcp.port", (25, 587, 2525)),
    Binding("udp", "ntp", "udp.port", (123,)),
)


def values(lower: str, upper: str) -> tuple[int, ...]:
    """The numbers by which `lower` announces `upper` (empty when unbound)."""
    for b in BINDINGS:
        if b.lower == lower and b.upper == upper:
            return b.values
    return ()


def upper_of(lower: str, number: int) -> str | None:
    """The protocol `lower` announces with `number`, or None."""
    for b in BINDINGS:
        if b.lower == lower and number in b.values:
            return b.upper
    return None
