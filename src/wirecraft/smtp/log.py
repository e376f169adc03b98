"""SMTP over a capture: one record per mail transaction (close to Zeek's smtp.log),
the runners behind transactions(), iter_transactions() and extract()."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .events import _STAT_KEYS, DEFAULT_PORTS
from .session import Session

# ------------------------------------------------------------- over a capture


class TransactionTable(list):
    """A list of transaction dicts with conversions to columnar tables.

    `stats` sums the sessions' counters over the capture: sessions, and what every cap
    dropped and what gaps cost (the keys of `Session.stats`)."""

    stats: dict[str, int]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.stats = {"sessions": 0, **dict.fromkeys(_STAT_KEYS, 0)}

    def to_arrow(self) -> Any:
        """As a pyarrow.Table (nested lists and attachment structs kept)."""
        from .._optional import require

        pa = require('pyarrow')

        return pa.Table.from_pylist([_plain(r) for r in self])

    def to_pandas(self) -> Any:
        """As a pandas.DataFrame, one row per transaction."""
        from .._optional import require

        pd = require('pandas')

        return pd.DataFrame([_plain(r) for r in self])

    def to_json(self) -> str:
        """As JSON lines, one object per transaction (message bytes left out)."""
        return "\n".join(json.dumps(_plain(r), default=str) for r in self)


def _plain(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "message"}


class _Handler:
    """Feeds one reassembled connection into a Session (reassembly subscriber)."""

    __slots__ = ("conn", "session", "flip", "out", "taken", "stats")

    def __init__(self, conn: Any, out: list[dict[str, Any]], flip: bool,
                 stats: dict[str, int] | None = None, **opts: Any) -> None:
        self.conn = conn
        self.flip = flip
        self.out = out
        self.taken = 0
        self.stats = stats
        if flip:
            self.session = Session(client=conn.server, client_port=conn.server_port,
                                   server=conn.client, server_port=conn.client_port,
                                   stream=conn.index, **opts)
        else:
            self.session = Session(client=conn.client, client_port=conn.client_port,
                                   server=conn.server, server_port=conn.server_port,
                                   stream=conn.index, **opts)

    def on_data(self, direction: int, data: bytes) -> None:
        s = self.session
        s.receive(direction ^ self.flip, data, self.conn.last_ns)
        if len(s.records) > self.taken:
            self._take()

    def on_gap(self, direction: int, size: int) -> None:
        self.session.gap(direction ^ self.flip, size)
        self._take()

    def on_close(self) -> None:
        self.session.close()
        self._take(True)
        if self.stats is not None:
            self.stats["sessions"] += 1
            for key, value in self.session.stats.items():
                self.stats[key] += value

    def _take(self, final: bool = False) -> None:
        """Hand over the records that ended, in the order they ended. The record that
        reaches max_transactions is held until the session closes: it may still be
        flagged transactions_truncated with the count of the ones dropped after it."""
        records = self.session.records
        end = len(records)
        if not final:
            end = min(end, self.session.max_transactions - 1)
        midstream = "midstream" in self.conn.flags
        for rec in records[self.taken:end]:
            if midstream:
                rec["problems"].append("midstream")
            self.out.append(rec)
        self.taken = max(self.taken, end)


def session_factory(ports: Iterable[int], out: list[dict[str, Any]],
                    stats: dict[str, int] | None = None,
                    **opts: Any) -> Callable[[Any], _Handler | None]:
    """A reassembly handler factory: each connection with a server port in `ports` gets a
    Session (client and server swapped when the reassembler picked the roles up the wrong
    way mid-stream), and every transaction record it ends is appended to `out`. `stats`
    sums the sessions' counters; `opts` go to each Session. Used by transactions() and
    by `wirecraft sniff --smtp`."""
    portset = frozenset(ports)

    def factory(conn: Any) -> _Handler | None:
        if conn.server_port in portset:
            return _Handler(conn, out, False, stats, **opts)
        if conn.client_port in portset:     # roles guessed wrong on a mid-stream pickup
            return _Handler(conn, out, True, stats, **opts)
        return None

    return factory


def _run(source: Any, ports: Iterable[int], caps: dict[str, Any] | None,
         opts: dict[str, Any], stats: dict[str, int] | None = None
         ) -> Iterator[list[dict[str, Any]]]:
    from ..conn import UidLinker
    from ..reassembly import Reassembler, packets

    out: list[dict[str, Any]] = []
    r = Reassembler(handler=session_factory(ports, out, stats, **opts), **(caps or {}))
    feed = r._core.packet     # the Cython entry point, without a Python-level wrapper
    linker = UidLinker()
    feed_links = linker.feed_packet
    for pkt in packets(source):
        feed_links(pkt)
        feed(pkt)
        if out:
            yield _linked(out, linker)
            out.clear()     # handlers keep appending to this same list
    r.flush()
    yield _linked(out, linker)


def _linked(records: list[dict[str, Any]], linker: Any) -> list[dict[str, Any]]:
    """The records with the uid of their connection (wirecraft.flows), as Zeek's
    smtp.log rows carry their conn.log uid."""
    for rec in records:
        if rec.get("uid") is None and rec.get("client") and rec.get("ts") is not None:
            rec["uid"] = linker.uid("tcp", rec["client"], rec["client_port"], rec["server"],
                                    rec["server_port"], int(round(rec["ts"] * 1e9)))
    return list(records)


def transactions(source: Any, *, ports: Iterable[int] = DEFAULT_PORTS,
                 keep_message: bool = False, caps: dict[str, Any] | None = None,
                 **limits: Any) -> TransactionTable:
    """One record per SMTP mail transaction in a source (path, Capture or Packets).

    Records are dicts in the spirit of Zeek's smtp.log, ordered by when each
    transaction ended; with keep_message=True each carries "message" (the bytes).
    `caps` go to the reassembler, `limits` to each `Session`.
    """
    table = TransactionTable()
    opts = {**limits, "keep_message": keep_message}
    for batch in _run(source, ports, caps, opts, table.stats):
        table.extend(batch)
    return table


def iter_transactions(source: Any, *, ports: Iterable[int] = DEFAULT_PORTS,
                      keep_message: bool = False, caps: dict[str, Any] | None = None,
                      **limits: Any) -> Iterator[dict[str, Any]]:
    """Like `transactions`, but yields each record as soon as it ends (for huge captures)."""
    opts = {**limits, "keep_message": keep_message}
    for batch in _run(source, ports, caps, opts):
        yield from batch


def extract(source: Any, directory: str | Path, *, ports: Iterable[int] = DEFAULT_PORTS,
            **limits: Any) -> list[Path]:
    """Write each message as <n>.eml (bytes exactly as carried, dot-unstuffed); returns paths."""
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    opts = {**limits, "keep_message": True}
    for batch in _run(source, ports, None, opts):
        for rec in batch:
            data = rec.get("message")
            if data is None or rec.get("size") is None:
                continue
            path = out_dir / f"{len(written) + 1:04d}-stream{rec['stream']}-{rec['trans_depth']}.eml"
            path.write_bytes(data)
            written.append(path)
    return written
