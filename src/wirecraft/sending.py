"""`wirecraft.send` (layer 3) and `wirecraft.sendp` (layer 2), with scapy's defaults.

    wirecraft.send(IPv4(dst="198.18.0.2") / ICMP())                  # from the route's source
    wirecraft.sendp(Ethernet() / IPv4(dst="198.18.0.2") / UDP(), iface="veth0")

An address a crafted packet does not give is filled in from the kernel's tables when
it is sent, as scapy does:

* an IPv4 or IPv6 source: the preferred source of the route to the destination (out of
  the chosen interface when one is given), `ip -j route get DST [oif IFACE]`;
* an Ethernet source: the interface's MAC;
* an Ethernet destination: the next hop's MAC from the neighbour table (`ip -j neigh`,
  resolving it first when absent), the multicast MAC of a multicast destination and
  broadcast for a broadcast one; a frame with no IP in it (ARP) keeps broadcast.

Values given are sent as given (127.0.0.1 included: only the declared default, a
`wirecraft.craft.base.DefaultAddress`, is replaced). The caller's layers are not
changed: a packet that needs filling in is copied. Building bytes without sending
(`bytes(IPv4())`, files, templates) keeps the defaults: 127.0.0.1, ::1,
00:00:00:00:00:00 and ff:ff:ff:ff:ff:ff.

Both go through wirecraft.inject (rate control with `pps`/`mbps`/`inter`, `count`,
`loop`, its backends) and return its SendStats.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .errors import WirecraftError


class _Tables:
    """The kernel's route, interface and neighbour answers for one send, each asked once."""

    def __init__(self, iface: str | None) -> None:
        self.iface = iface
        self._routes: dict[str, dict[str, Any]] = {}
        self._macs: dict[str, str] = {}
        self._neighbours: dict[tuple[str, str], str] = {}

    def route(self, dst: str) -> dict[str, Any]:
        entry = self._routes.get(dst)
        if entry is None:
            from .inject import route_entry
            entry = self._routes[dst] = route_entry(dst, self.iface)
        return entry

    def source(self, dst: str) -> str:
        """The source address the kernel would send from to `dst`."""
        src = self.route(dst).get("prefsrc")
        if not src:
            where = f" on {self.iface}" if self.iface else ""
            raise WirecraftError(f"the route to {dst}{where} names no source address: "
                                 "give src= explicitly")
        return str(src)

    def device(self, dst: str) -> str:
        return str(self.route(dst)["dev"])

    def interface_mac(self, iface: str) -> str:
        mac = self._macs.get(iface)
        if mac is None:
            from .inject import link_address
            try:
                mac = self._macs[iface] = link_address(iface)
            except OSError:
                raise WirecraftError(f"no network interface named {iface!r}") from None
        return mac

    def destination_mac(self, dst: str) -> str:
        """The Ethernet destination of an IP packet to `dst`."""
        addr = ipaddress.ip_address(dst)
        if addr.is_multicast:
            if addr.version == 4:  # RFC 1112: 01:00:5e and the low 23 bits
                low = int(addr) & 0x7FFFFF
                return "01:00:5e:" + ":".join(f"{b:02x}" for b in low.to_bytes(3, "big"))
            low = int(addr) & 0xFFFFFFFF  # RFC 2464: 33:33 and the low 32 bits
            return "33:33:" + ":".join(f"{b:02x}" for b in low.to_bytes(4, "big"))
        entry = self.route(dst)
        if entry.get("type") == "broadcast" or dst == "255.255.255.255":
            return "ff:ff:ff:ff:ff:ff"
        dev = str(entry["dev"])
        hop = str(entry.get("gateway", dst))
        key = (hop, dev)
        mac = self._neighbours.get(key)
        if mac is None:
            from .inject import neighbour
            mac = self._neighbours[key] = neighbour(hop, dev)
        return mac


def _ip_layer(layers: list[Any]) -> int | None:
    """Index of the first IPv4 or IPv6 layer of a stack, or None."""
    from .craft.layers import IPv4, IPv6
    for i, layer in enumerate(layers):
        if isinstance(layer, (IPv4, IPv6)):
            return i
    return None


def _destination(ip: Any) -> str:
    """The destination of an IPv4/IPv6 layer as text (it may be given as bytes or an int)."""
    from .craft.base import ip4_bytes, ip4_str, ip6_bytes, ip6_str
    if ip.name == "ipv4":
        return ip4_str(ip4_bytes(ip.dst))
    return ip6_str(ip6_bytes(ip.dst))


def complete(packet: Any, iface: str | None = None, tables: _Tables | None = None) -> Any:
    """`packet` with the addresses it does not give filled in for sending (see the module
    docstring): a copy when something was filled in, `packet` itself otherwise."""
    from .craft.base import is_default
    from .craft.layers import Ethernet

    tables = tables or _Tables(iface)
    layers: list[Any] = packet.layers()
    ip_at = _ip_layer(layers)
    eth: Any = layers[0] if isinstance(layers[0], Ethernet) else None
    fill_src = ip_at is not None and is_default(layers[ip_at].src)
    fill_eth_src = eth is not None and is_default(eth.src)
    fill_eth_dst = eth is not None and is_default(eth.dst) and ip_at is not None
    if not (fill_src or fill_eth_src or fill_eth_dst):
        return packet
    copy = packet.copy()
    layers = copy.layers()
    ip = layers[ip_at] if ip_at is not None else None
    dst = _destination(ip) if ip is not None else None
    if fill_src:
        assert ip is not None and dst is not None
        ip.src = tables.source(dst)
    if fill_eth_src:
        device = iface or (tables.device(dst) if dst is not None else None)
        if device is None:
            raise WirecraftError("an Ethernet source needs an interface: give iface= or src=")
        layers[0].src = tables.interface_mac(device)
    if fill_eth_dst:
        assert dst is not None
        layers[0].dst = tables.destination_mac(dst)
    return copy


def _as_list(packets: Any) -> list[Any]:
    from .craft.base import Layer
    if isinstance(packets, (Layer, bytes, bytearray, memoryview)) or hasattr(packets, "batch"):
        return [packets]
    return list(packets)


def _rate(pps: float | None, inter: float | None) -> float | None:
    if inter is None:
        return pps
    if pps is not None:
        raise ValueError("give pps or inter, not both")
    if not inter > 0:
        raise ValueError("inter must be a positive number of seconds")
    return 1.0 / inter


def _datagram(pkt: Any) -> bytes:
    """A decoded packet's IP datagram as captured (its link header dropped, nothing
    filled in or recomputed), for sending it again at layer 3."""
    layers = pkt.to_layers().layers()
    at = _ip_layer(layers)
    if at is None:
        raise WirecraftError("send() takes IP packets, and this decoded packet has no IP "
                             "layer: send its frame with sendp()")
    return bytes(layers[at])


def send(packets: Any, iface: str | None = None, *, count: int | None = None,
         pps: float | None = None, inter: float | None = None, mbps: float | None = None,
         loop: int = 1, backend: str = "auto") -> Any:
    """Send IP packets at layer 3: crafted IPv4/IPv6 stacks, decoded Packets (their IP
    datagram as captured, from the IP header on) or bytes of IP datagrams, one or many.

    The link header comes from the kernel's route and neighbour tables (out of `iface`
    when given), a source address not given from the route (see the module docstring).
    `inter` is scapy's gap between packets in seconds (the same as pps=1/inter).
    Returns wirecraft.inject.SendStats."""
    from .craft.base import Layer
    from .craft.layers import IPv4, IPv6
    from .inject import send_l3

    tables = _Tables(iface)
    frames: list[bytes] = []
    for item in _as_list(packets):
        if isinstance(item, Layer):
            if not isinstance(item, (IPv4, IPv6)):
                raise WirecraftError(f"send() takes IP packets, not a stack starting with "
                                     f"{type(item).__name__}: send frames with sendp()")
            item = complete(item, iface, tables)
            frames.append(bytes(item))
        elif isinstance(item, (bytes, bytearray, memoryview)):
            frames.append(bytes(item))
        elif hasattr(item, "batch") and hasattr(item, "to_layers"):
            frames.append(_datagram(item))
        else:
            raise WirecraftError(f"send() takes IP layers, decoded packets or bytes, not "
                                 f"{type(item).__name__}")
    return send_l3(frames, count=count, pps=_rate(pps, inter), mbps=mbps, loop=loop,
                   backend=backend, iface=iface)


def sendp(packets: Any, iface: str | None = None, *, count: int | None = None,
          pps: float | None = None, inter: float | None = None, mbps: float | None = None,
          loop: int = 1, backend: str = "auto") -> Any:
    """Send frames at layer 2 on `iface`: crafted stacks, bytes, decoded Packets (their
    captured bytes) or a Template, one or many.

    An Ethernet layer's addresses and an IP source not given are filled in from the
    interface and the kernel's tables (see the module docstring). Without `iface` the
    interface is the route's to the first IP destination. Returns
    wirecraft.inject.SendStats."""
    from .craft.base import Layer
    from .craft.template import Template
    from .inject import send as l2_send

    rate = _rate(pps, inter)
    if isinstance(packets, Template):
        if iface is None:
            raise WirecraftError("sendp() of a Template needs iface=")
        return l2_send(packets, iface, count=count, pps=rate, mbps=mbps, loop=loop,
                       backend=backend)
    tables = _Tables(iface)
    frames: list[bytes] = []
    for item in _as_list(packets):
        if isinstance(item, Layer):
            if iface is None:
                ip_at = _ip_layer(item.layers())
                if ip_at is None:
                    raise WirecraftError("sendp() needs iface= for frames without an IP "
                                         "destination to route by")
                iface = tables.device(_destination(item.layers()[ip_at]))
                tables.iface = iface
            frames.append(bytes(complete(item, iface, tables)))
        elif isinstance(item, (bytes, bytearray, memoryview)):
            frames.append(bytes(item))
        elif hasattr(item, "batch") and hasattr(item, "data"):
            frames.append(item.data)  # a decoded Packet: the frame as captured
        else:
            raise WirecraftError(f"sendp() takes layers, bytes or decoded packets, not "
                                 f"{type(item).__name__}")
    if iface is None:
        if not frames:
            from .inject import SendStats
            return SendStats(backend=backend)
        raise WirecraftError("sendp() needs iface= to send bytes or decoded packets")
    return l2_send(frames, iface, count=count, pps=rate, mbps=mbps, loop=loop, backend=backend)


__all__ = ["complete", "send", "sendp"]
