"""The field catalogue: every protocol's fields, declared once, in one module each.

`PROTOCOLS` lists the protocol declarations in decoding order; `FIELDS` maps each
public dotted name (tshark's vocabulary: `ip.src`, `tcp.flags.syn`,
`dns.qry.name`) to its Field. The record layout, the Packet views' plain
properties, Table columns, `read --json`, crafting templates and
`wirecraft fields` are all derived from these declarations (see _spec.py).
Importing this package loads no compiled extension.

The registry is built on first use (PEP 562): importing the package, or one of its
private modules (`_bind`, the DNS name tables in `_dns_names`), declares nothing, so
`wirecraft.dns` and `wirecraft.smtp`, which need only a few numbers from here, do not pay
for executing every protocol module.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._spec import Field, Protocol, Slot
    from ._value import value

    # made by __getattr__ on first access
    PROTOCOLS: tuple[Protocol, ...]
    FIELDS: dict[str, Field]
    PROTOCOL_OF: dict[str, Protocol]

# one module per protocol, in the order the decoder meets them ('dns' and 'smtp'
# join after 'icmpv6'). A module declares PROTOCOL, or PROTOCOLS when it holds
# sub-headers too (ethernet: eth, vlan, sll, null; ipv6: its extension headers).
MODULES: tuple[str, ...] = ("frame", "ethernet", "arp", "ip", "ipv6", "tcp", "udp", "icmp",
                            "icmpv6", "dns", "smtp")

# PROTOCOLS, FIELDS and PROTOCOL_OF, once built (see _registry)
_REGISTRY: tuple[tuple[Protocol, ...], dict[str, Field], dict[str, Protocol]] | None = None


def _modules() -> tuple[str, ...]:
    """MODULES, then every other protocol module of this package (a new protocol is a
    new file here: nothing to register), in name order."""
    # the package's folder listed directly: pkgutil imports inspect, typing and ast,
    # which would cost more than building the catalogue
    import os
    found = sorted({n[:-3] for d in __path__ for n in os.listdir(d)
                    if n.endswith(".py") and not n.startswith("_")} - set(MODULES))
    return MODULES + tuple(found)


def _registry() -> tuple[tuple[Protocol, ...], dict[str, Field], dict[str, Protocol]]:
    """Import every protocol module and index its declarations (once per process)."""
    global _REGISTRY
    if _REGISTRY is None:
        import importlib
        protocols: list[Protocol] = []
        for module in _modules():
            m = importlib.import_module(f"{__name__}.{module}")
            protocols.extend(getattr(m, "PROTOCOLS", None) or (m.PROTOCOL,))
        fields: dict[str, Field] = {}
        protocol_of: dict[str, Protocol] = {}
        for p in protocols:
            for f in p.fields:
                for n in (f.name, *f.aliases):
                    if n in fields:
                        raise ValueError(f"field {n!r} declared twice")
                    fields[n] = f
                    protocol_of[n] = p
        _REGISTRY = (tuple(protocols), fields, protocol_of)
    return _REGISTRY


def __getattr__(name: str) -> object:
    if name == "PROTOCOLS":
        return _registry()[0]
    if name == "FIELDS":
        return _registry()[1]
    if name == "PROTOCOL_OF":
        return _registry()[2]
    if name in ("Field", "Protocol", "Slot"):
        from . import _spec
        return getattr(_spec, name)
    if name == "value":
        from ._value import value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def protocol(name: str) -> Protocol:
    """The declaration of protocol `name` ('tcp', 'ip', 'dns')."""
    for p in _registry()[0]:
        if p.name == name:
            return p
    raise KeyError(f"unknown protocol {name!r}")


def slots() -> list[Slot]:
    """Every record slot, in declaration order (the generator orders them for layout)."""
    seen: dict[str, Slot] = {}
    for p in _registry()[0]:
        for s in p.slots:
            if s.name in seen:
                raise ValueError(f"slot {s.name!r} declared twice")
            seen[s.name] = s
    return list(seen.values())


def fields(proto: str | None = None) -> list[Field]:
    """Every Field, in declaration order (of protocol `proto` and its sub-headers when
    given: 'ipv6' includes 'ipv6.fraghdr')."""
    return [f for p in _registry()[0] if proto is None or p.name == proto
            or p.name.startswith(proto + ".") for f in p.fields]


__all__ = ["FIELDS", "MODULES", "PROTOCOLS", "PROTOCOL_OF", "Field", "Protocol", "Slot",
           "fields", "protocol", "slots", "value"]
