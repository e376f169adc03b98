"""Protocol hierarchy (tshark's `-z io,phs`): frames and bytes per protocol path.

A packet's path is the layers the decoder found, in wire order and with tshark's
protocol names: the link (eth, sll, null), one vlan per 802.1Q tag, the network layer
(arp, ip, ipv6), the transport (tcp, udp, icmp, icmpv6) and the application protocol
the catalogue sees in the frame (dns, mdns, llmnr, smtp, ntp). The link, network and
transport layers come from the record's layer bits; an application is counted where
the catalogue's own presence test says the frame carries it: the decoder's
application hint with a payload for DNS, mDNS and LLMNR, the SMTP view (a client
segment with payload, a server segment with a reply line) and the NTP view.

Batches are grouped with numpy by (layer bits, VLAN tags, application); only the rows
that may carry SMTP or NTP are looked at one by one. Like every statistic it streams:
memory grows with the number of distinct paths.

Bytes are frame lengths on the wire (frame.len), as tshark counts them. A protocol is
counted in every frame that carries its bytes, without TCP reassembly or IP
defragmentation; IPv6 extension headers are not nodes (tshark shows none either).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._read import Reading, Source, batches
from ._result import StatsTable

# (layer bit name, tshark name), in wire order within each level
_LINKS = (("eth", "eth"), ("sll", "sll"), ("null", "null"))
_NETWORKS = (("arp", "arp"), ("ipv4", "ip"), ("ipv6", "ipv6"))
_TRANSPORTS = (("tcp", "tcp"), ("udp", "udp"), ("icmp", "icmp"), ("icmpv6", "icmpv6"))
# application codes of the grouping key (0: none)
_APPS = ("", "dns", "mdns", "llmnr", "smtp", "ntp")


def _core() -> Any:
    from .. import _ext
    return _ext.load("_core")


def _app_codes(t: Any, b: Any, rows: np.ndarray) -> np.ndarray:
    """The application code (an index of _APPS) of each row of Table `t`; `rows` are the
    rows' indexes in the decoded batch `b` (for the per-packet views)."""
    from .. import proto
    from ..proto._payload import carriers

    core = _core()
    bits = core.LAYER_BITS
    layers = np.asarray(t["layers"], dtype=np.int64)
    payload = np.asarray(t["payload_length"], dtype=np.int64) > 0
    app = np.asarray(t["app"], dtype=np.int64)
    codes = np.zeros(len(t), dtype=np.int64)
    transport = (layers & (bits["tcp"] | bits["udp"])) != 0
    for number, name in core.APP_NAMES.items():
        if name in ("dns", "mdns", "llmnr"):
            codes[transport & payload & (app == number)] = _APPS.index(name)
    # SMTP: the catalogue's view decides (it reads the reply lines of server segments)
    smtp_view: Any = proto.protocol("smtp").extra["view"]
    smtp_app = [n for n, name in core.APP_NAMES.items() if name == "smtp"]
    maybe = np.flatnonzero(((layers & bits["tcp"]) != 0) & payload & np.isin(app, smtp_app))
    for i in maybe.tolist():
        if smtp_view(b[int(rows[i])]) is not None:
            codes[i] = _APPS.index("smtp")
    # NTP: a payload protocol on its binding's UDP ports, present where its view is
    ports = sorted(carriers(proto.protocol("ntp")).get("udp", ()))
    if ports:
        src = np.asarray(t["l4_src_port"], dtype=np.int64)
        dst = np.asarray(t["l4_dst_port"], dtype=np.int64)
        maybe = np.flatnonzero(((layers & bits["udp"]) != 0) & payload & (codes == 0)
                               & (np.isin(src, ports) | np.isin(dst, ports)))
        for i in maybe.tolist():
            if b[int(rows[i])].ntp is not None:
                codes[i] = _APPS.index("ntp")
    return codes


def _path(layers: int, vlans: int, app: int) -> tuple[str, ...]:
    """The protocol path of a grouping key."""
    bits = _core().LAYER_BITS
    out = [name for bit, name in _LINKS if layers & bits[bit]]
    if layers & bits["vlan"]:
        out.extend(["vlan"] * max(1, vlans))
    out += [name for bit, name in _NETWORKS if layers & bits[bit]]
    out += [name for bit, name in _TRANSPORTS if layers & bits[bit]]
    if app:
        out.append(_APPS[app])
    return tuple(out)


def phs(source: Source, where: str | None = None,
        filter: str | None = None) -> StatsTable:  # noqa: A002
    """Protocol hierarchy statistics (tshark -q -z io,phs): one row per protocol path,
    depth first, children in the order they first appear in the capture.

    Columns: protocol (tshark's name), level (0 for the link layer), path
    ("eth:ip:tcp:smtp"), frames and bytes (frame lengths on the wire) of the packets
    whose path starts with it. Notes: frames and bytes counted in all."""
    info = Reading()
    # path -> [frames, bytes]; dicts keep insertion (first appearance) order
    nodes: dict[tuple[str, ...], list[int]] = {}
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {(): []}
    total_frames = total_bytes = 0
    for t, b, keep in batches(source, where, filter, info, with_batch=True):
        rows = np.arange(len(t)) if keep is None else np.flatnonzero(keep)
        codes = _app_codes(t, b, rows)
        layers = np.asarray(t["layers"], dtype=np.int64)
        vlans = np.asarray(t["vlan_count"], dtype=np.int64)
        wire = np.asarray(t["wire_len"], dtype=np.int64)
        keys = np.stack([layers, vlans, codes], axis=1)
        uniq, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        frames = np.bincount(inverse, minlength=len(uniq))
        sizes = np.bincount(inverse, weights=wire, minlength=len(uniq))
        total_frames += len(t)
        total_bytes += int(wire.sum())
        for k in np.argsort(first, kind="stable").tolist():
            path = _path(*(int(v) for v in uniq[k]))
            n, size = int(frames[k]), int(sizes[k])
            for depth in range(1, len(path) + 1):
                prefix = path[:depth]
                node = nodes.get(prefix)
                if node is None:
                    node = nodes[prefix] = [0, 0]
                    children[prefix] = []
                    children[prefix[:-1]].append(prefix)
                node[0] += n
                node[1] += size
    cols: dict[str, list[Any]] = {"protocol": [], "level": [], "path": [], "frames": [],
                                  "bytes": []}
    stack = list(reversed(children[()]))
    while stack:
        path = stack.pop()
        cols["protocol"].append(path[-1])
        cols["level"].append(len(path) - 1)
        cols["path"].append(":".join(path))
        cols["frames"].append(nodes[path][0])
        cols["bytes"].append(nodes[path][1])
        stack.extend(reversed(children[path]))
    return StatsTable("Protocol Hierarchy Statistics", cols,
                      notes={"frames": total_frames, "bytes": total_bytes})
