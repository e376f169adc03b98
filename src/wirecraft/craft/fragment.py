"""IP fragmentation for crafting: one packet as the fragments a router or host would send.

    frags = fragment(Ethernet() / IPv4(dst="192.0.2.1") / UDP(dst_port=53) / big, mtu=576)
    frags = fragment(IPv6(dst="2001:db8::1") / UDP() / payload, mtu=1280, id=7)

The datagram is built once (checksums computed over the whole of it); its payload is cut
at multiples of 8 bytes so that each fragment's IP packet fits in `mtu` bytes. IPv4: the
header is copied into every fragment (options included), with the fragment offset, MF
on all but the last, the protocol and the identification of the whole; other flags (DF)
are copied as given. IPv6: the unfragmentable part (the IPv6 header and the Hop-by-Hop,
Routing and Destination Options headers before a Routing header) is copied into every
fragment, followed by a Fragment header (RFC 8200 4.5). Layers below IP (Ethernet,
VLAN) are copied into every fragment. The result is a list of crafted stacks, the
payload of each one Raw bytes; reorder, duplicate or overlap them as a test needs.
"""

from __future__ import annotations

from typing import Any

from .base import AUTO, Layer, Raw
from .layers import IPv4, IPv6, IPv6DestOptions, IPv6Fragment, IPv6HopByHop, IPv6Routing

__all__ = ["fragment"]


def _alone(layer: Layer) -> Layer:
    """A copy of one layer without what it carries."""
    c: Any = layer.copy()
    c.payload = None
    return c


def _chain(parts: list[Layer]) -> Layer:
    top = parts[0]
    node: Any = top
    for p in parts[1:]:
        node.payload = p
        node = p
    return top


def fragment(packet: Layer, mtu: int = 1500, *, id: int | None = None) -> list[Layer]:  # noqa: A002
    """The fragments of `packet` (a stack holding IPv4 or IPv6) for a link of `mtu`
    bytes (the IP packet's size, as an interface MTU counts). A packet that fits is
    returned alone, unchanged. `id`: the identification (IPv4: the header's own when
    given, else 1; IPv6: 1)."""
    layers = packet.layers()
    at = next((i for i, x in enumerate(layers) if isinstance(x, IPv4 | IPv6)), None)
    if at is None:
        raise ValueError("fragment() needs a packet with an IPv4 or IPv6 layer")
    ip: Any = layers[at]
    datagram = bytes(ip)
    if len(datagram) <= mtu:
        return [packet]
    lower = [_alone(x) for x in layers[:at]]
    frags: list[Layer] = []
    if isinstance(ip, IPv4):
        ihl = (datagram[0] & 0x0F) * 4
        per = (mtu - ihl) // 8 * 8
        if per < 8:
            raise ValueError(f"an MTU of {mtu} leaves no room for 8 bytes after the header")
        body = datagram[ihl:]
        hdr: Any = ip                      # the header's fields, set by its class
        # an AUTO id builds as 1 (IPv4's default); AUTO flags as none
        ident = id if id is not None else (hdr.id if isinstance(hdr.id, int) else 1)
        flags = hdr.flags if isinstance(hdr.flags, int | str) else 0
        if isinstance(flags, str):
            flags = {"DF": 2, "MF": 1, "": 0}.get(flags.upper(), 0)
        for off in range(0, len(body), per):
            chunk = body[off:off + per]
            more = off + per < len(body)
            head = _alone(ip).copy(frag_offset=off, flags=(int(flags) & 6) | (1 if more else 0),
                                   protocol=datagram[9], id=ident)
            frags.append(_chain([*[x.copy() for x in lower], head, Raw(chunk)]))
        return frags
    # IPv6: the unfragmentable part is the header and the extension headers up to the last
    # Routing header (Hop-by-Hop always; Destination Options only before a Routing header)
    ext = layers[at + 1:]
    keep = 0
    last_routing = max((k for k, x in enumerate(ext) if isinstance(x, IPv6Routing)), default=-1)
    while keep < len(ext) and (isinstance(ext[keep], IPv6HopByHop | IPv6Routing) or (
            isinstance(ext[keep], IPv6DestOptions) and keep < last_routing)):
        keep += 1
    unfrag = 40
    nh = datagram[6]
    for _ in range(keep):
        nh = datagram[unfrag]
        unfrag += (datagram[unfrag + 1] + 1) * 8
    per = (mtu - unfrag - 8) // 8 * 8
    if per < 8:
        raise ValueError(f"an MTU of {mtu} leaves no room for 8 bytes after the headers")
    body = datagram[unfrag:]
    ident = 1 if id is None else id
    for off in range(0, len(body), per):
        chunk = body[off:off + per]
        more = off + per < len(body)
        parts = [*[x.copy() for x in lower], _reset_nh(_alone(ip)),
                 *[_reset_nh(_alone(x)) for x in ext[:keep]],
                 IPv6Fragment(next_header=nh, frag_offset=off, more_fragments=int(more),
                              id=ident), Raw(chunk)]
        frags.append(_chain(parts))
    return frags


def _reset_nh(layer: Layer) -> Layer:
    """The layer with its next header (and IPv6's payload length) computed again from
    what follows it in the fragment."""
    names = {f[0] for f in type(layer).fields}
    for name in ("next_header", "payload_length"):
        if name in names:
            setattr(layer, name, AUTO)
    return layer
