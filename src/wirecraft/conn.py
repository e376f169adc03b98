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

_PROTO = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp"}
_APPS = {1: "dns", 2: "dns", 3: "dns", 4: "smtp"}


def conn_state(proto: int, orig: Any, resp: Any, history: str) -> str:
    """Zeek's conn_state from the two endpoints' states (TCP) or activity (UDP)."""
    if proto == 6:
        names = _flows().STATE_NAMES
        os_, rs = names[orig.state], names[resp.state]
        o_inactive = os_ in ("INACTIVE", "PARTIAL")
        r_inactive = rs in ("INACTIVE", "PARTIAL")
        if rs == "RESET":
            if os_ in ("SYN_SENT", "SYN_ACK_SENT") or (
                    os_ == "RESET" and orig.size == 0 and resp.size == 0):
                return "REJ"
            return "RSTRH" if o_inactive else "RSTR"
        if os_ == "RESET":
            if r_inactive:
                h = history.lstrip("^")
                if h.startswith("S") and "R" in h and not any(
                        ch in h[:h.index("R")] for ch in "HAFGIQ"):
                    return "RSTOS0"
                return "OTH"
            return "RSTO"
        if rs == "CLOSED" and os_ == "CLOSED":
            return "SF"
        if os_ == "CLOSED":
            return "SH" if r_inactive else "S2"
        if rs == "CLOSED":
            return "SHR" if o_inactive else "S3"
        if os_ == "SYN_SENT" and rs == "INACTIVE":
            return "S0"
        if os_ == "ESTABLISHED" and rs == "ESTABLISHED":
            return "S1"
        return "OTH"
    if proto == 17:
        if orig.pkts:
            return "SF" if resp.pkts else "S0"
        return "SHR" if resp.pkts else "OTH"
    return "OTH"


def _flows() -> Any:
    return load("_flows")


class _Local:
    """Membership of addresses in a set of networks (None: not known)."""

    def __init__(self, nets: str | Iterable[str] | None) -> None:
        if nets == "private":
            nets = PRIVATE_NETS
        self.nets = None if nets is None else [ipaddress.ip_network(n, strict=False)
                                               for n in nets]        # type: ignore[union-attr]

    def __call__(self, addr: str) -> bool | None:
        if self.nets is None:
            return None
        a = ipaddress.ip_address(addr)
        return any(a.version == n.version and a in n for n in self.nets)


def _problems(bits: int) -> list[str]:
    if not bits:
        return []
    from .packet import ANOMALIES

    return [text for bit, text in ANOMALIES.items() if bits & bit]


def _address(raw: bytes, version: int) -> str:
    return socket.inet_ntop(socket.AF_INET, raw[:4]) if version == 4 else \
        socket.inet_ntop(socket.AF_INET6, raw)


class FlowTracker:
    """The connection table over batches of one source, for streaming (a live sniff):
    `feed(batch)` returns the rows of the connections it ended, `flush()` the rest.

    Timeouts are seconds of capture time without a packet (Zeek's defaults: TCP 300,
    UDP and ICMP 60); `max_connections` caps the table (the least recently active is
    ended first, counted in `stats["evicted"]`)."""

    def __init__(self, *, tcp_timeout: float = 300.0, udp_timeout: float = 60.0,
                 icmp_timeout: float = 60.0, max_connections: int = 1 << 20,
                 local_nets: str | Iterable[str] | None = None,
                 server_ports: Iterable[int] = SERVER_PORTS) -> None:
        self._table = _flows().Table(tcp_timeout=tcp_timeout, udp_timeout=udp_timeout,
                                     icmp_timeout=icmp_timeout,
                                     max_connections=max_connections,
                                     server_ports=frozenset(server_ports))
        self._local = _Local(local_nets)
        # uids of the connections seen, for rows of other logs (`uid`)
        self.linker = UidLinker(table=self._table)

    @property
    def stats(self) -> dict[str, int]:
        """Packets seen and in connections, those in none (not IP, other transports,
        unreassembled fragments, truncated), connections ended, evicted, timed out,
        reused; `live`: connections still open."""
        return {**self._table.stats, "live": len(self._table)}

    def feed(self, batch: Any, mask: Any = None) -> list[dict[str, Any]]:
        """Take a decoded batch (the packets `mask` selects, when given); the rows of
        the connections that ended meanwhile."""
        ended = self._table.feed(batch, mask)
        self.linker.ended(ended)
        return [self.row(c) for c in ended]

    def flush(self) -> list[dict[str, Any]]:
        ended = self._table.flush()
        self.linker.ended(ended)
        return [self.row(c) for c in ended]

    def uid(self, proto: str, a: str, ap: int, b: str, bp: int, ts_ns: int) -> str | None:
        """The uid of the connection (tcp or udp, both ends as text) at `ts_ns`."""
        return self.linker.uid(proto, a, ap, b, bp, ts_ns)

    def row(self, c: Any) -> dict[str, Any]:
        """One ended connection as a conn.log row (a dict keyed by COLUMNS)."""
        fl = _flows()
        proto = c.proto
        orig, resp = c.orig, c.resp
        history = c.history.decode()
        if proto == 6:
            orig_size, orig_missed = fl.tcp_size(orig)
            resp_size, resp_missed = fl.tcp_size(resp)
            orig.size, resp.size = orig_size, resp_size
            missed = orig_missed + resp_missed
        else:
            orig_size, resp_size, missed = orig.size, resp.size, 0
        duration_ns = c.last_ts - c.first_ts
        timed = duration_ns > 0
        oh, rh = _address(c.orig_h, c.version), _address(c.resp_h, c.version)
        services = sorted({_APPS[a] for a in _APPS if c.apps >> a & 1})
        return {
            "uid": c.uid,
            "ts": c.first_ts / 1e9,
            "id.orig_h": oh, "id.orig_p": c.orig_p, "id.resp_h": rh, "id.resp_p": c.resp_p,
            "proto": _PROTO[proto],
            "service": ",".join(services) or None,
            "duration": duration_ns / 1e9 if timed else None,
            "orig_bytes": orig_size if timed else None,
            "resp_bytes": resp_size if timed else None,
            "conn_state": conn_state(proto, orig, resp, history),
            "local_orig": self._local(oh), "local_resp": self._local(rh),
            "missed_bytes": missed,
            "history": history or None,
            "orig_pkts": orig.pkts, "orig_ip_bytes": orig.ip_bytes,
            "resp_pkts": resp.pkts, "resp_ip_bytes": resp.ip_bytes,
            "ip_proto": proto,
            "vlan": None if c.vlan < 0 else c.vlan,
            "first_index": c.first_index, "last_index": c.last_index,
            "problems": _problems(c.anomalies),
            "ended": c.ended,
        }


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

    def feed(self, batch: Any) -> None:
        self.ended(self._table.feed(batch))

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
    """Connections as rows (dicts keyed by COLUMNS), in order of their first packet;
    converts to pandas, Arrow or polars. `stats` is the tracker's counters."""

    def __init__(self, rows: list[dict[str, Any]], stats: dict[str, int]) -> None:
        self._rows = rows
        self.stats = stats

    columns = list(COLUMNS)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i):  # type: ignore[override]
        return self._rows[i]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)

    def __repr__(self) -> str:
        return f"<ConnTable {len(self._rows)} connections>"

    def column(self, name: str) -> list[Any]:
        """One column as a list."""
        if name not in COLUMNS:
            raise KeyError(f"no column {name!r} (columns: {', '.join(COLUMNS)})")
        return [r[name] for r in self._rows]

    def to_dicts(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._rows]

    def to_arrow(self) -> Any:
        """A pyarrow Table: ts as timestamp[ns, UTC], absent values as nulls."""
        pa = require("pyarrow")
        cols = {n: self.column(n) for n in COLUMNS}
        cols["ts"] = pa.array([int(round(t * 1e9)) for t in cols["ts"]],
                              type=pa.timestamp("ns", tz="UTC"))
        cols["problems"] = pa.array(cols["problems"], type=pa.list_(pa.string()))
        return pa.table(cols)

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        pl = require("polars")
        return pl.from_arrow(self.to_arrow())


def flows(source: Any, *, tcp_timeout: float = 300.0, udp_timeout: float = 60.0,
          icmp_timeout: float = 60.0, max_connections: int = 1 << 20,
          local_nets: str | Iterable[str] | None = None, where: str | None = None,
          defrag: bool = True, filter: str | None = None) -> ConnTable:  # noqa: A002
    """The connections of a capture (a path, an open Capture, or batches) as a ConnTable
    with Zeek conn.log's columns. `filter` is a BPF capture filter, `where` a display
    filter over packets; IP fragments are put together first unless `defrag` is False."""
    from .capture import Capture
    from .capture import open as open_capture

    tracker = FlowTracker(tcp_timeout=tcp_timeout, udp_timeout=udp_timeout,
                          icmp_timeout=icmp_timeout, max_connections=max_connections,
                          local_nets=local_nets)
    rows: list[dict[str, Any]] = []
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
    for b in batches:
        rows.extend(tracker.feed(b, None if display is None else display.mask(b)))
    rows.extend(tracker.flush())
    rows.sort(key=lambda r: (r["ts"], r["first_index"]))
    return ConnTable(rows, tracker.stats)
