"""The field catalogue: every protocol's fields, declared once, in one module each.

`PROTOCOLS` lists the protocol declarations in decoding order; `FIELDS` maps each
public dotted name (tshark's vocabulary: `ip.src`, `tcp.flags.syn`,
`dns.qry.name`) to its Field. The record layout, the Packet views' plain
properties, Table columns, `read --json`, crafting templates and
`wirecraft fields` are all derived from these declarations (see _spec.py).
Importing this package loads no compiled extension.
"""

from __future__ import annotations

import importlib

from ._spec import Field, Protocol, Slot
from ._value import value

# one module per protocol, in the order the decoder meets them ('dns' and 'smtp'
# join after 'icmpv6'). A module declares PROTOCOL, or PROTOCOLS when it holds
# sub-headers too (ethernet: eth, vlan, sll, null; ipv6: its extension headers).
MODULES: tuple[str, ...] = ("frame", "ethernet", "arp", "ip", "ipv6", "tcp", "udp", "icmp",
                            "icmpv6", "dns", "smtp")


def _declared(module: str) -> tuple[Protocol, ...]:
    m = importlib.import_module(f"{__name__}.{module}")
    return tuple(getattr(m, "PROTOCOLS", None) or (m.PROTOCOL,))


PROTOCOLS: tuple[Protocol, ...] = tuple(p for m in MODULES for p in _declared(m))

FIELDS: dict[str, Field] = {}
PROTOCOL_OF: dict[str, Protocol] = {}
for _p in PROTOCOLS:
    for _f in _p.fields:
        for _n in (_f.name, *_f.aliases):
            if _n in FIELDS:
                raise ValueError(f"field {_n!r} declared twice")
            FIELDS[_n] = _f
            PROTOCOL_OF[_n] = _p


def protocol(name: str) -> Protocol:
    """The declaration of protocol `name` ('tcp', 'ip', 'dns')."""
    for p in PROTOCOLS:
        if p.name == name:
            return p
    raise KeyError(f"unknown protocol {name!r}")


def slots() -> list[Slot]:
    """Every record slot, in declaration order (the generator orders them for layout)."""
    seen: dict[str, Slot] = {}
    for p in PROTOCOLS:
        for s in p.slots:
            if s.name in seen:
                raise ValueError(f"slot {s.name!r} declared twice")
            seen[s.name] = s
    return list(seen.values())


def fields(proto: str | None = None) -> list[Field]:
    """Every Field, in declaration order (of protocol `proto` and its sub-headers when
    given: 'ipv6' includes 'ipv6.fraghdr')."""
    return [f for p in PROTOCOLS if proto is None or p.name == proto
            or p.name.startswith(proto + ".") for f in p.fields]


__all__ = ["FIELDS", "MODULES", "PROTOCOLS", "PROTOCOL_OF", "Field", "Protocol", "Slot",
           "fields", "protocol", "slots", "value"]
