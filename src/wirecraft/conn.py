"""Connections as Zeek's conn.log has them (`wirecraft.flows`): a row per conversation.

    >>> import wirecraft
    >>> conns = wirecraft.flows("captures/zeek__smtp.pcap", local_nets="private")
    >>> conns.to_pandas()[["id.orig_h", "id.resp_p", "service", "conn_state", "history"]]

The connection table is C (wirecraft._flows) over the decoder's records: no Python
object per packet. Columns and meaning follow Zeek's conn.log (`uid`, `ts`, `id.orig_h`,
`id.orig_p`, `id.resp_h`, `id.resp_p`, `proto`, `service`, `duration`, `orig_bytes`,
`resp_bytes`, `conn_state`, `local_orig`, `local_resp`, `missed_bytes`, `history`,
`orig_pkts`, `orig_ip_bytes`, `resp_pkts`, `resp_ip_bytes`, `ip_proto`, `vlan`), plus
wirecraft's `first_index`, `last_index` (0-based packet numbers), `problems` (the
decoder's anomalies seen in the connection's packets) and `ended` (timeout, reuse,
evicted or end). As in Zeek, `duration`, `orig_bytes` and `resp_bytes` are absent
(None) for a connection whose packets all have one time; `local_orig` / `local_resp`
are None unless local networks are given ("private" is Zeek's private address space,
which Zeek treats as local by default).

`service` is what the port binding table says and the payload confirmed (a DNS header,
an SMTP reply from the responder): dns (also mDNS and LLMNR) and smtp, the protocols
wirecraft decodes. The model of the connection (originator, states, history letters,
byte counts, timeouts) is in wirecraft._flows.

IP fragments are put together first (defrag=True), as Zeek does. `where=` is a display
filter over packets: only the packets it selects are counted.
"""

from __future__ import annotations

import bisect
import ipaddress
import socket
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from typing import Any

from ._ext import load
from ._optional import require

__all__ = ["COLUMNS", "ConnTable", "FlowTracker", "PRIVATE_NETS", "SERVER_PORTS", "UidLinker",
           "flows"]

COLUMNS = ("uid", "ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
           "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
           "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts",
           "resp_ip_bytes", "ip_proto", "vlan", "first_index", "last_index", "problems",
           "ended")

# Zeek's Site::private_address_space (the networks it counts as local by default)
PRIVATE_NETS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/24", "::1/128", "fe80::/10",
                "fc00::/7")

# ports a server is likely to listen on: a connection whose first packet comes from one
# of these towards a port that is not one is turned round (Zeek's likely_server_ports)
SERVER_PORTS = frozenset({
    21, 22, 23, 25, 53, 67, 69, 80, 88, 110, 111, 119, 123, 135, 137, 138, 139, 143, 161,
    162, 179, 389, 443, 445, 465, 500, 514, 520, 547, 587, 636, 993, 995, 1080, 1194, 1433,
    1521, 1812, 1813, 2049, 2525, 3128, 3306, 3389, 4500, 5060, 5061, 5353, 5355, 5432,
    5900, 6379, 6667, 8000, 8080, 8443, 9200, 11211, 27017})


def _flows() -> Any:
    return load("_flows")


def _local_nets(nets: str | Iterable[str] | None) -> list[tuple[int, bytes, int]] | None:
    """Networks as the C table tests them: (version, 16 network bytes, prefix length)."""
    if nets is None:
        return None
    if isinstance(nets, str):
        nets = PRIVATE_NETS if nets == "private" else [nets]
    out: list[tuple[int, bytes, int]] = []
    for text in nets:
        net = ipaddress.ip_network(text, strict=False)
        out.append((net.version, net.network_address.packed.ljust(16, b"\0"), net.prefixlen))
    return out


def _anomaly_names() -> tuple[tuple[int, str], ...]:
    from .packet import ANOMALIES

    return tuple(ANOMALIES.items())


class FlowTracker:
    """The connection table over batches of one source, for streaming (a live sniff):
    `feed(batch)` returns the rows of the connections it ended, `flush()` the rest.

    Timeouts are seconds of capture time without a packet (Zeek's defaults: TCP 300,
    UDP and ICMP 60); `max_connections` caps the table (the least recently active is
    ended first, counted in `stats["evicted"]`). With `link=True` it also remembers
    every connection's uid, for `uid()` (the rows of other logs)."""

    def __init__(self, *, tcp_timeout: float = 300.0, udp_timeout: float = 60.0,
                 icmp_timeout: float = 60.0, max_connections: int = 1 << 20,
                 local_nets: str | Iterable[str] | None = None,
                 server_ports: Iterable[int] = SERVER_PORTS, link: bool = False) -> None:
        self._table = _flows().Table(tcp_timeout=tcp_timeout, udp_timeout=udp_timeout,
                                     icmp_timeout=icmp_timeout,
                                     max_connections=max_connections,
                                     server_ports=frozenset(server_ports))
        self._local = _local_nets(local_nets)
        self._anomalies = _anomaly_names()
        # with link=True, the uids of the connections seen, for rows of other logs (`uid`)
        self.linker = UidLinker(table=self._table) if link else None

    @property
    def stats(self) -> dict[str, int]:
        """Packets seen and in connections, those in none (not IP, other transports,
        unreassembled fragments, truncated), connections ended, evicted, timed out,
        reused; `live`: connections still open."""
        return {**self._table.stats, "live": len(self._table)}

    def feed(self, batch: Any, mask: Any = None) -> list[dict[str, Any]]:
        """Take a decoded batch (the packets `mask` selects, when given); the rows of
        the connections that ended meanwhile."""
        return self.rows(self.feed_conns(batch, mask))

    def flush(self) -> list[dict[str, Any]]:
        """End of input: the rows of every connection still open."""
        return self.rows(self.flush_conns())

    def feed_conns(self, batch: Any, mask: Any = None) -> list[Any]:
        """As feed, but the connections themselves (C objects; `columns` makes rows)."""
        ended = self._table.feed(batch, mask)
        if self.linker is not None:
            self.linker.ended(ended)
        return ended

    def flush_conns(self) -> list[Any]:
        ended = self._table.flush()
        if self.linker is not None:
            self.linker.ended(ended)
        return ended

    def uid(self, proto: str, a: str, ap: int, b: str, bp: int, ts_ns: int) -> str | None:
        """The uid of the connection (tcp or udp, both ends as text) at `ts_ns` (a tracker
        made with link=True)."""
        if self.linker is None:
            raise ValueError("uid() needs a FlowTracker made with link=True")
        return self.linker.uid(proto, a, ap, b, bp, ts_ns)

    def rows(self, conns: list[Any]) -> list[dict[str, Any]]:
        """Ended connections (the C table's) as conn.log rows (dicts keyed by COLUMNS)."""
        cols = self.columns(conns)
        return [dict(zip(COLUMNS, values, strict=True))
                for values in zip(*(cols[c] for c in COLUMNS), strict=True)]

    def columns(self, conns: list[Any]) -> dict[str, list[Any]]:
        """Ended connections as conn.log columns (lists keyed by COLUMNS)."""
        return _flows().columns(conns, self._local, self._anomalies)


class UidLinker:
    """Connection uids for the rows of other logs (DNS, SMTP, weird).

    Fed the same batches (or packets) a log is built from, it runs the connection table
    beside it; `uid(...)` gives the uid of the connection a row at time `ts_ns` belongs
    to: the live one with that key, or the last ended one started by then. A uid is
    known from a connection's first packet, so rows handed out while it lasts (a live
    capture) get it too. Ended connections are remembered for `window` seconds of
    capture time after their start (None: all of them, one entry each)."""

    def __init__(self, window: float | None = None, table: Any = None) -> None:
        fl = _flows()
        # a FlowTracker lends its own table (and reports what ended through `ended`)
        self._table = table if table is not None else fl.Table(server_ports=SERVER_PORTS)
        self._key_for = fl.key_for
        self._by: dict[bytes, list[tuple[int, str]]] = {}
        self._order: deque[tuple[int, bytes]] = deque()
        self._window = None if window is None else int(window * 1e9)
        self._batch: Any = None

    def feed(self, batch: Any, mask: Any = None) -> None:
        """Take a decoded batch (the packets `mask` selects, when given)."""
        self.ended(self._table.feed(batch, mask))

    def ended(self, conns: list[Any]) -> None:
        """Remember connections the table ended."""
        ended = conns
        by = self._by
        for c in ended:
            bisect.insort(by.setdefault(c.key, []), (c.first_ts, c.uid))
            if self._window is not None:
                self._order.append((c.first_ts, c.key))

    def _forget(self, before: int) -> None:
        order, by = self._order, self._by
        while order and order[0][0] < before:
            ts, key = order.popleft()
            hits = by.get(key)
            if hits:
                hits.pop(0)
                if not hits:
                    del by[key]

    def feed_packet(self, pkt: Any) -> None:
        """For a log built packet by packet: each packet's batch is fed once, when its
        first packet comes."""
        b = getattr(pkt, "batch", None)
        if b is not None and b is not self._batch:
            self._batch = b
            self.feed(b)
        if self._window is not None and self._order:
            # by the packet's time, not its batch's end: rows still to come may be older
            self._forget(pkt.time_ns - self._window)

    def uid(self, proto: str, a: str, ap: int, b: str, bp: int, ts_ns: int) -> str | None:
        """The uid of the connection (transport name, both ends as text) at `ts_ns`."""
        version = 6 if ":" in a else 4
        family = socket.AF_INET6 if version == 6 else socket.AF_INET
        try:
            key = self._key_for({"tcp": 6, "udp": 17}[proto], version,
                                socket.inet_pton(family, a), ap, socket.inet_pton(family, b), bp)
        except (KeyError, OSError, ValueError):
            return None
        live = self._table.conns.get(key)
        if live is not None and live.first_ts <= ts_ns:
            return str(live.uid)
        hits = self._by.get(key)
        if not hits:
            return None if live is None else str(live.uid)
        # the last connection started at or before ts_ns ("~" sorts after any uid)
        i = bisect.bisect_right(hits, (ts_ns, "~")) - 1
        return hits[max(i, 0)][1]


class ConnTable(Sequence):
    """Connections in order of their first packet, column by column (lists keyed by
    COLUMNS); a row is a dict made when asked for. Converts to Arrow, pandas or polars.
    `stats` is the tracker's counters."""

    def __init__(self, columns: dict[str, list[Any]], stats: dict[str, int]) -> None:
        self._cols = columns
        self._n = len(columns["uid"])
        self.stats = stats

    columns = list(COLUMNS)

    def __len__(self) -> int:
        return self._n

    def _row(self, i: int) -> dict[str, Any]:
        return {c: self._cols[c][i] for c in COLUMNS}

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._row(k) for k in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("connection index out of range")
        return self._row(i)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._row(i) for i in range(self._n))

    def __repr__(self) -> str:
        return f"<ConnTable {self._n} connections>"

    def column(self, name: str) -> list[Any]:
        """One column as a list."""
        if name not in self._cols:
            raise KeyError(f"no column {name!r} (columns: {', '.join(COLUMNS)})")
        return list(self._cols[name])

    def to_dicts(self) -> list[dict[str, Any]]:
        return list(self)

    def to_arrow(self) -> Any:
        """A pyarrow Table: ts as timestamp[ns, UTC], absent values as nulls."""
        pa = require("pyarrow")
        cols: dict[str, Any] = dict(self._cols)
        cols["ts"] = pa.array([int(round(t * 1e9)) for t in cols["ts"]],
                              type=pa.timestamp("ns", tz="UTC"))
        cols["problems"] = pa.array(cols["problems"], type=pa.list_(pa.string()))
        for name in ("orig_bytes", "resp_bytes", "missed_bytes", "orig_pkts", "orig_ip_bytes",
                     "resp_pkts", "resp_ip_bytes", "first_index", "last_index"):
            cols[name] = pa.array(cols[name], type=pa.uint64())
        for name in ("id.orig_p", "id.resp_p"):
            cols[name] = pa.array(cols[name], type=pa.uint16())
        for name in ("local_orig", "local_resp"):
            cols[name] = pa.array(cols[name], type=pa.bool_())
        cols["vlan"] = pa.array(cols["vlan"], type=pa.int64())
        cols["ip_proto"] = pa.array(cols["ip_proto"], type=pa.uint8())
        for name in ("proto", "conn_state", "ended"):
            cols[name] = pa.array(cols[name], type=pa.string()).dictionary_encode()
        return pa.table({c: cols[c] for c in COLUMNS})

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        pl = require("polars")
        return pl.from_arrow(self.to_arrow())


def flows(source: Any, *, tcp_timeout: float = 300.0, udp_timeout: float = 60.0,
          icmp_timeout: float = 60.0, max_connections: int = 1 << 20,
          local_nets: str | Iterable[str] | None = None, where: str | None = None,
          defrag: bool = True, filter: str | None = None,  # noqa: A002
          jobs: int | None = 1) -> ConnTable:
    """The connections of a capture (a path, an open Capture, or batches) as a ConnTable
    with Zeek conn.log's columns. `filter` is a BPF capture filter, `where` a display
    filter over packets; IP fragments are put together first unless `defrag` is False.

    `source` may also be a list of paths: each file's connections, file after file in
    the order given (each file on its own: a connection that goes on into the next file
    is one row in each), read by `jobs` processes (0: every usable core) with the same
    result as one; `stats` are the files' sums."""
    from ._pool import check_jobs, is_paths, map_files
    from .capture import Capture
    from .capture import open as open_capture

    if is_paths(source):
        parts = map_files(partial(_file_flows, tcp_timeout=tcp_timeout,
                                  udp_timeout=udp_timeout, icmp_timeout=icmp_timeout,
                                  max_connections=max_connections, local_nets=local_nets,
                                  where=where, defrag=defrag, filter=filter),
                          source, jobs)
        cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        stats: dict[str, int] = {}
        for t in parts:
            for c in COLUMNS:
                cols[c].extend(t._cols[c])
            for k, v in t.stats.items():
                stats[k] = stats.get(k, 0) + v
        return ConnTable(cols, stats)
    check_jobs(jobs)

    tracker = FlowTracker(tcp_timeout=tcp_timeout, udp_timeout=udp_timeout,
                          icmp_timeout=icmp_timeout, max_connections=max_connections,
                          local_nets=local_nets)
    if isinstance(source, Capture):
        batches: Iterable[Any] = source.raw_batches()
    elif hasattr(source, "records") and hasattr(source, "n"):
        batches = [source]
    elif isinstance(source, (list, tuple)) and all(hasattr(b, "records") for b in source):
        batches = source
    else:
        batches = open_capture(source, filter=filter, defrag=defrag).raw_batches()
    display = None
    if where is not None:
        from .display import compile as compile_display
        display = compile_display(where).stream()
    conns: list[Any] = []
    for b in batches:
        conns.extend(tracker.feed_conns(b, None if display is None else display.mask(b)))
    conns.extend(tracker.flush_conns())
    return ConnTable(tracker.columns(_in_start_order(conns)), tracker.stats)


def _file_flows(path: Any, **options: Any) -> ConnTable:
    """One file's table for flows(paths) (a module-level function: it runs in workers)."""
    return flows(path, **options)


def _in_start_order(conns: list[Any]) -> list[Any]:
    """Connections by first packet time, then first packet number."""
    import numpy as np

    if len(conns) < 2:
        return conns
    ts, idx = _flows().start_keys(conns)
    order = np.lexsort((np.frombuffer(idx, dtype=np.uint64), np.frombuffer(ts, dtype=np.int64)))
    return [conns[i] for i in order.tolist()]
