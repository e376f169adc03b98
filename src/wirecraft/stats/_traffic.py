"""Traffic statistics: conversations, endpoints and I/O intervals (tshark's `-z conv`,
`-z endpoints`, `-z io,stat`), computed from Table columns batch by batch.

Each batch's packets are grouped by their directed key (source and destination
address, with ports for TCP/UDP) with numpy (`np.unique` over the key bytes); the
groups are folded into one dict per pass.  A conversation joins the two directions of
a key; its address A is the source of its first packet, as in tshark.  Bytes are
frame lengths on the wire (frame.len), as tshark counts them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._read import Reading, Source, batches
from ._result import StatsTable

TYPES = ("eth", "ip", "ipv6", "tcp", "udp")
TITLES = {"eth": "Ethernet", "ip": "IPv4", "ipv6": "IPv6", "tcp": "TCP", "udp": "UDP"}
_PORTS = {"tcp": "tcp", "udp": "udp"}
# io: the most intervals one report holds (a capture whose clock jumps years would
# otherwise ask for billions); more is an error that names a longer interval
MAX_INTERVALS = 1_000_000


def _check_type(type: str) -> None:  # noqa: A002
    if type not in TYPES:
        raise ValueError(f"unknown conversation type {type!r}: one of {', '.join(TYPES)}")


def _keys(t: Any, type: str) -> tuple[np.ndarray, np.ndarray, int]:  # noqa: A002
    """(mask of the rows that have the layer, key rows as uint8 (n, width), address width).

    A key is source address, source port, destination address, destination port (ports
    only for TCP/UDP); IP addresses carry their version byte so v4 and v6 never meet."""
    if type == "eth":
        mask = np.asarray(t["has_eth"], dtype=bool)
        src = np.ascontiguousarray(t["eth_src"][mask]).view(np.uint8).reshape(-1, 8)[:, :6]
        dst = np.ascontiguousarray(t["eth_dst"][mask]).view(np.uint8).reshape(-1, 8)[:, :6]
        return mask, np.hstack([src, dst]), 6
    if type == "ip":
        mask = np.asarray(t["has_ipv4"], dtype=bool)
    elif type == "ipv6":
        mask = np.asarray(t["has_ipv6"], dtype=bool)
    else:
        mask = np.asarray(t[f"has_{type}"], dtype=bool)
    mask &= np.asarray(t["has_ip_src"], dtype=bool) & np.asarray(t["has_ip_dst"], dtype=bool)
    version = np.asarray(t["ip_version"][mask], dtype=np.uint8).reshape(-1, 1)
    src = np.ascontiguousarray(t["ip_src"][mask]).view(np.uint8).reshape(-1, 16)
    dst = np.ascontiguousarray(t["ip_dst"][mask]).view(np.uint8).reshape(-1, 16)
    if type not in _PORTS:
        return mask, np.hstack([version, src, version, dst]), 17
    sport = np.asarray(t["l4_src_port"][mask], dtype=">u2").reshape(-1, 1).view(np.uint8)
    dport = np.asarray(t["l4_dst_port"][mask], dtype=">u2").reshape(-1, 1).view(np.uint8)
    return mask, np.hstack([version, src, sport, version, dst, dport]), 19


def _directed(source: Source, type: str, where: str | None, filter: str | None,  # noqa: A002
              info: Reading) -> tuple[dict[bytes, list[int]], int]:
    """{directed key: [frames, bytes, first ts_ns, last ts_ns, order of first packet]}."""
    groups: dict[bytes, list[int]] = {}
    width = 0
    seen = 0
    for t in batches(source, where, filter, info):
        mask, keys, width = _keys(t, type)
        n = len(keys)
        if n:
            void = np.ascontiguousarray(keys).view(np.dtype((np.void, keys.shape[1]))).ravel()
            uniq, first, inverse = np.unique(void, return_index=True, return_inverse=True)
            inverse = inverse.ravel()
            _, last_rev = np.unique(void[::-1], return_index=True)
            last = n - 1 - last_rev
            ts = np.asarray(t["ts_ns"][mask], dtype=np.int64)
            frames = np.bincount(inverse, minlength=len(uniq))
            size = np.bincount(inverse, weights=np.asarray(t["wire_len"][mask], dtype=np.float64),
                               minlength=len(uniq))
            order = np.flatnonzero(mask)
            for i, k in enumerate(uniq.tolist()):
                g = groups.get(k)
                if g is None:
                    groups[k] = [int(frames[i]), int(size[i]), int(ts[first[i]]),
                                 int(ts[last[i]]), seen + int(order[first[i]])]
                else:
                    g[0] += int(frames[i])
                    g[1] += int(size[i])
                    g[3] = int(ts[last[i]])
        seen += len(t)
    return groups, width


def _format(keys: list[bytes], type: str, width: int) -> tuple[list[str], list[int] | None]:  # noqa: A002
    """Addresses (and ports) of one side of each key, as text."""
    from .. import _ext

    core = _ext.load("_core")
    if not keys:
        return [], ([] if type in _PORTS else None)
    raw = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), -1)
    if type == "eth":
        macs = np.zeros((len(keys), 8), dtype=np.uint8)
        macs[:, :6] = raw[:, :6]
        return core.format_macs(np.ascontiguousarray(macs).view("<u8").ravel()), None
    versions = np.ascontiguousarray(raw[:, 0])
    addrs = core.format_addresses(np.ascontiguousarray(raw[:, 1:17]), versions)
    if type not in _PORTS:
        return addrs, None
    ports = (raw[:, 17].astype(np.int64) << 8 | raw[:, 18]).tolist()
    return addrs, ports


def _halves(key: bytes, width: int, ports: bool) -> tuple[bytes, bytes]:
    """The source and destination sides of a directed key."""
    half = len(key) // 2
    return key[:half], key[half:]


def conv(source: Source, type: str = "tcp", where: str | None = None,  # noqa: A002
         filter: str | None = None) -> StatsTable:  # noqa: A002
    """Conversations of one type (eth, ip, ipv6, tcp, udp): tshark's `-z conv,<type>`.

    Columns: address_a, (port_a,) address_b, (port_b,) frames_ab, bytes_ab (A to B),
    frames_ba, bytes_ba, frames, bytes, rel_start (seconds from the first packet read)
    and duration (seconds, first to last packet), most frames first."""
    _check_type(type)
    info = Reading()
    groups, width = _directed(source, type, where, filter, info)
    convs: dict[bytes, list[Any]] = {}
    for key, (frames, size, first, last, order) in groups.items():
        a, b = _halves(key, width, type in _PORTS)
        canon = min(a + b, b + a)
        c = convs.get(canon)
        if c is None:
            convs[canon] = [a + b, frames, size, 0, 0, first, last, order]
            continue
        # the other direction of a known pair: the earlier one names A
        if order < c[7]:
            c[0], c[3], c[4], c[1], c[2] = a + b, c[1], c[2], frames, size
            c[5], c[7] = first, order
        else:
            c[3] += frames
            c[4] += size
        c[6] = max(c[6], last)
    rows = sorted(convs.values(), key=lambda c: (-(c[1] + c[3]), -(c[2] + c[4]), c[7]))
    a_keys = [_halves(c[0], width, True)[0] for c in rows]
    b_keys = [_halves(c[0], width, True)[1] for c in rows]
    a_addr, a_port = _format(a_keys, type, width)
    b_addr, b_port = _format(b_keys, type, width)
    base = info.first_ns or 0
    cols: dict[str, list[Any]] = {"address_a": a_addr}
    if a_port is not None:
        cols["port_a"] = a_port
    cols["address_b"] = b_addr
    if b_port is not None:
        cols["port_b"] = b_port
    cols.update({
        "frames_ab": [c[1] for c in rows], "bytes_ab": [c[2] for c in rows],
        "frames_ba": [c[3] for c in rows], "bytes_ba": [c[4] for c in rows],
        "frames": [c[1] + c[3] for c in rows], "bytes": [c[2] + c[4] for c in rows],
        "rel_start": [(c[5] - base) / 1e9 for c in rows],
        "duration": [(c[6] - c[5]) / 1e9 for c in rows],
    })
    return StatsTable(f"{TITLES[type]} Conversations", cols,
                      {"packets_read": info.read, "packets_matched": info.passed})


def endpoints(source: Source, type: str = "tcp", where: str | None = None,  # noqa: A002
              filter: str | None = None) -> StatsTable:  # noqa: A002
    """Endpoints of one type: tshark's `-z endpoints,<type>`.

    Columns: address, (port,) frames, bytes, tx_frames, tx_bytes, rx_frames, rx_bytes
    (tx: sent by the endpoint), most frames first."""
    _check_type(type)
    info = Reading()
    groups, width = _directed(source, type, where, filter, info)
    ends: dict[bytes, list[int]] = {}
    for key, (frames, size, _first, _last, order) in groups.items():
        a, b = _halves(key, width, type in _PORTS)
        for end, tx in ((a, True), (b, False)):
            e = ends.setdefault(end, [0, 0, 0, 0, order])
            if tx:
                e[0] += frames
                e[1] += size
            else:
                e[2] += frames
                e[3] += size
            e[4] = min(e[4], order)
    items = sorted(ends.items(), key=lambda kv: (-(kv[1][0] + kv[1][2]),
                                                 -(kv[1][1] + kv[1][3]), kv[1][4]))
    addr, port = _format([k for k, _ in items], type, width)
    cols: dict[str, list[Any]] = {"address": addr}
    if port is not None:
        cols["port"] = port
    vals = [v for _, v in items]
    cols.update({
        "frames": [v[0] + v[2] for v in vals], "bytes": [v[1] + v[3] for v in vals],
        "tx_frames": [v[0] for v in vals], "tx_bytes": [v[1] for v in vals],
        "rx_frames": [v[2] for v in vals], "rx_bytes": [v[3] for v in vals],
    })
    return StatsTable(f"{TITLES[type]} Endpoints", cols,
                      {"packets_read": info.read, "packets_matched": info.passed})


def io(source: Source, interval: float = 1.0, series: tuple[str, ...] | list[str] = ("",),
       where: str | None = None, filter: str | None = None) -> StatsTable:  # noqa: A002
    """Frames and bytes per interval, one pair of columns per series: tshark's
    `-z io,stat,<interval>,<series>...`.

    A series is a display filter ("" for every packet) applied over the packets that
    `where`/`filter` pass.  Intervals count from the first packet read; columns: start
    (seconds), then frames_<i>, bytes_<i> for each series i (1-based)."""
    if not interval > 0:
        raise ValueError("interval must be positive")
    from ..display import compile as compile_display

    filters = [compile_display(s).stream() if s else None for s in series]
    info = Reading()
    frames: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in series]
    sizes: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in series]
    step = int(round(interval * 1e9))
    last_bin = -1
    for t, b, keep in batches(source, where, filter, info, with_batch=True):
        rel = np.asarray(t["ts_ns"], dtype=np.int64) - (info.first_ns or 0)
        bins = np.maximum(rel, 0) // step
        last_bin = max(last_bin, int(bins.max()))
        if last_bin >= MAX_INTERVALS:
            span = (last_bin + 1) * interval
            raise ValueError(f"the capture spans {span:.0f} s, over {MAX_INTERVALS} intervals of "
                             f"{interval:g} s: choose a longer interval")
        wire = np.asarray(t["wire_len"], dtype=np.int64)
        for i, f in enumerate(filters):
            if f is None:
                m = np.ones(len(t), dtype=bool)
            else:
                m = np.asarray(f.mask(b), dtype=bool)
                if keep is not None:
                    m = m[keep]
            n = max(last_bin + 1, len(frames[i]))
            fc = np.bincount(bins[m], minlength=n)
            bc = np.bincount(bins[m], weights=wire[m], minlength=n).astype(np.int64)
            frames[i] = np.pad(frames[i], (0, n - len(frames[i]))) + fc
            sizes[i] = np.pad(sizes[i], (0, n - len(sizes[i]))) + bc
    n = last_bin + 1
    cols: dict[str, list[Any]] = {"start": [k * step / 1e9 for k in range(n)]}
    for i in range(len(series)):
        cols[f"frames_{i + 1}"] = np.pad(frames[i], (0, n - len(frames[i]))).tolist()
        cols[f"bytes_{i + 1}"] = np.pad(sizes[i], (0, n - len(sizes[i]))).tolist()
    return StatsTable("IO Statistics", cols, {
        "interval": interval, "series": list(series) or [""],
        "packets_read": info.read, "packets_matched": info.passed})
